"""The one next step the feedback page offers after a skill is mastered ("Next up"), without the whole plan.

The page shows the first of the plan's next steps (services/plan.plan_for) that is not the skill just practised.
Building the plan for that explained every skill's level, drew the skill map and looked up each step's resources
and the unit checks; this reads the inputs the plan's steps are chosen from (levels from the stored column, goals,
due reviews, placement, assignments) and chooses them as the plan does (`plan.choose_steps`), two instead of five:
the first step besides one skill is one of the first two.
"""

from __future__ import annotations

from datetime import datetime

from ..learning.planner import NextStep
from ..learning.translations import BASE_LANGUAGE
from .assignments import assigned_skills
from .diagnostic import placements, planning_levels
from .mastery import require_pack, standing
from .plan import choose_steps, plan_goals
from .reviews import due_reviews


def next_up(course_id: int, person_id: int, besides: str, *, now: datetime,
            language: str = BASE_LANGUAGE) -> NextStep | None:
    """Return the first of the student's plan's next steps whose skill is not `besides`, or None."""
    pack = require_pack(course_id, language)
    held = standing(course_id, person_id, language)
    levels = held.levels
    assigned, _ = assigned_skills(course_id, person_id)
    placed = placements(course_id, person_id)
    steps = choose_steps(pack, levels, placed, assigned, plan_goals(course_id, person_id, pack),
                         due_reviews(course_id, person_id, now), count=2,
                         planning=planning_levels(course_id, person_id, held, placed),
                         another_sitting=held.another_sitting, teacher_holds=held.teacher_holds,
                         missed_lately=held.missed_lately)
    return next((step for step in steps if step.skill_id != besides), None)
