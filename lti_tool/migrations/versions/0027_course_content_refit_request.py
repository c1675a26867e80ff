"""course_content.refit_requested_at, refit_tried_at, refit_failed_at: the teacher's "Refit now" in the database

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 15:00:00

A teacher's request for a refit, when the course's last fit began and when a requested one failed were three kinds
of cache entry, kept apart so that two teachers asking at once could not lose a request. A flushed or restarted
Redis lost them all: a request vanished (with scheduled refits off, the course was never fitted) and so did the
notice that a requested fit failed. They are now columns of the course's content row, written with one UPDATE
each; a partial index of the courses ever asked for keeps the worker's look at every pass cheap.

Requests still in the cache when this runs are not carried over: the page stops showing them, and the teacher
asks again. Existing rows stay NULL (nothing asked, nothing failed).

On SQLite the table is rebuilt with the new columns before the two large documents, as in 0018: a column stored
after a large value is reached only by walking that value's overflow pages.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

_COLUMNS = ('refit_requested_at', 'refit_tried_at', 'refit_failed_at')
_SMALL_FIRST = ('course_id', 'ends_on', 'per_skill_grades', 'grading_scheme', 'updated_at', 'model_revision',
                'model_fitted_at', *_COLUMNS, 'model_params', 'pack')


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # Nothing refers to course_content, so the rebuild (copy, drop, rename) takes no other table's rows with it.
        with op.batch_alter_table('course_content', recreate='always', partial_reordering=[_SMALL_FIRST]) as batch:
            _add_columns(batch.add_column)
    else:
        _add_columns(lambda column: op.add_column('course_content', column))
    requested = sa.text('refit_requested_at IS NOT NULL')
    op.create_index('ix_course_content_refit_requested', 'course_content', ['refit_requested_at'], unique=False,
                    postgresql_where=requested, sqlite_where=requested)


def _add_columns(add):
    for name in _COLUMNS:
        add(sa.Column(name, sa.DateTime(), nullable=True))


def downgrade():
    op.drop_index('ix_course_content_refit_requested', table_name='course_content')
    # Not in batch mode (see 0020 and 0026): SQLite 3.35+ drops a column in place, without copying the table.
    for name in reversed(_COLUMNS):
        op.drop_column('course_content', name)
