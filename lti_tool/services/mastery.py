"""Practice answers, mastery estimates and teacher overrides for one student in one course."""

from __future__ import annotations

import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..kept_map import KeptMap
from ..learning.coursepack import CoursePack, Item, check_answer
from ..learning.diagnostic import STUDENT, TEACHER, placement_reason_parts
from ..learning.mastery import (
    ALL_SKILLS,
    LEVELS,
    Level,
    LevelNeeds,
    MasteryModel,
    MasteryParams,
    MasteryThresholds,
    Response,
    SkillState,
    joined_reason,
    reason_parts,
)
from ..learning.review import REVIEWED_LEVELS
from ..learning.translations import BASE_LANGUAGE
from ..models import Enrollment, ItemResponse, MasteryEvent, Placement, ReviewSchedule, ServedItem, SkillMastery
from ..models.base import commit_keeping_rows, id_list, insert_if_missing, lock_database_for_writing
from .content import course_content, course_pack, from_pack
from .errors import N_, NotFound, ServiceError
from .help import MISSES_BEFORE_HELP
from .permissions import Action, Actor, require
from .reviews import record_review, start_if_mastered
from .serving import answered_correct, claim, served, since_teachers_level


@dataclass(frozen=True)
class SkillView:
    """A student's standing on one skill, as people see it."""

    skill_id: str
    name: str
    level: Level
    reason: str
    overridden: bool
    #: The reason as translatable fragments, when the mastery model wrote it (not for overrides or placements).
    reason_parts: tuple = ()
    #: Proficient, and another sitting is all Mastered still needs (pages say to take a break and come back).
    another_sitting: bool = False
    #: Right answers on items not yet answered right are what the next level lacks (pages say so): more of the
    #: same item (a template's variants are one) cannot raise it.
    other_items: bool = False
    #: What the level above this one still needs, by the model's own rules (None at Mastered and for a level only
    #: the teacher changes, `held_by_teacher`): the plan's table says it in words. For a level the teacher set, it is
    #: what the learner's own answers still need to raise it, as `record_answer` raises a teacher's level.
    needs: LevelNeeds | None = None
    #: The learner has answered a question on the skill wrong (the practice feedback says when such a question
    #: comes back only to those who missed one).
    missed: bool = False
    #: The teacher set the level below what the answers showed (`SkillState.held_below`): answers do not raise it,
    #: only the teacher does, so no page says what the next level needs; they say that instead.
    held_by_teacher: bool = False

    @property
    def missed_comes_back_later(self) -> bool:
        """Whether the next level asks for right answers on questions not got right yet while the learner has
        missed one on the skill: a missed question is served again only after a break (serving.SESSION), so the
        pages that say what the level needs (the plan's table, the practice feedback) say that too."""
        needs = self.needs
        return self.missed and needs is not None and not needs.more and needs.new_questions > 0


@dataclass(frozen=True)
class AnswerResult:
    """What the student sees after answering an item."""

    correct: bool
    solution: str
    changes: tuple[tuple[str, Level, Level], ...]  # (skill name, old level, new level)
    views: tuple[SkillView, ...]
    #: True when this question had already been answered: the first answer's result, nothing recorded again.
    repeated: bool = False
    #: False for a repeat in the same session (or a repeated post): practice, no mastery evidence.
    credited: bool = True
    skill_ids: tuple[str, ...] = ()
    #: The question as it was served (a template's numbers filled in), for the feedback page.
    item: Item | None = None
    #: On the practice feedback page (feedback.answered_result): how many of the learner's latest practice answers on
    #: the skill, this one included, were wrong in a row, counted up to MISSES_BEFORE_HELP. An answer's POST leaves
    #: it 0: it redirects to that page, which reads the run itself.
    misses_in_a_row: int = 0
    #: What the student typed or chose (a choice's id), for "You answered: …"; "" for a repeat (the first answer's
    #: result is shown, which this post's answer may not be).
    answer: str = ""


#: What the student reads about a teacher's override: the teacher's own note stays with the teachers.
OVERRIDE_REASON = N_("Set by your teacher.")
OVERRIDE_NOTE = N_("Set by your teacher: %(note)s")
_OVERRIDE_NOTE_START = OVERRIDE_NOTE.split("%")[0]
#: The same reasons as teachers read them on a student's page (about the student, and any teacher of the class).
_OVERRIDE_WORDS = {STUDENT: (OVERRIDE_REASON, OVERRIDE_NOTE),
                   TEACHER: (N_("Set by a teacher."), N_("Set by a teacher: %(note)s"))}


def override_reason_parts(reason: str, audience: str = STUDENT) -> tuple:
    """Return an override's stored reason as translatable fragments worded for `audience` (the student's by
    default); the note the teacher wrote for the student stays as written."""
    plain, with_note = _OVERRIDE_WORDS[audience]
    if reason == OVERRIDE_REASON:
        return ((plain, {}),)
    if reason.startswith(_OVERRIDE_NOTE_START):
        return ((with_note, {"note": reason[len(_OVERRIDE_NOTE_START):]}),)
    return ()


def stored_reason_parts(reason: str, source: str, audience: str = STUDENT,
                        names: Mapping[str, str] | None = None) -> tuple:
    """Return a stored level change's reason (the English Pathways wrote) as fragments a page translates.

    An override's, a placement's and the model's own are read back; `names` renames the English skill names a
    placement reason holds to the page's language. () for any other text (a teacher's words), shown as written.
    """
    if source == "override":
        return override_reason_parts(reason, audience)
    return placement_reason_parts(reason, audience, names) or reason_parts(reason)


def english_to_page_names(course_id: int, pack: CoursePack) -> dict[str, str]:
    """Return each skill's English name -> its name in `pack`'s language (stored reasons name skills in English)."""
    english = course_pack(course_id)
    if english is None:
        return {}
    return {s.name: pack.skills_by_id[s.id].name for s in english.skills if s.id in pack.skills_by_id}


def worded_for(view: SkillView, audience: str, names: Mapping[str, str] | None = None) -> SkillView:
    """Return the view with its reason worded for `audience`: a teacher reads "Set by a teacher" and "got … right"
    where the student reads "your teacher" and "you got … right".

    The model's own reason ("3 of 4 right") reads the same for both. A stored placement reason (English) gets its
    fragments for either, so a page in another language can write it; `names` turns the English skill names it
    holds into the page's language.
    """
    if view.overridden:
        if audience == STUDENT:
            return view  # the views are read with the student's wording of an override
        parts = override_reason_parts(view.reason, audience)
    elif view.reason_parts:
        return view
    else:
        parts = placement_reason_parts(view.reason, audience, names)
    if not parts:
        return view
    return replace(view, reason=joined_reason(parts), reason_parts=parts)


def thresholds_for(pack: CoursePack) -> MasteryThresholds:
    """Return the course's level thresholds and evidence rules."""
    return pack.mastery.level_rules()


def model_for(course_id: int) -> MasteryModel:
    """Return the course's mastery model: its fitted parameters, or the default."""
    content = course_content(course_id)
    if content is None or content.model_revision is None:
        return _DEFAULT_MODEL
    # Each fit stores a new revision under a row lock, so (course, revision) names one set of parameters in every
    # process: the parsed model is kept per process, and the weights (a deferred column, thousands of them) are
    # read only when a refit, here or elsewhere, gave the course a revision this process does not hold.
    key = (content.model_revision, content.model_fitted_at)
    model = _MODELS.get(course_id)
    if model is None or model[0] != key:
        stored = content.model_params
        parsed = MasteryModel(MasteryParams.from_dict(stored)) if stored else _DEFAULT_MODEL
        model = (key, parsed)
        _MODELS.put(course_id, model)
    return model[1]


def forget_model(course_id: int) -> None:
    """Drop this process's parsed model of a course (it was just refitted)."""
    _MODELS.pop(course_id)


_DEFAULT_MODEL = MasteryModel()  # never changed after it is built, so every course without a fit shares it
_MODELS: KeptMap[int, tuple[tuple, MasteryModel]] = KeptMap(256)


def require_pack(course_id: int, language: str = BASE_LANGUAGE) -> CoursePack:
    """Return the course's pack (its texts in the language) or refuse: nothing to practise until it is set up."""
    pack = course_pack(course_id, language)
    if pack is None:
        raise NotFound(N_("Your teacher has not set up this course in Pathways yet."))
    return pack


def _rows(course_id: int, person_id: int) -> dict[str, sa.Row]:
    # The columns a view needs, not mapped objects: a plan page reads a row per skill of the course, and building
    # and tracking an object for each was about a third of the plan's service time on a 400-skill course. The
    # state comes as its JSON text, decoded only for the skills a page explains (one unit's on the plan page).
    found = db.session.execute(_ROWS_QUERY, {"course_id": course_id, "person_id": person_id}).all()  # one fetchall
    return {row[0]: row for row in found}  # row[0] is skill_id: by position, cheaper than by name per row


# Built once, like the launch's queries: building it afresh was a share of every plan page (launches._returning_query).
# The table's columns, not the mapped class's attributes: a Core statement, which the session runs without the ORM's
# loading (its generators over the 401 rows of a 400-skill course were 6% of a plan page's instructions), and still
# autoflushes first and runs in the session's transaction (Session.execute does both for a Core statement too).
_MASTERY = SkillMastery.__table__.c
_ROWS_QUERY = sa.select(
    _MASTERY.skill_id, sa.cast(_MASTERY.state, sa.Text).label("state"), _MASTERY.level, _MASTERY.reason,
    _MASTERY.overridden,
).where(_MASTERY.course_id == sa.bindparam("course_id"), _MASTERY.person_id == sa.bindparam("person_id"))


def skill_views(course_id: int, person_id: int, language: str = BASE_LANGUAGE) -> list[SkillView]:
    """Return the student's level on every skill of the course, in the map's order (names in the language)."""
    return standing(course_id, person_id, language).views()


class Standing:
    """A student's mastery rows on a course, read once: every skill's level, and views of the skills a page shows.

    The levels come from the stored column; a view decodes the skill's state and explains its reason, which a
    plan page showing one unit of a 400-skill course needs for a few skills, not for all of them.
    """

    def __init__(self, pack: CoursePack, rows: Mapping[str, sa.Row], model: MasteryModel, *,
                 learner: tuple[int, int]) -> None:
        self._pack, self._rows, self._model = pack, rows, model
        #: (course id, person id): `missed_lately` reads whose practice answers they were.
        self._learner = learner
        #: Every skill of the pack, in the map's order: its stored level (Not started without a row). A copy of
        #: the pack's all-Not-started levels with the rows' levels put in: a pass over the rows, not the skills.
        levels = from_pack(pack, _not_started).copy()
        # As Level.stored, without a call per row: a missing or retired name reads as Not started. Not the
        # learner-wide "*" row, nor a skill the pack no longer has.
        level_of, not_started = _STORED_LEVELS.get, Level.NOT_STARTED
        # row[2] is the level (_ROWS_QUERY's third column): by position, cheaper than by name on every row.
        levels.update({sid: level_of(row[2], not_started) for sid, row in rows.items() if sid in levels})
        self.levels: dict[str, Level] = levels

    def views(self, only: Iterable[str] | None = None, *, needs: bool = False) -> list[SkillView]:
        """Return the views of every skill, or of `only` these, in the map's order (with what each next level
        needs when `needs`: the pages that say it)."""
        return _views(self._pack, self._rows, self._model, only, needs=needs)

    @property
    def overridden(self) -> frozenset[str]:
        """The skills whose level the teacher set (the model has not taken over again since)."""
        # row[4] is overridden (_ROWS_QUERY's fifth column); the learner-wide "*" row never is.
        return frozenset(skill_id for skill_id, row in self._rows.items() if row[4])

    @property
    def teacher_holds(self) -> frozenset[str]:
        """The skills whose level only the teacher changes (`SkillView.held_by_teacher`): only the states of the
        teacher's levels are decoded."""
        return frozenset(skill_id for skill_id, row in self._rows.items()
                         if row[4] and _held_by_teacher(row, _state_of(row)))

    def misses(self, skill_ids: Iterable[str]) -> dict[str, int]:
        """Return the wrong answers the model counted on each of these skills (decoding only their states)."""
        return {skill_id: _state_of(row).misses for skill_id in skill_ids if (row := self._rows.get(skill_id))}

    @property
    def another_sitting(self) -> Container[str]:
        """The skills that lack only another sitting for Mastered, asked one skill at a time (`in`).

        Only the planner's Proficient steps are asked, so only their states are decoded.
        """
        return _AnotherSitting(self._pack, self._rows, self._model)

    @property
    def missed_lately(self) -> Container[str]:
        """The skills whose last MISSES_BEFORE_HELP answers all missed (what the level table's reason says as
        "last 2 missed"), asked one skill at a time (`in`): only the planner's steps are asked.

        Only misses in practice count, as only they made the practice feedback advise another way: the placement
        check's questions are picked to be missed about half the time, and a new student's plan told them to ask
        their teacher before they had practised at all.
        """
        return _MissedLately(self._rows, self._learner, self.levels)


class _AnotherSitting:
    """`skill_id in it`: the learner is Proficient on it and another sitting is all Mastered still needs."""

    def __init__(self, pack: CoursePack, rows: Mapping[str, sa.Row], model: MasteryModel) -> None:
        self._pack, self._rows, self._model = pack, rows, model

    def __contains__(self, skill_id: object) -> bool:
        row = self._rows.get(skill_id) if isinstance(skill_id, str) else None
        return row is not None and _needs_another_sitting(self._pack, row, self._model)


class _MissedLately:
    """`skill_id in it`: the learner's last MISSES_BEFORE_HELP answers on it all missed.

    The runs are read once, for every skill whose stored state ends in that many misses, by one statement (the
    plan asks for each of its steps: one statement a step was an N+1 when several steps followed misses), and only
    once a skill asked about ends so: a plan none of whose steps follows misses reads nothing.
    """

    def __init__(self, rows: Mapping[str, sa.Row], learner: tuple[int, int], skills: Container[str]) -> None:
        self._rows, self._learner, self._skills = rows, learner, skills
        self._ends: dict[str, bool] = {}
        self._stuck: frozenset[str] | None = None

    def __contains__(self, skill_id: object) -> bool:
        if not isinstance(skill_id, str) or not self._ends_in_misses(skill_id):
            return False
        if self._stuck is None:
            self._stuck = self._read()
        return skill_id in self._stuck

    def _ends_in_misses(self, skill_id: str) -> bool:
        # Only the pack's skills: not the learner-wide "*" row, whose stored run is every answer's (two misses on
        # two skills end it so) and which has no practice answer of its own, nor a skill the pack no longer has.
        # Only the stored run of answers is looked at, not the whole state decoded, and each row's once.
        ends = self._ends.get(skill_id)
        if ends is None:
            row = self._rows.get(skill_id) if skill_id in self._skills else None
            ends = self._ends[skill_id] = row is not None and str(
                _stored(row).get("recent", "")).endswith("0" * MISSES_BEFORE_HELP)
        return ends

    def _read(self) -> frozenset[str]:
        candidates = [skill_id for skill_id in self._rows if self._ends_in_misses(skill_id)]
        # The same run the practice feedback reads (feedback.answered_result): the latest practice answers on the skill,
        # only those since the teacher last set the level (an override, accepted evidence): the misses the teacher
        # judged past no longer say the student is stuck (`serving.since_teachers_level`).
        course_id, person_id = self._learner
        runs: dict[str, list[bool | None]] = {}
        for skill_id, correct in db.session.execute(_PRACTICE_RUNS, {"course_id": course_id, "person_id": person_id,
                                                                     "skill_ids": candidates}):
            runs.setdefault(skill_id, []).append(correct)
        return frozenset(skill_id for skill_id, run in runs.items()
                         if len(run) == MISSES_BEFORE_HELP and all(correct is False for correct in run))


def _practice_runs() -> sa.Select:
    """The learner's latest MISSES_BEFORE_HELP answered practice questions on each of :skill_ids (skill, correct)."""
    answers = ServedItem.__table__.alias()  # the table's: a Core statement stays one (launches.open_launch)
    course_id, person_id = sa.bindparam("course_id"), sa.bindparam("person_id")
    ranked = (
        sa.select(answers.c.skill_id, answers.c.correct,
                  sa.func.row_number().over(partition_by=answers.c.skill_id,
                                            order_by=(answers.c.answered_at.desc(), answers.c.id.desc())).label("n"))
        .where(answers.c.course_id == course_id, answers.c.person_id == person_id,
               answers.c.skill_id.in_(sa.bindparam("skill_ids", expanding=True)), answers.c.source == "practice",
               answers.c.answered_at.is_not(None),
               since_teachers_level(answers.c, course_id, person_id, answers.c.skill_id))
        .subquery()
    )
    return sa.select(ranked.c.skill_id, ranked.c.correct).where(ranked.c.n <= MISSES_BEFORE_HELP)


_PRACTICE_RUNS = _practice_runs()


def _stored(row: SkillMastery | sa.Row) -> Mapping[str, object]:
    """The row's state as stored (a JSON object: text on some drivers, already decoded on others)."""
    return json.loads(row.state) if isinstance(row.state, str) else row.state


def _state_of(row: SkillMastery | sa.Row) -> SkillState:
    return SkillState.from_dict(_stored(row))


def _held_by_teacher(row: SkillMastery | sa.Row, state: SkillState) -> bool:
    """Whether only the teacher changes the row's level: they set it below what the answers showed (they doubt
    them). Any other teacher's level is raised by answers that earn more (`record_answer`), so what those answers
    still need is the model's to say, as for a level of the model's own."""
    return bool(row.overridden) and state.held_below


def teacher_hold(row: SkillMastery, state: SkillState, new_level: Level, model: MasteryModel,
                 rules: MasteryThresholds) -> SkillState:
    """Return the state with the teacher's hold as it stands once the teacher sets `new_level` on the row.

    The teacher holds a level they set below what the answers showed (they doubt them; `SkillState.held_below`):
    answers do not raise it. What the answers showed is the level the pages showed while it was the model's own (a
    shown level holds through a slip), kept as `held_from`; a level the teacher already set was the one shown, not
    the answers', so the answers alone are compared then. A held level stays held while the teacher's level is
    below the level the answers had shown when the hold began (or what they alone earn now, if more): set again,
    lower, or raised but not that far. The teacher setting that level or more, or removing their level, ends it.
    """
    doubted = model.level(state, rules, previous=None if row.overridden else Level(row.level))
    if row.overridden and state.held_below:
        # Held before the answers' level was kept: they had shown more than the level the teacher holds.
        since = Level.stored(state.held_from) if state.held_from else LEVELS[min(Level(row.level).rank + 1, 4)]
        doubted = max(doubted, since, key=lambda level: level.rank)
    if doubted.rank > new_level.rank:
        return replace(state, held_below=True, held_from=doubted.value)
    return replace(state, held_below=False, held_from=None)


def _needs_another_sitting(pack: CoursePack, row: SkillMastery | sa.Row, model: MasteryModel,
                           state: SkillState | None = None) -> bool:
    if row.level != Level.PROFICIENT.value:
        return False
    if state is None:
        state = _state_of(row)
    if _held_by_teacher(row, state):
        return False  # no sitting raises it: only the teacher does
    return model.needs_only_another_sitting(state, thresholds_for(pack))


def _needs_other_items(rules: MasteryThresholds, row: SkillMastery | sa.Row, model: MasteryModel,
                       state: SkillState) -> bool:
    if row.level == Level.MASTERED.value or _held_by_teacher(row, state):
        return False  # Mastered has no level above; no answer raises a level only the teacher changes
    return model.needs_other_items(state, rules, shown=Level(row.level))


#: A skill not started needs one answer, right or wrong, to be Attempted.
_FIRST_ANSWER = LevelNeeds(Level.ATTEMPTED, answers=1)

_STORED_LEVELS: dict[str | None, Level] = {level.value: level for level in Level}


def _not_started(pack: CoursePack) -> dict[str, Level]:
    return dict.fromkeys(pack.skill_graph.topological_order(), Level.NOT_STARTED)


def standing(course_id: int, person_id: int, language: str = BASE_LANGUAGE) -> Standing:
    """Return the student's standing on the course (one query), the pack's names in the language."""
    return Standing(require_pack(course_id, language), _rows(course_id, person_id), model_for(course_id),
                    learner=(course_id, person_id))


def _views(pack: CoursePack, rows: Mapping[str, SkillMastery | sa.Row], model: MasteryModel,
           only: Iterable[str] | None = None, *, needs: bool = False) -> list[SkillView]:
    """Return the views of these mastery rows (all skills, or `only` these), in the map's order.

    `needs`: fill in what each next level needs (`MasteryModel.next_level_needs` projects answers through the model,
    a fraction of a millisecond a practised skill): only the pages that say it ask, not an answer's POST.

    A row is a SkillMastery or a result row with its skill_id, state (a dict, or its JSON text), level, reason and
    overridden columns.
    """
    skills = pack.skills_by_id
    order = pack.skill_graph.topological_order()
    rules = thresholds_for(pack)
    if only is not None:
        # An answer's view is of its item's one or two skills: place those, not the whole map.
        position = pack.skill_graph.position
        order = sorted({sid for sid in only if sid in skills}, key=position)
    views = []
    overall_row = rows.get(ALL_SKILLS)
    overall = _state_of(overall_row) if overall_row is not None else None
    for skill in (skills[sid] for sid in order):
        row = rows.get(skill.id)
        if row is None:
            views.append(SkillView(skill.id, skill.name, Level.NOT_STARTED, "Not started yet", False,
                                   (("Not started yet", {}),), needs=_FIRST_ANSWER if needs else None))
        else:
            state = _state_of(row)
            # Only the model's own explanation can be rebuilt in another language; a teacher's note or the
            # placement check's wording is shown as written.
            if row.overridden:
                parts = override_reason_parts(row.reason)
            else:
                parts = model.explain_parts(state)
                parts = parts if row.reason == joined_reason(parts) else ()
            level = Level(row.level)
            # A teacher's level is raised by right answers that earn more, as the model's own (`record_answer`
            # compares the model's level, the teacher's as the one shown before, with it): the same projection
            # says what those answers still need. Unless the teacher doubts the answers (`_held_by_teacher`).
            held = _held_by_teacher(row, state)
            views.append(SkillView(skill.id, skill.name, level, row.reason, row.overridden, parts,
                                   _needs_another_sitting(pack, row, model, state),
                                   _needs_other_items(rules, row, model, state),
                                   None if held or not needs else _level_needs(model, row, state, rules, level,
                                                                               overall),
                                   state.correct < state.attempts, held))
    return views


def _level_needs(model: MasteryModel, row: SkillMastery | sa.Row, state: SkillState, rules: MasteryThresholds,
                 level: Level, overall: SkillState | None) -> LevelNeeds | None:
    """Return what the level above `level` still needs (`MasteryModel.next_level_needs`).

    Answers the model would already give more for (none projected) raise a teacher's level only with a right answer
    (`record_answer`: a wrong one, which completed the answers' count or their second sitting, left it): that answer
    is what it needs, not "take a break and come back", the words for a projection of none.
    """
    needs = model.next_level_needs(state, rules, shown=level, overall=overall)
    if row.overridden and needs is not None and needs.answers == 0 and not needs.another_sitting:
        return replace(needs, answers=1, new_questions=0)
    return needs


def levels_by_person(course_id: int, person_ids: Iterable[int]) -> dict[int, dict[str, Level]]:
    """Return {person: {skill: level}} for the class view, in one query."""
    ids = list(person_ids)
    result: dict[int, dict[str, Level]] = {pid: {} for pid in ids}
    if not ids:
        return result
    query = sa.select(SkillMastery.person_id, SkillMastery.skill_id, SkillMastery.level).where(
        SkillMastery.course_id == course_id, SkillMastery.person_id.in_(id_list(ids)),
        SkillMastery.skill_id != ALL_SKILLS,
    )
    known = {lv.value: lv for lv in Level}  # a lookup per row, not Level(): a class has tens of thousands of rows
    for person_id, skill_id, level in db.session.execute(query):
        result[person_id][skill_id] = known.get(level) or Level(level)  # Level() refuses an unknown name
    return result


def _insert_learner_row(course_id: int, person_id: int, now: datetime) -> None:
    """Create the learner-wide row ("*") if missing: an upsert, so parallel first answers do not collide."""
    insert_if_missing(SkillMastery, {"course_id": course_id, "person_id": person_id, "skill_id": ALL_SKILLS,
                                     "state": SkillState(ALL_SKILLS).to_dict(), "level": Level.ATTEMPTED.value,
                                     "reason": "", "overridden": False, "updated_at": now},
                      ("course_id", "person_id", "skill_id"))


def lock_learner(course_id: int, person_id: int, now: datetime) -> dict[str, SkillMastery]:
    """Lock the learner's mastery in this course for this transaction and return all their rows, freshly read.

    Every writer of a learner's mastery locks the learner-wide row ("*") first (it sorts before every skill
    id), so read-modify-write cannot lose an update. The rows are read after that lock is granted, by a statement
    of their own: on PostgreSQL a statement that waited for a lock still reads from the snapshot it started with,
    so it would miss a skill row the writer it waited for had just created (and this one would insert it again).
    An answer locks less: see `_lock_skills`.
    """
    lock_learner_row(course_id, person_id, now)
    query = (
        sa.select(SkillMastery)
        .where(SkillMastery.course_id == course_id, SkillMastery.person_id == person_id)
        .order_by(SkillMastery.skill_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {row.skill_id: row for row in db.session.scalars(query)}


def lock_learner_row(course_id: int, person_id: int, now: datetime, *, enrolled: bool = True) -> None:
    """Take the learner's lock (their "*" row, created if missing) and nothing else; what is read next is current.

    For a transaction about to read what it will write from: on SQLite the database's write lock (FOR UPDATE is
    ignored there), on PostgreSQL the row lock; either waits for a writer of the same learner to commit.
    With `enrolled` (every writer of the learner's data), refuse when the learner's data in the course was
    deleted meanwhile (see `_require_enrolled`); a delete takes the lock with enrolled=False.
    """
    lock_database_for_writing()
    params = {"course_id": course_id, "person_id": person_id}
    if db.session.execute(_LOCK_LEARNER_ROW, params).first() is None:
        _insert_learner_row(course_id, person_id, now)
        db.session.execute(_LOCK_LEARNER_ROW, params)
        if enrolled:
            _require_enrolled(course_id, person_id)


def lock_learner_row_if_there(course_id: int, person_id: int) -> bool:
    """Take the learner's lock if their "*" row is there, making none; tell whether it was.

    For a deletion, which makes a missing one only once it holds the person (services/privacy.py, "lock order").
    """
    lock_database_for_writing()
    return db.session.execute(_LOCK_LEARNER_ROW, {"course_id": course_id, "person_id": person_id}).first() is not None


LEARNER_GONE = N_("Your data in this course has been deleted, so this was not saved. Open Pathways again from "
                  "your course.")


def _require_enrolled(course_id: int, person_id: int) -> None:
    """Refuse a write for a learner whose enrolment is gone; called with their lock held, on the "*"-missing path.

    A delete of the learner's data (services/privacy.py) takes their lock and removes the enrolment and every
    row, the "*" row included, in one transaction. So a writer that finds "*" (under its lock) writes before the
    delete, and one that waited for the delete or came after it finds no "*": this check, by a statement run
    after the lock was granted (it reads what the delete committed), keeps it from writing rows, files or grade
    posts for a person with no enrolment, which no erase would find. The common path (the row is there) costs
    nothing more.
    """
    if db.session.execute(_ENROLLED, {"course_id": course_id, "person_id": person_id}).first() is None:
        raise NotFound(LEARNER_GONE)


_ENROLLED = sa.select(Enrollment.__table__.c.id).where(
    Enrollment.__table__.c.course_id == sa.bindparam("course_id"),
    Enrollment.__table__.c.person_id == sa.bindparam("person_id"))


_LOCK_LEARNER_ROW = (
    sa.select(SkillMastery.__table__.c.id)
    .where(SkillMastery.__table__.c.course_id == sa.bindparam("course_id"),
           SkillMastery.__table__.c.person_id == sa.bindparam("person_id"),
           SkillMastery.__table__.c.skill_id == ALL_SKILLS)
    .with_for_update()
)


def _lock_skills(course_id: int, person_id: int, skill_ids: Iterable[str], now: datetime
                 ) -> tuple[dict[str, SkillMastery], dict[str, ReviewSchedule], bool]:
    """Lock the learner-wide row and these skills' rows only; return them, their review schedules, and whether
    the course has placements (gradebook columns: a changed level is then queued to them).

    One statement on the common path (the learner's "*" row exists): the rows with their schedules joined,
    locked "*" first like `lock_learner`, so an answer waits only for writers of the same learner (who all
    change "*") and never touches the learner's other skills.
    """
    params = {"course_id": course_id, "person_id": person_id, "skill_ids": sorted({ALL_SKILLS, *skill_ids})}
    found = db.session.execute(_LOCK_SKILLS_QUERY, params).all()
    if not any(row.skill_id == ALL_SKILLS for row, _, _ in found):
        _insert_learner_row(course_id, person_id, now)
        found = db.session.execute(_LOCK_SKILLS_QUERY, params).all()
        _require_enrolled(course_id, person_id)
    # Asked with the lock, as the separate read of the placements it replaces was asked after it.
    graded = bool(found[0][2]) if found else False
    return ({row.skill_id: row for row, _, _ in found},
            {row.skill_id: schedule for row, schedule, _ in found if schedule is not None}, graded)


# Built once (an answer is one of the hottest requests: see launches._returning_query).
_LOCK_SKILLS_QUERY = (
    sa.select(SkillMastery, ReviewSchedule,
              sa.exists().where(Placement.course_id == sa.bindparam("course_id")).label("graded"))
    .outerjoin(ReviewSchedule, sa.and_(ReviewSchedule.course_id == SkillMastery.course_id,
                                       ReviewSchedule.person_id == SkillMastery.person_id,
                                       ReviewSchedule.skill_id == SkillMastery.skill_id))
    .where(SkillMastery.course_id == sa.bindparam("course_id"), SkillMastery.person_id == sa.bindparam("person_id"),
           SkillMastery.skill_id.in_(sa.bindparam("skill_ids", expanding=True)))
    .order_by(SkillMastery.skill_id)
    .with_for_update(of=SkillMastery)
    .execution_options(populate_existing=True)
)


def _states_of(course_id: int, person_id: int, skill_ids: Iterable[str]) -> dict[str, SkillState]:
    """Return the learner's states of these skills (read only: to start a skill from its prerequisites)."""
    query = sa.select(SkillMastery.skill_id, SkillMastery.state).where(
        SkillMastery.course_id == course_id, SkillMastery.person_id == person_id,
        SkillMastery.skill_id.in_(sorted(set(skill_ids))))
    return {skill_id: SkillState.from_dict(state) for skill_id, state in db.session.execute(query)}


#: Tries of an answer that meets a skill row another request of the same learner created meanwhile.
_ATTEMPTS = 3


def record_answer(
    course_id: int, person_id: int, served_id: int, answer: str, *, now: datetime,
    language: str = BASE_LANGUAGE, page: str | None = None,
) -> AnswerResult:
    """Check an answer to a served question, update the student's mastery of its skills, and note level changes.

    Only a question served to this learner and not yet answered counts; a second post of the same question
    (a double click, a retry, a script) gets the first answer's result and changes nothing. A repeat of a
    variant in the same session is recorded as practice without mastery credit, whichever page served it: of
    two copies open at once, only the first answered earns credit. The hints used are those the server showed on
    the question (`serving.show_hint`), never a number the form brings. The result (question, solution, skill
    names) is in the student's language; what is stored is the same in every language. With page (the source of the
    page answering, e.g. "practice"), a question another page served is refused: a placement-check question
    answered on the practice page was judged and its solution shown, then the check served it again.
    """
    # A caller's own pending changes (the placement check's run) would be lost by starting again: no retry then.
    attempts = 1 if db.session.new or db.session.dirty or db.session.deleted else _ATTEMPTS
    for attempt in range(attempts):
        try:
            return _record_answer(course_id, person_id, served_id, answer, now=now, language=language, page=page)
        except sa.exc.IntegrityError:
            # The learner's first answer on a skill raced another of their answers creating the same row (it
            # was not there to lock): start again from the committed rows; the claim was rolled back too.
            db.session.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _record_answer(
    course_id: int, person_id: int, served_id: int, answer: str, *, now: datetime, language: str, page: str | None,
) -> AnswerResult:
    pack = require_pack(course_id)
    shown = require_pack(course_id, language)
    answer = (answer or "").strip()[:500]
    if not answer:
        raise ServiceError(N_("Type or choose an answer first."))
    # The item in the student's language: the same ids and numbers, and a short-text item also accepts the
    # answers the author wrote for that language.
    question = served(course_id, person_id, served_id, shown)
    if page is not None and question.source != page:
        raise NotFound(N_("That question was not given to you here. Here is a question that was."))
    item = question.item
    correct = check_answer(item, answer)
    # The claim settles the credit from the variant's other answers (the same question open on another page), so
    # it runs once no other answer of the learner can be half done. On PostgreSQL the learner's lock comes first:
    # the lock's statement waits for a parallel answer to commit, and the claim, a later statement, then reads
    # that answer (the waiting statement itself still reads its old snapshot). On SQLite the claim's write takes
    # the database's write lock, so it reads what is current, and the rows are read after it, under that lock (a
    # read before the transaction's first write holds none).
    locked = None if db.session.get_bind().dialect.name == "sqlite" else _lock_skills(course_id, person_id,
                                                                                         item.skills, now)
    claimed = claim(question.id, correct=correct, now=now)
    if claimed is None:
        db.session.rollback()
        views = tuple(v for v in skill_views(course_id, person_id, language) if v.skill_id in item.skills)
        return AnswerResult(correct=answered_correct(question.id), solution=item.solution, changes=(), views=views,
                            repeated=True, credited=False, skill_ids=tuple(item.skills), item=item)
    rows, schedules, graded = locked or _lock_skills(course_id, person_id, item.skills, now)
    hints_used = claimed.hints
    stored = {"course_id": course_id, "person_id": person_id, "item_id": item.id, "skill_ids": list(item.skills),
              "answer": answer, "correct": correct, "hints_used": hints_used, "source": question.source,
              "answered_at": now, "credited": claimed.credit}
    if not claimed.credit:
        db.session.execute(_INSERT_RESPONSE, stored)
        views = tuple(_views(shown, rows, model_for(course_id), item.skills))
        commit_keeping_rows()
        return AnswerResult(correct=correct, solution=item.solution, changes=(), views=views, credited=False,
                            skill_ids=tuple(item.skills), item=item, answer=answer)
    source = question.source
    model = model_for(course_id)
    thresholds = thresholds_for(pack)
    states = {sid: SkillState.from_dict(row.state) for sid, row in rows.items()}
    graph = pack.skill_graph
    new = [skill_id for skill_id in item.skills if skill_id not in states]
    if new:
        # A first answer on a skill starts it from its prerequisites (read, not locked: "*" guards them).
        known = _states_of(course_id, person_id, {p for sid in new for p in graph.prerequisites_of(sid)})
        for skill_id in new:
            states[skill_id] = model.start(skill_id, [known[p] for p in graph.prerequisites_of(skill_id) if p in known])
    # The placement check's answers are evidence on their skills, not on how the learner does lately (Response).
    response = Response(item_id=item.id, skill_ids=tuple(item.skills), correct=correct, at=now.timestamp(),
                        learner_wide=source != "diagnostic")
    changes = []
    updates: list[dict] = []
    events: list[dict] = []
    names = pack.skills_by_id
    retention = pack.mastery.desired_retention if pack.mastery.review_spacing else None
    shown_names = shown.skills_by_id
    for skill_id, state in model.record(states, response).items():
        row = rows.get(skill_id)
        old_level = Level(row.level) if row and skill_id != ALL_SKILLS else Level.NOT_STARTED
        # The level shown before holds unless the estimate falls clearly below it (one slip is not enough).
        new_level = model.level(state, thresholds, previous=old_level) if skill_id != ALL_SKILLS else Level.ATTEMPTED
        # A teacher's level (an override, accepted evidence) stands until the teacher changes it: the model never
        # saw what the teacher saw, and its level from the answers alone would take a right answer as a reason to
        # drop a student the teacher set at Proficient to Attempted. Right answers that earn more than the teacher's
        # level raise it, unless the teacher set it below what the answers already showed (they doubt them).
        teacher_held = row is not None and row.overridden and (
            not (correct and new_level.rank > old_level.rank) or states[skill_id].held_below)
        if teacher_held:
            new_level = old_level
        elif state.held_below:
            # The teacher's level has gone: nothing is held any more.
            state = replace(state, held_below=False, held_from=None)
        reason_source = source
        schedule = schedules.get(skill_id) if skill_id != ALL_SKILLS and retention is not None else None
        if schedule is not None and schedule.due_at <= now and old_level in REVIEWED_LEVELS:
            # Answering a skill that is due for review is the review (retrieval practice); below the reviewed
            # levels it is practice again (`due_reviews` offers no review of it either).
            # A failed review lowers the estimate (above); the level follows the model, not a fixed drop.
            record_review(schedule, old_level, new_level, correct=correct, hints_used=hints_used,
                          skill_name=names[skill_id].name if skill_id in names else skill_id, now=now,
                          retention=retention)
            if source != "unit_check":  # a unit check's answer stays marked as one, and still counts as the review
                reason_source = stored["source"] = "review"  # the answer is kept as a review, not practice
        elif skill_id != ALL_SKILLS and retention is not None:
            start_if_mastered(course_id, person_id, skill_id, old_level, new_level, now,
                              schedule=schedule, retention=retention)
        # The estimate learns from every answer; the reason stays the teacher's while their level stands.
        reason = row.reason if teacher_held else model.explain(state)[:300] if skill_id != ALL_SKILLS else ""
        written = {"state": state.to_dict(), "reason": reason, "updated_at": now, "overridden": teacher_held,
                   "level": new_level.value}
        if row is None:
            row = rows[skill_id] = SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                                **written)
            db.session.add(row)
        else:
            updates.append({"row_id": row.id, **written})
            for column, value in written.items():
                so.attributes.set_committed_value(row, column, value)  # as written below: nothing left to flush
        if skill_id != ALL_SKILLS and new_level != old_level:
            changes.append((shown_names[skill_id].name if skill_id in shown_names else skill_id, old_level,
                            new_level))
            events.append({"course_id": course_id, "person_id": person_id, "skill_id": skill_id,
                           "old_level": old_level.value, "new_level": new_level.value, "source": reason_source,
                           "reason": written["reason"], "student_note": None, "actor_id": None, "at": now})
    # Written on the tables, not through the unit of work (a third of the answer's service CPU went to it): the
    # response, the level changes (one batched INSERT) and the existing rows (one batched UPDATE); a skill's
    # first row and the review schedules go with the flush.
    db.session.execute(_INSERT_RESPONSE, stored)
    if events:
        db.session.execute(_INSERT_EVENT, events)
    if updates:
        db.session.execute(_UPDATE_MASTERY, updates)
    db.session.flush()
    if changes and graded:
        from .publishing import publish_mastery

        publish_mastery(course_id, person_id, now=now)
    views = tuple(_views(shown, rows, model, item.skills))
    # The rows just written are current: the feedback page reads them (and the launch) without asking again.
    commit_keeping_rows()
    return AnswerResult(correct=correct, solution=item.solution, changes=tuple(changes), views=views,
                        skill_ids=tuple(item.skills), item=item, answer=answer)


_INSERT_RESPONSE = sa.insert(ItemResponse.__table__)
_INSERT_EVENT = sa.insert(MasteryEvent.__table__)
_UPDATE_MASTERY = (
    sa.update(SkillMastery.__table__)
    .where(SkillMastery.__table__.c.id == sa.bindparam("row_id"))
    .values({column: sa.bindparam(column) for column in ("state", "reason", "updated_at", "overridden", "level")})
)


def override_level(
    course_id: int, person_id: int, skill_id: str, level: str, *, note: str, actor: Actor, now: datetime,
    note_to_student: str = "",
) -> SkillView:
    """Set a student's level on a skill by the teacher's judgement; the override is recorded as evidence.

    `note` is the teacher's own reason, kept with the history for teachers; the student sees only
    `note_to_student`, or a plain "Set by your teacher." without one.
    """
    require(actor, Action.ASSESS)
    actor_id = actor.person_id
    pack = require_pack(course_id)
    names = {s.id: s.name for s in pack.skills}
    if skill_id not in names:
        raise NotFound("That skill is not part of this course.")
    try:
        new_level = Level(level)
    except ValueError as exc:
        raise ServiceError("Choose one of the levels.", form_field="level") from exc
    note = (note or "").strip()[:400]
    if not note:
        raise ServiceError("Add a short note saying why: it is kept with the override as evidence.",
                           form_field="note")
    note_to_student = (note_to_student or "").strip()[:250]
    row = lock_learner(course_id, person_id, now).get(skill_id)
    from .diagnostic import note_teacher_level

    # The teacher's level speaks against the placement check from now on, after later answers too.
    note_teacher_level(course_id, person_id, skill_id)
    old_level = Level(row.level) if row else Level.NOT_STARTED
    if row is None:
        row = SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                           state=SkillState(skill_id).to_dict())
        db.session.add(row)
    else:
        # The teacher's judgement speaks against the placement check from now on (note_teacher_level, for the
        # plan): the shorter confirmation the check earned goes too, so the levels and the plan agree. A level set
        # below what the answers show says the teacher doubts them: answers alone will not raise it again.
        state = SkillState.from_dict(row.state)
        # What the answers showed is the level the pages showed while it was the model's own: a shown level holds
        # through a slip (`MasteryModel.level`'s `previous`), so the answers' level without that hold could be lower,
        # and a teacher lowering the student's Proficient after a miss read as not doubting the answers.
        # A level the teacher already set was the one shown, not the answers': the answers alone are compared then
        # (with or without `previous` at the new level, the same question: would a right answer raise it straight
        # back). A level the teacher holds (they doubted answers that had shown more) stays held when set again,
        # lower, or higher but still below what those answers had shown: they are still what showed more.
        # A held level raised but still below what those answers had shown stays held too (`teacher_hold`).
        row.state = replace(teacher_hold(row, state, new_level, model_for(course_id), thresholds_for(pack)),
                            placed=False).to_dict()
    row.level = new_level.value
    row.reason = OVERRIDE_NOTE % {"note": note_to_student} if note_to_student else OVERRIDE_REASON
    row.overridden = True
    row.updated_at = now
    db.session.add(MasteryEvent(course_id=course_id, person_id=person_id, skill_id=skill_id, old_level=old_level.value,
                                new_level=new_level.value, source="override", reason=note,
                                student_note=note_to_student or None, actor_id=actor_id, at=now))
    # Mastered by the teacher's judgement is mastered: its spaced reviews start as they would from the answers.
    start_if_mastered(course_id, person_id, skill_id, old_level, new_level, now)
    db.session.flush()
    if new_level != old_level:
        from .publishing import publish_mastery

        publish_mastery(course_id, person_id, now=now)
    db.session.commit()
    return SkillView(skill_id, names[skill_id], new_level, row.reason, True)
