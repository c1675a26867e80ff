"""report_comment: the teacher's comment on a student's family report

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_comment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=2000), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['author_id'], ['person.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('course_id', 'person_id', name='uq_report_comment'),
    )
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_comment_course_id'), ['course_id'], unique=False)


def downgrade():
    with op.batch_alter_table('report_comment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_comment_course_id'))
    op.drop_table('report_comment')
