"""The student's learning plan and practice: next steps, the next question, and the class overview."""

from __future__ import annotations

from collections.abc import Collection, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack
from ..learning.diagnostic import STUDENT, good_places_to_start
from ..learning.diagnostic import Placement as PlacedSkill
from ..learning.mastery import Level
from ..learning.plan_units import UnitProgress, checks_to_show, shown_unit, unit_groups, unit_progress
from ..learning.planner import (
    Goal,
    NextStep,
    PlanActivity,
    activities_by_skill,
    plan_next_steps,
    step_candidates,
)
from ..learning.translations import BASE_LANGUAGE
from ..models import Enrollment, Person
from .content import from_pack
from .mastery import SkillView, Standing, levels_by_person, require_pack, standing, worded_for

if TYPE_CHECKING:  # skill_map reads the class overview from here: imported at run time inside plan_for
    from .skill_map import SkillMapView

#: How many next steps the plan shows.
STEPS = 5


@dataclass(frozen=True)
class StudentPlan:
    """What the student's plan page shows."""

    course_title: str
    skills: list  # list[SkillView]
    next_steps: list[NextStep]
    goals: list[Goal]
    #: For each next step's skill, the pack's ways to learn it besides questions (videos, readings, interactives).
    resources: dict = field(default_factory=dict)
    #: Names of the due skills the mixed review can ask about, most overdue first (the home page's review box).
    reviews_due: list = field(default_factory=list)
    #: The same skills drawn as a map, each box with the student's level (services/skill_map.py SkillMapView).
    skill_map: SkillMapView | None = None
    #: Units whose cross-skill check the plan offers (list[unit_check.UnitOffer]).
    unit_checks: list = field(default_factory=list)
    #: How many more units have a check ready than `unit_checks` holds (the plan page shows a few).
    more_unit_checks: int = 0
    #: Ids of every unit with a check ready (marked in the page's list of units).
    check_units: frozenset = frozenset()
    #: The student's page: the course's units with their counts (learning/plan_units.py), [] without units.
    units: list[UnitProgress] = field(default_factory=list)
    #: The unit whose skills `skills` and `skill_map` hold (one of `units`), None when they hold every skill.
    unit: UnitProgress | None = None
    #: The skills whose last review was missed, back for review later (the review box names them so a student who
    #: left mid-review sees it), as (skill id, name, day it is due), soonest first.
    reviews_missed: list = field(default_factory=list)
    #: Some skill has a level above Not started (the placement check is then no longer offered).
    shown_work: bool = False


def _plan_activities(pack: CoursePack) -> dict[str, tuple[PlanActivity, ...]]:
    return activities_by_skill(PlanActivity(id=a.id, title=a.title, kind=a.kind, skill_ids=tuple(a.skills),
                                            modality=a.modality) for a in pack.activities)


def _step_candidates(pack: CoursePack) -> tuple[tuple[str, frozenset[str]], ...]:
    return step_candidates(pack.skill_graph, from_pack(pack, _plan_activities))


def _skill_names(pack: CoursePack) -> dict[str, str]:
    return {s.id: s.name for s in pack.skills}


def plan_goals(course_id: int, person_id: int, pack: CoursePack) -> list[Goal]:
    """Return the goals the plan works toward: the student's own first, then the course's."""
    from .goals import student_plan_goals

    # The student's own goals first: choosing what to work toward is part of the plan being theirs.
    return student_plan_goals(course_id, person_id) + [
        Goal(id=g.id, title=g.title, skill_ids=tuple(g.skills), set_by="teacher") for g in pack.goals
    ]


def choose_steps(pack: CoursePack, levels: Mapping[str, Level], placed: Mapping[str, PlacedSkill],
                 assigned: Collection[str], goals: Sequence[Goal], due: Sequence, *, planning: Mapping[str, Level],
                 count: int = STEPS, within: Collection[str] | None = None,
                 another_sitting: Container[str] = frozenset(),
                 teacher_holds: Container[str] = frozenset(),
                 missed_lately: Container[str] = frozenset()) -> list[NextStep]:
    """Return the plan's first `count` next steps, as the plan page shows them (and "Next up" picks from).

    `placed` is the placement check's result, `assigned` the skills the teacher assigned, `due` the due reviews;
    `within` keeps only those skills' steps (a unit placement's), besides what the teacher assigned;
    `another_sitting` the Proficient skills that lack only another sitting for Mastered (`Standing.another_sitting`);
    `teacher_holds` the skills whose level only the teacher changes (`Standing.teacher_holds`);
    `missed_lately` the skills whose last answers all missed (`Standing.missed_lately`);
    `planning` the levels steps are chosen by (`diagnostic.planning_levels`: the placement's known skills count until
    the student's practice contradicts them), the same that the placement result page and the class readiness use.
    """
    # The placement check moves the starting point (never the grades): skills it placed as known count as
    # shown for choosing next steps until practice contradicts them, so the student starts at their own frontier
    # and keeps it while answering well (the planner offers those skills themselves only last, as a quick
    # confirmation); its "good places to start" are the first steps.
    start_here = good_places_to_start(pack.skill_graph, placed, planning)
    # The steps show the learner's own levels (the table's), never the planner's stand-ins. Every step is built
    # only when some are filtered or moved up below; otherwise the first `count` are the same (they come in the
    # order the sort below keeps), and a 400-skill course no longer explains hundreds of steps it never shows.
    limit = len(pack.skills) if within is not None or start_here else count
    steps = plan_next_steps(pack.skill_graph, planning, from_pack(pack, _plan_activities),
                            goals, due, limit=limit, shown_levels=levels, assigned=assigned,
                            candidates=from_pack(pack, _step_candidates), another_sitting=another_sitting,
                            teacher_holds=teacher_holds, missed_lately=missed_lately)
    if within is not None:
        # What the teacher assigned stays, even from another unit: they asked for it.
        steps = [step for step in steps if step.skill_id in within or step.assigned]
    # The plan starts where the placement check said: its "good places to start" come first, after what the
    # teacher assigned.
    return sorted(steps, key=lambda step: (not step.assigned, step.skill_id not in start_here))[:count]


def course_steps(course_id: int, person_id: int, pack: CoursePack, held: Standing, placed: Mapping[str, PlacedSkill],
                 planning: Mapping[str, Level], *, now: datetime) -> list[NextStep]:
    """Return every next step of the student's course-wide plan, in the plan's order (its first ones are the plan's).

    For a page that lists skills as the plan takes them (the placement result's "Good places to start").
    """
    from .assignments import assigned_skills
    from .reviews import due_reviews

    assigned, _ = assigned_skills(course_id, person_id)
    return choose_steps(pack, held.levels, placed, assigned, plan_goals(course_id, person_id, pack),
                        due_reviews(course_id, person_id, now), planning=planning, count=len(pack.skills),
                        another_sitting=held.another_sitting, teacher_holds=held.teacher_holds,
                        missed_lately=held.missed_lately)


def plan_for(course_id: int, person_id: int, *, now: datetime, unit_skill_ids: list[str] | None = None,
             unit_title: str = "", language: str = BASE_LANGUAGE, unit: str | None = None,
             audience: str = STUDENT) -> StudentPlan:
    """Return the student's plan: their levels, and 3-5 next steps with reasons, the pack's texts in the language.

    A unit placement (unit_skill_ids) shows only that unit's skills and aims the next steps at them. Otherwise
    the plan shows every skill, or with `unit` (the student's plan page: the unit asked for, "" for none) one
    unit's skills and the list of units (learning/plan_units.py); the next steps, reviews and unit checks stay
    course-wide (that page shows a few unit-check panels and marks the other units with a check ready).
    The levels' reasons are worded for `audience` (the student, or their teacher: services/mastery.worded_for).
    """
    pack = require_pack(course_id, language)
    # Every skill's level from its stored column; the reasons are explained only for the skills shown.
    held = standing(course_id, person_id, language)
    levels = held.levels
    # A unit placement's goal is the unit: its steps (and the prerequisites they need) come first.
    goals = ([Goal(id="placement-unit", title=unit_title or "This unit", skill_ids=tuple(unit_skill_ids), unit=True)]
             if unit_skill_ids else plan_goals(course_id, person_id, pack))
    from .reviews import named_missed, review_skills, review_standing

    # Read once for both the next steps and the review box (a pack with `review_spacing: false` has neither).
    due, missed = review_standing(course_id, person_id, now)
    from .diagnostic import placements, planning_levels

    placed = placements(course_id, person_id)
    planning = planning_levels(course_id, person_id, held, placed)
    from .assignments import assigned_skills
    from .unit_check import unit_offers, waiting_query

    assigned, waiting_unit_checks = assigned_skills(course_id, person_id, also=waiting_query())
    wanted: set[str] | None = None
    if unit_skill_ids:
        # Only the unit's skills, and the prerequisites a student needs first, are steps of this placement.
        wanted = set(unit_skill_ids)
        for skill_id in unit_skill_ids:
            if skill_id in pack.skill_graph:
                wanted.update(pack.skill_graph.prerequisites_of(skill_id, transitive=True))
    steps = choose_steps(pack, levels, placed, assigned, goals, due, within=wanted,
                         another_sitting=held.another_sitting, teacher_holds=held.teacher_holds, planning=planning,
                         missed_lately=held.missed_lately)
    from .help import learning_activities

    resources = {step.skill_id: learning_activities(pack, step.skill_id) for step in steps}
    from .skill_map import student_skill_map

    checks = unit_offers(pack, levels, waiting_unit_checks)
    if unit_skill_ids:
        checks = [c for c in checks if set(next(u.skills for u in pack.units if u.id == c.unit_id)) & wanted]
    units: list[UnitProgress] = []
    shown = None
    more_checks = 0
    check_units: frozenset[str] = frozenset()
    if unit_skill_ids:
        views = held.views(unit_skill_ids, needs=True)
    elif unit is not None:
        units = unit_progress(pack, levels, from_pack(pack, unit_groups))  # the units worked out once per pack
        shown = shown_unit(units, unit, levels, steps[0].skill_id if steps else None)
        views = held.views(shown.skill_ids if shown is not None else None, needs=True)
        check_units = frozenset(offer.unit_id for offer in checks)
        checks, more_checks = checks_to_show(checks, shown.id if shown is not None else None,
                                             unit_id=lambda offer: offer.unit_id, started=lambda offer: offer.started)
    else:
        views = held.views(needs=True)
    views = _worded(course_id, pack, views, audience, language)
    names = from_pack(pack, _skill_names)
    return StudentPlan(course_title=pack.course.title, skills=views, next_steps=steps, goals=goals,
                       resources=resources, reviews_due=[names.get(s, s) for s in review_skills(pack, due)],
                       skill_map=student_skill_map(pack, views), unit_checks=checks, more_unit_checks=more_checks,
                       check_units=check_units, units=units, unit=shown,
                       reviews_missed=named_missed(pack, missed),
                       shown_work=any(level is not Level.NOT_STARTED for level in levels.values()))


def _worded(course_id: int, pack: CoursePack, views: list[SkillView], audience: str,
            language: str) -> list[SkillView]:
    """Return the views with their reasons worded for `audience`, naming skills in the pack's language."""
    if audience == STUDENT and language == BASE_LANGUAGE:
        return views  # the stored reasons are the student's English words already
    # A stored placement reason names skills in English (and maybe skills of another unit than those shown).
    names = {skill.name: pack.skills_by_id[skill.id].name for skill in require_pack(course_id).skills
             if skill.id in pack.skills_by_id}
    return [worded_for(view, audience, names) for view in views]


@dataclass(frozen=True)
class ClassRow:
    """One student's row in the class heatmap."""

    person_id: int
    #: "" when the LMS shared no name: pages write that in their language (the `person_name` filter).
    name: str
    levels: dict[str, Level]
    proficient: int
    #: When the student last opened Pathways in this course, if ever ("Needs help now" reads it with the row).
    last_launch_at: datetime | None = None


def class_overview(course_id: int, platform_id: int,
                   language: str = BASE_LANGUAGE) -> tuple[list, list[ClassRow]]:
    """Return (skills in map order, one row per active student) for the teacher's heatmap.

    Skills are named in `language` (the teacher's page's), the pack's translations where it has them.
    A page asks several times (the heatmap and its "Needs help now" count): read once per transaction.
    """
    session = db.session()
    memo = session.info.setdefault(_OVERVIEWS, {})
    key = (course_id, platform_id)
    held = memo.get(key)
    if held is None or held[0] is not session.get_transaction():
        overview = _class_overview(course_id, platform_id)
        held = memo[key] = (session.get_transaction(), overview)
    skills, rows = held[1]
    if language != BASE_LANGUAGE:
        translated = require_pack(course_id, language).skills_by_id
        skills = [translated.get(s.id, s) for s in skills]
    return list(skills), list(rows)  # copies: a caller's sorting or filtering stays its own


_OVERVIEWS = "pathways.class_overviews"


def _class_overview(course_id: int, platform_id: int) -> tuple[list, list[ClassRow]]:
    pack = require_pack(course_id)
    by_id = {s.id: s for s in pack.skills}
    skills = [by_id[sid] for sid in pack.skill_graph.topological_order()]
    students = list(
        db.session.execute(
            sa.select(Person.id, Person.name, Enrollment.last_launch_at)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True),
                   Person.platform_id == platform_id)
            .order_by(Person.name)
        )
    )
    levels = levels_by_person(course_id, [pid for pid, _, _ in students])
    rows = []
    for person_id, name, last_launch_at in students:
        mine = levels.get(person_id, {})
        # "" when the LMS shares no name: pages say so in their own language (the `person_name` filter).
        rows.append(ClassRow(person_id, name or "", mine,
                             sum(1 for lv in mine.values() if lv.rank >= Level.PROFICIENT.rank), last_launch_at))
    return skills, rows
