"""The plan page's units: how far the student is in each, and which one the page shows.

A plan page that drew every skill of the course grew with it: a 400-skill course was a 400-box map and a 400-row
table, too much to find your way in on a phone. The page shows one unit's map and table (the one the student is
working in, or the one they chose) under a short list of the course's units, each with its count of skills at
Proficient or above. Skills in no unit are one more group at the end ("Other skills"); a pack without units has
no list, and the page shows every skill as one map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple, TypeVar

from .coursepack import CoursePack
from .mastery import PROFICIENT_OR_ABOVE, Level

#: The id the skills in no unit go by (in `?unit=`), unless a unit of the pack already has it.
OTHER_SKILLS = "other-skills"

T = TypeVar("T")


class UnitProgress(NamedTuple):
    """One unit in the plan page's list: its skills, in the pack's order, and how many are Proficient or above.

    A named tuple, not a frozen dataclass: a plan page makes one per unit (a hundred on a 400-skill course), and a
    frozen dataclass's __init__ (a setattr per field) cost three times as much.
    """

    id: str
    #: The unit's title in the page's language; "" for the skills in no unit (the page names them).
    title: str
    skill_ids: tuple[str, ...]
    proficient: int
    #: True for the group of skills that are in no unit of the pack.
    other: bool = False

    @property
    def total(self) -> int:
        """Return how many skills the unit has."""
        return len(self.skill_ids)


def unit_progress(pack: CoursePack, levels: Mapping[str, Level],
                  groups: Sequence[UnitGroup] | None = None) -> list[UnitProgress]:
    """Return the pack's units that have skills, then the skills in no unit as one group; [] for a pack without units.

    `levels` holds the student's level per skill (a skill left out is Not started). `groups` are
    `unit_groups(pack)`, which a page that asks often can work out once per pack.
    """
    groups = unit_groups(pack) if groups is None else groups
    if not groups:
        return []
    # The skills at Proficient or above, found once: each unit then counts its skills in that set.
    counted = {skill_id for skill_id, level in levels.items() if level in PROFICIENT_OR_ABOVE}.__contains__
    # Made as the tuples they are, every field given in order: a named tuple's own __new__ is a Python call per unit.
    new = tuple.__new__
    return [new(UnitProgress, (unit_id, title, skills, sum(map(counted, skills)), other))
            for unit_id, title, skills, other in groups]


#: A unit of the plan page's list without the student: its id, title, skills (in the pack's order) and whether it
#: is the group of skills in no unit.
UnitGroup = tuple[str, str, tuple[str, ...], bool]


def unit_groups(pack: CoursePack) -> tuple[UnitGroup, ...]:
    """Return the units `unit_progress` lists, without the student's counts: the same for every student."""
    if not pack.units:
        return ()
    known = {skill.id for skill in pack.skills}
    in_units: set[str] = set()
    groups: list[UnitGroup] = []
    for unit in pack.units:
        skills = tuple(s for s in unit.skills if s in known)
        if skills:
            in_units.update(skills)
            groups.append((unit.id, unit.title, skills, False))
    rest = tuple(s for s in pack.skill_graph.topological_order() if s not in in_units)
    if rest:
        ids = {unit.id for unit in pack.units}
        other = OTHER_SKILLS
        while other in ids:  # a pack may name a unit anything: the group's id must not be one of them
            other += "-"
        groups.append((other, "", rest, True))
    return tuple(groups)


def unit_of(groups: Sequence[UnitGroup], skill_id: str) -> str | None:
    """Return the id of the first unit of `groups` (`unit_groups(pack)`) that holds the skill, which `?unit=` shows;
    None for a pack without units (the plan page then shows every skill)."""
    return next((unit_id for unit_id, _, skills, _ in groups if skill_id in skills), None)


def shown_unit(units: Sequence[UnitProgress], asked: str, levels: Mapping[str, Level],
               first_step: str | None) -> UnitProgress | None:
    """Return the unit the plan page shows: the one asked for, else the unit the student is working in.

    The unit they work in is the one of their first next step; with no next step in a unit, the first unit not
    all Mastered; else the first unit. An id that is not one of `units` (a stale or foreign link) is not an
    error: the page shows the unit they work in. None when there are no units.
    """
    if not units:
        return None
    chosen = next((unit for unit in units if unit.id == asked), None) if asked else None
    if chosen is not None:
        return chosen
    if first_step is not None:
        chosen = next((unit for unit in units if first_step in unit.skill_ids), None)
        if chosen is not None:
            return chosen
    mastered = Level.MASTERED
    return next((unit for unit in units if any(levels.get(s) is not mastered for s in unit.skill_ids)), units[0])


#: Unit-check panels the plan page shows at most; the others are counted in one line.
CHECK_PANELS = 2


def checks_to_show(offers: Sequence[T], shown_unit_id: str | None, *, unit_id: Callable[[T], str],
                   started: Callable[[T], bool]) -> tuple[list[T], int]:
    """Return the unit-check offers the plan page shows as panels, and how many others there are.

    A student who has begun most units of a big course was offered a check on each (a hundred panels on a
    400-skill course) above their next steps. The page shows at most CHECK_PANELS: checks already under way
    first (a sitting is never hidden), then the unit the page shows, then the others in the pack's order;
    the rest wait in their units (a unit opened from the list puts its check first).
    """
    ranked = sorted(offers, key=lambda offer: (not started(offer), unit_id(offer) != shown_unit_id))
    return ranked[:CHECK_PANELS], max(0, len(ranked) - CHECK_PANELS)
