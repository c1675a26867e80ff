"""Place a skill map on a page: prerequisites left of the skills that need them, few crossing lines.

A layered drawing (Sugiyama style, kept small): each skill's column is the length of the longest chain of
prerequisites below it, so every prerequisite line runs left to right; within a column, skills are ordered by the
mean row of their neighbours (barycentre), swept right and then left a few times to untangle lines. Pure and
deterministic: the same map always gives the same picture, ties keep the map's own order.
"""

from __future__ import annotations

from dataclasses import dataclass

from .skills import SkillGraph

#: Right-then-left passes of barycentre ordering; more rarely changes a course-sized map.
SWEEPS = 4


@dataclass(frozen=True)
class PlacedSkill:
    """One skill's box: its column (layer), its place in the column, and its top-left corner."""

    skill_id: str
    layer: int
    order: int
    x: int
    y: int


@dataclass(frozen=True)
class MapEdge:
    """A prerequisite line, from the right middle of the prerequisite's box to the left middle of the skill's."""

    prerequisite: str
    skill_id: str
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass(frozen=True)
class MapLayout:
    """Where every skill and prerequisite line goes, and the size of the whole drawing."""

    nodes: tuple[PlacedSkill, ...]
    edges: tuple[MapEdge, ...]
    width: int
    height: int
    node_width: int
    node_height: int

    def node(self, skill_id: str) -> PlacedSkill:
        """Return the box of one skill."""
        return next(n for n in self.nodes if n.skill_id == skill_id)


def _barycentre(graph: SkillGraph, skill_id: str, row: dict[str, float], rightward: bool) -> float:
    """Return the mean row of the skill's neighbours in the columns already placed on this sweep."""
    near = graph.prerequisites_of(skill_id) if rightward else graph.dependents_of(skill_id)
    # A skill with no neighbours on this side keeps its row instead of jumping to the top.
    return sum(row[n] for n in near) / len(near) if near else row[skill_id]


def layers_of(graph: SkillGraph) -> dict[str, int]:
    """Return each skill's column: 0 without prerequisites, else one more than its furthest prerequisite."""
    layer: dict[str, int] = {}
    for skill_id in graph.topological_order():
        prerequisites = graph.prerequisites_of(skill_id)
        layer[skill_id] = 1 + max((layer[p] for p in prerequisites), default=-1)
    return layer


def layout_skill_map(graph: SkillGraph, *, node_width: int = 200, node_height: int = 76, column_gap: int = 56,
                     row_gap: int = 20, margin: int = 8) -> MapLayout:
    """Return a left-to-right layered layout of the map: boxes that never overlap, lines that always go right."""
    layer = layers_of(graph)
    given = {skill.id: index for index, skill in enumerate(graph)}
    columns: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for skill_id in sorted(layer, key=lambda s: given[s]):
        columns[layer[skill_id]].append(skill_id)
    tallest = max((len(column) for column in columns), default=0)

    def rows(column: list[str]) -> dict[str, float]:
        # A column shorter than the tallest is centred, so compare rows in the same centred frame.
        offset = (tallest - len(column)) / 2
        return {skill_id: offset + index for index, skill_id in enumerate(column)}

    row: dict[str, float] = {}
    for column in columns:
        row.update(rows(column))
    for sweep in range(2 * SWEEPS):
        rightward = sweep % 2 == 0
        order = range(1, len(columns)) if rightward else range(len(columns) - 2, -1, -1)
        for index in order:
            column = columns[index]
            # Keyed on the current row too, so equal barycentres keep their order.
            keys = {s: (_barycentre(graph, s, row, rightward), row[s]) for s in column}
            column.sort(key=keys.__getitem__)
            row.update(rows(column))

    step_x, step_y = node_width + column_gap, node_height + row_gap
    nodes = []
    for layer_index, column in enumerate(columns):
        offset = (tallest - len(column)) * step_y // 2
        for order_index, skill_id in enumerate(column):
            nodes.append(PlacedSkill(skill_id, layer_index, order_index, margin + layer_index * step_x,
                                     margin + offset + order_index * step_y))
    placed = {node.skill_id: node for node in nodes}
    edges = tuple(
        MapEdge(p, skill.id, placed[p].x + node_width, placed[p].y + node_height // 2, placed[skill.id].x,
                placed[skill.id].y + node_height // 2)
        for skill in graph for p in skill.prerequisites
    )
    width = 2 * margin + max(len(columns) * step_x - column_gap, 0)
    height = 2 * margin + max(tallest * step_y - row_gap, 0)
    return MapLayout(tuple(nodes), edges, width, height, node_width, node_height)
