"""Skills and units from a 1EdTech CASE 1.0 package (CFPackage: CFDocument, CFItems, CFAssociations).

Mapping (also in lti_tool/demo/COURSEPACK.md):

- A CFItem with no children is a skill: id = its identifier, name = humanCodingScheme followed by the
  abbreviatedStatement (or the fullStatement when there is none), description = fullStatement.
- "isChildOf" (origin is a child of destination) builds the tree. An item with children is a grouping, not a
  skill: it becomes a unit holding its direct leaf children, ordered by sequenceNumber.
- "precedes" (origin precedes destination) makes the origin a prerequisite of the destination. When either end
  is a grouping, it stands for all the skills under it.
- Other association types (isRelatedTo, exactMatchOf …) say nothing about order or grouping and are skipped
  with a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lti_tool.learning.coursepack import ImportedSkills, Unit
from lti_tool.learning.messages import N_, Message, Problem
from lti_tool.learning.skills import Skill, SkillGraph, SkillGraphError

# Past these a package is refused with a message: a real framework has a few thousand items at most, and
# grouping-to-grouping "precedes" expands to every pair of skills under them, which grows quadratically.
MAX_ITEMS = 5_000
MAX_ASSOCIATIONS = 20_000
MAX_PREREQUISITE_LINKS = 20_000


class CasePackageError(ValueError):
    """A CASE package that cannot be imported; `problems` lists every problem with its location."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("The CASE package cannot be imported:\n" + "\n".join(f"- {p}" for p in problems))


def read_case_package(data: Mapping[str, Any]) -> ImportedSkills:
    """Read a decoded CASE 1.0 CFPackage into skills and units, or raise CasePackageError."""
    if isinstance(data, Mapping) and isinstance(data.get("CFPackage"), Mapping):
        data = data["CFPackage"]
    if not isinstance(data, Mapping):
        raise CasePackageError([Message(N_("the package should be a JSON object with CFDocument, CFItems and "
                                              "CFAssociations"))])
    problems: list[str] = []
    notes: list[str] = []

    document = data.get("CFDocument")
    if not isinstance(document, Mapping):
        problems.append(Problem("CFDocument", Message(N_("missing; a CASE package has one CFDocument describing the "
                                                           "framework"))))
        document = {}
    title = _text(document.get("title")) or ""
    if document and not title:
        problems.append(Problem("CFDocument.title", Message(N_("missing or empty"))))

    item_list = _list(data, "CFItems", problems)
    association_list = _list(data, "CFAssociations", problems, required=False)
    if len(item_list) > MAX_ITEMS or len(association_list) > MAX_ASSOCIATIONS:
        raise CasePackageError([Message(
            N_("the package has %(items)s CFItems and %(associations)s CFAssociations; Pathways imports at most "
               "%(max_items)s items and %(max_associations)s associations. Import the framework in parts."),
            items=len(item_list), associations=len(association_list), max_items=MAX_ITEMS,
            max_associations=MAX_ASSOCIATIONS)])
    items: dict[str, Mapping[str, Any]] = {}
    for index, item in enumerate(item_list):
        where = f"CFItems[{index}]"
        if not isinstance(item, Mapping):
            problems.append(Problem(where, Message(N_("should be an object"))))
            continue
        identifier = _text(item.get("identifier"))
        if not identifier:
            problems.append(Problem(f"{where}.identifier", Message(N_("missing or empty"))))
            continue
        if identifier in items:
            problems.append(Problem(f"{where}.identifier", Message(N_("%(id)s is used by another CFItem too"),
                                                                    id=repr(identifier))))
            continue
        if not _text(item.get("fullStatement")):
            problems.append(Problem(f"{where}.fullStatement", Message(N_("missing or empty"))))
        items[identifier] = item
    order = {identifier: position for position, identifier in enumerate(items)}

    children: dict[str, list[tuple[float, int, str]]] = {}
    has_parent: set[str] = set()
    # Keyed by (origin, destination): a repeated association is read once.
    precedes: dict[tuple[str, str], str] = {}
    skipped: dict[str, int] = {}
    for index, association in enumerate(association_list):
        where = f"CFAssociations[{index}]"
        if not isinstance(association, Mapping):
            problems.append(Problem(where, Message(N_("should be an object"))))
            continue
        kind = _text(association.get("associationType"))
        origin = _node(association.get("originNodeURI"))
        destination = _node(association.get("destinationNodeURI"))
        if not kind or origin is None or destination is None:
            problems.append(Problem(where, Message(
                N_("needs associationType, originNodeURI.identifier and destinationNodeURI.identifier"))))
            continue
        if kind == "isChildOf":
            if origin not in items:
                notes.append(Problem(where, Message(N_("%(id)s is not a CFItem of this package; its isChildOf is "
                                                         "skipped"), id=repr(origin))))
            elif destination in items:
                # Children without a sequenceNumber keep the order of CFItems, after the numbered ones.
                sequence = association.get("sequenceNumber")
                key = float(sequence) if _is_number(sequence) else math.inf
                children.setdefault(destination, []).append((key, order[origin], origin))
                has_parent.add(origin)
            elif destination != _text(document.get("identifier")):
                notes.append(Problem(where, Message(N_("parent %(parent)s of %(id)s is not in this package; read as "
                                                         "top-level"), parent=repr(destination), id=repr(origin))))
        elif kind == "precedes":
            precedes.setdefault((origin, destination), where)
        else:
            skipped[kind] = skipped.get(kind, 0) + 1
    if skipped:
        kinds = ", ".join(f"{kind} ({count})" for kind, count in sorted(skipped.items()))
        notes.append(Message(N_("skipped associations that set no order or grouping: %(kinds)s"), kinds=kinds))

    kids = {parent: [c for _, _, c in sorted(entries)] for parent, entries in children.items()}
    tree_order = _tree_order(items, kids, has_parent)
    position = {identifier: index for index, identifier in enumerate(tree_order)}
    leaves = [i for i in tree_order if i not in kids]

    under: dict[str, list[str]] = {}

    def skills_under(identifier: str) -> list[str]:
        if identifier not in kids:
            return [identifier]
        if identifier in under:
            return under[identifier]
        found: list[str] = []
        stack, seen = [identifier], {identifier}
        while stack:
            for child in kids.get(stack.pop(), ()):
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
                    if child not in kids:
                        found.append(child)
        under[identifier] = sorted(found, key=position.__getitem__)
        return under[identifier]

    # Ordered sets (dicts): each skill's prerequisites in the order the associations name them.
    prerequisites: dict[str, dict[str, None]] = {leaf: {} for leaf in leaves}
    links = 0
    for (origin, destination), where in precedes.items():
        missing = [node for node in (origin, destination) if node not in items]
        if missing:
            notes.append(Problem(where, Message(N_("%(id)s is not a CFItem of this package; its precedes is skipped"),
                                                 id=repr(missing[0]))))
            continue
        earlier_skills, later_skills = skills_under(origin), skills_under(destination)
        links += len(earlier_skills) * len(later_skills)
        if links > MAX_PREREQUISITE_LINKS:
            raise CasePackageError([Problem(where, Message(
                N_("the precedes associations make more than %(links)s prerequisite links between skills (a "
                   "grouping that precedes another links every skill under one to every skill under the other). "
                   "Link fewer or smaller groupings, or import the framework in parts."),
                links=MAX_PREREQUISITE_LINKS))])
        for later in later_skills:
            needs = prerequisites[later]
            for earlier in earlier_skills:
                if earlier != later:
                    needs[earlier] = None

    skills = tuple(
        Skill(
            id=leaf,
            name=_name(items[leaf]),
            description=_text(items[leaf].get("fullStatement")) or "",
            prerequisites=tuple(prerequisites[leaf]),
        )
        for leaf in leaves
    )
    units = tuple(
        Unit(
            id=parent,
            title=_name(items[parent]),
            description=_text(items[parent].get("fullStatement")) or "",
            skills=tuple(c for c in kids[parent] if c not in kids),
        )
        for parent in tree_order
        if parent in kids and any(c not in kids for c in kids[parent])
    )
    if not problems:
        try:
            SkillGraph(skills)
        except SkillGraphError as error:
            problems.append(Problem(Message(N_("precedes associations")), error.args[0]))
    if problems:
        raise CasePackageError(problems)
    return ImportedSkills(
        title=title,
        description=_text(document.get("description")) or "",
        skills=skills,
        units=units,
        notes=tuple(notes),
    )


def _tree_order(
    items: Mapping[str, Mapping[str, Any]], kids: Mapping[str, list[str]], has_parent: set[str]
) -> list[str]:
    # Depth first from the top-level items, as a framework is read; items reached twice keep their first place.
    ordered: list[str] = []
    seen: set[str] = set()
    for root in [i for i in items if i not in has_parent] + list(items):
        stack = [root]
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            ordered.append(current)
            stack.extend(reversed(kids.get(current, [])))
    return ordered


def _name(item: Mapping[str, Any]) -> str:
    code = _text(item.get("humanCodingScheme"))
    statement = _text(item.get("abbreviatedStatement")) or _text(item.get("fullStatement")) or ""
    return f"{code} {statement}".strip() if code else statement


def _node(link: object) -> str | None:
    return _text(link.get("identifier")) if isinstance(link, Mapping) else None


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _list(data: Mapping[str, Any], key: str, problems: list[str], required: bool = True) -> list[Any]:
    value = data.get(key)
    if value is None and not required:
        return []
    if not isinstance(value, list):
        problems.append(Problem(key, Message(N_("should be a list") if key in data else N_("missing"))))
        return []
    return value
