"""Served items: the server chooses each question a student gets and keeps it, so only that one can be answered.

Answers count only for an item served to that learner in that course and not yet answered, so re-posting a
known right answer earns nothing. A skill's pool is used up before anything repeats (a template counts as used
when every variant has been served; an item open on another page, in a review or a unit check, is used too, and
each of those pages leaves it to the others while the skill has another), except that while the levels still need
right answers on more distinct items, an item missed earlier comes back before more variants of one answered right
(`_unproven`), easier items come first and harder ones
after right answers, and a variant already answered in the same session is practice without mastery credit:
decided when it is served (the page says so) and settled when it is answered (`claim`), as the same variant may
be open on two pages at once. A question closed without an answer (the placement check's "I haven't learnt this
yet": `correct` stays NULL) is no answer: practising it later earns credit. The hints a question shows are
counted on its served row (`show_hint`), and its answer records that count.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..learning.coursepack import CoursePack, Item, distinct_items, instantiate
from ..learning.item_templates import TemplateError, sample, variant_key
from ..models import DiagnosticRun, MasteryEvent, ServedItem
from ..models.base import commit_keeping_rows, still_loaded
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
    skill_id: str = ""
    #: The hints the server has shown on this question so far (its row's count, see `show_hint`).
    hints: int = 0


def tier(item: Item) -> int:
    """Return the item's difficulty as 0 (easy), 1 (medium) or 2 (hard); numbers are read on a -1..1 scale."""
    if isinstance(item.difficulty, str):
        return _TIERS.get(item.difficulty, 1)
    return 0 if item.difficulty < -0.33 else 2 if item.difficulty > 0.33 else 1


def items_for_skill(pack: CoursePack, skill_id: str) -> list[Item]:
    """Return the practice items that practise a skill, in the pack's order."""
    return [item for _, item in pack.items() if skill_id in item.skills]


def _instance(pack: CoursePack, row: ServedItem) -> Item | None:
    """Return a served row's question as the pack makes it now, or None: the teacher replaced the pack since."""
    try:
        return instantiate(pack.item(row.item_id), row.params or {})
    except (KeyError, TemplateError):
        return None


def _view(row: ServedItem, pack: CoursePack, *, repeat: bool = False) -> Served:
    """Return the served row as its page shows it; `repeat`: another copy of its variant was answered since."""
    item = _instance(pack, row)
    if item is None:
        raise NotFound(N_("That question is no longer part of this course. Here is a new one."))
    return Served(row.id, item, row.credit and not repeat, row.source, row.answered_at is not None, row.correct,
                  row.skill_id, hints=row.hints_shown or 0)


def still_served(pack: CoursePack, row: ServedItem) -> bool:
    """Return whether the pack still has a served row's question (the teacher may have replaced the pack since)."""
    return _instance(pack, row) is not None


def _shown(row: ServedItem, pack: CoursePack, history: list[ServedItem], now: datetime) -> Served:
    """Return an open row of the history as its page shows it now: without credit once its variant was answered.

    Served with credit, the same variant may be open elsewhere too (practice and a review or unit check) and be
    answered there first: the answer here then earns none (`claim`), and the page says so before it is given.
    """
    return _view(row, pack, repeat=not _credit(history, row.variant, now))


def served(course_id: int, person_id: int, served_id: int, pack: CoursePack) -> Served:
    """Return a question served to this learner in this course, or refuse: no other can be answered.

    A row read with the launch (`hold_served`) is used instead of asking again.
    """
    key = (course_id, person_id, served_id)
    held = db.session.info.get(_HELD, {}).pop(key, _NOTHING)
    if held is not _NOTHING and (held is None or still_loaded(held)):
        row = held
    else:
        row = db.session.scalars(_SERVED_QUERY, {"served_id": served_id, "course_id": course_id,
                                                 "person_id": person_id}).one_or_none()
    if row is None:
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))
    return _view(row, pack)


def hold_served(course_id: int, person_id: int, served_id: int, row: ServedItem | None) -> None:
    """Remember a served row read with the launch, for this request's answer.

    None too: a question not served to this learner here is known to be missing. Used once: a retry reads again.
    """
    db.session.info.setdefault(_HELD, {})[(course_id, person_id, served_id)] = row


_HELD = "pathways.held_served"
_NOTHING = object()

#: The level changes that are the teacher's judgement: an override, accepted evidence.
TEACHERS_LEVELS = ("override", "evidence")


def since_teachers_level(answer: sa.ColumnCollection, course_id: sa.ColumnElement, person_id: sa.ColumnElement,
                         skill_id: sa.ColumnElement, *, until: sa.ColumnElement | None = None) -> sa.ColumnElement:
    """Return the condition that a served row's answer (`answer`, the table's columns) came after the teacher last
    set the learner's level on skill_id (no override or accepted evidence at or after it, up to `until` when given).

    A run of misses counts only the answers since then: the teacher's level is their judgement after the misses
    before it. The plan's step (`Standing.missed_lately`) and the answer's feedback page read it.
    """
    events = MasteryEvent.__table__.alias()
    event = events.c
    teacher_since = [event.course_id == course_id, event.person_id == person_id, event.skill_id == skill_id,
                     event.source.in_(TEACHERS_LEVELS), event.at >= answer.answered_at]
    if until is not None:
        teacher_since.append(event.at <= until)
    # Every other table is the enclosing statements' (the served row, the answer's row): read there, not joined.
    return ~sa.exists().where(*teacher_since).correlate_except(events)


# Built once: an answer is one of the hottest requests (see launches._returning_query).
_SERVED_QUERY = sa.select(ServedItem).where(
    ServedItem.id == sa.bindparam("served_id"), ServedItem.course_id == sa.bindparam("course_id"),
    ServedItem.person_id == sa.bindparam("person_id"))


def _history(course_id: int, person_id: int, item_ids: list[str]) -> list[ServedItem]:
    query = (
        sa.select(ServedItem)
        .where(ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.item_id.in_(item_ids))
        .order_by(ServedItem.id)
    )
    return list(db.session.scalars(query))


def _credit(history: list[ServedItem], variant: str, now: datetime) -> bool:
    # A row closed without an answer (correct NULL, see `claim`) showed the question and nothing about its answer.
    return not any(
        row.variant == variant and row.answered_at is not None and row.correct is not None
        and now - row.answered_at < SESSION for row in history
    )


def serve_next(course_id: int, person_id: int, skill_id: str, pack: CoursePack, *, now: datetime) -> Served | None:
    """Return the student's open question for a skill, or serve the next one (None when the skill has none, or its
    only one left to serve is open in the placement check, `_not_in_placement`)."""
    items = items_for_skill(pack, skill_id)
    if not items:
        return None
    item_ids = [i.id for i in items]

    def practice(row: ServedItem) -> bool:
        return row.source == "practice" and row.skill_id == skill_id

    # A reload shows the same question, so reloading cannot pick an easier one. Only the open question is read here,
    # not the whole history: most requests find none and read the history under the lock below anyway.
    question = _open_practice(course_id, person_id, skill_id, item_ids, pack, now)
    if question is not None:
        return question
    history = _locked_history(course_id, person_id, item_ids, now)
    question = _reshown(_open_row(history, practice), pack, history, now)
    if question is not None:
        db.session.commit()  # another tab served it while this one waited: release the lock
        return question
    uses: dict[str, set[str]] = {}
    last_served: dict[str, int] = {}
    for row in history:
        uses.setdefault(row.item_id, set()).add(row.variant)
        last_served[row.item_id] = row.id
    fresh = [i for i in items if len(uses.get(i.id, ())) < distinct_items(i)]
    unproven = _unproven(items, history, uses, pack, now)
    if unproven:
        fresh = unproven
    elif not fresh:
        # The pool is used up: start it again, least recently served first, leaving out a question open on another
        # page (a review, a unit check) while there is another: answered here first, it would be credited here and
        # a repeat there, or answered there first, a repeat here. The placement check's open question is never
        # shared: with nothing else to serve, practice waits for the check.
        open_elsewhere = _open_elsewhere(history, now)
        fresh = [i for i in items if i.id not in open_elsewhere] or _not_in_placement(course_id, person_id, items,
                                                                                       history)
        fresh.sort(key=lambda i: last_served.get(i.id, 0))
        if not fresh:
            db.session.commit()  # release the lock
            return None
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
    # The practice page's session holds only the launch, the course and the history read again under the lock:
    # all current, so the commit keeps them and the page reads neither the new row nor the launch again.
    return _serve(course_id, person_id, skill_id, item, history, source="practice", now=now, pack=pack,
                  keep_rows=True)


def question_can_count(course_id: int, person_id: int, skill_id: str, pack: CoursePack, *, now: datetime) -> bool:
    """Return whether practice on the skill has a question to serve now whose right answer would add a question
    answered right (`_unproven`): when none has, the missed ones wait out SESSION and more questions now are
    practice that cannot move the level, so the feedback page points the student elsewhere."""
    items = items_for_skill(pack, skill_id)
    # The feedback page's only read of the history: the columns `_unproven` reads, as a Core statement (the page
    # reads nothing through the ORM: tests/perf/test_hot_reads_core.py).
    history = db.session.execute(_HISTORY_FOR_CREDIT, {"course_id": course_id, "person_id": person_id,
                                                       "item_ids": [i.id for i in items]}).all()
    uses: dict[str, set[str]] = {}
    for row in history:
        uses.setdefault(row.item_id, set()).add(row.variant)
    if _unproven(items, history, uses, pack, now):
        return True
    # `_unproven` leaves out a question open on another page. Practice's own open question on the skill (another
    # tab's) is what "Next question" shows again, so it can count now. One open only in a review or a unit check is
    # not: practice leaves it to that page and serves questions that cannot move the level, so it is no way on here.
    if not _needs_more_items(items, history, pack):
        return False
    right = _right_items(history)
    return any(row.answered_at is None and row.source == "practice" and row.skill_id == skill_id
               and row.item_id not in right and row.credit and _credit(history, row.variant, now)
               for row in history)


def _open_elsewhere(history: list[ServedItem], now: datetime) -> set[str]:
    """Return the items open on another page that practice leaves to it while the skill has others.

    Not a review question served more than SESSION ago: the student walked away from it (the review serves it
    again when they come back while the skill is due), and kept open forever it took its item out of practice, so
    a skill whose pool is as small as the items Mastered asks for could not be mastered. Answered on both pages, the
    second answer earns no credit anyway (`claim`).
    """
    return {row.item_id for row in history
            if row.answered_at is None and not (row.source == "review" and now - row.served_at >= SESSION)}


def _not_in_placement(course_id: int, person_id: int, items: list[Item], history: list[ServedItem]) -> list[Item]:
    """Return the items not open in the placement check under way: one open there is never served in practice too.

    The check asks what the student knows before practice; its question on the practice page too would be answered
    (its worked solution read) on one page and then in the check. Only while the check is under way: its questions
    are closed when it finishes (`close_open`), but one left open by a check finished before that is no placement
    question any more. Read only here, where everything else is open on another page too: seldom.
    """
    in_check = {row.item_id for row in history if row.answered_at is None and row.source == "diagnostic"}
    if in_check and not _placement_under_way(course_id, person_id):
        return items
    return [i for i in items if i.id not in in_check]


def _placement_under_way(course_id: int, person_id: int) -> bool:
    finished = db.session.execute(sa.select(DiagnosticRun.finished_at).where(
        DiagnosticRun.course_id == course_id, DiagnosticRun.person_id == person_id)).first()
    return finished is None or finished[0] is None  # no run yet: its first question is open, not answered


def close_open(course_id: int, person_id: int, source: str, *, now: datetime) -> None:
    """Close the learner's open questions of a source without an answer, as `claim(correct=None)` closes one, in the
    caller's transaction (the placement check as it finishes: a question it left open is no longer open anywhere)."""
    db.session.execute(sa.update(_SERVED).where(
        _SERVED.c.course_id == course_id, _SERVED.c.person_id == person_id, _SERVED.c.source == source,
        _SERVED.c.answered_at.is_(None)).values(answered_at=now, correct=None))


def _right_items(history: Sequence[ServedItem]) -> set[str]:
    return {row.item_id for row in history if row.correct and row.credit}


def _needs_more_items(items: list[Item], history: Sequence[ServedItem], pack: CoursePack) -> bool:
    """Return whether the levels still ask for right answers on more of the skill's distinct items."""
    right = _right_items(history)
    return len(right.intersection(i.id for i in items)) < pack.mastery.level_rules().items_to_master


def _unproven(items: list[Item], history: list[ServedItem], uses: dict[str, set[str]], pack: CoursePack,
              now: datetime) -> list[Item]:
    """Return the skill's items not yet answered right that would earn credit now, while the levels need more.

    Proficient and Mastered ask for right answers on distinct items, and every variant of a template is one item.
    Served fresh items first, a learner who missed the fixed items and then got a template right met only new
    variants of that template, while the missed items waited for the whole pool (a template's every variant) to be
    used: right answer after right answer, the level could not move. Until the learner has as many items right as
    the levels ask for, only the items still to get right are served, among them one missed before. Only those
    that earn credit now: a new variant of a template, or an item whose last answer is older than SESSION (a
    repeat within it is practice without credit, and the worked solution the miss showed is not fresh in mind
    then). None open on another page (a review, a unit check) either: see the pool's restart below.
    """
    if not _needs_more_items(items, history, pack):
        return []
    right = _right_items(history)
    open_elsewhere = _open_elsewhere(history, now)

    def earns_credit(item: Item) -> bool:
        if len(uses.get(item.id, ())) < distinct_items(item):
            return True  # a variant (or a fixed item) never served
        return not item.parameters and _credit(history, variant_key(item.id, {}), now)

    return [i for i in items if i.id not in right and i.id not in open_elsewhere and earns_credit(i)]


def serve_exact(course_id: int, person_id: int, item: Item, pack: CoursePack, *, source: str,
                now: datetime) -> Served:
    """Return the open served row for this item and source, or serve it (the placement check picks its items)."""

    def same_source(row: ServedItem) -> bool:
        return row.source == source

    history = _history(course_id, person_id, [item.id])
    row = _open_row(history, same_source)
    if row is not None:
        return _shown(row, pack, history, now)
    history = _locked_history(course_id, person_id, [item.id], now)
    row = _open_row(history, same_source)
    if row is not None:
        question = _shown(row, pack, history, now)
        db.session.commit()  # served by a parallel request while this one waited: release the lock
        return question
    return _serve(course_id, person_id, item.skills[0], item, history, source=source, now=now, pack=pack)


def serve_new(course_id: int, person_id: int, items: Sequence[Item], pack: CoursePack, *, source: str,
              now: datetime) -> list[Served]:
    """Serve each item a new row of its own, all with the time `now`, in one transaction under the learner's lock.

    For a page whose questions are served together and tied by their time (the unit check's sitting): unlike
    `serve_exact`, an open row of the same item and source (another sitting's) is never handed back, as it would
    join this set to that one. A fixed item open elsewhere is served again: whichever copy is answered first earns
    the credit, and the other is then a repeat without it (`claim`; its page says so). A template gets a variant
    not yet served. The caller may take the lock first (`mastery.lock_learner_row`) to decide what to serve.
    """
    history = _locked_history(course_id, person_id, [item.id for item in items], now)
    written = [_insert(course_id, person_id, item.skills[0], item, history, source=source, now=now)
               for item in items]
    db.session.commit()
    return [_view(ServedItem(**values), pack) for values in written]


def _open_row(history: list[ServedItem], wanted: Callable[[ServedItem], bool]) -> ServedItem | None:
    """Return the newest unanswered row of the history that is wanted, or None."""
    return next((row for row in reversed(history) if row.answered_at is None and wanted(row)), None)


def _reshown(row: ServedItem | None, pack: CoursePack, history: list[ServedItem], now: datetime) -> Served | None:
    """Return an open practice question as shown again, or None when there is none or the pack lost it."""
    try:
        return _shown(row, pack, history, now) if row is not None else None
    except NotFound:
        return None


def _open_practice(course_id: int, person_id: int, skill_id: str, item_ids: list[str], pack: CoursePack,
                   now: datetime) -> Served | None:
    """Return the learner's open practice question on a skill as its page shows it now, or None.

    The row `_open_row` finds in the skill's history (the newest unanswered practice row of the skill among its
    items) and, in the same statement, what `_credit` asks of that history about its variant (a copy answered
    within SESSION; a variant names its item, so the copies are among the skill's items): one row read, where
    reading the whole history made an object of every question the learner was ever served on the skill.
    """
    found = db.session.execute(_OPEN_PRACTICE, {
        "course_id": course_id, "person_id": person_id, "skill_id": skill_id, "item_ids": item_ids,
        "since": now - SESSION}).first()
    if found is None:
        return None
    row, answered_elsewhere = found, found.answered_elsewhere  # the row's columns by name, and the EXISTS
    try:
        return _view(row, pack, repeat=bool(answered_elsewhere))
    except NotFound:  # the pack lost its item since (as `_reshown`): a new question is served
        return None


def _locked_history(course_id: int, person_id: int, item_ids: list[str], now: datetime) -> list[ServedItem]:
    """Take the learner's lock, then read the history again: what is served next is decided from it.

    Without the lock, parallel loads of a page (tabs, a double click) all read the same history and each served
    a question of its own, every one with credit: the same question could then earn mastery credit once per tab.
    The lock is released by the serving's commit.
    """
    from .mastery import lock_learner_row  # mastery answers served questions: imported here, not at the top

    lock_learner_row(course_id, person_id, now)
    # Read as plain rows (the same columns, by the same names), not objects: what is served next is chosen from them
    # and nothing writes them, and, not in the session, none can be a stale copy of a row read before the lock.
    return list(db.session.execute(_LOCKED_HISTORY, {"course_id": course_id, "person_id": person_id,
                                                     "item_ids": item_ids}))


def _serve(course_id: int, person_id: int, skill_id: str, item: Item, history: list[ServedItem], *, source: str,
           now: datetime, pack: CoursePack, keep_rows: bool = False) -> Served:
    values = _insert(course_id, person_id, skill_id, item, history, source=source, now=now)
    # Not for the other sources: their callers read and write more after the serving (the placement check compares
    # its run as read before it with the run read after), where a kept row could be stale.
    if keep_rows:
        commit_keeping_rows()
    else:
        db.session.commit()
    return _view(ServedItem(**values), pack)  # not added to the session: the row as written, for the page


def _insert(course_id: int, person_id: int, skill_id: str, item: Item, history: list[ServedItem], *, source: str,
            now: datetime) -> dict:
    """Write a new served row for the item (a variant not yet served, for a template); return its values."""
    seen = {row.variant for row in history if row.item_id == item.id}
    params = sample(item.parameters, item.constraints, _RNG, lambda p: variant_key(item.id, p) in seen) \
        if item.parameters else {}
    variant = variant_key(item.id, params)
    values = {"course_id": course_id, "person_id": person_id, "skill_id": skill_id, "item_id": item.id,
              "params": params, "variant": variant, "source": source, "credit": _credit(history, variant, now),
              "served_at": now, "hints_shown": 0}
    # One INSERT … RETURNING on the table: the ORM's unit of work for this one new row was about a tenth of the
    # practice page's instructions. The row is written only here and the page needs only its id.
    values["id"] = db.session.execute(_INSERT_SERVED, values).scalar_one()
    return values


class Claimed(NamedTuple):
    """What the claim of an answer settled on the served row: whether it earns credit, and the hints it showed."""

    credit: bool
    hints: int


def claim(served_id: int, *, correct: bool | None, now: datetime) -> Claimed | None:
    """Mark a served question answered; return None when an earlier post already did (the first answer wins).

    `correct=None` closes it without an answer (the placement check's "I haven't learnt this yet"): it can no
    longer be answered, and it is no answer for the session rule, so the variant practised later earns credit.

    A conditional update: under parallel posts PostgreSQL lets one through and re-checks the others after it
    commits, and SQLite serialises the writers, so exactly one request records the answer. The same statement
    settles the credit: none when another copy of the variant (served on another page before either was
    answered) was answered within SESSION. It sees the other copy's answer only once that has committed, so two
    answers of one learner must not claim at the same time: on PostgreSQL the caller holds the learner's lock
    (record_answer), on SQLite this statement's own write lock keeps the other writer out. The hints returned are
    the row's, as `show_hint` counted them.
    """
    db.session.flush()  # a caller's pending changes (the placement check's run) go first, as they always did
    found = db.session.execute(_CLAIM, {"served_id": served_id, "answered_at": now, "correct": correct,
                                        "since": now - SESSION}).first()
    if found is None:
        return None
    claimed = Claimed(bool(found[0]), found[1] or 0)
    # The row read to check the answer is updated in the session too (as committed: nothing more to write), so a
    # page that reads it after a commit that keeps rows (models.base.commit_keeping_rows) sees it answered.
    row = db.session.identity_map.get(so.util.identity_key(ServedItem, served_id))
    if row is not None:
        so.attributes.set_committed_value(row, "answered_at", now)
        so.attributes.set_committed_value(row, "correct", correct)
        so.attributes.set_committed_value(row, "credit", claimed.credit)
        so.attributes.set_committed_value(row, "hints_shown", claimed.hints)
    return claimed


def close_unanswered(course_id: int, person_id: int, served_ids: list[int], *, now: datetime) -> int:
    """Close the learner's open questions among these without an answer, as `claim(correct=None)` closes one, and
    commit; return how many were still open.

    A question closed so can no longer be answered, is no answer (no evidence, no credit, no repeat), and is no
    longer open on any page. A conditional update, like the claim: an answer that got in first stays.
    """
    if not served_ids:
        return 0
    closed = db.session.execute(
        sa.update(_SERVED).where(_SERVED.c.id.in_(served_ids), _SERVED.c.course_id == course_id,
                                 _SERVED.c.person_id == person_id, _SERVED.c.answered_at.is_(None))
        .values(answered_at=now, correct=None)).rowcount
    db.session.commit()
    return closed


# On the table, built once: an answer is one of the hottest requests, and the ORM's bulk UPDATE with its
# session synchronisation was a tenth of the answer's CPU.
_SERVED = ServedItem.__table__
#: `question_can_count`'s read of the history: only the columns `_unproven` reads.
_HISTORY_FOR_CREDIT = (
    sa.select(_SERVED.c.item_id, _SERVED.c.variant, _SERVED.c.correct, _SERVED.c.credit, _SERVED.c.answered_at,
              _SERVED.c.source, _SERVED.c.served_at, _SERVED.c.skill_id)
    .where(_SERVED.c.course_id == sa.bindparam("course_id"), _SERVED.c.person_id == sa.bindparam("person_id"),
           _SERVED.c.item_id.in_(sa.bindparam("item_ids", expanding=True)))
    .order_by(_SERVED.c.id)
)
_SAME_VARIANT = _SERVED.alias("same_variant")
#: Another served copy of the row's variant, for the same learner, was answered after :since (as `_credit` asks;
#: one closed without an answer is not answered).
_ANSWERED_ELSEWHERE = sa.exists().where(
    _SAME_VARIANT.c.course_id == _SERVED.c.course_id, _SAME_VARIANT.c.person_id == _SERVED.c.person_id,
    _SAME_VARIANT.c.variant == _SERVED.c.variant, _SAME_VARIANT.c.id != _SERVED.c.id,
    _SAME_VARIANT.c.answered_at > sa.bindparam("since"), _SAME_VARIANT.c.correct.is_not(None))
_CLAIM = (
    sa.update(_SERVED)
    .where(_SERVED.c.id == sa.bindparam("served_id"), _SERVED.c.answered_at.is_(None))
    .values(answered_at=sa.bindparam("answered_at"), correct=sa.bindparam("correct"),
            credit=sa.and_(_SERVED.c.credit, ~_ANSWERED_ELSEWHERE))
    .returning(_SERVED.c.credit, _SERVED.c.hints_shown)
)


def show_hint(question: Served, wanted: int) -> Served:
    """Record that the page shows `wanted` hints on an open question; return it with the hints to show.

    The row's count only rises, up to the item's number of hints: a conditional update on the unanswered row, so
    a double click (both asking for the same next hint), an old page or an edited form cannot lower it, and no
    hint is counted on a question already answered. The count it returns is the row's, whatever raised it.
    """
    wanted = min(wanted, len(question.item.hints))
    if question.answered or wanted <= question.hints:
        return question
    found = db.session.execute(_SHOW_HINT, {"served_id": question.id, "wanted": wanted}).first()
    db.session.commit()
    return replace(question, hints=found[0]) if found is not None else question


_WANTED = sa.bindparam("wanted", type_=sa.Integer)
_SHOW_HINT = (
    sa.update(_SERVED)
    .where(_SERVED.c.id == sa.bindparam("served_id"), _SERVED.c.answered_at.is_(None))
    .values(hints_shown=sa.case((_SERVED.c.hints_shown < _WANTED, _WANTED), else_=_SERVED.c.hints_shown))
    .returning(_SERVED.c.hints_shown)
)


def shown(course_id: int, person_id: int, served_id: int, pack: CoursePack, *, now: datetime) -> Served:
    """Return a question served to this learner here as its page shows it now (see `_shown`), or refuse."""
    found = db.session.execute(_SHOWN_QUERY, {"served_id": served_id, "course_id": course_id,
                                              "person_id": person_id, "since": now - SESSION}).one_or_none()
    if found is None:
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))
    row, repeat = found
    return _view(row, pack, repeat=row.answered_at is None and bool(repeat))


_SHOWN_QUERY = sa.select(ServedItem, _ANSWERED_ELSEWHERE.label("repeat")).where(
    ServedItem.id == sa.bindparam("served_id"), ServedItem.course_id == sa.bindparam("course_id"),
    ServedItem.person_id == sa.bindparam("person_id"))


def answered_correct(served_id: int) -> bool:
    """Return how the first answer to a served question was judged."""
    return bool(db.session.scalar(sa.select(ServedItem.correct).where(ServedItem.id == served_id)))


_INSERT_SERVED = sa.insert(_SERVED).returning(_SERVED.c.id)
_LOCKED_HISTORY = (
    sa.select(_SERVED)
    .where(_SERVED.c.course_id == sa.bindparam("course_id"), _SERVED.c.person_id == sa.bindparam("person_id"),
           _SERVED.c.item_id.in_(sa.bindparam("item_ids", expanding=True)))
    .order_by(_SERVED.c.id)
)

#: The learner's newest open practice question on :skill_id among the skill's items, and whether another copy of
#: its variant was answered after :since (`_open_practice`).
# The table's columns, not the mapped class: a Core statement, which the session runs without the ORM's result
# set-up and loading; the question page reads the row's values only (`_view`), the same SQL.
_OPEN_PRACTICE = (
    sa.select(*_SERVED.c, _ANSWERED_ELSEWHERE.label("answered_elsewhere"))
    .where(_SERVED.c.course_id == sa.bindparam("course_id"), _SERVED.c.person_id == sa.bindparam("person_id"),
           _SERVED.c.item_id.in_(sa.bindparam("item_ids", expanding=True)), _SERVED.c.answered_at.is_(None),
           _SERVED.c.source == "practice", _SERVED.c.skill_id == sa.bindparam("skill_id"))
    .order_by(_SERVED.c.id.desc())
    .limit(1)
)
