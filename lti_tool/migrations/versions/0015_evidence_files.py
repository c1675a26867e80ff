"""evidence.file_*: a photo, PDF or recording attached to evidence (kept by services/storage.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 04:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('file_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('file_name', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_column('file_name')
        batch_op.drop_column('file_size')
        batch_op.drop_column('file_type')
        batch_op.drop_column('file_key')
