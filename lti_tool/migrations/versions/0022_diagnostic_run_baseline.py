"""diagnostic_run.baseline: what a finished placement check saw, to tell later evidence from it

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 11:30:00

A skill the check placed as known stands in for the skills built on it until the student's own evidence since the
check contradicts it: a wrong answer the mastery model counted, or a level a teacher set. That was a query over
the student's answers and level changes on every plan page (issue 14: 6 statements, not 5). The run now keeps, when
it finishes, the wrong answers counted so far on each skill it placed as known, and the skills a teacher sets
afterwards; the plan compares the counts with the mastery rows it reads anyway.

Checks already finished get their baseline from their history here: the wrong answers each mastery row counts now,
less the counted ones since the check finished (those the old query read), and the skills with a teacher's level
since then.
"""
from collections import Counter

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_RUN = sa.table('diagnostic_run', sa.column('id', sa.Integer), sa.column('course_id', sa.Integer),
                sa.column('person_id', sa.Integer), sa.column('state', sa.JSON), sa.column('finished_at', sa.DateTime),
                sa.column('baseline', sa.JSON))
_MASTERY = sa.table('skill_mastery', sa.column('course_id', sa.Integer), sa.column('person_id', sa.Integer),
                    sa.column('skill_id', sa.String), sa.column('state', sa.JSON))
_RESPONSE = sa.table('item_response', sa.column('course_id', sa.Integer), sa.column('person_id', sa.Integer),
                     sa.column('skill_ids', sa.JSON), sa.column('correct', sa.Boolean),
                     sa.column('credited', sa.Boolean), sa.column('source', sa.String),
                     sa.column('answered_at', sa.DateTime))
_EVENT = sa.table('mastery_event', sa.column('course_id', sa.Integer), sa.column('person_id', sa.Integer),
                  sa.column('skill_id', sa.String), sa.column('source', sa.String), sa.column('at', sa.DateTime))


def upgrade():
    op.add_column('diagnostic_run', sa.Column('baseline', sa.JSON(), nullable=True))
    connection = op.get_bind()
    finished = connection.execute(sa.select(_RUN.c.id, _RUN.c.course_id, _RUN.c.person_id, _RUN.c.state,
                                            _RUN.c.finished_at).where(_RUN.c.finished_at.is_not(None))).all()
    for run_id, course_id, person_id, state, finished_at in finished:
        if not (state or {}).get('answers'):
            continue  # skipped: it placed nothing
        connection.execute(_RUN.update().where(_RUN.c.id == run_id).values(
            baseline=_baseline(connection, course_id, person_id, finished_at)))


def _baseline(connection, course_id: int, person_id: int, finished_at) -> dict:
    learner = {'course_id': course_id, 'person_id': person_id}
    since = Counter()
    for (skill_ids,) in connection.execute(sa.select(_RESPONSE.c.skill_ids).where(
            *(_RESPONSE.c[k] == v for k, v in learner.items()), _RESPONSE.c.answered_at > finished_at,
            _RESPONSE.c.correct.is_(False), _RESPONSE.c.credited.is_(True), _RESPONSE.c.source != 'diagnostic')):
        since.update(skill_ids or ())
    misses = {}
    for skill_id, state in connection.execute(sa.select(_MASTERY.c.skill_id, _MASTERY.c.state).where(
            *(_MASTERY.c[k] == v for k, v in learner.items()), _MASTERY.c.skill_id != '*')):
        counted = int((state or {}).get('attempts', 0)) - int((state or {}).get('correct', 0))
        if counted - since[skill_id] > 0:
            misses[skill_id] = counted - since[skill_id]
    set_by_teacher = connection.execute(sa.select(_EVENT.c.skill_id).distinct().where(
        *(_EVENT.c[k] == v for k, v in learner.items()), _EVENT.c.at > finished_at,
        _EVENT.c.source == 'override')).scalars().all()
    return {'misses': misses, 'set_by_teacher': sorted(set_by_teacher)}


def downgrade():
    # Not in batch mode (see 0020). SQLite 3.35+ drops a column in place.
    op.drop_column('diagnostic_run', 'baseline')
