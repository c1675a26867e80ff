"""The skill map's repeated SVG parts (templates/_skill_map.html draws the rest), written here for speed.

A plan page draws every skill of the course: on a 400-skill course the student's map is 400 boxes and their
prerequisite lines. Drawn in Jinja, each box was two macro calls and some twenty escaped expressions (about 50 µs
a box, most of the page's time); here a box is one f-string, and only the texts (a skill's name, a level's
word) are escaped. The markup is the template's, element for element.
"""

from __future__ import annotations

import textwrap
from functools import lru_cache

from markupsafe import Markup, escape

from ..learning.map_layout import MapEdge, MapLayout
from .i18n import level_words

_ON = " map-dot-on"


@lru_cache(maxsize=4096)
def map_name_lines(name: str) -> tuple[str, ...]:
    """Return a skill's name as a map box shows it: at most two lines of 24 characters, "…" when it is cut.

    Wrapped as Jinja's `wordwrap` does (each line of the name on its own), once per name and process.
    """
    # An empty line of the name stays an empty line, and an empty name one empty line, as with `wordwrap`.
    lines = [wrapped for line in name.splitlines()
             for wrapped in textwrap.wrap(line, width=24, expand_tabs=False, replace_whitespace=False) or [""]]
    lines = lines or [""]
    return tuple(lines[:2]) if len(lines) <= 2 else (lines[0], lines[1] + "…")


@lru_cache(maxsize=64)
def map_dots(x: int, y: int, rank: int) -> Markup:
    """Return four dots, one filled per level above Not started (the map's key draws one row per level)."""
    # Safe: integers and fixed markup only.
    return Markup("".join(  # noqa: S704
        f'<circle cx="{x + 5 + n * 11}" cy="{y + 1}" r="4" class="map-dot{_ON if n < rank else ""}"/>'
        for n in range(4)))


def map_edges(edges: tuple[MapEdge, ...], map_id: str) -> Markup:
    """Return the prerequisite lines: a curve from the right middle of one box to the left middle of the next."""
    marker = escape(f"url(#{map_id}-arrow)")
    # Safe: the id is escaped, everything else is the layout's integers.
    return Markup("\n  ".join(  # noqa: S704
        f'<path class="map-edge" d="M{e.x1} {e.y1} C{e.x1 + 28} {e.y1} {e.x2 - 28} {e.y2} {e.x2 - 2} {e.y2}" '
        f'marker-end="{marker}"/>' for e in edges))


def student_map_boxes(layout: MapLayout, names: dict[str, str], levels: dict) -> Markup:
    """Return a student's boxes: each skill's name, and their level as filled dots and in words (never colour only).

    `levels` maps a skill to the student's Level; a skill without one is Not started.
    """
    words = {level: str(escape(word)) for level, word in level_words().items()}
    w, h = layout.node_width, layout.node_height
    boxes = []
    for node in layout.nodes:
        level = levels.get(node.skill_id)
        rank = level.rank if level else 0
        x, y = node.x, node.y
        x8 = x + 8
        # A space ends each line but the last: read as one text, the lines must not run together (templates/_skill_map).
        first, *rest = _name_lines_html(names.get(node.skill_id, node.skill_id))
        name = f'<tspan x="{x8}" dy="0">{first}{" " if rest else ""}</tspan>'
        if rest:
            name += f'<tspan x="{x8}" dy="16">{rest[0]}</tspan>'
        cy = y + h - 15
        on, word = _DOT_CLASSES[rank], words[level or "Not started"]
        boxes.append(f'<g class="map-level map-level-{rank}">\n'
                     f'    <rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" class="map-node"/>\n'
                     f'    <text x="{x8}" y="{y + 19}" class="map-name">{name}</text>\n'
                     f'    <circle cx="{x8 + 5}" cy="{cy}" r="4" class="{on[0]}"/>'
                     f'<circle cx="{x8 + 16}" cy="{cy}" r="4" class="{on[1]}"/>'
                     f'<circle cx="{x8 + 27}" cy="{cy}" r="4" class="{on[2]}"/>'
                     f'<circle cx="{x8 + 38}" cy="{cy}" r="4" class="{on[3]}"/>\n'
                     f'    <text x="{x + 58}" y="{y + h - 11}" class="map-word">{word}</text>\n'
                     f'  </g>')
    # Safe: the names and words are escaped above, everything else is the layout's integers.
    return Markup("\n  ".join(boxes))  # noqa: S704


#: Each rank's four dots' classes: one filled per level above Not started (as map_dots).
_DOT_CLASSES = tuple(tuple(f"map-dot{_ON if n < rank else ''}" for n in range(4)) for rank in range(5))


@lru_cache(maxsize=4096)
def _name_lines_html(name: str) -> tuple[str, ...]:
    """Return a skill's name as map_name_lines cuts it, each line escaped: the same for every student."""
    return tuple(str(escape(line)) for line in map_name_lines(name))
