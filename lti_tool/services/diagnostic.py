"""The placement check a student takes on first launch: one question at a time, then priors on the skill map.

Answers the student gives are real evidence, so each goes through `record_answer` (source "diagnostic") and
updates mastery like any practice answer. What the check only infers (skills it did not ask about) becomes a
weak prior on a "Not started" skill: it shapes the mastery model's first estimates, never a level or a grade.
On a skill the check places as known (asked or inferred), Proficient asks for a shorter confirmation from the
student's own answers (`MasteryThresholds.min_items_proficient_placed` distinct items right, not three).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning import diagnostic
from ..learning.coursepack import CoursePack, Item, check_answer
from ..learning.diagnostic import Belief, CheckBaseline, DiagnosticState, Placement
from ..learning.mastery import ALL_SKILLS, Level, SkillState
from ..learning.planner import READY_LEVEL
from ..learning.translations import BASE_LANGUAGE
from ..models import DiagnosticRun, ItemResponse, MasteryEvent, SkillMastery
from ..models.base import id_list, insert_if_missing, still_loaded
from .content import course_content
from .errors import N_, NotFound, ServiceError
from .mastery import (
    Standing,
    lock_learner,
    lock_learner_row,
    model_for,
    record_answer,
    require_pack,
    standing,
    thresholds_for,
)
from .serving import claim, close_open, serve_exact

#: The check counts an honest "I have not learnt this yet" as a wrong answer for placement only.
NOT_SURE = "not sure"

# Medium items split learners best; easy ones next, hard ones last (they mostly measure speed and care).
_DIFFICULTY_ORDER = {"medium": 0, "easy": 1, "hard": 2}


@dataclass(frozen=True)
class DiagnosticQuestion:
    """The question to show now (None when none is left to ask), and where the student is in the check."""

    item: Item | None
    number: int  # 1-based: "Question 3 of up to 12"
    max_items: int
    answered: int
    #: The served row of this question (its variant), or None when there is no question.
    served_id: int | None = None


@dataclass(frozen=True)
class PlacedSkill:
    """One skill on the result page: what the check concluded, in plain words."""

    skill_id: str
    name: str
    belief: Belief
    reason: str
    reason_parts: tuple = ()
    #: The student's own level on the skill, as the plan shows it (the check never credits one).
    level: Level = Level.NOT_STARTED
    #: A teacher or the student's practice set the level since the check: `reason` is that level's own (the plan
    #: table's), and the page leaves out what the check concluded.
    since_check: bool = False


@dataclass(frozen=True)
class DiagnosticResult:
    """What the result page shows: skills grouped by what the check concluded."""

    skipped: bool
    answered: int
    known: list[PlacedSkill]
    start_here: list[PlacedSkill]
    later: list[PlacedSkill]
    unchecked: list[PlacedSkill]
    #: Skills the check asked about whose answers left them a coin toss: not "not checked" (it asked).
    undecided: list[PlacedSkill] = field(default_factory=list)


def items_by_skill(pack: CoursePack) -> dict[str, list[str]]:
    """Return the item ids that can test each skill, the most telling first (an item counts for its first skill)."""
    by_skill: dict[str, list[Item]] = {}
    for _, item in pack.items():
        if item.skills:
            by_skill.setdefault(item.skills[0], []).append(item)
    return {
        skill_id: [i.id for i in sorted(items, key=lambda i: _DIFFICULTY_ORDER.get(str(i.difficulty), 1))]
        for skill_id, items in by_skill.items()
    }


def guess_chances(pack: CoursePack) -> dict[str, float]:
    """Return each item's chance of a right answer from a learner who does not know its skill, for the check."""
    return {item.id: diagnostic.guess_chance(len(item.choices) if item.type == "multiple_choice" else None)
            for _, item in pack.items()}


def _next(pack: CoursePack, state: DiagnosticState) -> str | None:
    return diagnostic.next_item(pack.skill_graph, items_by_skill(pack), state, guess=guess_chances(pack))


def _placement(pack: CoursePack, state: DiagnosticState) -> dict[str, Placement]:
    return diagnostic.placement(pack.skill_graph, state, guess=guess_chances(pack))


def _run(course_id: int, person_id: int) -> DiagnosticRun | None:
    # Every student page asks (the "placement check" banner) and the plan asks again: read once per request.
    # A run this request creates is remembered by _new_run; after a commit or rollback the run is read again.
    memo: dict[tuple[int, int], DiagnosticRun | None] = db.session.info.setdefault(_RUNS, {})
    key = (course_id, person_id)
    run = memo.get(key)
    if key not in memo or (run is not None and not still_loaded(run)):
        run = memo[key] = db.session.scalars(
            sa.select(DiagnosticRun).where(DiagnosticRun.course_id == course_id, DiagnosticRun.person_id == person_id)
        ).one_or_none()
    return run


def _fresh_run(course_id: int, person_id: int) -> DiagnosticRun | None:
    """Read the learner's run again, whatever this request read before (the caller holds the learner's lock)."""
    run = db.session.scalars(
        sa.select(DiagnosticRun).where(DiagnosticRun.course_id == course_id, DiagnosticRun.person_id == person_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    hold_run(course_id, person_id, run)
    return run


def _locked_run(course_id: int, person_id: int, now: datetime) -> DiagnosticRun | None:
    """Take the learner's lock, then read their run as it is now."""
    lock_learner_row(course_id, person_id, now)
    return _fresh_run(course_id, person_id)


def hold_run(course_id: int, person_id: int, run: DiagnosticRun | None) -> None:
    """Remember the learner's run (or that there is none) read with something else (the launch) for this request."""
    db.session.info.setdefault(_RUNS, {})[(course_id, person_id)] = run


def _new_run(course_id: int, person_id: int, now: datetime) -> DiagnosticRun:
    # Inserted race-safely: a double-clicked first answer (or two tabs) makes one run; the later click waits for
    # the earlier one's commit and goes on with that run (its own answer is then a repeat and changes nothing).
    insert_if_missing(DiagnosticRun, {"course_id": course_id, "person_id": person_id, "started_at": now, "state": {}},
                      ("course_id", "person_id"))
    return _fresh_run(course_id, person_id)


_RUNS = "pathways.diagnostic_runs"


def _state(run: DiagnosticRun | None) -> DiagnosticState:
    # A skipped run (finished with no answers) starts over when the student chooses to take the check after all.
    if run is None or (run.finished_at is not None and not (run.state or {}).get("answers")):
        return DiagnosticState()
    return DiagnosticState.from_dict(run.state or {})


def _finished(run: DiagnosticRun | None) -> bool:
    return run is not None and run.finished_at is not None and bool((run.state or {}).get("answers"))


def pending_status(course_id: int, person_id: int, *, shown_work: bool | None = None) -> str | None:
    """Return "new" or "started" while the student has a placement check to take, else None.

    `shown_work` is `has_shown_work` when the caller knows it already (the plan read every level).
    """
    content = course_content(course_id)
    if content is None:
        return None
    run = _run(course_id, person_id)
    if run is not None and run.finished_at is not None:
        return None  # finished or skipped: never block or nag
    pack = require_pack(course_id)
    if not any(True for _ in pack.items()):
        return None
    if run is not None and (run.state or {}).get("answers"):
        return "started"
    # A check not begun is for a student the tool knows nothing about yet: once their practice (or a teacher) has
    # given them a level, that speaks for where they are, and the check's misses could only pull it down.
    if shown_work is None:
        shown_work = has_shown_work(course_id, person_id)
    return None if shown_work else "new"


def has_shown_work(course_id: int, person_id: int) -> bool:
    """Return whether the student already has a level above Not started on some skill (one query)."""
    return db.session.scalar(sa.select(sa.exists().where(
        SkillMastery.course_id == course_id, SkillMastery.person_id == person_id, SkillMastery.skill_id != ALL_SKILLS,
        SkillMastery.level != Level.NOT_STARTED.value))) or False


def can_start(course_id: int, person_id: int) -> bool:
    """Return whether the student may begin (or go on with) the check: it is under way, or they have no level yet."""
    run = _run(course_id, person_id)
    return bool(run is not None and (run.state or {}).get("answers")) or not has_shown_work(course_id, person_id)


def current_question(course_id: int, person_id: int, *, now: datetime,
                     language: str = BASE_LANGUAGE) -> DiagnosticQuestion | None:
    """Return where the student's check is (and its next question, in the language), or None once it has finished."""
    pack = require_pack(course_id, language)
    run = _run(course_id, person_id)
    if _finished(run):
        return None
    state = _state(run)
    item_id = _next(pack, state)
    question = None
    if item_id is not None:
        # Served like practice, so the answer is checked against the variant the student saw.
        question = serve_exact(course_id, person_id, pack.item(item_id), pack, source="diagnostic", now=now)
    return DiagnosticQuestion(question.item if question else None, len(state.answers) + 1, diagnostic.MAX_ITEMS,
                              len(state.answers), question.id if question else None)


def answer_question(
    course_id: int, person_id: int, item_id: str, answer: str, *, not_sure: bool, now: datetime,
    language: str = BASE_LANGUAGE,
) -> bool:
    """Record one answer of the placement check; return True when the check is now over (and placed)."""
    pack = require_pack(course_id, language)
    run = _run(course_id, person_id)
    if _finished(run):
        return True
    seen = (run.finished_at, run.state) if run is not None else None
    state = _state(run)
    expected = _next(pack, state)
    if expected is None:
        return _finish(course_id, person_id, now=now)
    if item_id != expected:
        # A second click or an old tab: the student answers the question the check is on now, not this one.
        raise ServiceError(N_("That question was already answered. Here is the next one."))
    answer = (answer or "").strip()
    if not not_sure and not answer:
        raise ServiceError(N_("Type or choose an answer, or choose “I haven’t learnt this yet”."))
    question = serve_exact(course_id, person_id, pack.item(item_id), pack, source="diagnostic", now=now)
    item = question.item
    correct = False if not_sure else check_answer(item, answer)
    state = state.answer(item.id, item.skills[0], correct, not_sure=not_sure)
    # The learner's lock before the run's row, as every writer of both takes them (`_finish`, a teacher's level):
    # the other order could deadlock on PostgreSQL.
    lock_learner_row(course_id, person_id, now)
    run = _fresh_run(course_id, person_id)
    if ((run.finished_at, run.state) if run is not None else None) != seen:
        # Another tab answered, finished or skipped the check since this request read it: this answer belongs to
        # the check as it was (writing it would reopen a finished check, or drop the other tab's answer).
        db.session.rollback()
        if run is not None and run.finished_at is not None:
            return True
        raise ServiceError(N_("That question was already answered. Here is the next one."))
    if run is None:
        run = _new_run(course_id, person_id, now)
    run.state = state.to_dict()  # a new dict, so the JSON column is written
    run.finished_at = run.baseline = None
    if not_sure:
        # Closed without an answer (no judgement): nothing was answered, so practising it later earns credit.
        claim(question.id, correct=None, now=now)
        db.session.commit()
    else:
        try:
            # Commits the run's new state together with the answer, so both or neither are kept: placement
            # answers are evidence in the same mastery state as practice, marked with the source "diagnostic".
            record_answer(course_id, person_id, question.id, answer, now=now, language=language)
        except ServiceError:
            db.session.rollback()
            raise
    if _next(pack, state) is None:
        return _finish(course_id, person_id, now=now)
    return False


def finish_early(course_id: int, person_id: int, *, now: datetime) -> bool:
    """End the check with the answers given so far; return False when there were none to place from."""
    run = _run(course_id, person_id)
    if run is None or not (run.state or {}).get("answers"):
        return False
    if run.finished_at is None:
        _finish(course_id, person_id, now=now)
    return True


def skip(course_id: int, person_id: int, *, now: datetime) -> None:
    """Record that the student skipped the check for now: a finished run with no answers."""
    require_pack(course_id)
    # The learner's lock before the run is read, as every writer of the learner's data: a skip that came after a
    # delete of their data left a run behind for a person with no enrolment (now: LEARNER_GONE, nothing saved).
    run = _locked_run(course_id, person_id, now)
    if _finished(run):
        db.session.rollback()  # nothing to write: end the transaction that holds the lock
        return
    if run is None:
        run = _new_run(course_id, person_id, now)
    # Answers already given stay in the learning record; only the placement is given up.
    run.state = DiagnosticState().to_dict()
    run.baseline = None
    run.finished_at = now
    close_open(course_id, person_id, "diagnostic", now=now)  # its open question is no longer open anywhere
    db.session.commit()


def _finish(course_id: int, person_id: int, *, now: datetime) -> bool:
    """Seed weak priors on the skills the check inferred but never asked about, mark the skills it placed as known
    (`SkillState.placed`: a shorter confirmation for Proficient), and close the run; commits."""
    pack = require_pack(course_id)
    # The learner's lock before the run is read: its answers are placed as they are now (not as read before an
    # answer from another tab was saved), and a delete of the learner's data meanwhile is LEARNER_GONE.
    rows = lock_learner(course_id, person_id, now)
    run = _fresh_run(course_id, person_id)
    if run is None:
        raise NotFound(N_("There is no placement check to finish."))
    if run.finished_at is not None:
        # Finished by another tab or a second click meanwhile: its placement and baseline stand (placing again
        # would stamp a later baseline, and answers given since would no longer count against the check).
        db.session.rollback()
        return True
    state = _state(run)
    placed = _placement(pack, state)
    model = model_for(course_id)
    thresholds = thresholds_for(pack)
    for skill_id, place in placed.items():
        row = rows.get(skill_id)
        if row is not None:
            # The student's own answers (or the teacher's judgement) already speak for this skill: no prior. A
            # skill the check asked and placed as known still takes the shorter confirmation for Proficient; its
            # level moves with the next answer, as levels do.
            if place.likely_known and not row.overridden:  # a teacher's level speaks against the check
                row.state = replace(SkillState.from_dict(row.state), placed=True).to_dict()
            continue
        skill_state = replace(model.start(skill_id), prior=place.prior, placed=place.likely_known)
        db.session.add(SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                    state=skill_state.to_dict(), level=model.level(skill_state, thresholds).value,
                                    reason=place.reason[:300], overridden=False, updated_at=now))
    run.baseline = _baseline(course_id, person_id, rows, now).to_dict()
    run.finished_at = now
    close_open(course_id, person_id, "diagnostic", now=now)  # its open question is no longer open anywhere
    db.session.commit()
    return True


def _baseline(course_id: int, person_id: int, rows: Mapping[str, SkillMastery], finished_at: datetime
              ) -> CheckBaseline:
    """Return what the check saw as it finishes at `finished_at`, from the learner's rows read under their lock.

    Every skill's wrong answers (not only the skills placed as known: a new version of the course's pack may place
    others so later). The check's last answer was saved by a transaction of its own, so an answer from another tab,
    or a teacher's level, can come in between: what is dated after `finished_at` is left out of the counts (it
    came after the check, as the history says) and a level set then counts against the check. One statement.
    """
    misses = {skill_id: SkillState.from_dict(row.state).misses for skill_id, row in rows.items()
              if skill_id != ALL_SKILLS}
    since, set_by_teacher = _since(course_id, person_id, finished_at)
    return CheckBaseline({skill_id: max(count - since[skill_id], 0) for skill_id, count in misses.items()},
                         frozenset(set_by_teacher))


def _since(course_id: int, person_id: int, moment: datetime) -> tuple[Counter, set[str]]:
    """Return the learner's counted wrong answers per skill, and the skills a teacher set a level on, after moment."""
    answers = sa.select(ItemResponse.skill_ids, sa.cast(sa.null(), MasteryEvent.skill_id.type).label("skill_id")).where(
        ItemResponse.course_id == course_id, ItemResponse.person_id == person_id, ItemResponse.answered_at > moment,
        ItemResponse.correct.is_(False), ItemResponse.credited.is_(True), ItemResponse.source != "diagnostic")
    overrides = sa.select(sa.cast(sa.null(), ItemResponse.skill_ids.type), MasteryEvent.skill_id).where(
        MasteryEvent.course_id == course_id, MasteryEvent.person_id == person_id, MasteryEvent.at > moment,
        MasteryEvent.source == "override")
    wrong: Counter = Counter()
    set_by_teacher: set[str] = set()
    for skill_ids, skill_id in db.session.execute(sa.union_all(answers, overrides)):
        if skill_id is None:
            wrong.update(skill_ids or ())
        else:
            set_by_teacher.add(skill_id)
    return wrong, set_by_teacher


def placements(course_id: int, person_id: int) -> dict[str, Placement]:
    """Return what the student's finished placement check concluded per skill (empty when none or skipped).

    For the planner (`learning.diagnostic.levels_for_planning`): never for grades.
    """
    pack = require_pack(course_id)
    run = _run(course_id, person_id)
    if not _finished(run):
        return {}
    return _placement(pack, _state(run))


def planning_levels(course_id: int, person_id: int, held: Standing, placed: Mapping[str, Placement]
                    ) -> dict[str, Level]:
    """Return the levels the student's next steps are chosen by (`learning.diagnostic.levels_for_planning`).

    `held` is the student's standing, `placed` their `placements`. No query of its own: the run (read with the
    launch) keeps what the check saw, and the standing's rows count the wrong answers since.
    """
    run = _run(course_id, person_id)
    levels = held.levels
    waiting = _standing_in(placed, levels)
    if not waiting or run is None or run.finished_at is None:
        return dict(levels)
    contradicted = CheckBaseline.from_dict(run.baseline).contradicted(waiting, held.misses(waiting))
    return diagnostic.levels_for_planning(levels, placed, contradicted | (waiting & held.overridden))


def planning_levels_by_person(course_id: int, levels: Mapping[int, Mapping[str, Level]]) -> dict[int, dict[str, Level]]:
    """Return `planning_levels` for each of these students (by person id), in one or two queries for a whole class.

    For the teacher's readiness counts (`learning.readiness.class_readiness`): a student counts as ready for a skill
    exactly when their own plan offers it.
    """
    result = {person_id: dict(mine) for person_id, mine in levels.items()}
    result.update(_planning_where_placed(course_id, levels))
    return result


def placed_as_known(course_id: int, levels: Mapping[int, Mapping[str, Level]]) -> dict[int, frozenset[str]]:
    """Return, per student (person id) whose check stands in for skills, the skills their plan counts above the
    level they hold (`planning_levels_by_person`, without a copy of every student's levels: for the heatmap).

    Students without such skills are left out. The same one or two queries as `planning_levels_by_person`.
    """
    placed = {}
    for person_id, planning in _planning_where_placed(course_id, levels).items():
        held = levels[person_id]
        above = frozenset(skill_id for skill_id, level in planning.items()
                          if level.rank > held.get(skill_id, Level.NOT_STARTED).rank)
        if above:
            placed[person_id] = above
    return placed


def _planning_where_placed(course_id: int, levels: Mapping[int, Mapping[str, Level]]
                           ) -> dict[int, dict[str, Level]]:
    """Return `planning_levels` only for the students whose finished check placed skills as known that they are
    not yet Proficient on (every other student's plan goes by the levels they hold)."""
    result: dict[int, dict[str, Level]] = {}
    if not levels:
        return result
    runs = db.session.execute(sa.select(DiagnosticRun.person_id, DiagnosticRun.state, DiagnosticRun.baseline).where(
        DiagnosticRun.course_id == course_id, DiagnosticRun.person_id.in_(id_list(levels)),
        DiagnosticRun.finished_at.is_not(None))).all()
    pack = require_pack(course_id)
    placed: dict[int, dict[str, Placement]] = {}
    waiting: dict[int, set[str]] = {}
    baselines: dict[int, CheckBaseline] = {}
    for person_id, state, baseline in runs:
        if not (state or {}).get("answers"):
            continue  # skipped: nothing placed
        placed[person_id] = _placement(pack, DiagnosticState.from_dict(state))
        if found := _standing_in(placed[person_id], levels[person_id]):
            waiting[person_id], baselines[person_id] = found, CheckBaseline.from_dict(baseline)
    if not waiting:
        return result
    # The waiting skills' rows: their wrong answers now, and whether the teacher's level holds them.
    misses: dict[int, dict[str, int]] = {}
    overridden: dict[int, set[str]] = {}
    for person_id, skill_id, state, flag in db.session.execute(
            sa.select(SkillMastery.person_id, SkillMastery.skill_id, SkillMastery.state, SkillMastery.overridden)
            .where(SkillMastery.course_id == course_id, SkillMastery.person_id.in_(id_list(waiting)),
                   SkillMastery.skill_id.in_(sorted(set().union(*waiting.values()))))):
        if skill_id in waiting[person_id]:
            misses.setdefault(person_id, {})[skill_id] = SkillState.from_dict(state).misses
            if flag:
                overridden.setdefault(person_id, set()).add(skill_id)
    for person_id, mine in waiting.items():
        contradicted = baselines[person_id].contradicted(mine, misses.get(person_id, {}))
        result[person_id] = diagnostic.levels_for_planning(
            levels[person_id], placed[person_id], contradicted | overridden.get(person_id, set()))
    return result


def _standing_in(placed: Mapping[str, Placement], levels: Mapping[str, Level]) -> set[str]:
    """Return the skills the check placed as known that the student is not yet Proficient on by their own level."""
    ready = READY_LEVEL.rank
    return {skill_id for skill_id, place in placed.items()
            if place.likely_known and levels.get(skill_id, Level.NOT_STARTED).rank < ready}


def note_teacher_level(course_id: int, person_id: int, skill_id: str) -> None:
    """Remember that a teacher set the student's level on a skill after their check finished (any skill: what the
    check places as known is read from the current pack).

    The caller holds the learner's lock and commits. From then on the check no longer stands in for the skill
    (`planning_levels`), also after the student's next answers hand the level back to the model.
    """
    run = _run(course_id, person_id)
    if not _finished(run) or run.baseline is None:
        return
    baseline = CheckBaseline.from_dict(run.baseline)
    if skill_id not in baseline.set_by_teacher:
        run.baseline = baseline.with_teacher_level(skill_id).to_dict()


#: A skill the check asked about but could not place: how its answers went, so "not sure yet" is plainly true.
_UNDECIDED = N_("You got %(right)s of %(total)s right.")

#: A skill the check placed as known, which the student's work since contradicts (a wrong answer, a teacher's level).
_CONTRADICTED = N_("Since the placement check, your work on %(skill)s shows it needs more practice.")


def _changed_since(course_id: int, person_id: int, moment: datetime) -> set[str]:
    """Return the skills whose level a teacher or the student's practice has written since `moment`."""
    return set(db.session.scalars(sa.select(SkillMastery.skill_id).where(
        SkillMastery.course_id == course_id, SkillMastery.person_id == person_id, SkillMastery.updated_at > moment,
        SkillMastery.skill_id != ALL_SKILLS)))


def result(course_id: int, person_id: int, language: str = BASE_LANGUAGE, *,
           now: datetime | None = None) -> DiagnosticResult | None:
    """Return the result page of a finished (or skipped) check, or None while it is still running.

    `now` dates the due reviews the plan's next steps are chosen with (the page lists its skills in their order).
    """
    pack = require_pack(course_id, language)
    run = _run(course_id, person_id)
    if run is None or run.finished_at is None:
        return None
    state = _state(run)
    placed = _placement(pack, state)
    names = {s.id: s.name for s in pack.skills}
    # The levels the plan shows, and its own "good places to start" (learning/diagnostic.py), so this page and
    # the plan say the same about every skill.
    held = standing(course_id, person_id, language)
    levels = held.levels
    planning = planning_levels(course_id, person_id, held, placed)
    start_here = diagnostic.good_places_to_start(pack.skill_graph, placed, planning)
    # A level the teacher or practice set since the check has its own reason, the one the plan's table shows: the
    # check's conclusion no longer speaks for that skill ("Probably solid already" beside "Set by your teacher").
    changed = _changed_since(course_id, person_id, run.finished_at) if state.answers else set()
    views = {view.skill_id: view for view in held.views(changed)} if changed else {}
    groups: dict[str, list[PlacedSkill]] = {"known": [], "start_here": [], "later": [], "unchecked": [],
                                            "undecided": []}
    # Right answers and questions per skill the check asked about: one it asked about and could not place is
    # "not sure yet", never "the check didn't need to ask about these".
    asked: Counter[str] = Counter(answer.skill_id for answer in state.answers)
    right: Counter[str] = Counter(answer.skill_id for answer in state.answers if answer.correct)
    for skill_id in pack.skill_graph.topological_order():
        place = placed.get(skill_id)
        level = levels.get(skill_id, Level.NOT_STARTED)
        unplaced = "undecided" if asked[skill_id] else "unchecked"
        if skill_id in views and (place is None or not diagnostic.contradicted_since(place, planning)):
            view = views[skill_id]
            group = (unplaced if place is None else "known" if place.likely_known
                     else "start_here" if skill_id in start_here else "later")
            groups[group].append(PlacedSkill(skill_id, names[skill_id], place.belief if place else Belief.UNKNOWN,
                                             view.reason, view.reason_parts, level, since_check=True))
            continue
        if place is None and asked[skill_id]:
            values = {"right": right[skill_id], "total": asked[skill_id]}
            groups["undecided"].append(PlacedSkill(skill_id, names[skill_id], Belief.UNKNOWN, _UNDECIDED % values,
                                                   ((_UNDECIDED, values),), level))
            continue
        if place is None:
            groups["unchecked"].append(PlacedSkill(skill_id, names[skill_id], Belief.UNKNOWN,
                                                   "Your practice will show where you are.",
                                                   ((N_("Your practice will show where you are."), {}),), level))
            continue
        reason, parts = place.reason, place.reason_parts
        if diagnostic.contradicted_since(place, planning):
            # Not "Looks solid already" once the plan no longer counts it so: one story on both pages.
            parts = ((_CONTRADICTED, {"skill": names[skill_id]}),)
            reason = _CONTRADICTED % parts[0][1]
            group = "start_here" if skill_id in start_here else "later"
        else:
            group = "known" if place.likely_known else "start_here" if skill_id in start_here else "later"
        groups[group].append(PlacedSkill(skill_id, names[skill_id], place.belief, reason, parts, level))
    if now is not None and len(groups["start_here"]) > 1:
        # In the order the plan's first steps take them (the plan's own function chooses them), not the map's.
        from .plan import course_steps

        rank = {step.skill_id: index for index, step in
                enumerate(course_steps(course_id, person_id, pack, held, placed, planning, now=now))}
        groups["start_here"].sort(key=lambda skill: rank.get(skill.skill_id, len(rank)))
    return DiagnosticResult(skipped=not state.answers, answered=len(state.answers), **groups)
