"""score_outbox.due_digest: the exact due set a due-so-far grade was worked out on

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 12:00:00

The worker's hourly sweep requeues a student whose newest due-so-far grade was worked out on another due set. It
read that set from the grade's comment ("Graded on the 2 skills due so far"), which names only how many skills: a
skill the teacher assigned a student swapped for another one, due the same day, kept the count, and the student kept
a grade worked out on the skill no longer assigned. A score now keeps a digest of the ids of the skills it was
worked out on (learning.grading.due_digest).

Rows from before stay NULL: nothing known is lost, and nothing is resent for it. The sweep falls back to the comment
for them (as before), and the next publish that finds such a row's score unchanged records its digest in place.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('score_outbox', sa.Column('due_digest', sa.String(length=64), nullable=True))


def downgrade():
    # Not in batch mode (see 0020 and 0021): SQLite 3.35+ drops a column in place, without copying the table.
    op.drop_column('score_outbox', 'due_digest')
