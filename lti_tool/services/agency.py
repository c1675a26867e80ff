"""Student agency in the learning plan: own goals, pacing, reflections, and evidence the teacher reviews.

Pacing counts a skill as done when it is Mastered, dated by the latest MasteryEvent that raised it to Mastered
(the same rule as the teacher's "behind pace" alert in services/classroom.py, so student and teacher read the
same verdict). Accepted evidence never lowers a level: lowering is the class view's override.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import IO
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..extensions import db
from ..learning.mastery import Level, SkillState
from ..learning.pacing import DatedGoal, PaceStatus, plan_pace, skill_dates
from ..learning.planner import Goal
from ..learning.translations import BASE_LANGUAGE
from ..models import (
    AuditEntry,
    Course,
    Evidence,
    ItemResponse,
    MasteryEvent,
    Person,
    Reflection,
    SkillMastery,
    StudentGoal,
)
from .content import course_content, course_pack
from .errors import N_, NotFound, ServiceError
from .mastery import lock_learner, lock_learner_row, require_pack, standing
from .permissions import Action, Actor, may, require
from .publishing import publish_mastery
from .storage import (
    ALLOWED_TYPES,
    AUDIO_TYPES,
    IMAGE_TYPES,
    INLINE_TYPES,
    VIDEO_TYPES,
    StoreUnavailable,
    check_file,
    describe_size,
    evidence_store,
)

#: The ways to show mastery a student can choose, in the words the form shows.
EVIDENCE_KINDS: Mapping[str, str] = {
    "project": "A project",
    "explanation": "An explanation (written)",
    "recording": "A recording (audio or video)",
    "other": "Something else",
}
#: Levels a teacher can award for accepted evidence: evidence shows the skill, so at least Familiar.
AWARDABLE_LEVELS = (Level.FAMILIAR, Level.PROFICIENT, Level.MASTERED)
REFLECTION_PROMPTS = (N_("What was hard?"), N_("What will you try next?"))
#: How a reflection's prompt is kept when it was written about a skill (read back by `reflection_prompt_parts`).
AFTER_PRACTISING = N_("%(prompt)s (after practising %(skill)s)")
#: Without a course end date Pathways suggests no dates, but the student's own goals keep theirs: say only the first.
NO_END_DATE = N_("Your teacher has not set an end date for this course yet, so Pathways suggests no target dates "
                 "for your skills. Dates you give your own goals still count.")
END_BEFORE_START = N_("The course end date is on or before the day the course started in Pathways, so Pathways "
                      "suggests no target dates for your skills. Ask your teacher to check it.")
#: Enough for any real plan; it stops a script from filling the table.
MAX_GOALS = 50
GOAL_PREFIX = "mine-"


# --- Goals -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalView:
    """A goal as the goals page shows it: the student's own, or the course's (set by the teacher)."""

    id: int | None
    title: str
    why: str
    by_date: date | None
    skill_ids: tuple[str, ...]
    skill_names: tuple[str, ...]
    done: bool
    overdue: bool
    set_by: str  # "student" or "teacher"
    #: The goal's own date falls after the course ends. A teacher's goal is then shown by the course end (`by_date`
    #: is capped there, as the target dates are), a student's own keeps its date and is flagged.
    after_course_end: bool = False


@dataclass(frozen=True)
class PaceView:
    """The student's pace against the course end date, in words, with a target date for each skill left."""

    status: str | None
    explanation: str
    ends_on: date | None
    mastered: int
    total: int
    targets: tuple[tuple[str, str, date], ...] = ()  # (skill id, skill name, target date)
    #: The explanation as sentence templates and values, for pages in the learner's language.
    explanation_parts: tuple = ()


@dataclass(frozen=True)
class SkillDate:
    """The one date a skill left is to be mastered by, and where it comes from: a goal (its title) or the pace."""

    skill_id: str
    name: str
    on: date
    goal: str = ""
    set_by: str = ""  # the goal's: "student" or "teacher"; "" for the pace's target date


@dataclass(frozen=True)
class GoalsPage:
    """Everything the student's goals page shows."""

    course_goals: tuple[GoalView, ...]
    my_goals: tuple[GoalView, ...]
    skills: tuple[tuple[str, str], ...]  # (id, name) in map order, for the goal form
    pace: PaceView
    #: One row per skill with a target date: the earlier of that and any open goal's date naming it.
    dates: tuple[SkillDate, ...] = ()


def _skill_names(course_id: int, language: str = BASE_LANGUAGE) -> dict[str, str]:
    pack = require_pack(course_id, language)
    return {sid: pack.skill_graph[sid].name for sid in pack.skill_graph.topological_order()}


def course_skills(course_id: int, language: str = BASE_LANGUAGE) -> list[tuple[str, str]]:
    """Return the course's skills as (id, name in the language) in map order, for the forms."""
    return list(_skill_names(course_id, language).items())


def _parse_date(text: str | None, what: str, form_field: str | None = None) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ServiceError(N_("Give the %(what)s as a date, like 2025-06-30."), what=what,
                           form_field=form_field) from exc


def _goal_view(goal: StudentGoal, names: Mapping[str, str], today: date) -> GoalView:
    skill_ids = tuple(s for s in (goal.skill_ids or []) if s in names)
    return GoalView(goal.id, goal.title, goal.why, goal.by_date, skill_ids, tuple(names[s] for s in skill_ids),
                    goal.done, bool(goal.by_date and not goal.done and goal.by_date < today), "student")


def _own_goal(course_id: int, person_id: int, goal_id: int) -> StudentGoal:
    goal = db.session.scalars(
        sa.select(StudentGoal).where(
            StudentGoal.id == goal_id, StudentGoal.course_id == course_id, StudentGoal.person_id == person_id
        )
    ).first()
    if goal is None:
        # The same answer whether the goal is someone else's or does not exist: nothing leaks.
        raise NotFound(N_("There is no such goal in your plan."))
    return goal


def _goal_fields(course_id: int, title: str, why: str, by_date: str, skill_ids: Sequence[str]) -> dict:
    names = _skill_names(course_id)
    title = " ".join((title or "").split())
    if not title:
        raise ServiceError(N_("Say what your goal is."), form_field="title")
    if len(title) > 300:
        raise ServiceError(N_("Keep the goal itself short (300 characters at most); say more under “why”."),
                           form_field="title")
    why = (why or "").strip()
    if len(why) > 1000:
        raise ServiceError(N_("Keep “why” to 1000 characters."), form_field="why")
    unknown = [s for s in skill_ids if s not in names]
    if unknown:
        raise ServiceError(N_("Choose skills from this course."), form_field="skill_ids")
    chosen = [s for s in names if s in set(skill_ids)]
    return {"title": title, "why": why, "by_date": _parse_date(by_date, "date", "by_date"), "skill_ids": chosen}


def goals_page(course_id: int, person_id: int, *, now: datetime, language: str = BASE_LANGUAGE) -> GoalsPage:
    """Return the course's goals, the student's own goals and their pace, the pack's texts in the language."""
    pack = require_pack(course_id, language)
    names = _skill_names(course_id, language)
    today = now.date()
    pace = pace_for(course_id, person_id, now=now, language=language)
    ends_on = pace.ends_on
    course_goals = []
    for goal in pack.goals:
        due = _goal_due(goal.due)
        skill_ids = tuple(s for s in goal.skills if s in names)
        # A teacher's date after the course ends (the end moved earlier, or a typo) would give the goal's skills a
        # second, later date beside their target dates, which all fall by the course end: the student works in
        # this course until it ends, so the goal is shown by then, and the page says why.
        late = bool(due and ends_on and due > ends_on)
        course_goals.append(GoalView(None, goal.title, goal.description, ends_on if late else due, skill_ids,
                                     tuple(names[s] for s in skill_ids), False, False, "teacher", late))
    mine = db.session.scalars(
        sa.select(StudentGoal)
        .where(StudentGoal.course_id == course_id, StudentGoal.person_id == person_id)
        .order_by(StudentGoal.done, StudentGoal.by_date.is_(None), StudentGoal.by_date, StudentGoal.id)
    )
    # The student's own date is theirs to keep: flagged when it falls after the course ends, not moved.
    own = tuple(replace(view, after_course_end=bool(ends_on and view.by_date and not view.done
                                                     and view.by_date > ends_on))
                for view in (_goal_view(g, names, today) for g in mine))
    return GoalsPage(tuple(course_goals), own, tuple(names.items()), pace,
                     _skill_dates(pace, [*course_goals, *own]))


def _skill_dates(pace: PaceView, goals: Sequence[GoalView]) -> tuple[SkillDate, ...]:
    """Return each target date, or the earlier date of an open goal naming the skill, and which goal it is."""
    dated = [DatedGoal(goal, goal.by_date, goal.skill_ids) for goal in goals if goal.by_date and not goal.done]
    chosen = skill_dates({sid: target for sid, _, target in pace.targets}, dated)
    rows = []
    for skill_id, name, _ in pace.targets:
        on, by = chosen[skill_id]
        rows.append(SkillDate(skill_id, name, on, by.key.title, by.key.set_by) if by else SkillDate(skill_id, name, on))
    return tuple(rows)


def my_goal(course_id: int, person_id: int, goal_id: int, *, now: datetime,
            language: str = BASE_LANGUAGE) -> GoalView:
    """Return one of the student's own goals (for editing)."""
    return _goal_view(_own_goal(course_id, person_id, goal_id), _skill_names(course_id, language), now.date())


def add_goal(course_id: int, person_id: int, *, title: str, why: str, by_date: str, skill_ids: Sequence[str],
             now: datetime) -> GoalView:
    """Add a goal of the student's own: what, by when, why, and optionally the skills it is about."""
    fields = _goal_fields(course_id, title, why, by_date, skill_ids)
    # Under the learner's lock, as every writer of their rows: a delete of their data in the course (privacy)
    # either sees this goal or refuses it, and the count below cannot be overtaken by a parallel post.
    lock_learner_row(course_id, person_id, now)
    count = db.session.scalar(
        sa.select(sa.func.count(StudentGoal.id)).where(
            StudentGoal.course_id == course_id, StudentGoal.person_id == person_id
        )
    )
    if (count or 0) >= MAX_GOALS:
        raise ServiceError(
            N_("You have %(count)s goals already; delete some you no longer need first."), count=MAX_GOALS
        )
    goal = StudentGoal(course_id=course_id, person_id=person_id, done=False, created_at=now, **fields)
    db.session.add(goal)
    db.session.commit()
    return _goal_view(goal, _skill_names(course_id), now.date())


def update_goal(course_id: int, person_id: int, goal_id: int, *, title: str, why: str, by_date: str,
                skill_ids: Sequence[str], now: datetime) -> GoalView:
    """Change one of the student's own goals."""
    fields = _goal_fields(course_id, title, why, by_date, skill_ids)
    goal = _locked_own_goal(course_id, person_id, goal_id, now)
    for name, value in fields.items():
        setattr(goal, name, value)
    db.session.commit()
    return _goal_view(goal, _skill_names(course_id), now.date())


def set_goal_done(course_id: int, person_id: int, goal_id: int, done: bool, *, now: datetime) -> GoalView:
    """Mark one of the student's own goals done (or not done again)."""
    goal = _locked_own_goal(course_id, person_id, goal_id, now)
    goal.done = bool(done)
    db.session.commit()
    return _goal_view(goal, _skill_names(course_id), now.date())


def delete_goal(course_id: int, person_id: int, goal_id: int, *, confirmed: bool, now: datetime) -> str:
    """Delete one of the student's own goals (the form must be confirmed: it cannot be undone); return its title."""
    if not confirmed:
        _own_goal(course_id, person_id, goal_id)  # no such goal is said first, as before the box is looked at
        raise ServiceError(N_("Tick the box to confirm that this goal should be deleted."))
    goal = _locked_own_goal(course_id, person_id, goal_id, now)
    title = goal.title
    db.session.delete(goal)
    db.session.commit()
    return title


def _locked_own_goal(course_id: int, person_id: int, goal_id: int, now: datetime) -> StudentGoal:
    """Take the learner's lock, then read their goal: a change of it writes the goal as it is now, or says why not.

    Read before the lock, a goal deleted meanwhile (by the student's other tab, or with all their data by a
    teacher) made the change's UPDATE or DELETE meet no row: a server error, or "Goal deleted" to a student whose
    data was. Under the lock, as add_goal: their data gone is LEARNER_GONE, the goal gone is "no such goal".
    """
    lock_learner_row(course_id, person_id, now)
    return _own_goal(course_id, person_id, goal_id)


def student_plan_goals(course_id: int, person_id: int) -> list[Goal]:
    """Return the student's open goals that name skills, soonest first, as planner goals (learning.planner)."""
    pack = course_pack(course_id)
    if pack is None:
        return []
    rows = db.session.execute(_OPEN_GOALS_QUERY, {"course_id": course_id, "person_id": person_id})
    goals = []
    for row in rows:
        skill_ids = tuple(s for s in (row.skill_ids or []) if s in pack.skill_graph)
        if skill_ids:
            goals.append(Goal(id=f"{GOAL_PREFIX}{row.id}", title=row.title, skill_ids=skill_ids, set_by="student"))
    return goals


# Built once: the plan page asks on every view (services/mastery._ROWS_QUERY). The table, not the mapped class:
# the same SQL, as a Core statement the session runs without the ORM's loading and identity map (the plan page
# reads the rows' values only).
_GOALS = StudentGoal.__table__
_OPEN_GOALS_QUERY = (
    sa.select(_GOALS)
    .where(_GOALS.c.course_id == sa.bindparam("course_id"), _GOALS.c.person_id == sa.bindparam("person_id"),
           _GOALS.c.done.is_(False))
    .order_by(_GOALS.c.by_date.is_(None), _GOALS.c.by_date, _GOALS.c.id)
)


# --- Pacing ------------------------------------------------------------------------------------------------


def pace_for(course_id: int, person_id: int, *, now: datetime, language: str = BASE_LANGUAGE) -> PaceView:
    """Return the student's pace: target dates per skill from the course end date and their own pace."""
    pack = require_pack(course_id, language)
    order = list(pack.skill_graph.topological_order())
    names = {sid: pack.skill_graph[sid].name for sid in order}
    # The stored level column, as the plan reads it: decoding and explaining every skill's state was most of
    # this page's work, for levels alone.
    levels = standing(course_id, person_id, language).levels
    # One round trip, aggregated in SQL (a row per skill the student has a level change on, and one more for
    # their first answer), however long their history: each skill's latest rise to Mastered (the latest event
    # naming Mastered, as the events oldest first left it) and the first event, then the first answer.
    reached: dict[str, datetime] = {}
    first_answer = first_event = None
    for skill_id, mastered_at, first_at in db.session.execute(_PACE_QUERY, {"course_id": course_id,
                                                                            "person_id": person_id}):
        if skill_id is None:
            first_answer = first_at
            continue
        if mastered_at is not None:
            reached[skill_id] = mastered_at
        if first_at is not None and (first_event is None or first_at < first_event):
            first_event = first_at
    started = min((d for d in (first_answer, first_event) if d is not None), default=None)
    mastered = [sid for sid in order if levels.get(sid) is Level.MASTERED]
    remaining = [sid for sid in order if levels.get(sid) is not Level.MASTERED]
    content = course_content(course_id)
    ends_on = content.ends_on if content else None
    if ends_on is None:
        status = PaceStatus.NOT_STARTED.value if started is None else None
        return PaceView(status, NO_END_DATE, None, len(mastered), len(order), explanation_parts=((NO_END_DATE, {}),))
    course = db.session.get(Course, course_id)
    today = now.date()
    course_start = min(course.created_at.date() if course else today, today)
    # A skill mastered with no recorded event (data from before events were kept) counts from today.
    mastered_on = [reached[sid].date() if sid in reached else today for sid in mastered]
    try:
        plan = plan_pace(remaining, mastered_on, course_start=course_start, course_end=ends_on, today=today,
                         started_on=started.date() if started else None)
    except ValueError:
        return PaceView(None, END_BEFORE_START, ends_on, len(mastered), len(order),
                        explanation_parts=((END_BEFORE_START, {}),))
    targets = tuple((sid, names[sid], plan.targets[sid]) for sid in remaining if sid in plan.targets)
    return PaceView(plan.status.value, plan.explanation, ends_on, plan.mastered, plan.total, targets,
                    plan.explanation_parts)


# Built once, like the plan's queries (services/mastery._ROWS_QUERY).
_PACE_QUERY = sa.union_all(
    sa.select(MasteryEvent.skill_id,
              sa.func.max(sa.case((MasteryEvent.new_level == Level.MASTERED.value, MasteryEvent.at))),
              sa.func.min(MasteryEvent.at))
    .where(MasteryEvent.course_id == sa.bindparam("course_id"), MasteryEvent.person_id == sa.bindparam("person_id"))
    .group_by(MasteryEvent.skill_id),
    sa.select(sa.null(), sa.null(), sa.func.min(ItemResponse.answered_at))
    .where(ItemResponse.course_id == sa.bindparam("course_id"), ItemResponse.person_id == sa.bindparam("person_id")),
)


def course_end(course_id: int) -> date | None:
    """Return the course end date the teacher set, or None."""
    content = course_content(course_id)
    return content.ends_on if content else None


def goals_after_course_end(course_id: int) -> list[str]:
    """Return the titles of the course's goals dated after its end date (students see those by the course end)."""
    content = course_content(course_id)
    pack = course_pack(course_id)
    if content is None or content.ends_on is None or pack is None:
        return []
    late = []
    for goal in pack.goals:
        due = _goal_due(goal.due)
        if due is not None and due > content.ends_on:
            late.append(goal.title)
    return late


def _goal_due(text: str | None) -> date | None:
    """A course goal's date, None without one (or with one the pack's reader let through unparsed)."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def set_course_end(course_id: int, ends_on: str, *, now: datetime) -> date | None:
    """Set (or clear, with an empty value) the date the course ends, which pacing plans towards."""
    content = course_content(course_id)
    if content is None:
        raise NotFound(N_("Set up the course content first: pacing plans the course's skills."))
    end = _parse_date(ends_on, "end date", "ends_on")
    if end is not None:
        course = db.session.get(Course, course_id)
        start = course.created_at.date() if course else now.date()
        if end <= start:
            raise ServiceError(N_("The end date must be after the course started in Pathways (%(start)s)."),
                               form_field="ends_on", start=start.isoformat())
    content.ends_on = end
    db.session.commit()
    return end


# --- Reflections -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReflectionView:
    """One reflection: who wrote it (for the teacher), the prompt, and the answer."""

    id: int
    person_id: int
    name: str
    prompt: str
    text: str
    written_at: datetime


def write_reflection(course_id: int, person_id: int, answers: Mapping[str, str], *, skill_id: str = "",
                     now: datetime) -> int:
    """Keep the student's answers to the reflection prompts (one row per answered prompt); return how many."""
    pack = require_pack(course_id)
    skill_name = pack.skill_graph[skill_id].name if skill_id and skill_id in pack.skill_graph else ""
    rows: list[Reflection] = []
    for number, prompt in enumerate(REFLECTION_PROMPTS):
        text = (answers.get(prompt) or "").strip()
        if not text:
            continue
        if len(text) > 4000:  # the form names its fields answer_0, answer_1 … in the prompts' order
            raise ServiceError(N_("Keep each answer to 4000 characters."), form_field=f"answer_{number}")
        shown = AFTER_PRACTISING % {"prompt": prompt, "skill": skill_name} if skill_name else prompt
        rows.append(Reflection(course_id=course_id, person_id=person_id, prompt=shown[:300], text=text,
                               written_at=now))
    if not rows:
        raise ServiceError(N_("Write something for at least one of the questions."), form_field="answer_0")
    lock_learner_row(course_id, person_id, now)  # a delete of the learner's data sees these rows or refuses them
    db.session.add_all(rows)
    db.session.commit()
    return len(rows)


def reflection_prompt_parts(kept: str) -> tuple[str, str] | None:
    """Return (prompt, skill name) of a kept reflection prompt ("" when about no skill), or None when it is not one
    of REFLECTION_PROMPTS (a prompt of an older wording): pages show that as kept."""
    for prompt in REFLECTION_PROMPTS:
        if kept == prompt:
            return prompt, ""
        before, _, after = AFTER_PRACTISING.partition("%(skill)s")
        start = before % {"prompt": prompt}
        if kept.startswith(start) and kept.endswith(after) and len(kept) > len(start) + len(after):
            return prompt, kept[len(start):len(kept) - len(after)]
    return None


def _reflections(query: sa.Select) -> list[ReflectionView]:
    return [
        ReflectionView(r.id, r.person_id, name or "", r.prompt, r.text, r.written_at)
        for r, name in db.session.execute(query)
    ]


def my_reflections(course_id: int, person_id: int, *, limit: int = 50) -> list[ReflectionView]:
    """Return the student's own reflections, newest first."""
    return _reflections(
        sa.select(Reflection, Person.name)
        .join(Person, Person.id == Reflection.person_id)
        .where(Reflection.course_id == course_id, Reflection.person_id == person_id)
        .order_by(Reflection.written_at.desc(), Reflection.id.desc())
        .limit(limit)
    )


def class_reflections(course_id: int, platform_id: int, *, actor_id: int, now: datetime,
                      limit: int = 300) -> list[ReflectionView]:
    """Return the class's reflections, newest first, for the course's teacher; the reading is audited."""
    views = _reflections(
        sa.select(Reflection, Person.name)
        .join(Person, Person.id == Reflection.person_id)
        .where(Reflection.course_id == course_id, Person.platform_id == platform_id)
        .order_by(Reflection.written_at.desc(), Reflection.id.desc())
        .limit(limit)
    )
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor_id, subject_id=None,
                              action="view_reflections", at=now))
    db.session.commit()
    return views


# --- Evidence ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceView:
    """One piece of evidence, as the student and the teacher see it."""

    id: int
    person_id: int
    name: str
    skill_id: str
    skill_name: str
    kind: str
    kind_label: str
    url: str | None
    text: str
    status: str  # "pending", "accepted" or "returned"
    level_awarded: Level | None
    teacher_comment: str
    submitted_at: datetime
    reviewed_at: datetime | None
    file_type: str | None = None
    file_size: int | None = None
    file_name: str | None = None

    @property
    def has_file(self) -> bool:
        return self.file_type is not None

    @property
    def is_image(self) -> bool:
        return self.file_type in IMAGE_TYPES

    @property
    def is_audio(self) -> bool:
        return self.file_type in AUDIO_TYPES

    @property
    def is_video(self) -> bool:
        return self.file_type in VIDEO_TYPES

    @property
    def file_size_label(self) -> str:
        return describe_size(self.file_size or 0)


@dataclass(frozen=True)
class EvidenceFile:
    """An attached file, ready to send: an open seekable file (the caller closes it) and its size, so a player's
    byte range is read without the rest; its sniffed type, a safe download name and whether a browser may open it
    in its own tab (storage.INLINE_TYPES) rather than download it."""

    file: IO[bytes]
    size: int
    content_type: str
    download_name: str
    inline: bool


def clean_link(raw: str | None) -> str | None:
    """Return a safe http(s) link, None for an empty one, or refuse anything else (javascript:, data: …)."""
    url = (raw or "").strip()
    if not url:
        return None
    if len(url) > 1000:
        raise ServiceError(N_("That link is too long (1000 characters at most)."), form_field="url")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ServiceError(N_("A link cannot contain spaces or control characters."), form_field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ServiceError(N_("That link is not a web address."), form_field="url") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ServiceError(N_("Links must be web addresses starting with http:// or https://."), form_field="url")
    if parts.username is not None or parts.password is not None:
        raise ServiceError(N_("A link cannot contain a user name or password."), form_field="url")
    return url


def _evidence_views(query: sa.Select, names: Mapping[str, str]) -> list[EvidenceView]:
    views = []
    for row, name in db.session.execute(query):
        try:
            awarded = Level(row.level_awarded) if row.level_awarded else None
        except ValueError:
            awarded = None
        views.append(EvidenceView(row.id, row.person_id, name or "", row.skill_id,
                                  names.get(row.skill_id, row.skill_id), row.kind,
                                  EVIDENCE_KINDS.get(row.kind, row.kind), row.url, row.text, row.status, awarded,
                                  row.teacher_comment or "", row.submitted_at, row.reviewed_at,
                                  row.file_type if row.file_key else None, row.file_size,
                                  row.file_name if row.file_key else None))
    return views


def _safe_file_name(raw: str | None, content_type: str) -> str:
    """Return the device's file name cut to letters, digits and a few marks, with the extension of its real type."""
    stem = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = "".join(c if (c.isascii() and c.isalnum()) or c in "-_ " else "_" for c in stem).strip()[:100] or "evidence"
    return f"{stem}.{ALLOWED_TYPES[content_type]}"


def submit_evidence(course_id: int, person_id: int, *, skill_id: str, kind: str, url: str, text: str,
                    now: datetime, upload: tuple[str, bytes] | None = None,
                    language: str = BASE_LANGUAGE) -> EvidenceView:
    """Submit a link, text or a file (name, bytes) as evidence for a skill; the LMS shows it as waiting.

    The skill is named in `language` (the student's page's) in what comes back and in a refusal.
    """
    names = _skill_names(course_id, language)
    if skill_id not in names:
        raise ServiceError(N_("Choose a skill from this course."), form_field="skill_id")
    if kind not in EVIDENCE_KINDS:
        raise ServiceError(N_("Choose how you are showing it: a project, an explanation, a recording or other."),
                           form_field="kind")
    link = clean_link(url)
    text = (text or "").strip()
    if len(text) > 4000:
        raise ServiceError(N_("Keep the text to 4000 characters; put longer work behind a link."), form_field="text")
    file_type = check_file(upload[1]) if upload else None
    if not link and not text and file_type is None:
        raise ServiceError(N_("Add a link to your work, attach a file, or write it here."), form_field="text")
    waiting = db.session.scalar(
        sa.select(Evidence.id).where(Evidence.course_id == course_id, Evidence.person_id == person_id,
                                     Evidence.skill_id == skill_id, Evidence.status == "pending")
    )
    if waiting is not None:
        raise ServiceError(
            N_("Your evidence for %(skill)s is already waiting for your teacher."), skill=names[skill_id]
        )
    row = Evidence(course_id=course_id, person_id=person_id, skill_id=skill_id, kind=kind, url=link, text=text,
                   status="pending", teacher_comment="", submitted_at=now)
    store = evidence_store()
    if file_type is not None:
        try:
            row.file_key = store.save(upload[1], extension=ALLOWED_TYPES[file_type])
        except StoreUnavailable as exc:
            # A full disk or an unreachable bucket is ours to fix, not the student's: say so (a 503, the form
            # keeps what they wrote) rather than fail with a 500.
            raise StoreUnavailable(N_("Pathways cannot keep files just now. Try again later, or send a link "
                                      "to your work instead.")) from exc
        row.file_type, row.file_size = file_type, len(upload[1])
        row.file_name = _safe_file_name(upload[0], file_type)
    try:
        # Under the learner's lock, as every writer that publishes: a class republish reading "nothing pending"
        # before this commits must not send that older state after it.
        lock_learner_row(course_id, person_id, now)
        db.session.add(row)
        db.session.flush()
        # The gradebook says "waiting for the teacher" (gradingProgress PendingManual) while evidence is pending.
        publish_mastery(course_id, person_id, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if row.file_key:
            with contextlib.suppress(StoreUnavailable):
                store.delete(row.file_key)  # no row names it: keep no orphan in the store
        raise
    return my_evidence(course_id, person_id, only=row.id, language=language)[0]


def my_evidence(course_id: int, person_id: int, *, only: int | None = None,
                language: str = BASE_LANGUAGE) -> list[EvidenceView]:
    """Return the student's own evidence, newest first."""
    query = (
        sa.select(Evidence, Person.name)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Evidence.person_id == person_id)
        .order_by(Evidence.submitted_at.desc(), Evidence.id.desc())
    )
    if only is not None:
        query = query.where(Evidence.id == only)
    return _evidence_views(query, _skill_names(course_id, language))


def evidence_file(course_id: int, platform_id: int, evidence_id: int, *, actor: Actor,
                  now: datetime) -> EvidenceFile:
    """Return an evidence file to its student or to a teacher of the course; anyone else is told it is not there."""
    row = db.session.scalars(
        sa.select(Evidence)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.id == evidence_id, Evidence.course_id == course_id, Person.platform_id == platform_id)
    ).first()
    own = row is not None and row.person_id == actor.person_id and may(actor, Action.LEARN)
    # The same 404 for someone else's file and for no file, so ids reveal nothing.
    if row is None or not row.file_key or not (own or may(actor, Action.VIEW_CLASS)):
        raise NotFound(N_("There is no such file."))
    try:
        handle, size = evidence_store().open_file(row.file_key)
    except FileNotFoundError as exc:
        raise NotFound(N_("There is no such file.")) from exc
    if not own:
        # A student's photo or recording is personal data: a teacher's opening of it is audited, like reflections.
        # Every request is, a player's byte ranges of one film included: skipping "later" ranges would let anyone
        # read a file unaudited by never asking for its first byte.
        db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor.person_id,
                                  subject_id=row.person_id, action="view_evidence_file", at=now))
        try:
            db.session.commit()
        except Exception:
            handle.close()
            raise
    return EvidenceFile(handle, size, row.file_type, row.file_name or _safe_file_name(None, row.file_type),
                        row.file_type in INLINE_TYPES)


def evidence_queue(course_id: int, platform_id: int, *, reviewed_limit: int = 20, language: str = BASE_LANGUAGE
                   ) -> tuple[list[EvidenceView], list[EvidenceView]]:
    """Return (pending evidence oldest first, the latest reviewed) for the course's teacher, skills in `language`."""
    names = _skill_names(course_id, language)
    base = (
        sa.select(Evidence, Person.name)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Person.platform_id == platform_id)
    )
    pending = _evidence_views(
        base.where(Evidence.status == "pending").order_by(Evidence.submitted_at, Evidence.id), names
    )
    reviewed = _evidence_views(
        base.where(Evidence.status != "pending")
        .order_by(Evidence.reviewed_at.desc(), Evidence.id.desc())
        .limit(reviewed_limit),
        names,
    )
    return pending, reviewed


def pending_evidence_count(course_id: int, platform_id: int) -> int:
    """Return how much evidence in the course waits for the teacher's review."""
    return db.session.scalar(
        sa.select(sa.func.count(Evidence.id))
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Person.platform_id == platform_id, Evidence.status == "pending")
    ) or 0


def _pending(course_id: int, platform_id: int, evidence_id: int) -> Evidence:
    row = db.session.scalars(
        sa.select(Evidence)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.id == evidence_id, Evidence.course_id == course_id, Person.platform_id == platform_id)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(N_("There is no such evidence in this course."))
    if row.status != "pending":
        raise ServiceError(N_("This evidence has been reviewed already."))
    return row


def _still_pending(course_id: int, platform_id: int, evidence_id: int) -> Evidence:
    """Read the evidence again under its student's lock (the caller took it): refuse it if reviewed meanwhile.

    Checked only before the lock, two teachers accepting and returning the same evidence at once both went on: on
    PostgreSQL the accept's change locked the evidence before it waited for the learner, the return held the
    learner and waited for the evidence (a deadlock, a 503); on SQLite both were saved, the evidence "returned"
    with its level raised. Under the lock, the second review finds the first one's and is refused.
    """
    try:
        return _pending(course_id, platform_id, evidence_id)
    except ServiceError:
        db.session.rollback()  # end the refused review's transaction: no lock is held while the queue is drawn
        raise


def accept_evidence(course_id: int, platform_id: int, evidence_id: int, *, level: str, comment: str,
                    actor: Actor, now: datetime, language: str = BASE_LANGUAGE) -> EvidenceView:
    """Accept evidence at a level: raise the student's level to it (never lower) and update the gradebook."""
    require(actor, Action.ASSESS)
    actor_id = actor.person_id
    row = _pending(course_id, platform_id, evidence_id)
    names = _skill_names(course_id)
    try:
        awarded = Level(level)
    except ValueError as exc:
        raise ServiceError(N_("Choose the level the evidence shows.")) from exc
    if awarded not in AWARDABLE_LEVELS:
        raise ServiceError(N_("Accepted evidence shows at least Familiar; to return it, use “Return with a comment”."))
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ServiceError(N_("Keep the comment to 2000 characters."))
    # The learner's lock first, like every mastery write (so a parallel answer cannot overwrite this), and before
    # the evidence is changed: see _still_pending.
    rows = lock_learner(course_id, row.person_id, now)
    row = _still_pending(course_id, platform_id, evidence_id)
    row.status = "accepted"
    row.level_awarded = awarded.value
    row.teacher_comment = comment
    row.reviewer_id = actor_id
    row.reviewed_at = now
    mastery = rows.get(row.skill_id)
    old_level = Level(mastery.level) if mastery else Level.NOT_STARTED
    if awarded.rank > old_level.rank:
        if mastery is None:
            mastery = SkillMastery(course_id=course_id, person_id=row.person_id, skill_id=row.skill_id,
                                   state=SkillState(row.skill_id).to_dict())
            db.session.add(mastery)
        reason = f"Shown with {EVIDENCE_KINDS.get(row.kind, 'evidence').lower()}, accepted by the teacher"
        mastery.level = awarded.value
        mastery.reason = (f"{reason}: {comment}" if comment else reason + ".")[:300]
        # Like an override, the teacher's judgement holds until new practice gives the model new evidence.
        mastery.overridden = True
        mastery.updated_at = now
        db.session.add(MasteryEvent(course_id=course_id, person_id=row.person_id, skill_id=row.skill_id,
                                    old_level=old_level.value, new_level=awarded.value, source="evidence",
                                    reason=(comment or f"Evidence accepted: {names.get(row.skill_id, '')}")[:500],
                                    actor_id=actor_id, at=now))
    db.session.flush()
    # Always publish: even without a new level, the gradebook moves from PendingManual to FullyGraded.
    publish_mastery(course_id, row.person_id, now=now)
    db.session.commit()
    # The view comes back with its skill named in `language` (the teacher's page's) for the confirmation.
    return my_evidence(course_id, row.person_id, only=row.id, language=language)[0]


def return_evidence(course_id: int, platform_id: int, evidence_id: int, *, comment: str, actor: Actor,
                    now: datetime, language: str = BASE_LANGUAGE) -> EvidenceView:
    """Return evidence to the student with a comment saying what to add; the gradebook stops waiting."""
    require(actor, Action.ASSESS)
    actor_id = actor.person_id
    row = _pending(course_id, platform_id, evidence_id)
    comment = (comment or "").strip()
    if not comment:
        raise ServiceError(N_("Add a comment so the student knows what to do next."))
    if len(comment) > 2000:
        raise ServiceError(N_("Keep the comment to 2000 characters."))
    lock_learner_row(course_id, row.person_id, now)  # as every writer that publishes (see submit_evidence)
    row = _still_pending(course_id, platform_id, evidence_id)
    row.status = "returned"
    row.teacher_comment = comment
    row.reviewer_id = actor_id
    row.reviewed_at = now
    db.session.flush()
    publish_mastery(course_id, row.person_id, now=now)
    db.session.commit()
    # The view comes back with its skill named in `language` (the teacher's page's) for the confirmation.
    return my_evidence(course_id, row.person_id, only=row.id, language=language)[0]
