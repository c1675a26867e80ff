"""launch_session, enrollment: teacher access the old role rule gave a learner ends with the upgrade

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 19:30:00

Before sub-roles counted only within their principal role, a Learner#Instructor (or any non-teaching principal
with a teaching sub-role, e.g. Learner#TeachingAssistant, Mentor#Instructor) got teacher access. The fixed code
decides at each launch and roster sync, but rows the old rule wrote stayed until then:

- Open launch sessions keep the access and role they were opened with, for up to LAUNCH_SESSION_MAX_SECONDS.
  A teacher session is ended here (its end set to now, as signing out does) unless its enrolment's stored role
  labels give exactly the role the session holds (exactly: a ContentDeveloper with Learner#Instructor was also
  given the instructor's rights, deleting course data among them) (the reading of lti/roles.py stored_course_role, copied below: a
  migration does not import the app). Ended, not deleted: the browser is told its time ran out and is linked back
  to its LMS, as for any ended session, and the worker deletes the row later. Ended too: a teacher session
  without an enrolment (a Deep Linking picker or Data Privacy Launch without a course), whose role nothing stored
  can confirm. Ending a session someone was entitled to (labels the reading cannot confirm: an institution-only
  "Faculty" role, release 0.1.0 labels "Instructor, Learner" that read as a learner) costs them one launch from
  their LMS; rewriting a session's access instead would have to guess its role from the same labels.
- Enrolments: their role column ("teacher") is what class lists, gradebook rows, exports and a teacher's right to
  see or delete a student's data read. An enrolment whose labels the old rule read as a teacher's and that
  stored_course_role reads as a learner's becomes "student", as the next launch or roster sync would write it; one
  that reads as no role Pathways serves (a Mentor#Instructor, or a Foo#Instructor stored as "Foo, Instructor": a
  principal Pathways does not know) is made inactive with its role left, as a roster
  sync does for a member in such a role. Labels the old rule did not read as a teacher's (an institution-only
  role such as "Faculty", no labels at all) are left: nothing old-rule about them, and their next launch decides.

Downgrade changes nothing: ended sessions stay ended, and corrected enrolments stay so until the person's next
launch or roster sync (which writes whatever the running release decides).
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

_SESSION = sa.table('launch_session', sa.column('id', sa.String), sa.column('course_id', sa.Integer),
                    sa.column('person_id', sa.Integer), sa.column('access', sa.String),
                    sa.column('details', sa.JSON), sa.column('expires_at', sa.DateTime))
_ENROLLMENT = sa.table('enrollment', sa.column('id', sa.Integer), sa.column('course_id', sa.Integer),
                       sa.column('person_id', sa.Integer), sa.column('role', sa.String),
                       sa.column('lti_roles', sa.String), sa.column('active', sa.Boolean))

# As lti/roles.py has them at this revision.
_TEACHER_NAMES = frozenset({'Instructor', 'TeachingAssistant', 'ContentDeveloper', 'Administrator'})
# lti/roles.py WIDER_ONLY_ROLES: institution and system role names, no 0.1.0 sub-role's principal.
_WIDER_ONLY_NAMES = frozenset({'Faculty', 'Staff', 'Student', 'Guest', 'Other', 'Alumni', 'Observer',
                               'ProspectiveStudent', 'None', 'AccountAdmin', 'Creator', 'SysAdmin', 'SysSupport',
                               'User'})
_ORDER = (('TeachingAssistant', 'teaching_assistant'), ('Instructor', 'instructor'), ('Administrator', 'administrator'),
          ('ContentDeveloper', 'content_developer'), ('Mentor', 'mentor'), ('Learner', 'learner'))
_TEACHING = frozenset({'teaching_assistant', 'instructor', 'administrator', 'content_developer'})
_BATCH = 500


def _names(labels):
    return [part.strip() for part in (labels or '').split(',') if part.strip()]


def _stored_role(labels):
    """lti/roles.py stored_course_role: the role stored labels give (0.1.0's bare sub-role names read cautiously)."""
    names = _names(labels)
    roles = [tuple(name.split('#', 1)) if '#' in name else (name, None) for name in names]
    if not any('#' in name for name in names) and set(names) - _TEACHER_NAMES - _WIDER_ONLY_NAMES:
        roles = [role for role in roles if role[0] not in _TEACHER_NAMES]
    principals = {name for name, _ in roles}
    if ('Instructor', 'TeachingAssistant') in roles:
        principals.add('TeachingAssistant')
    return next((role for label, role in _ORDER if label in principals), 'none')


def _old_rule_teacher(labels):
    """Tell whether the old rule read these labels as a teacher's: any name, a sub-role's included, a teaching one."""
    return bool(_TEACHER_NAMES & {part for name in _names(labels) for part in name.split('#')})


def upgrade():
    connection = op.get_bind()
    now = datetime.now(UTC).replace(tzinfo=None)  # the columns are naive UTC
    _correct_enrolments(connection)
    _end_unconfirmed_teacher_sessions(connection, now)


def _correct_enrolments(connection):
    rows = connection.execute(sa.select(_ENROLLMENT.c.id, _ENROLLMENT.c.lti_roles)
                              .where(_ENROLLMENT.c.role == 'teacher')).all()
    learners, no_role = [], []
    for enrolment_id, labels in rows:
        role = _stored_role(labels)
        if role in _TEACHING or not _old_rule_teacher(labels):
            continue
        (learners if role == 'learner' else no_role).append(enrolment_id)
    for ids, values in ((learners, {'role': 'student'}), (no_role, {'active': False})):
        for start in range(0, len(ids), _BATCH):
            connection.execute(_ENROLLMENT.update().where(_ENROLLMENT.c.id.in_(ids[start:start + _BATCH]))
                               .values(**values))


def _end_unconfirmed_teacher_sessions(connection, now):
    open_teacher = connection.execute(
        sa.select(_SESSION.c.id, _SESSION.c.details, _ENROLLMENT.c.id, _ENROLLMENT.c.lti_roles)
        .select_from(_SESSION.outerjoin(_ENROLLMENT, sa.and_(_ENROLLMENT.c.course_id == _SESSION.c.course_id,
                                                             _ENROLLMENT.c.person_id == _SESSION.c.person_id)))
        .where(_SESSION.c.access == 'teacher', _SESSION.c.expires_at > now)).all()
    ended = [session_id for session_id, details, enrolment_id, labels in open_teacher
             if enrolment_id is None or _stored_role(labels) != (details or {}).get('role')]
    for start in range(0, len(ended), _BATCH):
        connection.execute(_SESSION.update().where(_SESSION.c.id.in_(ended[start:start + _BATCH]),
                                                   _SESSION.c.expires_at > now).values(expires_at=now))


def downgrade():
    pass
