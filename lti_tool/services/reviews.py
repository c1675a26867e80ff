"""Spaced review of mastered skills, scheduled with FSRS (the `fsrs` package)."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

import sqlalchemy as sa
from fsrs import Card, Scheduler
from fsrs import Rating as FsrsRating

from ..extensions import db
from ..learning.coursepack import DEFAULT_RETENTION, CoursePack
from ..learning.mastery import Level
from ..learning.review import (
    REVIEWED_LEVELS,
    DueReview,
    ItemResult,
    ReviewOutcome,
    mastery_challenge,
    rating_for,
    review_outcome,
    starts_review,
)
from ..models import ReviewSchedule, ServedItem, SkillMastery
from .content import course_pack
from .errors import N_, NotFound
from .serving import Served, serve_exact, served, shown, still_served


@lru_cache(maxsize=16)
def scheduler(desired_retention: float = DEFAULT_RETENTION) -> Scheduler:
    """Return an FSRS scheduler for the retention a course wants, with no same-day learning steps.

    FSRS's default learning steps (1 and 10 minutes) are for flashcards drilled in one sitting; a skill
    mastered in Pathways has already been practised, so its first review comes at FSRS's first review
    interval for the desired retention (days), and a failed review comes back tomorrow (`RELEARN_AFTER`).
    """
    return Scheduler(desired_retention=desired_retention, learning_steps=(), relearning_steps=(),
                     enable_fuzzing=False)


def _settings(course_id: int) -> tuple[bool, float]:
    pack = course_pack(course_id)
    if pack is None:
        return True, DEFAULT_RETENTION
    return pack.mastery.review_spacing, pack.mastery.desired_retention


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


_READ = object()  # start_if_mastered: read the skill's schedule (the caller has not)


def start_if_mastered(course_id: int, person_id: int, skill_id: str, old: Level, new: Level, now: datetime, *,
                      schedule: ReviewSchedule | None | object = _READ, retention: float | None = None) -> None:
    """Put a newly mastered skill on the review schedule (first review after FSRS's first interval).

    A skill mastered again keeps its card, so FSRS's memory of earlier reviews (stability, lapses) carries on.
    A caller that has read the skill's schedule already (None: it has none) passes it, and the course's
    retention, so nothing is read again.
    """
    if retention is None:
        spacing, retention = _settings(course_id)
        if not spacing:
            return
    if not starts_review(old, new):
        return
    exists = schedule if schedule is not _READ else db.session.scalars(
        sa.select(ReviewSchedule).where(
            ReviewSchedule.course_id == course_id,
            ReviewSchedule.person_id == person_id,
            ReviewSchedule.skill_id == skill_id,
        )
    ).first()
    card = Card() if exists is None else Card.from_dict(exists.card)
    card, _ = scheduler(retention).review_card(card, FsrsRating.Good, review_datetime=_aware(now))
    if exists is None:
        db.session.add(ReviewSchedule(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                      card=card.to_dict(), due_at=_naive(card.due)))
    else:
        exists.card, exists.due_at = card.to_dict(), _naive(card.due)


def record_review(
    schedule: ReviewSchedule,
    level_before: Level,
    model_level: Level | None = None,
    *,
    correct: bool,
    hints_used: int,
    skill_name: str,
    now: datetime,
    retention: float | None = None,
) -> ReviewOutcome:
    """Rate a review answer, reschedule the skill, and say what it means for the level (the model's level)."""
    rating = rating_for(ItemResult(correct=correct, hints_used=hints_used))
    outcome = review_outcome(schedule.skill_id, level_before, rating, _aware(now), skill_name=skill_name,
                             model_level=model_level)
    if retention is None:
        retention = _settings(schedule.course_id)[1]
    card, _ = scheduler(retention).review_card(Card.from_dict(schedule.card), FsrsRating(rating.value),
                                               review_datetime=_aware(now))
    schedule.card = card.to_dict()
    # A failed review comes back tomorrow (relearning), not after FSRS's few-minute learning step.
    schedule.due_at = _naive(outcome.due_at or card.due)
    return outcome


def due_reviews(course_id: int, person_id: int, now: datetime) -> list[DueReview]:
    """Return the student's skills whose spaced review is due now ([] when the pack turns spacing off).

    Only skills still at a reviewed level (`REVIEWED_LEVELS`): a skill the teacher set back to Attempted, or that
    failed reviews took below Proficient, is practised again, not offered as one "you learned before".
    """
    return review_standing(course_id, person_id, now)[0]


def review_standing(course_id: int, person_id: int, now: datetime) -> tuple[list[DueReview], list[DueReview]]:
    """Return the reviews due now (`due_reviews`), and those missed: the skills whose last review was answered wrong,
    back for another review later (`DueReview.overdue` negative), soonest first. One statement.

    A student who misses a review and leaves before its summary is still shown that the skill comes back (the plan's
    review box), not only told so on the feedback page they left.
    """
    pack = course_pack(course_id)
    if pack is None or not pack.mastery.review_spacing:
        return [], []
    due: list[DueReview] = []
    missed: list[DueReview] = []
    moment = _aware(now)
    for skill_id, due_at, last_right in db.session.execute(_REVIEWED_QUERY, {"course_id": course_id,
                                                                              "person_id": person_id}):
        review = DueReview(skill_id, _aware(due_at), moment - _aware(due_at))
        if review.due_at <= moment:
            due.append(review)
        elif last_right is not None and not last_right:
            missed.append(review)
    due.sort(key=lambda review: review.due_at)
    missed.sort(key=lambda review: review.due_at)
    return due, missed


# Built once: the plan page asks on every view (services/mastery._ROWS_QUERY). Each scheduled skill at a reviewed
# level, and whether its latest answered review question was right (NULL: never reviewed yet). The tables' columns,
# not the mapped classes' attributes: a Core statement, which the session runs without the ORM's result set-up.
_SCHEDULE, _LEVELS, _SERVED = ReviewSchedule.__table__.c, SkillMastery.__table__.c, ServedItem.__table__.c
_LAST_REVIEW = sa.select(_SERVED.correct).where(
    _SERVED.course_id == _SCHEDULE.course_id, _SERVED.person_id == _SCHEDULE.person_id,
    _SERVED.skill_id == _SCHEDULE.skill_id, _SERVED.source == "review", _SERVED.answered_at.is_not(None),
).order_by(_SERVED.id.desc()).limit(1).correlate(ReviewSchedule.__table__).scalar_subquery()
_REVIEWED_QUERY = sa.select(_SCHEDULE.skill_id, _SCHEDULE.due_at, _LAST_REVIEW).join(
    SkillMastery.__table__, sa.and_(_LEVELS.course_id == _SCHEDULE.course_id, _LEVELS.person_id == _SCHEDULE.person_id,
                                    _LEVELS.skill_id == _SCHEDULE.skill_id)
).where(
    _SCHEDULE.course_id == sa.bindparam("course_id"), _SCHEDULE.person_id == sa.bindparam("person_id"),
    _LEVELS.level.in_(sorted(level.value for level in REVIEWED_LEVELS)))


def named_missed(pack: CoursePack, missed: Iterable[DueReview], *,
                 leave_out: Collection[str] = ()) -> list[tuple[str, str, date]]:
    """Return missed reviews (`review_standing`'s second list) as the pages name them: (skill id, the skill's name in
    the pack's language, the day it comes back), leaving out the skills in `leave_out`."""
    skills = pack.skills_by_id
    return [(m.skill_id, skills[m.skill_id].name if m.skill_id in skills else m.skill_id, m.due_at.date())
            for m in missed if m.skill_id not in leave_out]


def _items_by_skill(pack: CoursePack) -> dict[str, list[str]]:
    items: dict[str, list[str]] = {}
    for _, item in pack.items():
        for skill_id in item.skills:
            items.setdefault(skill_id, []).append(item.id)
    return items


def review_skills(pack: CoursePack, due: list[DueReview]) -> list[str]:
    """Return the due skills that have questions to review them with, most overdue first (the plan's review box)."""
    seen: list[str] = []
    for skill_id, _ in mastery_challenge(due, _items_by_skill(pack), size=1000) if due else ():
        if skill_id not in seen:
            seen.append(skill_id)
    return seen


def challenge(course_id: int, person_id: int, now: datetime, *, size: int = 6) -> list[tuple[str, str]]:
    """Return a mixed review of the student's due skills as (skill id, item id) pairs, or [] if none are due.

    Each answer goes through `mastery.record_answer` like any other, where a due skill's answer is its review.
    The questions served lately come last within a skill, and those open (on the practice page, in a unit check)
    after every other: answered on both pages, one would earn credit and the other none.
    """
    pack = course_pack(course_id)
    due = due_reviews(course_id, person_id, now)
    if pack is None or not due:
        return []
    items = _items_by_skill(pack)
    # Newest first, the open ones before all: mastery_challenge puts the newest last. The review's own open
    # questions are left out, so a reload without its sitting (`/review`) is served the same one again.
    recent = db.session.scalars(
        sa.select(ServedItem.item_id)
        .where(ServedItem.course_id == course_id, ServedItem.person_id == person_id,
               sa.or_(ServedItem.answered_at.is_not(None), ServedItem.source != "review"))
        .order_by(ServedItem.answered_at.is_(None).desc(), ServedItem.id.desc())
        .limit(100)
    ).all()
    return mastery_challenge(due, items, size=size, recent=recent)


#: Questions in one sitting of the mixed review: enough to take turns across skills, short enough to finish.
RUN_SIZE = 6


@dataclass(frozen=True)
class ReviewResult:
    """How one skill did in a review sitting: held (answered right) or needs more practice."""

    skill_id: str
    skill_name: str
    held: bool


def _run_rows(course_id: int, person_id: int, run: int | None) -> list[ServedItem]:
    """Return the rows of the learner's sitting `run` (its first row and the review rows after it), or [] when
    `run` names none of this learner's review rows here (like the unit check's `_run_rows`)."""
    if run is None:
        return []
    mine = (ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.source == "review")
    if db.session.scalar(sa.select(ServedItem.id).where(ServedItem.id == run, *mine)) is None:
        return []
    return list(db.session.scalars(sa.select(ServedItem).where(ServedItem.id >= run, *mine).order_by(ServedItem.id)))


def _skills_of(pack: CoursePack, item_id: str) -> tuple[str, ...]:
    try:
        return tuple(pack.item(item_id).skills)
    except KeyError:
        return ()


def _sitting(course_id: int, person_id: int, run: int | None) -> list[ServedItem]:
    """Return the rows of the learner's sitting `run`, or refuse a `run` that names none of theirs, writing nothing."""
    rows = _run_rows(course_id, person_id, run)
    if run is not None and not rows:
        # Not this learner's sitting (another's, or a made-up number): starting one here would let another site's
        # page start a sitting with the student's cookie (GET /review?run=...). Only the Start button's POST does.
        raise NotFound(N_("That review was not given to you here."))
    return rows


def _open_in(rows: list[ServedItem], pack: CoursePack, due: set[str]) -> ServedItem | None:
    """Return the sitting's open question still worth answering: unanswered, its skill still due, in the pack."""
    for row in rows:
        # An open question whose skill was reviewed meanwhile (on its practice page) is no review any more.
        if row.answered_at is None and due.intersection(_skills_of(pack, row.item_id)) and still_served(pack, row):
            return row
    return None


def _next_pick(rows: list[ServedItem], pack: CoursePack, pairs: list[tuple[str, str]]) -> str | None:
    """Return the item the sitting would serve next (one per due skill not yet asked in it), or None: it is over."""
    if len(rows) >= RUN_SIZE:
        return None
    asked = {skill_id for row in rows for skill_id in _skills_of(pack, row.item_id)}
    return next((item_id for skill_id, item_id in pairs if skill_id not in asked), None)


def open_review_question(course_id: int, person_id: int, pack: CoursePack, *, run: int,
                         now: datetime) -> Served | None:
    """Return the sitting's open question as its page shows it, or None; serves nothing (a GET shows this).

    A `run` that names no review row of this learner here is refused with NotFound.
    """
    rows = _sitting(course_id, person_id, run)
    due = {skill_id for skill_id, _ in challenge(course_id, person_id, now, size=1000)}
    row = _open_in(rows, pack, due)
    return None if row is None else shown(course_id, person_id, row.id, pack, now=now)


def review_goes_on(course_id: int, person_id: int, pack: CoursePack, *, run: int, now: datetime) -> bool:
    """Tell whether the sitting has a question to answer still, open or to serve next (writing nothing)."""
    rows = _sitting(course_id, person_id, run)
    pairs = challenge(course_id, person_id, now, size=1000)
    return _open_in(rows, pack, {s for s, _ in pairs}) is not None or _next_pick(rows, pack, pairs) is not None


def next_review_question(course_id: int, person_id: int, pack: CoursePack, *, run: int | None,
                         now: datetime) -> Served | None:
    """Return the review sitting's open question, or serve the next one; None when the sitting is over.

    Serves, so only a POST with its CSRF token calls it (start, "Next review question"); a GET shows
    `open_review_question`. The sitting takes turns across the due skills (`challenge`), one question per skill:
    each answer is that skill's review and moves it off "due", and a skill asked once in the sitting is not asked
    again, so an answer that earns no credit (a repeat the same day) cannot bring the same skill back in a loop.
    A `run` that names no review row of this learner here is refused with NotFound, writing nothing.
    """
    rows = _sitting(course_id, person_id, run)
    pairs = challenge(course_id, person_id, now, size=1000)
    row = _open_in(rows, pack, {skill_id for skill_id, _ in pairs})
    item_id = row.item_id if row is not None else _next_pick(rows, pack, pairs)
    if item_id is None:
        return None
    return serve_exact(course_id, person_id, pack.item(item_id), pack, source="review", now=now)


def review_question(course_id: int, person_id: int, served_id: int, pack: CoursePack) -> Served:
    """Return a review question served to this learner in this course, or refuse a question of another kind."""
    question = served(course_id, person_id, served_id, pack)
    if question.source != "review":
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))
    return question


def review_results(course_id: int, person_id: int, pack: CoursePack, *, run: int) -> list[ReviewResult]:
    """Return how each skill asked in a review sitting did, in the order they were asked."""
    names = {s.id: s.name for s in pack.skills}
    results = []
    for row in _run_rows(course_id, person_id, run):
        if row.answered_at is not None:
            results.append(ReviewResult(row.skill_id, names.get(row.skill_id, row.skill_id), bool(row.correct)))
    return results
