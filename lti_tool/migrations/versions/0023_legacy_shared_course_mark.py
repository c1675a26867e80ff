"""course.context_id: the shared stand-in course of launches without a context gets a mark no LMS can send

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 15:00:00

Until placeholders, every launch without a context claim (a Deep Linking request, a Data Privacy Launch, a link
launch whose link id was blank) joined one course per deployment whose context id is the plain string
"no-context". Privacy code told that stand-in by its context id alone, so a real LMS course whose context id is
literally "no-context" was treated as the stand-in (its students anonymised, its enrolments erased by another
course's teacher). Such a course is renamed here to "\\x1flegacy-no-context": claims are cleaned of control
characters (lti/claims.py), so no launch can name it, and the code matches only that.

What tells the stand-in from a real course named "no-context" (both are one row per deployment; a real course of
that name in a deployment that also had a stand-in shared its row). The stand-in is renamed only when every mark
agrees; otherwise the row is left as a real course (the safer side: renaming a real course would hide its data
from its next launch, which would start an empty course, and would let any deletion erase it):
- title "Untitled course" and label "": what a launch without a context claim wrote (the title falls back to the
  context's, then the link's, then "Untitled course"; the label to the context's, then ""). A real course whose
  LMS sent a title or label, ever, keeps it.
- no launch session with a resource link launch's link id on it: without a context such a launch was filed
  under "link:<link id>", so one here named the context "no-context" (sessions are kept LAUNCH_SESSION_KEEP_DAYS).
- no placement with a resource link id: it is learned at the link's launch in that course, as above.
A stand-in that ever got a title (a context claim with a title and no id, or a blank-id link launch with a link
title) is therefore left as a course; it is what release 0.1.0 made of it, and it grants no more than it did.

Downgrade renames the marked courses back to "no-context" (not one whose deployment has a real "no-context" course
by then).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None

OLD = 'no-context'
# Must equal services/launches.py LEGACY_SHARED_CONTEXT (kept literal here: a migration does not import the app).
NEW = '\x1flegacy-no-context'
RESOURCE_LINK = 'LtiResourceLinkRequest'

_COURSE = sa.table('course', sa.column('id', sa.Integer), sa.column('deployment_id', sa.Integer),
                   sa.column('context_id', sa.String), sa.column('title', sa.String), sa.column('label', sa.String))
_SESSION = sa.table('launch_session', sa.column('course_id', sa.Integer), sa.column('message_type', sa.String),
                    sa.column('resource_link_id', sa.String))
_PLACEMENT = sa.table('placement', sa.column('course_id', sa.Integer), sa.column('resource_link_id', sa.String))


def upgrade():
    other = _COURSE.alias('other')
    op.get_bind().execute(_COURSE.update().where(
        _COURSE.c.context_id == OLD,
        _COURSE.c.title == 'Untitled course',
        sa.func.coalesce(_COURSE.c.label, '') == '',
        ~sa.exists().where(_SESSION.c.course_id == _COURSE.c.id, _SESSION.c.message_type == RESOURCE_LINK,
                           sa.func.coalesce(_SESSION.c.resource_link_id, '') != ''),
        ~sa.exists().where(_PLACEMENT.c.course_id == _COURSE.c.id,
                           sa.func.coalesce(_PLACEMENT.c.resource_link_id, '') != ''),
        # A course 0.1.0 made from an uncleaned claim could hold the mark already (unreachable by any launch now):
        # the unique (deployment, context id) must hold.
        ~sa.exists().where(other.c.deployment_id == _COURSE.c.deployment_id, other.c.context_id == NEW),
    ).values(context_id=NEW))


def downgrade():
    other = _COURSE.alias('other')
    # Unless a real course "no-context" came since in that deployment (it keeps the name; the stand-in keeps the mark).
    op.get_bind().execute(_COURSE.update().where(
        _COURSE.c.context_id == NEW,
        ~sa.exists().where(other.c.deployment_id == _COURSE.c.deployment_id, other.c.context_id == OLD),
    ).values(context_id=OLD))
