"""The student plan page's list of units (templates/student/home.html), written here for speed.

A 400-skill course lists a hundred units; drawn in Jinja each item was some fifteen pieces, five of them escaped
expressions (with a `urlencode`), about a third of that page's template time. Here an item is one f-string, and
each value goes through the same escaping and quoting the template gave it: the markup is the template's, byte
for byte.
"""

from __future__ import annotations

import re
from collections.abc import Container, Sequence
from functools import lru_cache

from flask import url_for
from jinja2.filters import do_urlencode
from markupsafe import Markup, escape

from ..learning.coursepack import CoursePack
from ..learning.plan_units import UnitProgress, unit_groups, unit_of
from ..services.content import from_pack

#: What the item of the unit shown adds: its class, and aria-current on its link.
_CURRENT = (' class="unit-current"', ' aria-current="true"')
_OTHER = ("", "")


@lru_cache(maxsize=4096)
def _unit_pieces(unit_id: str, title: str) -> tuple[str, str]:
    """Return a unit's id as its link quotes it and its title, both escaped: the same for every student.

    Plain strings (the escaped text), not Markup: an f-string formats a str subclass through its __format__, a str
    as it is.
    """
    return str(escape(do_urlencode(unit_id))), str(escape(title))


def unit_list_items(units: Sequence[UnitProgress], shown_id: str | None, here: str, counts: Sequence[str],
                    check_units: Container[str], other_title: str, check_ready: str) -> Markup:
    """Return the `<li>` of each unit: a link to it (`here` + its quoted id), its count, "unit check ready" if so.

    The unit shown (`shown_id`) is marked for screen readers and by its class; `counts` are `unit_counts(units)`;
    `other_title` names the group of skills in no unit.
    """
    # Each value escaped as the template did, kept as plain strings (see _unit_pieces).
    here_html = str(escape(here))
    ready = f' <span class="unit-check-ready">· {escape(check_ready)!s}</span>'
    other_html = str(escape(other_title))
    counted: dict[str, str] = {}  # a few distinct counts ("2 of 4 skills…"), each escaped once
    items = []
    for unit, count in zip(units, counts, strict=True):
        current = _CURRENT if unit.id == shown_id else _OTHER
        quoted_id, title = _unit_pieces(unit.id, unit.title)
        count_html = counted.get(count)
        if count_html is None:
            count_html = counted[count] = str(escape(count))
        items.append(f'\n    <li{current[0]}><a href="{here_html}{quoted_id}#map-heading"{current[1]}>'
                     f'{other_html if unit.other else title}</a> <span class="unit-count">{count_html}</span>'
                     f'{ready if unit.id in check_units else ""}</li>')
    # Safe: every value above went through escape(); the rest is this function's own markup.
    return Markup("".join(items))  # noqa: S704


_NOT_IN_AN_ID = re.compile(r"[^A-Za-z0-9_-]")


@lru_cache(maxsize=4096)
def skill_anchor(skill_id: str) -> str:
    """Return the id of a skill's row in the plan's table: "skill-" and the skill's id, each character an HTML id or a
    fragment cannot carry plainly (a pack's ids are any text, spaces included) written as ".<hex>.", so no two
    skills share one."""
    return "skill-" + _NOT_IN_AN_ID.sub(lambda found: f".{ord(found.group()):x}.", skill_id)


def plan_address(pack: CoursePack, skill_id: str) -> str:
    """Return the plan page's address that shows the skill's unit (`?unit=`, as the list of units links to it) at the
    skill's row, for "Back to my plan" from practising it: the page's own unit may be another."""
    return url_for("course.home", unit=unit_of(from_pack(pack, unit_groups), skill_id)) + "#" + skill_anchor(skill_id)
