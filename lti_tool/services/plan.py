"""The student's learning plan and practice: next steps, the next question, and the class overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack, Item
from ..learning.mastery import Level
from ..learning.planner import Goal, NextStep, PlanActivity, plan_next_steps
from ..models import Enrollment, ItemResponse, Person, ReviewSchedule
from .mastery import levels_by_person, require_pack, skill_views


@dataclass(frozen=True)
class StudentPlan:
    """What the student's plan page shows."""

    course_title: str
    skills: list  # list[SkillView]
    next_steps: list[NextStep]
    goals: list[Goal]


def plan_for(course_id: int, person_id: int, *, now: datetime) -> StudentPlan:
    """Return the student's plan: their levels, and 3-5 next steps with reasons."""
    pack = require_pack(course_id)
    views = skill_views(course_id, person_id)
    levels = {v.skill_id: v.level for v in views}
    activities = [
        PlanActivity(id=a.id, title=a.title, kind=a.kind, skill_ids=tuple(a.skills), modality=a.modality)
        for a in pack.activities
    ]
    from .agency import student_plan_goals

    # The student's own goals first: choosing what to work toward is part of the plan being theirs.
    goals = student_plan_goals(course_id, person_id) + [
        Goal(id=g.id, title=g.title, skill_ids=tuple(g.skills)) for g in pack.goals
    ]
    from ..learning.review import DueReview

    # A pack with `review_spacing: false` asks for no spaced reviews at all.
    due = [] if not pack.mastery.review_spacing else [
        DueReview(skill_id=row.skill_id, due_at=row.due_at, overdue=now - row.due_at)
        for row in db.session.scalars(
            sa.select(ReviewSchedule).where(
                ReviewSchedule.course_id == course_id,
                ReviewSchedule.person_id == person_id,
                ReviewSchedule.due_at <= now,
            )
        )
    ]
    from ..learning.diagnostic import levels_for_planning
    from .diagnostic import placements

    # The placement check moves the starting point (never the grades): skills it placed as known count as
    # done for choosing next steps, so the student starts at their own frontier.
    planning_levels = levels_for_planning(levels, placements(course_id, person_id))
    steps = plan_next_steps(pack.skill_graph, planning_levels, activities, goals, due)
    return StudentPlan(course_title=pack.course.title, skills=views, next_steps=steps, goals=goals)


def items_for_skill(pack: CoursePack, skill_id: str) -> list[Item]:
    """Return the practice items that practise a skill, in the pack's order."""
    return [item for _, item in pack.items() if skill_id in item.skills]


def next_item(course_id: int, person_id: int, skill_id: str) -> Item | None:
    """Pick the next question for a skill: one not answered lately, harder after a right answer."""
    pack = require_pack(course_id)
    items = items_for_skill(pack, skill_id)
    if not items:
        return None
    recent = list(
        db.session.execute(
            sa.select(ItemResponse.item_id, ItemResponse.correct)
            .where(ItemResponse.course_id == course_id, ItemResponse.person_id == person_id)
            .order_by(ItemResponse.id.desc())
            .limit(50)
        )
    )
    seen = {item_id for item_id, _ in recent}
    last_right = bool(recent and recent[0][1])
    order = {"easy": 0, "medium": 1, "hard": 2}
    fresh = [i for i in items if i.id not in seen] or sorted(
        items, key=lambda i: next((n for n, (iid, _) in enumerate(recent) if iid == i.id), -1), reverse=True
    )
    # Retrieval practice works best just beyond comfort: step up after a right answer, down after a wrong one.
    fresh.sort(key=lambda i: order.get(str(i.difficulty), 1), reverse=last_right)
    return fresh[0]


@dataclass(frozen=True)
class ClassRow:
    """One student's row in the class heatmap."""

    person_id: int
    name: str
    levels: dict[str, Level]
    proficient: int


def class_overview(course_id: int, platform_id: int) -> tuple[list, list[ClassRow]]:
    """Return (skills in map order, one row per active student) for the teacher's heatmap."""
    pack = require_pack(course_id)
    by_id = {s.id: s for s in pack.skills}
    skills = [by_id[sid] for sid in pack.skill_graph.topological_order()]
    students = list(
        db.session.execute(
            sa.select(Person.id, Person.name)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True),
                   Person.platform_id == platform_id)
            .order_by(Person.name)
        )
    )
    levels = levels_by_person(course_id, [pid for pid, _ in students])
    rows = []
    for person_id, name in students:
        mine = levels.get(person_id, {})
        rows.append(ClassRow(person_id, name or "(name not shared)", mine,
                             sum(1 for lv in mine.values() if lv.rank >= Level.PROFICIENT.rank)))
    return skills, rows
