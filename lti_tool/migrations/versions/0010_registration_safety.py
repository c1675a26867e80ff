"""registration safety: platform approval, service origins, one-time registration invites

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 00:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('platform', schema=None) as batch_op:
        # Existing rows were added by an admin (or registered before approval existed): they stay approved.
        batch_op.add_column(sa.Column('approved', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('service_origins', sa.String(length=1000), nullable=True))

    op.create_table(
        'registration_invite',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('issuer_prefix', sa.String(length=500), nullable=True),
        sa.Column('approve', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('platform_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['platform_id'], ['platform.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )


def downgrade():
    op.drop_table('registration_invite')
    with op.batch_alter_table('platform', schema=None) as batch_op:
        batch_op.drop_column('service_origins')
        batch_op.drop_column('approved')
