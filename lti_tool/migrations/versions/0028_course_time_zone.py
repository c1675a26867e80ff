"""course.time_zone: the course's IANA time zone, which decides its calendar days

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 12:45:00

Goals were past their date, and skills due so far, by the UTC date: in the Americas a goal due today was past in
the evening. A course now has a time zone (set by a teacher, or from a teacher's launch that carries the LMS's);
existing courses stay NULL, which reads as UTC, as before, until a teacher sets one or launches with one.

A nullable column without a default: SQLite and PostgreSQL both add it in place, without copying the table (the
course table is referred to by most others, so a batch rebuild is avoided).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('course', sa.Column('time_zone', sa.String(length=64), nullable=True))


def downgrade():
    # Not in batch mode (see 0020 and 0026): SQLite 3.35+ drops a column in place, without copying the table.
    op.drop_column('course', 'time_zone')
