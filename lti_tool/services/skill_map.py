"""The skill map as a picture: the class's readiness per skill for the teacher, a student's levels on their plan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from ..learning.coursepack import CoursePack
from ..learning.map_layout import MapLayout, layout_skill_map
from ..learning.mastery import Level
from ..learning.readiness import SkillReadiness, class_readiness
from ..learning.skills import Skill, SkillGraph
from ..learning.translations import BASE_LANGUAGE
from .diagnostic import planning_levels_by_person
from .mastery import SkillView, require_pack
from .plan import class_overview


@dataclass(frozen=True)
class SkillMapView:
    """A laid-out map with what each box says: the class's readiness, or one student's levels."""

    layout: MapLayout
    names: dict[str, str]
    readiness: dict[str, SkillReadiness] = field(default_factory=dict)
    levels: dict[str, Level] = field(default_factory=dict)
    students: int = 0


def class_skill_map(course_id: int, platform_id: int, language: str = BASE_LANGUAGE) -> SkillMapView:
    """Return the course's map with, per skill, how many active students are Proficient or above and ready (the
    skills named in the language, as the class view names them)."""
    pack = require_pack(course_id, language)
    _, rows = class_overview(course_id, platform_id)
    # "Ready" as each student's own plan has it: a prerequisite their placement check found known counts until
    # their practice contradicts it.
    planning = planning_levels_by_person(course_id, {row.person_id: row.levels for row in rows})
    return SkillMapView(layout=_layout(_shape(pack.skill_graph)), names={s.id: s.name for s in pack.skills},
                        readiness=class_readiness(pack.skill_graph, [row.levels for row in rows],
                                                  [planning[row.person_id] for row in rows]),
                        students=len(rows))


def student_skill_map(pack: CoursePack, views: Sequence[SkillView]) -> SkillMapView:
    """Return the map of the skills on a student's plan (all, or a unit's), each box with the student's level."""
    shown = {view.skill_id for view in views}
    # A unit's map keeps only the lines between its own skills: the rest of the course is not on the page.
    shape = tuple((s.id, tuple(p for p in s.prerequisites if p in shown)) for s in pack.skill_graph if s.id in shown)
    return SkillMapView(layout=_layout(shape), names={view.skill_id: view.name for view in views},
                        levels={view.skill_id: view.level for view in views})


def _shape(graph: SkillGraph) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple((s.id, tuple(s.prerequisites)) for s in graph)


@lru_cache(maxsize=128)
def _layout(shape: tuple[tuple[str, tuple[str, ...]], ...]) -> MapLayout:
    """Lay out a map once per shape (skills and their prerequisites) and process: every plan page draws one."""
    return layout_skill_map(SkillGraph(Skill(skill_id, skill_id, prerequisites=prerequisites)
                                       for skill_id, prerequisites in shape))
