"""The outbox: work for an LMS (grade posts) written in the same transaction as the change that caused it."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow

# Row states. A row being worked on stays "pending" and carries a lease; an expired lease frees it again.
PENDING = "pending"
SYNCED = "synced"
FAILED = "failed"
SUPERSEDED = "superseded"
# A score without a number (nothing due yet) that the worker did not send: no number of ours was ever in the
# gradebook for it to clear, and on Canvas any score makes a submission that waits in the teacher's "Needs grading".
NOTHING_TO_CLEAR = "nothing_to_clear"
OUTBOX_STATES = (PENDING, SYNCED, FAILED, SUPERSEDED, NOTHING_TO_CLEAR)


class ScoreOutbox(db.Model):
    """One AGS score to post for a person on a placement's line item (or a per-skill line item)."""

    __tablename__ = "score_outbox"
    __table_args__ = (
        # The worker's claim query and stale-row pass: due pending rows, oldest first, in (next_attempt_at, id)
        # order straight from the index, however many rows were queued at one moment (migration 0017).
        sa.Index("ix_score_outbox_due", "status", "next_attempt_at", "id"),
        # Coalescing and "latest row per student" look rows up by (line item target, person) in time order.
        sa.Index("ix_score_outbox_target", "placement_id", "skill_id", "person_id", "score_timestamp"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    placement_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("placement.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    # "" for the placement's own line item; a skill id for the optional per-skill line items.
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100), default="")
    # The line item the score went (or goes) to; resolved by the worker when the placement had none yet.
    lineitem_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    score_given: so.Mapped[float | None] = so.mapped_column(sa.Float)
    score_maximum: so.Mapped[float | None] = so.mapped_column(sa.Float)
    activity_progress: so.Mapped[str] = so.mapped_column(sa.String(20))
    grading_progress: so.Mapped[str] = so.mapped_column(sa.String(20))
    comment: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    # A due-so-far score's due set: the SHA-256 of the sorted ids of the placement's skills it was worked out on
    # (learning.grading.due_digest). The comment names only how many, so a skill swapped for another is seen here.
    # None under other schemes, on per-skill columns, and on rows from before migration 0026.
    due_digest: so.Mapped[str | None] = so.mapped_column(sa.String(64))
    # The AGS score timestamp: when mastery changed, strictly increasing per (line item, person).
    score_timestamp: so.Mapped[datetime] = so.mapped_column(sa.DateTime)

    status: so.Mapped[str] = so.mapped_column(sa.String(20), default=PENDING)
    attempts: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    next_attempt_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    # Set when a worker claims the row; another worker may take it once lease_expires_at has passed.
    lease_token: so.Mapped[str | None] = so.mapped_column(sa.String(36), index=True)
    lease_expires_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # The platform's HTTP status and message for the latest failed attempt (shown to the teacher).
    last_status: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    last_error: so.Mapped[str | None] = so.mapped_column(sa.Text)
    # The platform refused the score (409) because a newer one of ours replaced it: harmless and counted.
    duplicate: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    synced_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)


class SkillLineItem(db.Model):
    """The per-skill line item of a placement (only for courses that turned per-skill grades on)."""

    __tablename__ = "skill_lineitem"
    __table_args__ = (sa.UniqueConstraint("placement_id", "skill_id", name="uq_skill_lineitem_placement_skill"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    placement_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("placement.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    lineitem_url: so.Mapped[str] = so.mapped_column(sa.String(1000))


def newer_row_exists() -> sa.ColumnElement[bool]:
    """Return the condition "a newer row for the same student, line item and skill is not superseded".

    The one rule for a stale score (the worker's claim and its stale-row pass, and queue_scores as it writes):
    newer means a later score_timestamp, or the same one and a later id.
    """
    table = ScoreOutbox.__table__
    newer = table.alias("newer")
    return sa.exists().where(
        newer.c.placement_id == table.c.placement_id,
        newer.c.skill_id == table.c.skill_id,
        newer.c.person_id == table.c.person_id,
        newer.c.status != SUPERSEDED,
        sa.or_(
            newer.c.score_timestamp > table.c.score_timestamp,
            sa.and_(newer.c.score_timestamp == table.c.score_timestamp, newer.c.id > table.c.id),
        ),
    )
