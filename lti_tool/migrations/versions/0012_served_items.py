"""served items (questions the server gave a learner, answered at most once) and help requests

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 00:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'served_item',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('skill_id', sa.String(length=100), nullable=False),
        sa.Column('item_id', sa.String(length=100), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('variant', sa.String(length=300), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('credit', sa.Boolean(), nullable=False),
        sa.Column('served_at', sa.DateTime(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('correct', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('served_item', schema=None) as batch_op:
        batch_op.create_index('ix_served_item_learner', ['course_id', 'person_id', 'skill_id', 'served_at'],
                              unique=False)
    op.create_table(
        'help_request',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('skill_id', sa.String(length=100), nullable=False),
        sa.Column('asked_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.create_index('ix_help_request_course_asked', ['course_id', 'asked_at'], unique=False)
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credited', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('item_response', schema=None) as batch_op:
        batch_op.drop_column('credited')
    with op.batch_alter_table('help_request', schema=None) as batch_op:
        batch_op.drop_index('ix_help_request_course_asked')
    op.drop_table('help_request')
    with op.batch_alter_table('served_item', schema=None) as batch_op:
        batch_op.drop_index('ix_served_item_learner')
    op.drop_table('served_item')
