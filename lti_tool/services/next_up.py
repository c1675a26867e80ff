"""The one next step the feedback page offers after a skill is mastered ("Next up"), without the whole plan.

The page shows the first of the plan's next steps (services/plan.plan_for) that is not the skill just practised.
Building the plan for that explained every skill's level, drew the skill map and looked up each step's resources
and the unit checks; this reads the same inputs the plan's steps are chosen from (levels from the stored column,
goals, due reviews, placement, assignments) and builds only the steps it can pick from. The choice must stay the
plan's: tests/web/test_next_up.py compares the two.
"""

from __future__ import annotations

from datetime import datetime

from ..learning.diagnostic import Belief, levels_for_planning
from ..learning.planner import Goal, NextStep, plan_next_steps
from ..learning.translations import BASE_LANGUAGE
from .agency import student_plan_goals
from .assignments import assigned_skills
from .content import from_pack
from .diagnostic import placements
from .mastery import require_pack, standing
from .plan import STEPS, _plan_activities
from .reviews import due_reviews


def next_up(course_id: int, person_id: int, besides: str, *, now: datetime,
            language: str = BASE_LANGUAGE) -> NextStep | None:
    """Return the first of the student's plan's next steps whose skill is not `besides`, or None."""
    pack = require_pack(course_id, language)
    levels = standing(course_id, person_id, language).levels
    activities = from_pack(pack, _plan_activities)
    goals = student_plan_goals(course_id, person_id) + [
        Goal(id=g.id, title=g.title, skill_ids=tuple(g.skills)) for g in pack.goals
    ]
    placed = placements(course_id, person_id)
    assigned, _ = assigned_skills(course_id, person_id)
    start_here = {sid for sid, place in placed.items() if place.belief is Belief.NOT_YET}
    # As the plan orders them: the planner's order (assigned skills first), then the placement's good places to
    # start moved up, then the first STEPS. Without places to start the planner's order stands, and the first step
    # besides one skill is among its first two: two are built, not five (nor, with them, every skill's).
    limit = len(pack.skills) if start_here else min(2, STEPS)
    steps = plan_next_steps(pack.skill_graph, levels_for_planning(levels, placed), activities, goals,
                            due_reviews(course_id, person_id, now), limit=limit, shown_levels=levels,
                            assigned=assigned)
    steps = sorted(steps, key=lambda step: (not step.assigned, step.skill_id not in start_here))[:STEPS]
    return next((step for step in steps if step.skill_id != besides), None)
