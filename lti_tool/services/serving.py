"""Served items: the server chooses each question a student gets and keeps it, so only that one can be answered.

Answers count only for an item served to that learner in that course and not yet answered, so re-posting a
known right answer earns nothing. A skill's pool is used up before anything repeats (a template counts as used
when every variant has been served), easier items come first and harder ones after right answers, and a variant
already answered in the same session is practice without mastery credit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack, Item, distinct_items, instantiate
from ..learning.item_templates import TemplateError, sample, variant_key
from ..models import ServedItem
from .errors import N_, NotFound

#: Answers to the same variant within this time are one practice session: a repeat there gives no credit.
SESSION = timedelta(hours=12)
_TIERS = {"easy": 0, "medium": 1, "hard": 2}
_RNG = secrets.SystemRandom()


@dataclass(frozen=True)
class Served:
    """A question as the student sees it: the served row's id and the item written out for its variant."""

    id: int
    item: Item
    credit: bool
    source: str
    answered: bool
    correct: bool | None


def tier(item: Item) -> int:
    """Return the item's difficulty as 0 (easy), 1 (medium) or 2 (hard); numbers are read on a -1..1 scale."""
    if isinstance(item.difficulty, str):
        return _TIERS.get(item.difficulty, 1)
    return 0 if item.difficulty < -0.33 else 2 if item.difficulty > 0.33 else 1


def items_for_skill(pack: CoursePack, skill_id: str) -> list[Item]:
    """Return the practice items that practise a skill, in the pack's order."""
    return [item for _, item in pack.items() if skill_id in item.skills]


def _view(row: ServedItem, pack: CoursePack) -> Served:
    try:
        item = instantiate(pack.item(row.item_id), row.params or {})
    except (KeyError, TemplateError) as exc:
        # The teacher replaced the pack since this question was served.
        raise NotFound(N_("That question is no longer part of this course. Here is a new one.")) from exc
    return Served(row.id, item, row.credit, row.source, row.answered_at is not None, row.correct)


def served(course_id: int, person_id: int, served_id: int, pack: CoursePack) -> Served:
    """Return a question served to this learner in this course, or refuse: no other can be answered."""
    row = db.session.scalars(
        sa.select(ServedItem).where(
            ServedItem.id == served_id, ServedItem.course_id == course_id, ServedItem.person_id == person_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))
    return _view(row, pack)


def _history(course_id: int, person_id: int, item_ids: list[str]) -> list[ServedItem]:
    return list(
        db.session.scalars(
            sa.select(ServedItem)
            .where(ServedItem.course_id == course_id, ServedItem.person_id == person_id,
                   ServedItem.item_id.in_(item_ids))
            .order_by(ServedItem.id)
        )
    )


def _credit(history: list[ServedItem], variant: str, now: datetime) -> bool:
    return not any(
        row.variant == variant and row.answered_at is not None and now - row.answered_at < SESSION for row in history
    )


def serve_next(course_id: int, person_id: int, skill_id: str, pack: CoursePack, *, now: datetime) -> Served | None:
    """Return the student's open question for a skill, or serve the next one (None when the skill has none)."""
    items = items_for_skill(pack, skill_id)
    if not items:
        return None
    history = _history(course_id, person_id, [i.id for i in items])
    for row in reversed(history):
        if row.answered_at is None and row.source == "practice" and row.skill_id == skill_id:
            try:
                return _view(row, pack)  # a reload shows the same question, so reloading cannot pick an easier one
            except NotFound:
                break
    uses: dict[str, set[str]] = {}
    last_served: dict[str, int] = {}
    for row in history:
        uses.setdefault(row.item_id, set()).add(row.variant)
        last_served[row.item_id] = row.id
    fresh = [i for i in items if len(uses.get(i.id, ())) < distinct_items(i)]
    if not fresh:
        # The pool is used up: start it again, least recently served first.
        fresh = sorted(items, key=lambda i: last_served.get(i.id, 0))
    # Easier first; one step harder after each right answer in a row on this skill, back to easy after a miss.
    streak = 0
    for row in reversed(history):
        if row.skill_id != skill_id or row.answered_at is None:
            continue
        if not row.correct:
            break
        streak += 1
    target = min(streak, 2)
    item = min(fresh, key=lambda i: (abs(tier(i) - target), tier(i), len(uses.get(i.id, ())),
                                     last_served.get(i.id, 0)))
    return _serve(course_id, person_id, skill_id, item, history, source="practice", now=now, pack=pack)


def serve_exact(course_id: int, person_id: int, item: Item, pack: CoursePack, *, source: str,
                now: datetime) -> Served:
    """Return the open served row for this item and source, or serve it (the placement check picks its items)."""
    history = _history(course_id, person_id, [item.id])
    for row in reversed(history):
        if row.answered_at is None and row.source == source:
            return _view(row, pack)
    return _serve(course_id, person_id, item.skills[0], item, history, source=source, now=now, pack=pack)


def _serve(course_id: int, person_id: int, skill_id: str, item: Item, history: list[ServedItem], *, source: str,
           now: datetime, pack: CoursePack) -> Served:
    seen = {row.variant for row in history if row.item_id == item.id}
    params = sample(item.parameters, item.constraints, _RNG, lambda p: variant_key(item.id, p) in seen) \
        if item.parameters else {}
    variant = variant_key(item.id, params)
    row = ServedItem(course_id=course_id, person_id=person_id, skill_id=skill_id, item_id=item.id, params=params,
                     variant=variant, source=source, credit=_credit(history, variant, now), served_at=now)
    db.session.add(row)
    db.session.commit()
    return _view(row, pack)


def claim(served_id: int, *, correct: bool, now: datetime) -> bool:
    """Mark a served question answered; return False when an earlier post already did (the first answer wins).

    A conditional update: under parallel posts PostgreSQL lets one through and re-checks the others after it
    commits, and SQLite serialises the writers, so exactly one request records the answer.
    """
    result = db.session.execute(
        sa.update(ServedItem)
        .where(ServedItem.id == served_id, ServedItem.answered_at.is_(None))
        .values(answered_at=now, correct=correct)
        # The row read to check the answer is updated in the session too, so a page that reads it after a
        # commit that keeps rows (models.base.commit_keeping_rows) sees it answered.
        .execution_options(synchronize_session="evaluate")
    )
    return result.rowcount == 1


def answered_correct(served_id: int) -> bool:
    """Return how the first answer to a served question was judged."""
    return bool(db.session.scalar(sa.select(ServedItem.correct).where(ServedItem.id == served_id)))


def misses_in_a_row(course_id: int, person_id: int, skill_id: str) -> int:
    """Return how many of the learner's latest answers on a skill were wrong in a row."""
    rows = db.session.scalars(
        sa.select(ServedItem.correct)
        .where(ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.skill_id == skill_id,
               ServedItem.source == "practice", ServedItem.answered_at.is_not(None))
        .order_by(ServedItem.answered_at.desc(), ServedItem.id.desc())
        .limit(10)
    )
    count = 0
    for correct in rows:
        if correct:
            break
        count += 1
    return count
