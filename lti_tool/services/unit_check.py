"""The unit check: a short mix of questions across one unit's skills, whose answers can move several skills at once.

Like a Khan Academy unit test, it asks the skills of a unit in turns rather than one at a time, so it checks that
the student can tell which skill a question needs. Every question is served (`serving`), so only a question the
server gave this student can be answered, once; each answer is evidence (source "unit_check") for the skills of
its item and goes through `mastery.record_answer` like practice, so levels rise and fall by the model's own rules
(hysteresis: one slip does not drop a level the student has clearly shown).

A sitting is the questions served together at its start (one `served_at`), named by its first served row: a
reload shows the same questions, and answering them in another order or again changes nothing. When the teacher
changes the course under a sitting (it fits no unit any more, or a question it left open is gone), the sitting is
stranded: it is closed the next time it is touched (`_stranded`), its open questions without an answer, and the
unit's page starts a new check. The answers it had are evidence like any other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import NamedTuple

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack, Item, Unit
from ..learning.mastery import Level
from ..models import MasteryEvent, ServedItem, SkillMastery
from .content import from_pack
from .errors import N_, NotFound
from .mastery import lock_learner_row
from .serving import Served, close_unanswered, items_for_skill, serve_new, shown, still_served, tier

SOURCE = "unit_check"

#: Questions in one sitting: a few per skill, short enough to finish in one go.
QUESTIONS = 8
#: At most this many questions on one skill, so a big unit still gets a mix.
PER_SKILL = 2

#: What a student reads when a sitting of theirs was stranded (see the module's docstring) and a new one starts.
ENDED = N_("Your teacher changed the course while you had a unit check open, so that check has ended and a new "
           "one starts here. The answers you gave still count.")
# An answer refused because its sitting was stranded: unlike ENDED, this one answer was not kept.
ANSWER_NOT_SAVED = N_("Your teacher changed the course while you had this unit check open, so your last answer "
                      "could not be saved. Your earlier answers still count, and a new check starts here.")


class Stranded(NotFound):
    """The course changed under this sitting: it is closed now, and the unit's page starts a new check."""


class Started(NamedTuple):
    """The sitting `start` found or served, and whether it closed a stranded sitting on some of the unit's skills."""

    run: int
    ended: bool


class UnitOffer(NamedTuple):
    """A unit the student can take a check on from the plan.

    A named tuple (see learning/plan_units.UnitProgress): a plan page makes one per unit most of whose skills the
    student has begun, a hundred on a 400-skill course.
    """

    unit_id: str
    title: str
    skill_names: tuple[str, ...]
    #: True when the student has a sitting of this unit's own check with questions left (`belongs`): not one of
    #: another unit that shares skills with it.
    started: bool
    #: The names of the skills the student has begun (what "You have started ..." lists), in the map's order.
    begun_names: tuple[str, ...] = ()

    @property
    def mostly_begun(self) -> bool:
        """Return whether the student has begun more than half of the unit's skills (why a check is offered).

        A sitting under way is offered whatever is begun (the student may open a unit's check from its link before
        starting most of it), so the plan page says "started most of this unit" only when this holds.
        """
        return 2 * len(self.begun_names) > len(self.skill_names)


@dataclass(frozen=True)
class UnitSkillResult:
    """How one skill did in a unit check: answers right of asked, and its level before and after."""

    skill_id: str
    name: str
    right: int
    asked: int
    before: Level
    after: Level

    @property
    def missed(self) -> bool:
        """Return whether the student got any of this skill's questions wrong."""
        return self.right < self.asked


def _unit(pack: CoursePack, unit_id: str) -> Unit:
    unit = next((u for u in pack.units if u.id == unit_id), None)
    if unit is None:
        raise NotFound(N_("That unit is not part of this course."))
    return unit


def _leading_skills(pack: CoursePack) -> dict[str, int]:
    """Return the skills that lead some question (its first skill), each with its place in the map's order."""
    leading = {item.skills[0] for _, item in pack.items() if item.skills}
    return {sid: i for i, sid in enumerate(pack.skill_graph.topological_order()) if sid in leading}


def _checkable(pack: CoursePack, unit: Unit, places: Mapping[str, int] | None = None) -> list[str]:
    """Return the unit's skills that have questions, in the map's order (`places` from `_leading_skills`)."""
    places = _leading_skills(pack) if places is None else places
    return sorted((s for s in unit.skills if s in places), key=places.__getitem__)


def _levels(course_id: int, person_id: int) -> dict[str, Level]:
    rows = db.session.execute(sa.select(SkillMastery.skill_id, SkillMastery.level).where(
        SkillMastery.course_id == course_id, SkillMastery.person_id == person_id))
    return {skill_id: Level(level) for skill_id, level in rows}


def unit_offers(pack: CoursePack, levels: Mapping[str, Level], waiting: Set[str]) -> list[UnitOffer]:
    """Return the units whose check the plan offers: the student has started most of their skills.

    "Most" is more than half of the unit's skills that have questions; a unit whose skills are all Mastered is
    not offered (nothing to raise; spaced reviews keep those). A sitting already under way is always offered.
    `levels` are the plan's own; `waiting` is what `waiting_query` found (the plan page reads it together with the
    student's assignments): the sittings with questions served and not yet answered, with all their skills, and,
    marked with their sitting, the skills a unit check has answered since their level last changed. A unit one of
    whose sittings so marked asked every skill its check asks is not offered: the student has just checked it and
    nothing has changed since (it came straight back after finishing). Marks of another unit's sitting that shares
    only some of its skills do not hide it: its own check would ask what that sitting did not. Nor does another
    unit's open sitting make this unit's check "under way": continuing it would go on with the other unit's
    questions, so this unit is offered its own check to start. A sitting marks nothing "checked" while it is under
    way, nor once it was closed stranded: it was never finished.
    """
    under_way, sittings = _sittings(waiting) if waiting else ((), [])
    not_started, mastered = Level.NOT_STARTED, Level.MASTERED
    # The student's begun and mastered skills found once, then each unit counts its skills in them.
    begun_skill = {s for s, level in levels.items() if level is not not_started}.__contains__
    mastered_skill = {s for s, level in levels.items() if level is mastered}.__contains__
    offers = []
    new = tuple.__new__
    # The units' checkable skills and their names are the same for every student: worked out once per pack.
    for unit_id, title, skills, names in from_pack(pack, _checkable_units):
        # Mostly nothing is under way: then no unit's skills need comparing with it.
        started = bool(under_way) and any(belongs(sitting, skills) for sitting in under_way)
        # Whether all are Mastered is asked only of a unit most of whose skills are begun (the pass over the
        # course's units is on every plan page).
        if started or (2 * sum(map(begun_skill, skills)) > len(skills) and not all(map(mastered_skill, skills))):
            if not started and sittings and _checked_since(skills, sittings):
                continue
            begun = tuple(name for skill, name in zip(skills, names, strict=True) if begun_skill(skill))
            offers.append(new(UnitOffer, (unit_id, title, names, started, begun)))  # as plan_units.unit_progress
    return offers


def _sittings(waiting: Set[str]) -> tuple[list[frozenset[str]], list[set[str]]]:
    """Return, from `waiting_query`'s marks, the skills of each sitting with a question open (all its skills, the
    answered ones too), and the skills of each finished sitting that were checked since their last change.

    A sitting with a question open or one closed without an answer (stranded, see `_stranded`) is no finished
    check: after the course changed, its answers on a few skills would otherwise hide the check of a unit made of
    them, with nothing under way to continue.
    """
    skills: dict[str, set[str]] = {}
    open_: set[str] = set()
    closed: set[str] = set()
    checked: dict[str, set[str]] = {}
    for mark in waiting:
        kind = mark[:1]
        sitting, _, skill_id = mark[1:].partition(_CHECKED)
        skills.setdefault(sitting, set()).add(skill_id)
        if kind == _OPEN:
            open_.add(sitting)
        elif kind == _CHECKED:
            checked.setdefault(sitting, set()).add(skill_id)
        elif kind == _CLOSED:
            closed.add(sitting)
    unfinished = open_ | closed
    return ([frozenset(skills[sitting]) for sitting in open_],
            [asked for sitting, asked in checked.items() if sitting not in unfinished])


def belongs(sitting: Set[str], skills: Sequence[str]) -> bool:
    """Tell whether a sitting that asked these skills is the check of a unit with these checkable skills (in the
    map's order, as `_checkable` gives them).

    Nothing stored names a sitting's unit: `start` asks every one of the first QUESTIONS skills (one question each
    in its first round) and only the unit's skills, so a sitting is its unit's when it asked exactly that. Another
    unit that shares some skills misses one of them or has one more (two units with the same first eight skills
    and none other asked have the same check). A sitting served before the pack changed may fit no unit: its
    unit then starts a new one.
    """
    return sitting.issuperset(skills[:QUESTIONS]) and sitting.issubset(skills)


def _checked_since(skills: tuple[str, ...], sittings: list[set[str]]) -> bool:
    """Return whether one sitting, unchanged since, asked every skill a check on these skills asks (`start`)."""
    asked = skills[:QUESTIONS]  # the first round asks one question per skill, in the map's order, up to QUESTIONS
    return any(sitting.issuperset(asked) for sitting in sittings)


def _checkable_units(pack: CoursePack) -> tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...]:
    """Return each unit that has skills with questions: its id, title, those skills and their names."""
    names = {s.id: s.name for s in pack.skills}
    places = _leading_skills(pack)  # one pass over the items, not one per unit and skill
    units = []
    for unit in pack.units:
        skills = tuple(_checkable(pack, unit, places))
        if skills:
            units.append((unit.id, unit.title, skills, tuple(names.get(s, s) for s in skills)))
    return tuple(units)


#: Mark a skill id in `waiting_query`'s one column, "<mark><sitting>\x1f<skill id>" (control characters: never part
#: of a skill id or a time): a question open (not yet answered); checked since the skill's last change (its mark
#: also separates the sitting from the skill); asked in a sitting that has a question open, and neither of those;
#: closed without an answer (its sitting was stranded).
_OPEN, _CHECKED, _ASKED, _CLOSED = "\x1e", "\x1f", "\x1d", "\x1c"


@cache
def waiting_query() -> sa.Select:
    """Return a query of the skills of unit-check questions served to a student, each marked with its sitting's
    time: not yet answered (`_OPEN`); closed without an answer since the skill's level row last changed
    (`_CLOSED`); answered since then (`_CHECKED`); or otherwise asked in a sitting with a question open
    (`_ASKED`). The sitting, not only the skill: a unit's check is done when one of its finished sittings asked all
    its skills, and another unit sharing some of them is not; and a sitting under way is one unit's (`belongs`
    tells which from all the skills it asked), not every unit's that shares one.

    Built once, with the student as the bind parameters `course_id` and `person_id` (assignments.assigned_skills
    reads it with the student's assignments in one round trip: one column, so the two kinds share it).
    """
    # The tables' columns, not the mapped classes' attributes: a Core statement, which the session runs without the
    # ORM's result set-up and loading (the plan page reads one string column), the same SQL.
    served = _SERVED_TABLE.c
    mastery = SkillMastery.__table__.c
    # An answer writes the skill's row at the moment it is answered: a later write is practice, a review or a
    # teacher's level since the check.
    changed = (sa.select(mastery.updated_at)
               .where(mastery.course_id == served.course_id, mastery.person_id == served.person_id,
                      mastery.skill_id == served.skill_id)
               .correlate(_SERVED_TABLE).scalar_subquery())
    # A sitting's questions are served with one time (`start`): that time, as text, names the sitting here.
    sitting = sa.cast(served.served_at, sa.String)
    # A question closed without an answer (its correct is NULL) tells that its sitting was stranded (`_sittings`).
    kind = sa.case((served.answered_at.is_(None), sa.literal(_OPEN)),
                   (served.correct.is_(None), sa.literal(_CLOSED)),
                   (served.answered_at >= changed, sa.literal(_CHECKED)), else_=sa.literal(_ASKED))
    return sa.select((kind + sitting + sa.literal(_CHECKED) + served.skill_id).label("skill_id")).where(
        served.course_id == sa.bindparam("course_id"), served.person_id == sa.bindparam("person_id"),
        served.source == SOURCE, sa.or_(served.answered_at.is_(None), served.answered_at >= changed,
                                        served.served_at.in_(_open_sittings(sa.bindparam("course_id"),
                                                                            sa.bindparam("person_id")))))


_SERVED_TABLE = ServedItem.__table__


def _open_sittings(course_id: object, person_id: object) -> sa.Select:
    """Return a query of the times of the student's unit-check sittings with a question open (few: the open
    questions' index, ix_served_item_open, finds them)."""
    open_ = _SERVED_TABLE.alias().c  # a Core alias: usable in the Core `waiting_query` and in ORM statements alike
    return sa.select(open_.served_at).where(open_.course_id == course_id, open_.person_id == person_id,
                                            open_.source == SOURCE, open_.answered_at.is_(None))


def _stranded(pack: CoursePack, rows: Sequence[ServedItem]) -> bool:
    """Tell whether the course changed under a sitting (all its served rows) so that it cannot go on.

    It was closed so already (a question closed without an answer: nothing else closes a unit check's), a
    question it left open is no longer in the pack (skipped, it stayed open for ever and the sitting with it), or
    it fits no unit now (`belongs`): no unit's page would continue it, and its open questions would count as open
    on every page (a later check put them last).
    """
    if any(row.answered_at is not None and row.correct is None for row in rows):
        return True
    if any(row.answered_at is None and not still_served(pack, row) for row in rows):
        return True
    asked = {row.skill_id for row in rows}
    return not any(belongs(asked, skills) for _, _, skills, _ in from_pack(pack, _checkable_units))


def _close(course_id: int, person_id: int, rows: Sequence[ServedItem], *, now: datetime) -> int:
    """Close a stranded sitting's open questions without an answer; return how many were open."""
    return close_unanswered(course_id, person_id, [row.id for row in rows if row.answered_at is None], now=now)


def _closed_if_stranded(course_id: int, person_id: int, pack: CoursePack, sitting: Sequence[ServedItem], *,
                        now: datetime) -> bool:
    """Close a sitting (its served rows) if it is stranded (`_stranded`); return whether it was."""
    if sitting and _stranded(pack, sitting):
        _close(course_id, person_id, sitting, now=now)
        return True
    return False


def _sittings_under_way(course_id: int, person_id: int, pack: CoursePack,
                        skills: list[str]) -> tuple[list[int], list[ServedItem], bool]:
    """Return the runs of the sittings with a question open that are this unit's check (`belongs`), the rows of
    the stranded ones (`_stranded`), and whether one of those was on some of these skills: another unit's sitting
    that shares some of these skills is that unit's to continue, and a stranded one nobody's."""
    rows = db.session.scalars(
        sa.select(ServedItem).where(
            ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.source == SOURCE,
            ServedItem.served_at.in_(_open_sittings(course_id, person_id)))
        .order_by(ServedItem.id))
    sittings: dict[datetime, list[ServedItem]] = {}
    for row in rows:
        sittings.setdefault(row.served_at, []).append(row)
    runs: list[int] = []
    stranded: list[ServedItem] = []
    ended = False
    for sitting in sittings.values():
        if _stranded(pack, sitting):
            stranded.extend(sitting)
            ended = ended or any(row.skill_id in skills for row in sitting)
        elif belongs({row.skill_id for row in sitting}, skills):
            runs.append(sitting[0].id)
    return runs, stranded, ended


def _open_run(course_id: int, person_id: int, pack: CoursePack, skills: list[str], *,
              now: datetime) -> tuple[int | None, bool]:
    """Return the run of the earliest sitting under way that is this unit's check, and whether a stranded sitting
    on some of these skills was closed (`_sittings_under_way`: the stranded ones are closed here, touched at last)."""
    runs, stranded, ended = _sittings_under_way(course_id, person_id, pack, skills)
    _close(course_id, person_id, stranded, now=now)
    return min(runs, default=None), ended


def open_run(course_id: int, person_id: int, pack: CoursePack, unit_id: str) -> int | None:
    """Return the run of the student's unit check on this unit under way, or None, changing nothing.

    For a page opened with GET, which must not write: a stranded sitting is left for the next `start` to close.
    """
    skills = _checkable(pack, _unit(pack, unit_id))
    return min(_sittings_under_way(course_id, person_id, pack, skills)[0], default=None) if skills else None


def _run_rows(course_id: int, person_id: int, run: int) -> list[ServedItem]:
    first = db.session.scalars(sa.select(ServedItem).where(
        ServedItem.id == run, ServedItem.course_id == course_id, ServedItem.person_id == person_id,
        ServedItem.source == SOURCE)).one_or_none()
    if first is None:
        return []
    return list(db.session.scalars(
        sa.select(ServedItem).where(
            ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.source == SOURCE,
            ServedItem.served_at == first.served_at, ServedItem.id >= run)
        .order_by(ServedItem.id)))


def _history(course_id: int, person_id: int, skills: list[str]) -> dict[str, tuple[bool, int]]:
    """Return, for each item of these skills served to the learner, whether it is open and how often it was served.

    The check picks fresher ones, and leaves a question open on another page (practice, a review) to that page.
    """
    rows = db.session.execute(
        sa.select(ServedItem.item_id, sa.func.count(ServedItem.answered_at) < sa.func.count(), sa.func.count())
        .where(ServedItem.course_id == course_id, ServedItem.person_id == person_id, ServedItem.skill_id.in_(skills))
        .group_by(ServedItem.item_id))
    return {item_id: (bool(is_open), count) for item_id, is_open, count in rows}


def start(course_id: int, person_id: int, pack: CoursePack, unit_id: str, *, now: datetime) -> Started:
    """Return the run of the student's open unit check on this unit, or serve a new one and return its run.

    The student's stranded sittings (`_stranded`) are closed first, so their questions count as open nowhere.

    The questions take turns across the unit's skills (one each, then a second each while places are left),
    medium items first, the least served first: a mix, not a block per skill. A question open on another page
    (practice, a review, another unit's check) comes after all the others of its skill: answered on both, it would
    earn credit once. The sitting is only ever its own new rows (`serve_new`), and its run is its own first row.
    """
    unit = _unit(pack, unit_id)
    skills = _checkable(pack, unit)
    if not skills:
        raise NotFound(N_("This unit has no questions yet."))
    run, ended = _open_run(course_id, person_id, pack, skills, now=now)
    if run is not None:
        return Started(run, ended)
    # Under the learner's lock from here to the serving's commit: a parallel start of this unit (a double click,
    # two tabs) waits, then finds the sitting the first one served instead of serving a second.
    lock_learner_row(course_id, person_id, now)
    run, _ = _open_run(course_id, person_id, pack, skills, now=now)
    if run is not None:
        db.session.commit()  # release the lock
        return Started(run, ended)
    served_before = _history(course_id, person_id, skills)

    def order(item: Item) -> tuple[bool, bool, int, int]:
        is_open, times = served_before.get(item.id, (False, 0))
        # A fixed question seen before comes after every fresh one and every template (which gives a new variant
        # each time): seen again in the same session it would earn no credit, and the check would be wasted on it.
        return is_open, bool(times and not item.parameters), abs(tier(item) - 1), times

    # An item counts for its first skill (its served row is filed under it), as in the placement check.
    per_skill = {s: sorted((i for i in items_for_skill(pack, s) if i.skills[0] == s), key=order) for s in skills}
    picks: dict[str, object] = {}
    for round_ in range(PER_SKILL):
        for skill_id in skills:
            if len(picks) < QUESTIONS and round_ < len(per_skill[skill_id]):
                item = per_skill[skill_id][round_]
                picks.setdefault(item.id, item)
    # Served with one timestamp: that is what ties the sitting's questions together. Each a new row of this
    # sitting's own, even for a question open in another unit's sitting (a skill the units share whose pool has
    # no other): handing that row over made the other sitting this one's run, and left this one's own questions
    # a set fitting no unit, closed as stranded ("your teacher changed the course") the next time.
    sitting = serve_new(course_id, person_id, list(picks.values()), pack, source=SOURCE, now=now)
    return Started(min(q.id for q in sitting), ended)


def current_question(course_id: int, person_id: int, pack: CoursePack, unit_id: str,
                     run: int, *, now: datetime) -> tuple[Served | None, int, int]:
    """Return (the sitting's next unanswered question or None when it is over, its number, how many there are).

    The question as its page shows it now: without credit once the same question, open elsewhere too (practice),
    was answered there first. A stranded sitting (`_stranded`) is closed, and refused with `Stranded` (the page
    starts the unit's new check), unless every question of it was answered before the course changed.
    """
    skills = set(_checkable(pack, _unit(pack, unit_id)))
    sitting = _run_rows(course_id, person_id, run)
    if _closed_if_stranded(course_id, person_id, pack, sitting, now=now):
        if any(row.correct is None for row in sitting):  # a question was open, or closed when it was stranded
            raise Stranded(ENDED)
        return None, len(sitting), len(sitting)  # every question answered before the course changed: it is over
    rows = [r for r in sitting if r.skill_id in skills]
    if not rows:
        raise NotFound(N_("That unit check was not given to you here."))
    for number, row in enumerate(rows, start=1):
        if row.answered_at is None:
            try:
                return shown(course_id, person_id, row.id, pack, now=now), number, len(rows)
            except NotFound:
                continue  # the teacher replaced the pack since: that question is skipped
    return None, len(rows), len(rows)


def goes_on(course_id: int, person_id: int, pack: CoursePack, unit_id: str, run: int) -> bool:
    """Tell whether the sitting has a question left to answer, writing nothing (`current_question` closes a stranded
    sitting): a sitting the course changed under goes on when it left a question unanswered, as its next page then
    says so and starts the unit's new check."""
    skills = set(_checkable(pack, _unit(pack, unit_id)))
    sitting = _run_rows(course_id, person_id, run)
    if _stranded(pack, sitting):
        return any(row.correct is None for row in sitting)
    return any(row.answered_at is None and row.skill_id in skills and still_served(pack, row) for row in sitting)


def close_stranded(course_id: int, person_id: int, pack: CoursePack, run: int, *, now: datetime) -> None:
    """Close the student's sitting `run` if it is stranded (`_stranded`): asked for on the page of a unit that is
    gone, no page would touch it again but a check's start."""
    _closed_if_stranded(course_id, person_id, pack, _run_rows(course_id, person_id, run), now=now)


def unit_question(course_id: int, person_id: int, pack: CoursePack, unit_id: str, run: int, served_id: int, *,
                  now: datetime) -> None:
    """Refuse an answer to anything but a question of this unit check.

    In a stranded sitting (`_stranded`), a question still open and still in the pack is answered as the evidence it
    is (the student worked it on the page they had), the sitting left open for the next page to close; any other
    answer closes the sitting and is refused with `Stranded`.
    """
    skills = set(_checkable(pack, _unit(pack, unit_id)))
    sitting = _run_rows(course_id, person_id, run)
    row = next((r for r in sitting if r.id == served_id), None)
    if row is not None and _stranded(pack, sitting):
        if row.answered_at is None and still_served(pack, row):
            return
        _close(course_id, person_id, sitting, now=now)
        raise Stranded(ANSWER_NOT_SAVED)
    if row is None or row.skill_id not in skills:
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))


def results(course_id: int, person_id: int, pack: CoursePack, unit_id: str, run: int) -> list[UnitSkillResult]:
    """Return each skill of the sitting: answers right of asked, and its level before the sitting and now."""
    unit = _unit(pack, unit_id)
    rows = [r for r in _run_rows(course_id, person_id, run) if r.skill_id in unit.skills]
    if not rows:
        return []
    names = {s.id: s.name for s in pack.skills}
    now_levels = _levels(course_id, person_id)
    events = db.session.scalars(sa.select(MasteryEvent).where(
        MasteryEvent.course_id == course_id, MasteryEvent.person_id == person_id, MasteryEvent.source == SOURCE,
        MasteryEvent.at >= rows[0].served_at, MasteryEvent.skill_id.in_([r.skill_id for r in rows]))
        .order_by(MasteryEvent.id))
    before: dict[str, Level] = {}
    for event in events:
        before.setdefault(event.skill_id, Level(event.old_level))
    out: list[UnitSkillResult] = []
    for skill_id in dict.fromkeys(r.skill_id for r in rows):
        # A question closed without an answer (a stranded sitting's) was not asked: no miss, no credit.
        asked = [r for r in rows if r.skill_id == skill_id and r.answered_at is not None and r.correct is not None]
        if not asked:
            continue
        after = now_levels.get(skill_id, Level.NOT_STARTED)
        out.append(UnitSkillResult(skill_id, names.get(skill_id, skill_id), sum(1 for r in asked if r.correct),
                                   len(asked), before.get(skill_id, after), after))
    return out
