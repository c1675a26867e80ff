"""Student agency in the learning plan: the student's own goals, the course's goals, and the course end date.

The goals page shows the student's pace (services/pacing.py) beside the goals, and each skill's one date: its
target date, or the earlier date of an open goal naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import Goal as CourseGoal
from ..learning.local_days import local_date
from ..learning.pacing import DatedGoal, skill_dates
from ..learning.planner import Goal
from ..learning.skills import SkillGraph
from ..learning.translations import BASE_LANGUAGE
from ..models import Course, CourseContent, StudentGoal
from .content import course_content, course_pack, write_course_row
from .errors import N_, NotFound, ServiceError
from .mastery import lock_learner_row, require_pack
from .pacing import PaceView, SkillDate, pace_for
from .time_zones import course_today, course_zone

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
class GoalsPage:
    """Everything the student's goals page shows."""

    course_goals: tuple[GoalView, ...]
    my_goals: tuple[GoalView, ...]
    skills: tuple[tuple[str, str], ...]  # (id, name) in map order, for the goal form
    pace: PaceView
    #: One row per skill with a target date: the earlier of that and any open goal's date naming it.
    dates: tuple[SkillDate, ...] = ()


def course_skill_names(course_id: int, language: str = BASE_LANGUAGE) -> dict[str, str]:
    """Return {skill id: name in the language} in map order (the goal and evidence forms check choices in it)."""
    pack = require_pack(course_id, language)
    return {sid: pack.skill_graph[sid].name for sid in pack.skill_graph.topological_order()}


def course_skills(course_id: int, language: str = BASE_LANGUAGE) -> list[tuple[str, str]]:
    """Return the course's skills as (id, name in the language) in map order, for the forms."""
    return list(course_skill_names(course_id, language).items())


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
    names = course_skill_names(course_id)
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


def _refuse_a_past_date(course_id: int, by_date: date | None, now: datetime) -> None:
    """Refuse a goal's date before the course's today: a slip of the year would make a new goal "Past its date"
    the moment it is saved. (A goal whose date has since passed keeps it: that is the flag's job.)"""
    if by_date is not None and by_date < course_today(course_id, now):
        raise ServiceError(N_("Choose a date from today on: that date has already passed."), form_field="by_date")


def goals_page(course_id: int, person_id: int, *, now: datetime, language: str = BASE_LANGUAGE) -> GoalsPage:
    """Return the course's goals, the student's own goals and their pace, the pack's texts in the language."""
    pack = require_pack(course_id, language)
    names = course_skill_names(course_id, language)
    # A goal is past its date from the course's midnight: due "today" in Chicago is not past at 23:00 there.
    today = course_today(course_id, now)
    pace = pace_for(course_id, person_id, now=now, language=language)
    ends_on = pace.ends_on
    course_goals = _course_goals(pack.goals, names, ends_on)
    # The student's own date is theirs to keep: flagged when it falls after the course ends, not moved.
    own = tuple(replace(view, after_course_end=bool(ends_on and view.by_date and not view.done
                                                     and view.by_date > ends_on))
                for view in _own_goals(course_id, person_id, names, today))
    return GoalsPage(course_goals, own, tuple(names.items()), pace,
                     _skill_dates(pace, [*course_goals, *own], pack.skill_graph, today))


def _course_goals(goals: Sequence[CourseGoal], names: Mapping[str, str], ends_on: date | None) -> tuple[GoalView, ...]:
    """Return the course pack's goals (the teacher's, every student's) as the goals page shows them."""
    views = []
    for goal in goals:
        due = _goal_due(goal.due)
        skill_ids = tuple(s for s in goal.skills if s in names)
        # A teacher's date after the course ends (the end moved earlier, or a typo) would give the goal's skills a
        # second, later date beside their target dates, which all fall by the course end: the student works in
        # this course until it ends, so the goal is shown by then, and the page says why.
        late = bool(due and ends_on and due > ends_on)
        views.append(GoalView(None, goal.title, goal.description, ends_on if late else due, skill_ids,
                              tuple(names[s] for s in skill_ids), False, False, "teacher", late))
    return tuple(views)


def course_goal_views(course_id: int, *, language: str = BASE_LANGUAGE) -> tuple[GoalView, ...]:
    """Return the course's goals as its students' goals pages show them ("Goals from your teacher"), in the language.

    The same goals the plan's steps name "your teacher's goal" (services/plan.plan_goals), by the same titles.
    """
    pack = require_pack(course_id, language)
    content = course_content(course_id)
    return _course_goals(pack.goals, course_skill_names(course_id, language), content.ends_on if content else None)


def _own_goals(course_id: int, person_id: int, names: Mapping[str, str], today: date) -> list[GoalView]:
    mine = db.session.scalars(
        sa.select(StudentGoal)
        .where(StudentGoal.course_id == course_id, StudentGoal.person_id == person_id)
        .order_by(StudentGoal.done, StudentGoal.by_date.is_(None), StudentGoal.by_date, StudentGoal.id)
    )
    return [_goal_view(goal, names, today) for goal in mine]


def students_own_goals(course_id: int, person_id: int, *, now: datetime,
                       language: str = BASE_LANGUAGE) -> tuple[GoalView, ...]:
    """Return the goals a student set for themselves, open ones first by date, skills named in the language."""
    return tuple(_own_goals(course_id, person_id, course_skill_names(course_id, language),
                            course_today(course_id, now)))


def _skill_dates(pace: PaceView, goals: Sequence[GoalView], graph: SkillGraph, today: date) -> tuple[SkillDate, ...]:
    """Return each target date, or the earlier date of an open goal naming the skill or a skill built on it, and
    which goal it is. A goal past its date sets none: "aim to master it by" a day gone is no aim (the goal itself is
    flagged "Past its date"), and the pace's target is a date still ahead."""
    dated = [DatedGoal(goal, goal.by_date, goal.skill_ids) for goal in goals
             if goal.by_date and goal.by_date >= today and not goal.done]
    needs = {sid: graph.prerequisites_of(sid, transitive=True) for goal in dated for sid in goal.skills}
    chosen = skill_dates({sid: target for sid, _, target in pace.targets}, dated, needs)
    rows = []
    for skill_id, name, _ in pace.targets:
        pick = chosen[skill_id]
        rows.append(SkillDate(skill_id, name, pick.on, pick.goal.key.title, pick.goal.key.set_by, pick.builds_on)
                    if pick.goal else SkillDate(skill_id, name, pick.on))
    return tuple(rows)


def my_goal(course_id: int, person_id: int, goal_id: int, *, now: datetime,
            language: str = BASE_LANGUAGE) -> GoalView:
    """Return one of the student's own goals (for editing)."""
    return _goal_view(_own_goal(course_id, person_id, goal_id), course_skill_names(course_id, language),
                      course_today(course_id, now))


def add_goal(course_id: int, person_id: int, *, title: str, why: str, by_date: str, skill_ids: Sequence[str],
             now: datetime) -> GoalView:
    """Add a goal of the student's own: what, by when, why, and optionally the skills it is about."""
    fields = _goal_fields(course_id, title, why, by_date, skill_ids)
    _refuse_a_past_date(course_id, fields["by_date"], now)
    # Under the learner's lock, as every writer of their rows: a delete of their data in the course (privacy)
    # either sees this goal or refuses it, and the count below cannot be overtaken by a parallel post.
    lock_learner_row(course_id, person_id, now)
    # A double click (or two tabs) posts the same goal twice: read under the lock, the second finds the first and
    # adds nothing, instead of the plan listing one goal twice. Before the cap: the first may have been the last
    # goal allowed, and the page the browser shows is the second post's.
    goal = _same_open_goal(course_id, person_id, fields)
    if goal is not None:
        db.session.commit()
        return _goal_view(goal, course_skill_names(course_id), course_today(course_id, now))
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
    return _goal_view(goal, course_skill_names(course_id), course_today(course_id, now))


def _same_open_goal(course_id: int, person_id: int, fields: Mapping) -> StudentGoal | None:
    """Return the learner's open goal with exactly these fields, if they have one."""
    found = db.session.scalars(
        sa.select(StudentGoal).where(
            StudentGoal.course_id == course_id, StudentGoal.person_id == person_id, StudentGoal.done.is_(False),
            StudentGoal.title == fields["title"], StudentGoal.why == fields["why"],
            StudentGoal.by_date.is_(None) if fields["by_date"] is None else StudentGoal.by_date == fields["by_date"],
        )
    )
    return next((goal for goal in found if list(goal.skill_ids or []) == fields["skill_ids"]), None)


def update_goal(course_id: int, person_id: int, goal_id: int, *, title: str, why: str, by_date: str,
                skill_ids: Sequence[str], now: datetime) -> GoalView:
    """Change one of the student's own goals."""
    fields = _goal_fields(course_id, title, why, by_date, skill_ids)
    goal = _locked_own_goal(course_id, person_id, goal_id, now)
    if fields["by_date"] != goal.by_date:
        _refuse_a_past_date(course_id, fields["by_date"], now)
    for name, value in fields.items():
        setattr(goal, name, value)
    db.session.commit()
    return _goal_view(goal, course_skill_names(course_id), course_today(course_id, now))


def set_goal_done(course_id: int, person_id: int, goal_id: int, done: bool, *, now: datetime) -> GoalView:
    """Mark one of the student's own goals done (or not done again)."""
    goal = _locked_own_goal(course_id, person_id, goal_id, now)
    goal.done = bool(done)
    db.session.commit()
    return _goal_view(goal, course_skill_names(course_id), course_today(course_id, now))


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


# --- The course end ----------------------------------------------------------------------------------------


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
        start = local_date(course.created_at if course else now, course_zone(course_id))
        if end <= start:
            raise ServiceError(N_("The end date must be after the course started in Pathways (%(start)s)."),
                               form_field="ends_on", start=start.isoformat())
    write_course_row(CourseContent, course_id, ends_on=end)
    db.session.commit()
    return end
