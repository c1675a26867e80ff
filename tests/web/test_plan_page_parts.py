"""The plan page's parts written in Python for speed draw what the template drew (issue 14)."""

from __future__ import annotations

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
