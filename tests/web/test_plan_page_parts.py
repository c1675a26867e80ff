"""The plan page's parts written in Python for speed draw what the template drew (issue 14)."""

from __future__ import annotations

import re

import pytest
from flask import render_template_string
from flask_babel import force_locale

from lti_tool.learning.plan_units import UnitProgress

# The loop templates/student/home.html had before web/plan_page.py drew the list of units (kept here to compare).
TEMPLATE_LOOP = """<ul>
  {%- for unit in units %}{% set current = unit.id == shown %}
    <li{% if current %} class="unit-current"{% endif %}><a href="{{ here }}{{ unit.id|urlencode }}#map-heading"{% if current %} aria-current="true"{% endif %}>{{ other_title if unit.other else unit.title }}</a> <span class="unit-count">{{ counts[loop.index0] }}</span>{% if unit.id in check_units %} <span class="unit-check-ready">· {{ check_ready }}</span>{% endif %}</li>
  {%- endfor %}
  </ul>"""  # noqa: E501 - the template's line as it was
HELPER = """<ul>
  {{- unit_list_items(units, shown, here, counts, check_units, other_title, check_ready) }}
  </ul>"""


def test_the_list_of_units_is_the_markup_the_template_loop_wrote(tool):
    units = [
        UnitProgress("unit-fractions", "Fractions", ("a",), 1),
        UnitProgress("ratios & rates/2", 'Ratios <"rates"> & percents', ("b", "c"), 0),
        UnitProgress("número uno", "Números ¿y? más", ("d",), 0),
        UnitProgress("other-skills", "", ("e", "f"), 2, other=True),
    ]
    values = {
        "units": units, "here": "/c/abc/?lt=x&y=<z>&unit=", "counts": ["1 of 1", "0 of 2 <b>", "0 of 1", "2 of 2"],
        "check_units": {"ratios & rates/2", "other-skills"}, "other_title": "Other & more skills",
        "check_ready": "unit check <ready>",
    }
    with tool.app.test_request_context("/"):
        for shown in ("ratios & rates/2", "other-skills", "unit-fractions", None):
            old = render_template_string(TEMPLATE_LOOP, shown=shown, **values)
            assert render_template_string(HELPER, shown=shown, **values) == old
            assert old.count("<li") == 4 and "&lt;ready&gt;" in old and "ratios%20%26%20rates/2" in old


def test_template_words_are_each_languages_own_and_values_are_escaped(tool):
    page = ("{% trans %}Sign out{% endtrans %}|{{ _('Sign out') }}|{% trans name=name %}Welcome, {{ name }}{% endtrans %}"
            "|{% trans count=n %}{{ count }} skill{% pluralize %}{{ count }} skills{% endtrans %}")
    with tool.app.test_request_context("/"):
        for _ in range(2):  # the second time from the words kept per catalogue
            with force_locale("es"):
                spanish = render_template_string(page, name="<Ana>", n=2)
            with force_locale("en"):
                english = render_template_string(page, name="<Ana>", n=1)
            assert spanish.split("|")[:2] == ["Cerrar sesión", "Cerrar sesión"]
            assert english == "Sign out|Sign out|Welcome, &lt;Ana&gt;|1 skill"
            assert "&lt;Ana&gt;" in spanish.split("|")[2] and "<Ana>" not in spanish


@pytest.mark.parametrize(("helper", "endpoint", "argument"), [
    ("lti_tool.web.learning:practice_hrefs", "learning.practice", "skill_id"),
    ("lti_tool.web.unit_check:unit_check_hrefs", "unit_check.start", "unit_id"),
])
def test_the_plans_links_built_with_one_url_for_are_the_addresses_url_for_gives(tool, helper, endpoint, argument):
    # The plan builds its practice and unit-check links from one url_for each (web/course.py addresses; a hundred
    # units on a 400-skill course): each must be the address url_for gives, odd ids included, launch token kept.
    import importlib

    from flask import g, url_for

    module, name = helper.split(":")
    hrefs = getattr(importlib.import_module(module), name)
    ids = ["frac-equivalent", "a b/c", "ü?&#%", "0", "practice", "unit-check"]
    with tool.app.test_request_context("/"):
        g.launch, g.launch_token = None, "tok.en-1"
        expected = [url_for(endpoint, **{argument: value}, launch_id="L-1_x") for value in ids]
        g.launch = type("Launch", (), {"id": "L-1_x"})()
        assert hrefs(ids) == expected
        assert all(href.endswith("?lt=tok.en-1") for href in expected)


@pytest.mark.parametrize("token", ["tok.en-1", None])
def test_the_plans_evidence_links_built_with_one_url_for_are_the_addresses_url_for_gives(tool, token):
    # The next steps' evidence links (`?skill_id=`, web/course.py query_addresses): one url_for for the ids that
    # quoting leaves alone, url_for itself for the others; the launch token kept, before or after the skill.
    from flask import g, url_for

    from lti_tool.web.agency import evidence_hrefs

    ids = ["frac-equivalent", "a b/c", "ü?&#%=0", "0", "skill_id", "x.y~z_1", "lt"]
    with tool.app.test_request_context("/"):
        g.launch, g.launch_token = None, token
        expected = {value: url_for("agency.evidence", skill_id=value, launch_id="L-1_x") for value in ids}
        g.launch = type("Launch", (), {"id": "L-1_x"})()
        assert evidence_hrefs(ids) == expected
        assert expected["frac-equivalent"].endswith("/evidence?skill_id=frac-equivalent" + (f"&lt={token}" if token else ""))
        assert evidence_hrefs([]) == {}


def test_the_map_key_drawn_once_per_language_is_the_macros_markup_in_that_language(tool):
    # The plan page draws the map's key once per language (web/i18n.py drawn_once_per_language): each language's
    # page gets the macro's own markup in its words, the first time and from the kept copy.
    page = ('{% from "_skill_map.html" import level_legend with context %}'
            '{{ drawn_once_per_language("level_legend", level_legend) }}')
    direct = '{% from "_skill_map.html" import level_legend with context %}{{ level_legend() }}'
    with tool.app.test_request_context("/"):
        for _ in range(2):
            for language in ("es", "en", "es"):
                with force_locale(language):
                    drawn = render_template_string(page)
                    assert drawn == render_template_string(direct)
                    assert ("Sin empezar" in drawn) == (language == "es")


def test_every_skill_id_gives_its_own_row_anchor_and_its_first_unit():
    # Guard: a pack's skill ids are any text; the row's id (and "Back to my plan"'s fragment) carries none of the
    # characters an id or a fragment cannot, and no two skills share one.
    from lti_tool.learning.plan_units import unit_of
    from lti_tool.web.plan_page import skill_anchor

    ids = ["frac-equivalent", "frac equivalent", "frac.equivalent", "frac.20.equivalent", "número/1", "a_b", "#x"]
    anchors = [skill_anchor(skill_id) for skill_id in ids]
    assert anchors[0] == "skill-frac-equivalent"
    assert len(set(anchors)) == len(ids)
    assert all(re.fullmatch(r"skill-[A-Za-z0-9_.-]+", anchor) for anchor in anchors), anchors
    groups = (("u1", "One", ("a", "b"), False), ("u2", "Two", ("b", "c"), False), ("other-skills", "", ("d",), True))
    assert [unit_of(groups, s) for s in "abcdz"] == ["u1", "u1", "u2", "other-skills", None]
    assert unit_of((), "a") is None  # a pack without units: the plan shows every skill


def _boxes_as_the_format_string_wrote_them(layout, names, levels) -> str:
    """web/skill_map.py student_map_boxes before it wrote each box as one f-string (kept here to compare)."""
    from markupsafe import escape

    from lti_tool.web.i18n import level_words
    from lti_tool.web.skill_map import map_name_lines

    box = ('<g class="map-level map-level-{rank}">\n'
           '    <rect x="{x}" y="{y}" width="{w}" height="{h}" rx="6" class="map-node"/>\n'
           '    <text x="{x8}" y="{name_y}" class="map-name">{name}</text>\n'
           '    {dots}\n'
           '    <text x="{word_x}" y="{word_y}" class="map-word">{word}</text>\n'
           '  </g>')
    words = {level: escape(word) for level, word in level_words().items()}
    w, h = layout.node_width, layout.node_height
    boxes = []
    for node in layout.nodes:
        level = levels.get(node.skill_id)
        rank = level.rank if level else 0
        x8 = node.x + 8
        lines = map_name_lines(names.get(node.skill_id, node.skill_id))
        last = len(lines) - 1
        name = "".join(f'<tspan x="{x8}" dy="{16 if n else 0}">{escape(line)}{" " if n < last else ""}</tspan>'
                       for n, line in enumerate(lines))
        cy = node.y + h - 15
        dots = "".join(f'<circle cx="{x8 + 5 + n * 11}" cy="{cy}" r="4" class="map-dot{" map-dot-on" if n < rank else ""}"/>'
                       for n in range(4))
        boxes.append(box.format(rank=rank, x=node.x, y=node.y, w=w, h=h, x8=x8, name_y=node.y + 19, name=name,
                                dots=dots, word_x=node.x + 58, word_y=node.y + h - 11,
                                word=words[level or "Not started"]))
    return "\n  ".join(boxes)


def test_the_students_map_boxes_are_the_markup_the_format_string_wrote(tool):
    # Guard: web/skill_map.py writes each box as one f-string, its names escaped once per process; the markup must
    # stay what it was, byte for byte, for every level, in both languages, for names to escape, cut or leave empty.
    from lti_tool.learning.map_layout import MapLayout, PlacedSkill
    from lti_tool.learning.mastery import Level
    from lti_tool.web.skill_map import student_map_boxes

    names = {"a": "Fractions & <ratios>", "b": "Add and subtract fractions with unlike denominators, twice over",
             "c": "", "d": 'Say "why"\nin two lines', "e": "x" * 60, "f": "Números ¿y? más"}
    ids = [*names, "not-named"]
    layout = MapLayout(nodes=tuple(PlacedSkill(skill_id=skill, layer=n % 3, order=n, x=8 + 256 * (n % 3), y=8 + 96 * n)
                                   for n, skill in enumerate(ids)),
                       edges=(), width=728, height=700, node_width=200, node_height=76)
    levels = dict(zip(ids, [*Level, None, Level.MASTERED], strict=True))
    with tool.app.test_request_context("/"):
        for language in ("en", "es", "en"):
            with force_locale(language):
                drawn = student_map_boxes(layout, names, levels)
                assert drawn == _boxes_as_the_format_string_wrote_them(layout, names, levels)
                assert ("Sin empezar" in drawn) == (language == "es")
    assert "Fractions &amp; &lt;ratios&gt;" in drawn and drawn.count("map-dot-on") == 1 + 2 + 3 + 4 + 4
