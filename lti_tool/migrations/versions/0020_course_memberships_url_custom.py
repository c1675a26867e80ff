"""course.memberships_url_custom: whether the roster URL came from a custom parameter

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:30:00

A teacher can set custom parameters on a link. A roster URL taken from one (when the platform signed none) could
name another course of the same platform, which our platform-wide token can read. The sync now reads such a URL
only when the platform's answer names this course; this column says which URLs need that.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('course') as batch:
        batch.add_column(sa.Column('memberships_url_custom', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('course') as batch:
        batch.drop_column('memberships_url_custom')
