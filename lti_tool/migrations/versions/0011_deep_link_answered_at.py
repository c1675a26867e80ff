"""launch_session.deep_link_answered_at: a Deep Linking request is answered once, even under parallel posts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 00:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('launch_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deep_link_answered_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('launch_session', schema=None) as batch_op:
        batch_op.drop_column('deep_link_answered_at')
