"""course.context_id: the course of a link launched without a context gets a mark no LMS can send

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 07:00:00

A resource link launch without a context claim is scoped to its link: its course's context id was the plain string
"link:<resource link id>". An LMS may call a real course that too, so in one deployment a real course "link:abc"
and the stand-in of link "abc" were one course row (one roster, one content, each side seeing the other's students
and work). New launches now use "\\x1flink:<link id>" (lti/claims.py LINK_CONTEXT): claims are cleaned of control
characters, so no platform's context id can be one. The stand-ins made before are renamed here, so their students
keep their course at their next launch.

What tells a stand-in "link:X" from a real course of that id. The row is renamed only when every mark agrees;
otherwise it is left as a real course (the safer side, as in 0023: renaming a real course would hide its data from
its next launch, which would start an empty course). A stand-in left so keeps its rows under "link:X", where a
launch without a context no longer finds them (its next launch starts an empty course) and only an LMS course of
that id does: no worse than before, when both landed there.
- label "": a launch without a context claim wrote the context's label, so "" (a real course whose LMS sent a
  label, ever, keeps it).
- every launch session on it names link X: only a launch of link X without a context was filed under "link:X",
  while a real course's launches come from its own links (any other link id, or none: a Deep Linking request
  names its context) (sessions are kept LAUNCH_SESSION_KEEP_DAYS).
- every placement on it has resource link id X: a stand-in's placements are learned at link X's launch; a real
  course's come from its own links or from Deep Linking (no link id until launched). Placements are kept with
  the course, so a real course that ever had a placement of another link is told apart for good.
- no course "\\x1flink:X" in its deployment already (a course 0.1.0 made from an uncleaned claim: the unique
  (deployment, context id) must hold), and an id short enough for the column once marked (255).
The assumption: a real course "link:X" has a label, or a session or placement of a link other than X. One that
has neither (no label ever, only launches of a link whose id is X, or only navigation launches, which make no
placement, older than the kept sessions) cannot be told from a stand-in and is renamed: its next launch starts an
empty course, and its rows stay under the mark, which only a launch of link X without a context reaches. A roster
URL is no mark: platforms send it beside a resource link whether or not they name the context.
A row where both had been merged (a real course "link:X" that link X without a context launched too) has the real
course's label, sessions or placements, and stays the real course, with the stand-in's students enrolled as they
were; the next launch of link X without a context starts a new course.

Downgrade renames the marked courses back to "link:<link id>" (not one whose deployment has a real "link:<link
id>" course by then).
"""
import hashlib

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

OLD = 'link:'
# Must equal lti/claims.py LINK_CONTEXT (kept literal here: a migration does not import the app).
NEW = '\x1flink:'
CONTEXT_ID_MAX = 255

_COURSE = sa.table('course', sa.column('id', sa.Integer), sa.column('deployment_id', sa.Integer),
                   sa.column('context_id', sa.String), sa.column('label', sa.String))
_SESSION = sa.table('launch_session', sa.column('course_id', sa.Integer), sa.column('resource_link_id', sa.String))
_PLACEMENT = sa.table('placement', sa.column('course_id', sa.Integer), sa.column('resource_link_id', sa.String))


def _moved(old, new):
    """Return X and the UPDATE moving courses "<old>X" to "<new>X" unless "<new>X" exists in their deployment.

    The prefix is compared with substr, not LIKE: SQLite's LIKE ignores case, and "LINK:abc" is no stand-in.
    """
    link_id = sa.func.substr(_COURSE.c.context_id, len(old) + 1)
    renamed = sa.literal(new, sa.String) + link_id
    other = _COURSE.alias('other')
    return link_id, _COURSE.update().where(
        sa.func.substr(_COURSE.c.context_id, 1, len(old)) == old,
        sa.func.length(_COURSE.c.context_id) > len(old),
        sa.func.length(_COURSE.c.context_id) - len(old) + len(new) <= CONTEXT_ID_MAX,
        ~sa.exists().where(other.c.deployment_id == _COURSE.c.deployment_id, other.c.context_id == renamed),
    ).values(context_id=renamed)


def _stand_in(link_id):
    """Return what marks a course as a stand-in of the link `link_id` (an expression): see the docstring."""
    return (
        sa.func.coalesce(_COURSE.c.label, '') == '',
        ~sa.exists().where(_SESSION.c.course_id == _COURSE.c.id,
                           sa.func.coalesce(_SESSION.c.resource_link_id, '') != link_id),
        ~sa.exists().where(_PLACEMENT.c.course_id == _COURSE.c.id,
                           sa.func.coalesce(_PLACEMENT.c.resource_link_id, '') != link_id),
    )


def upgrade():
    bind = op.get_bind()
    link_id, update = _moved(OLD, NEW)
    bind.execute(update.where(*_stand_in(link_id)))
    # A link id too long for the prefix within the column: lti/claims.py link_context_id names its course by the
    # id's SHA-256 (the same here, or its next launch would start an empty course).
    too_long = bind.execute(sa.select(_COURSE.c.id, _COURSE.c.deployment_id, link_id).where(
        sa.func.substr(_COURSE.c.context_id, 1, len(OLD)) == OLD,
        sa.func.length(_COURSE.c.context_id) - len(OLD) + len(NEW) > CONTEXT_ID_MAX,
        *_stand_in(link_id),
    )).all()
    for course_id, deployment_id, long_id in too_long:
        marked = NEW + 'sha256:' + hashlib.sha256(long_id.encode()).hexdigest()
        taken = bind.execute(sa.select(_COURSE.c.id).where(_COURSE.c.deployment_id == deployment_id,
                                                           _COURSE.c.context_id == marked)).first()
        if taken is None:
            bind.execute(_COURSE.update().where(_COURSE.c.id == course_id).values(context_id=marked))


def downgrade():
    # Unless a real course "link:X" came since in that deployment (it keeps the id; the stand-in keeps the mark).
    op.get_bind().execute(_moved(NEW, OLD)[1])
