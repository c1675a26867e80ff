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
    op.add_column('course', sa.Column('memberships_url_custom', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Where a roster URL is already kept, nobody knows whether a platform signed it: check it until a launch with
    # the platform's signed URL clears the mark (every teacher launch that asks for a sync brings one).
    op.execute(sa.text("UPDATE course SET memberships_url_custom = :yes WHERE memberships_url IS NOT NULL")
               .bindparams(yes=True))


def downgrade():
    # Not in batch mode: on SQLite that copies the course table and drops the old one, and with foreign keys on,
    # dropping it deletes every row that belongs to a course. SQLite 3.35+ drops a column in place.
    op.drop_column('course', 'memberships_url_custom')
