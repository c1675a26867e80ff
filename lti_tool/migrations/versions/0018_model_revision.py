"""course_content.model_revision and model_fitted_at: a page tells which fit a course runs without decoding it

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-01 19:10:00

Every page asks which mastery model its course runs. The answer was inside `model_params`, the fitted weights
(a weight per item and skill: 2,500 on a 400-skill course, 18,000 on ASSISTments), so every request of a
fitted course read and decoded them, 3–4 ms of a 400-skill page, for a model the process already held. The
fit's revision and time now sit in their own columns; the weights are read once per process and fit.

On SQLite the table is also rebuilt with the two large documents last: SQLite reads a row's columns in order,
and a column stored after a large value is reached only by walking that value's overflow pages.
"""
import json
from datetime import datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_SMALL_FIRST = ('course_id', 'ends_on', 'per_skill_grades', 'grading_scheme', 'updated_at', 'model_revision',
                'model_fitted_at', 'model_params', 'pack')


def upgrade():
    columns = (sa.Column('model_revision', sa.Integer(), nullable=True),
               sa.Column('model_fitted_at', sa.DateTime(), nullable=True))
    if op.get_bind().dialect.name == 'sqlite':
        with op.batch_alter_table('course_content', recreate='always', partial_reordering=[_SMALL_FIRST]) as batch:
            for column in columns:
                batch.add_column(column)
    else:
        for column in columns:
            op.add_column('course_content', column)
    _fill_from_the_stored_fits()


def _fill_from_the_stored_fits():
    bind = op.get_bind()
    content = sa.table('course_content', sa.column('course_id', sa.Integer()), sa.column('model_params', sa.JSON()),
                       sa.column('model_revision', sa.Integer()), sa.column('model_fitted_at', sa.DateTime()))
    fitted = bind.execute(sa.select(content.c.course_id, content.c.model_params)
                          .where(content.c.model_params.isnot(None))).all()
    for course_id, params in fitted:
        if isinstance(params, str):  # a driver that hands JSON back as text
            params = json.loads(params)
        if not isinstance(params, dict) or not params:
            continue
        fitted_at = params.get('fitted_at')
        bind.execute(sa.update(content).where(content.c.course_id == course_id).values(
            model_revision=int(params.get('revision') or 1),
            model_fitted_at=datetime.fromisoformat(fitted_at) if isinstance(fitted_at, str) else None,
        ))


def downgrade():
    with op.batch_alter_table('course_content', schema=None) as batch:
        batch.drop_column('model_fitted_at')
        batch.drop_column('model_revision')
