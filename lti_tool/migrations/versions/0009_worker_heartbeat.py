"""worker heartbeat

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-01 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'worker_heartbeat',
        sa.Column('worker_id', sa.String(length=120), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('last_pass_at', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(length=300), nullable=True),
        sa.Column('last_error_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('worker_id'),
    )
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_heartbeat_last_pass_at'), ['last_pass_at'], unique=False)


def downgrade():
    with op.batch_alter_table('worker_heartbeat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_heartbeat_last_pass_at'))
    op.drop_table('worker_heartbeat')
