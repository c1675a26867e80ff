"""skill_assignment: skills a teacher assigned to a student, first in the student's next steps

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 04:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'skill_assignment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('person_id', sa.Integer(), nullable=False),
        sa.Column('skill_id', sa.String(length=100), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('assigned_by', sa.Integer(), nullable=True),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['course_id'], ['course.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['person_id'], ['person.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['assigned_by'], ['person.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('course_id', 'person_id', 'skill_id', name='uq_skill_assignment'),
    )
    with op.batch_alter_table('skill_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_skill_assignment_course_id'), ['course_id'], unique=False)


def downgrade():
    with op.batch_alter_table('skill_assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_skill_assignment_course_id'))
    op.drop_table('skill_assignment')
