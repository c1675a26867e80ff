"""mastery_event.student_note: an override's note for the student, apart from the teacher's own note

Overrides made before this showed the teacher's one note to the student word for word; that note was written
as evidence for teachers, so the student's reason becomes the plain "Set by your teacher." and the note stays
in the history (mastery_event.reason), which only teachers read.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mastery_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('student_note', sa.String(length=250), nullable=True))
    skill_mastery = sa.table('skill_mastery', sa.column('reason', sa.String), sa.column('overridden', sa.Boolean))
    op.execute(
        skill_mastery.update()
        .where(skill_mastery.c.overridden.is_(True), skill_mastery.c.reason.like('Set by the teacher: %'))
        .values(reason='Set by your teacher.')
    )


def downgrade():
    with op.batch_alter_table('mastery_event', schema=None) as batch_op:
        batch_op.drop_column('student_note')
