"""Spaced review of mastered skills ("fading"): what is due, what a review's result means, and its FSRS rating.

The service layer computes due dates with the `fsrs` package (`Scheduler.review_card(card, Rating(value))`);
this module holds only the decisions around it, so it stays standard library and clock-free. Retrieval practice
spaced out over time is one of the best-supported findings in learning research, so a mastered skill is not
"done": it comes back, and a failed review counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum

from .mastery import PROFICIENT_OR_ABOVE, Level

#: The levels whose skill keeps its spaced reviews. A failed review drops Mastered to Proficient and stays scheduled
#: (relearning); further below that, the skill is back on the student's ordinary learning path, where a "review" of
#: something "you learned before" would contradict the level every page shows. Its card is kept: mastered again,
#: FSRS's memory of it carries on.
REVIEWED_LEVELS: frozenset[Level] = PROFICIENT_OR_ABOVE

#: How soon a forgotten skill comes back. A day rather than FSRS's minutes-long relearning step, because
#: learners meet Pathways in lessons and homework, not in one sitting.
RELEARN_AFTER = timedelta(days=1)

#: A review needs at least this share of items right (hints allowed) to count as remembered.
PASS_SHARE = 0.6

#: A perfect, hint-free review on at least this many items is rated Easy; fewer items are too little evidence.
EASY_MIN_ITEMS = 3


class Rating(IntEnum):
    """A review's rating, numbered exactly like `fsrs.Rating` so `fsrs.Rating(rating.value)` converts it."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4


@dataclass(frozen=True)
class ItemResult:
    """One answer given during practice or review: right or wrong, and how many hints were opened first."""

    correct: bool
    hints_used: int = 0


@dataclass(frozen=True)
class DueReview:
    """A mastered skill whose spaced review is due, and by how long it is overdue."""

    skill_id: str
    due_at: datetime
    overdue: timedelta


@dataclass(frozen=True)
class ReviewOutcome:
    """What one review means for a skill: passed or not, the level after it, and when it comes back."""

    skill_id: str
    rating: Rating
    passed: bool
    level_before: Level
    level_after: Level
    #: Set after a failed review (come back soon); None means "use the scheduler's due date".
    due_at: datetime | None
    message: str

    @property
    def level_changed(self) -> bool:
        """Return whether the review moved the level (a change is what triggers a grade post)."""
        return self.level_after is not self.level_before


def _check_aware(moment: datetime, what: str) -> None:
    # fsrs v6 stores due dates as aware UTC datetimes; comparing them with naive ones would raise deep inside
    # a sort, so say what is wrong here instead.
    if moment.tzinfo is None:
        raise ValueError(f"{what} must be a timezone-aware datetime (UTC), like the due dates fsrs stores.")


def due_reviews(
    due_dates: Mapping[str, datetime],
    now: datetime,
    *,
    within: timedelta = timedelta(0),
    limit: int | None = None,
) -> list[DueReview]:
    """Return the reviews due by `now` (plus `within`), most overdue first, ties by skill id."""
    _check_aware(now, "now")
    due = []
    for skill_id, due_at in due_dates.items():
        _check_aware(due_at, f"The due date of {skill_id!r}")
        if due_at <= now + within:
            due.append(DueReview(skill_id, due_at, max(now - due_at, timedelta(0))))
    due.sort(key=lambda review: (review.due_at, review.skill_id))
    return due if limit is None else due[: max(limit, 0)]


def rating_for(results: Sequence[ItemResult] | ItemResult) -> Rating:
    """Return the FSRS rating of a practice or review session from correctness and hints used.

    Mostly wrong (under 60% right, hints allowed) is Again; right but with a miss or a hint is Hard (recalled
    with effort); every item right without hints is Good, or Easy when that held over three items or more.
    """
    if isinstance(results, ItemResult):
        results = (results,)
    if not results:
        raise ValueError("A review needs at least one answer to be rated.")
    right = sum(1 for r in results if r.correct)
    if right / len(results) < PASS_SHARE:
        return Rating.AGAIN
    if right < len(results) or any(r.hints_used > 0 for r in results if r.correct):
        return Rating.HARD
    return Rating.EASY if len(results) >= EASY_MIN_ITEMS else Rating.GOOD


def level_after_review(level_before: Level, rating: Rating, model_level: Level | None = None) -> Level:
    """Return the level after a review: the model's level after the answer, or unchanged if not given.

    A failed review lowers the estimate; the level follows only when the model says so (its hold margin
    keeps one miss after clear evidence from costing the level, and the LMS grade with it). A fixed
    one-step drop would take a level a day from a learner who keeps failing a review, whatever they show.
    """
    del rating  # The rating schedules the review; the answers themselves already moved the estimate.
    return level_before if model_level is None else model_level


def review_outcome(
    skill_id: str,
    level_before: Level,
    rating: Rating,
    now: datetime,
    *,
    skill_name: str | None = None,
    relearn_after: timedelta = RELEARN_AFTER,
    model_level: Level | None = None,
) -> ReviewOutcome:
    """Decide what a review means: a failed one comes back soon; the level is the model's (`model_level`)."""
    _check_aware(now, "now")
    name = skill_name or skill_id
    level_after = level_after_review(level_before, rating, model_level)
    if rating is Rating.AGAIN:
        if level_after is level_before:
            message = (
                f"{name} was hard to remember this time; it stays {level_after.value} for now. "
                "It will come back for a short review tomorrow."
            )
        else:
            message = (
                f"{name} was hard to remember this time, so it's back to {level_after.value}. "
                "It will come back for a short review tomorrow; remembering it again brings it back up."
            )
        return ReviewOutcome(skill_id, rating, False, level_before, level_after, now + relearn_after, message)
    message = f"You still remember {name}: it is {level_after.value}. It will come back later, after a longer gap."
    return ReviewOutcome(skill_id, rating, True, level_before, level_after, None, message)


def starts_review(old: Level, new: Level) -> bool:
    """Return whether a level change should put the skill on the review schedule (it just became Mastered)."""
    return new is Level.MASTERED and old is not Level.MASTERED


def reviews_to_stop(due_dates: Mapping[str, datetime], levels: Mapping[str, Level]) -> list[str]:
    """Return scheduled skills that dropped below Proficient, whose review should give way to new practice."""
    return sorted(skill_id for skill_id in due_dates if levels.get(skill_id, Level.NOT_STARTED) not in REVIEWED_LEVELS)


def mastery_challenge(
    due: Sequence[DueReview],
    items_by_skill: Mapping[str, Sequence[str]],
    *,
    size: int = 6,
    recent: Sequence[str] = (),
) -> list[tuple[str, str]]:
    """Return a mixed review: (skill, item) pairs taking turns across the due skills, most overdue first.

    Interleaving skills (a Khan-style mastery challenge) makes each answer a retrieval of which skill applies,
    not a repeat of the last one. Items answered lately (`recent`, newest first) come last within a skill;
    a skill with no items is left out; no item is asked twice.
    """
    seen: dict[str, int] = {}
    for n, item in enumerate(recent):
        seen.setdefault(item, n)  # an item served now and long ago too is a recent one
    queues = []
    for review in sorted(due, key=lambda r: (-r.overdue, r.skill_id)):
        items = list(items_by_skill.get(review.skill_id, ()))
        # Not answered lately first, then the longest ago; the pack's order breaks ties.
        items.sort(key=lambda item: (item in seen, -seen.get(item, 0)))
        if items:
            queues.append((review.skill_id, items))
    picked: list[tuple[str, str]] = []
    asked: set[str] = set()
    while len(picked) < size and any(items for _, items in queues):
        for skill_id, items in queues:
            while items and items[0] in asked:
                items.pop(0)
            if items and len(picked) < size:
                item = items.pop(0)
                asked.add(item)
                picked.append((skill_id, item))
    return picked
