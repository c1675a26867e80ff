"""Spaced review of mastered skills, scheduled with FSRS (the `fsrs` package)."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from fsrs import Card, Scheduler
from fsrs import Rating as FsrsRating

from ..extensions import db
from ..learning.mastery import Level
from ..learning.review import ItemResult, ReviewOutcome, rating_for, review_outcome, starts_review
from ..models import ReviewSchedule

# One scheduler for the process: it holds only FSRS's default parameters.
_SCHEDULER = Scheduler()


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def due_schedule(course_id: int, person_id: int, skill_id: str, now: datetime) -> ReviewSchedule | None:
    """Return the skill's review schedule if a review is due now."""
    return db.session.scalars(
        sa.select(ReviewSchedule).where(
            ReviewSchedule.course_id == course_id,
            ReviewSchedule.person_id == person_id,
            ReviewSchedule.skill_id == skill_id,
            ReviewSchedule.due_at <= now,
        )
    ).first()


def start_if_mastered(course_id: int, person_id: int, skill_id: str, old: Level, new: Level, now: datetime) -> None:
    """Put a newly mastered skill on the review schedule (first review after FSRS's first interval)."""
    if not starts_review(old, new):
        return
    exists = db.session.scalars(
        sa.select(ReviewSchedule).where(
            ReviewSchedule.course_id == course_id,
            ReviewSchedule.person_id == person_id,
            ReviewSchedule.skill_id == skill_id,
        )
    ).first()
    card, _ = _SCHEDULER.review_card(Card(), FsrsRating.Good, review_datetime=_aware(now))
    if exists is None:
        db.session.add(ReviewSchedule(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                      card=card.to_dict(), due_at=_naive(card.due)))
    else:
        exists.card, exists.due_at = card.to_dict(), _naive(card.due)


def record_review(
    schedule: ReviewSchedule, level_before: Level, *, correct: bool, hints_used: int, skill_name: str, now: datetime
) -> ReviewOutcome:
    """Rate a review answer, reschedule the skill, and say what it means for the level."""
    rating = rating_for(ItemResult(correct=correct, hints_used=hints_used))
    outcome = review_outcome(schedule.skill_id, level_before, rating, _aware(now), skill_name=skill_name)
    card, _ = _SCHEDULER.review_card(Card.from_dict(schedule.card), FsrsRating(rating.value),
                                     review_datetime=_aware(now))
    schedule.card = card.to_dict()
    # A failed review comes back tomorrow (relearning), not after FSRS's few-minute learning step.
    schedule.due_at = _naive(outcome.due_at or card.due)
    return outcome
