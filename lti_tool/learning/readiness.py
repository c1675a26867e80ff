"""How ready a class is for each skill of its map: who has it, and who has everything it needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .mastery import Level
from .planner import READY_LEVEL
from .skills import SkillGraph


@dataclass(frozen=True)
class SkillReadiness:
    """For one skill: students at Proficient or above, students ready to learn it, and the class size."""

    skill_id: str
    proficient: int
    ready: int
    students: int

    @property
    def not_ready(self) -> int:
        """Return how many students still need a prerequisite first."""
        return self.students - self.proficient - self.ready


def class_readiness(graph: SkillGraph, levels: Iterable[Mapping[str, Level]],
                    planning: Iterable[Mapping[str, Level]] | None = None) -> dict[str, SkillReadiness]:
    """Return each skill's readiness over the students' levels (one mapping per student; missing = Not started).

    "Ready" means not yet Proficient on the skill but Proficient or above on every prerequisite: the same bar the
    planner uses before it suggests a skill. `planning`, in the same order as `levels`, holds each student's levels
    for the planner (`diagnostic.levels_for_planning`: a prerequisite their placement check found known counts until
    their practice contradicts it), so a student counts as ready here exactly when their plan offers the skill;
    "Proficient or above" always counts the students' own levels.
    """
    students = list(levels)
    planned = students if planning is None else list(planning)
    if len(planned) != len(students):
        raise ValueError("class_readiness needs one planning mapping per student.")

    def has(mine: Mapping[str, Level], skill_id: str) -> bool:
        return mine.get(skill_id, Level.NOT_STARTED).rank >= READY_LEVEL.rank

    result = {}
    for skill in graph:
        proficient = sum(1 for mine in students if has(mine, skill.id))
        ready = sum(1 for mine, plan in zip(students, planned, strict=True)
                    if not has(mine, skill.id) and all(has(plan, p) for p in skill.prerequisites))
        result[skill.id] = SkillReadiness(skill.id, proficient, ready, len(students))
    return result
