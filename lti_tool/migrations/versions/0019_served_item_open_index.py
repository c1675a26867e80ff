"""served_item: a partial index of the questions served and not yet answered

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-01 19:45:00

Every plan page asks which unit-check questions a student has waiting (served, not answered). With only the
learner index (course, person, skill, served_at), that read went through every question ever served to the
student and looked each one up in the table: 0.15 ms for the 400 of the 400-skill bench course, growing with every
answer. The open questions are few at any time, so an index of them alone (answered_at IS NULL) answers it from
a handful of entries.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    open_only = sa.text('answered_at IS NULL')
    op.create_index('ix_served_item_open', 'served_item', ['course_id', 'person_id', 'source'], unique=False,
                    postgresql_where=open_only, sqlite_where=open_only)


def downgrade():
    op.drop_index('ix_served_item_open', table_name='served_item')
