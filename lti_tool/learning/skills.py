"""A course's skill map: skills, their prerequisites, and what a learner is ready for."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .messages import N_, Message


class SkillGraphError(ValueError):
    """A skill map that cannot be used: a prerequisite loop, an unknown or duplicate skill."""


@dataclass(frozen=True)
class Skill:
    """One skill in a course, and the skills a learner needs before it."""

    id: str
    name: str
    description: str = ""
    prerequisites: tuple[str, ...] = field(default_factory=tuple)
    #: The name and description in other languages ({"es": {"name": …}}); see learning/translations.py.
    translations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Accept any iterable (e.g. a JSON list) but keep the dataclass hashable.
        object.__setattr__(self, "prerequisites", tuple(self.prerequisites))


class SkillGraph:
    """An acyclic map of skills; every prerequisite names a skill in the same map."""

    def __init__(self, skills: Iterable[Skill]) -> None:
        """Build the graph, refusing duplicates, unknown prerequisites and loops."""
        self._skills: dict[str, Skill] = {}
        for skill in skills:
            if skill.id in self._skills:
                raise SkillGraphError(Message(N_("Two skills share the id %(id)s; each skill needs its own id."),
                                              id=repr(skill.id)))
            self._skills[skill.id] = skill
        for skill in self._skills.values():
            for prerequisite in skill.prerequisites:
                if prerequisite == skill.id:
                    raise SkillGraphError(Message(N_("Skills cannot depend on each other in a circle: %(circle)s"),
                                                  circle=f"{skill.id} → {skill.id}"))
                if prerequisite not in self._skills:
                    raise SkillGraphError(Message(
                        N_("Skill %(id)s needs %(prerequisite)s, which is not a skill in this course."),
                        id=repr(skill.id), prerequisite=repr(prerequisite)))
        dependents: dict[str, list[str]] = {skill_id: [] for skill_id in self._skills}
        for skill in self._skills.values():
            for prerequisite in skill.prerequisites:
                dependents[prerequisite].append(skill.id)
        self._dependents = {skill_id: tuple(ids) for skill_id, ids in dependents.items()}
        self._order = self._topological_order()
        self._position = {skill_id: n for n, skill_id in enumerate(self._order)}
        self._in_order = tuple(self._skills[skill_id] for skill_id in self._order)
        # Transitive prerequisites and dependents, worked out on first use: a graph never changes after it is
        # built, and the planner asks for the same closures on every plan page (a parsed pack is kept per process).
        self._closures: dict[tuple[str, bool], tuple[str, ...]] = {}

    def _topological_order(self) -> tuple[str, ...]:
        # Iterative depth-first search: it keeps the current path so a loop is reported exactly as
        # written, and a long generated chain of skills cannot hit Python's recursion limit.
        done: set[str] = set()
        order: list[str] = []
        for root in self._skills:
            if root in done:
                continue
            path: list[str] = [root]
            on_path: set[str] = {root}
            pending = [iter(self._skills[root].prerequisites)]
            while pending:
                prerequisite = next(pending[-1], None)
                if prerequisite is None:
                    finished = path.pop()
                    on_path.discard(finished)
                    pending.pop()
                    done.add(finished)
                    order.append(finished)
                elif prerequisite in on_path:
                    loop = path[path.index(prerequisite) :] + [prerequisite]
                    # Written dependent-first ("a needs b needs a") because that is how people describe it.
                    circle = " → ".join(loop)
                    raise SkillGraphError(Message(N_("Skills cannot depend on each other in a circle: %(circle)s"),
                                                  circle=circle))
                elif prerequisite not in done:
                    path.append(prerequisite)
                    on_path.add(prerequisite)
                    pending.append(iter(self._skills[prerequisite].prerequisites))
        return tuple(order)

    @classmethod
    def from_dicts(cls, items: Iterable[Mapping[str, object]]) -> SkillGraph:
        """Build a graph from course-pack skill records (id, name, description, prerequisites)."""
        skills = []
        for item in items:
            prerequisites = item.get("prerequisites", ()) or ()
            skills.append(
                Skill(
                    id=str(item["id"]),
                    name=str(item.get("name", item["id"])),
                    description=str(item.get("description", "")),
                    prerequisites=tuple(str(p) for p in prerequisites),  # type: ignore[union-attr]
                )
            )
        return cls(skills)

    def to_dicts(self) -> list[dict[str, object]]:
        """Return the skills as course-pack records, in the order they were given."""
        return [
            {"id": s.id, "name": s.name, "description": s.description, "prerequisites": list(s.prerequisites)}
            for s in self._skills.values()
        ]

    def __len__(self) -> int:
        return len(self._skills)

    def __iter__(self) -> Iterator[Skill]:
        return iter(self._skills.values())

    def __contains__(self, skill_id: object) -> bool:
        return skill_id in self._skills

    def __getitem__(self, skill_id: str) -> Skill:
        return self._skill(skill_id)

    def _skill(self, skill_id: str) -> Skill:
        try:
            return self._skills[skill_id]
        except KeyError:
            raise SkillGraphError(f"{skill_id!r} is not a skill in this course.") from None

    def topological_order(self) -> tuple[str, ...]:
        """Return every skill id, each after all of its prerequisites."""
        return self._order

    def in_order(self) -> tuple[Skill, ...]:
        """Return every skill, in `topological_order` (for a pass over all of them without a lookup each)."""
        return self._in_order

    def position(self, skill_id: str) -> int:
        """Return the skill's place in `topological_order` (to order a few skills without walking them all)."""
        try:
            return self._position[skill_id]
        except KeyError:
            raise SkillGraphError(f"{skill_id!r} is not a skill in this course.") from None

    def prerequisites_of(self, skill_id: str, *, transitive: bool = False) -> tuple[str, ...]:
        """Return the skills needed before this one: direct only, or all of them if transitive."""
        direct = self._skill(skill_id).prerequisites
        if not transitive:
            return direct
        return self._closure(skill_id, False)

    def dependents_of(self, skill_id: str, *, transitive: bool = False) -> tuple[str, ...]:
        """Return the skills that build on this one: direct only, or all of them if transitive."""
        self._skill(skill_id)
        if not transitive:
            return self._dependents[skill_id]
        return self._closure(skill_id, True)

    def _closure(self, skill_id: str, dependents: bool) -> tuple[str, ...]:
        key = (skill_id, dependents)
        held = self._closures.get(key)
        if held is not None:
            return held
        step: Callable[[str], tuple[str, ...]] = (
            self._dependents.__getitem__ if dependents else lambda s: self._skills[s].prerequisites)
        found: set[str] = set()
        stack = list(step(skill_id))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(step(current))
        # Topological order makes the answer stable and readable ("fractions before ratios").
        closure = self._closures[key] = tuple(sorted(found, key=self._position.__getitem__))
        return closure

    def ready_skills(self, mastered: set[str] | frozenset[str]) -> tuple[str, ...]:
        """Return the skills not yet mastered whose prerequisites are all mastered, in topological order."""
        return tuple(
            s for s in self._order if s not in mastered and all(p in mastered for p in self._skills[s].prerequisites)
        )
