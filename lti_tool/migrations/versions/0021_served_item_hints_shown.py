"""served_item.hints_shown: the hints the server showed on a question

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 07:30:00

The hints an answer counts as used came with the answer's form, so a student could show a hint, go back (or edit
the hidden field) and post the answer as unaided: review scheduling rated it Good and the record said no hints.
The served question now keeps how many hints the server has shown on it, and the answer takes that number.
Questions served before the upgrade start from 0, as their forms' numbers are not known.

With it, an index for the answer's question "was this variant answered elsewhere lately?" (one credit per variant).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('served_item', sa.Column('hints_shown', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_served_item_variant', 'served_item', ['course_id', 'person_id', 'variant', 'answered_at'])


def downgrade():
    # Not in batch mode (see 0020): on SQLite that copies the whole table and drops the old one, and with foreign
    # keys on, dropping a table deletes the rows that refer to it (none refer to this one today; a later table
    # might). SQLite 3.35+ drops a column in place.
    op.drop_index('ix_served_item_variant', table_name='served_item')
    op.drop_column('served_item', 'hints_shown')
