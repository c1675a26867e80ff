"""The plan page shows one unit's map and table, under a list of the course's units with their counts (issue 14).

A big course drew every skill on the plan (a 400-skill course: 400 map boxes and table rows). The page now shows
the unit the student is working in, or the one they pick from the list (`?unit=`, plain links); next steps,
reviews and unit checks stay course-wide.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import sqlalchemy as sa

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.lti.test_platform_storage import StorageLaunch
from tests.support import SandboxActions, open_in_launch
from tests.support import teacher_with_demo_pack as _teacher
from tests.web.test_classroom import _override, _person_ids

PACK = load_pack(demo_pack_data())
NAMES = {s.id: s.name for s in PACK.skills}
UNITS = {u.id: u for u in PACK.units}
FRACTIONS, RATIOS, LINEAR = "unit-fractions", "unit-ratios-rates", "unit-linear"


def _units(page) -> list[tuple[str, str, str, bool]]:
    """Return the list of units as (title, link, count, shown) in page order."""
    listed = re.search(r'data-testid="unit-list">(.*?)</section>', page.text, re.S).group(1)
    return [(html.unescape(title), html.unescape(href), count, current == ' aria-current="true"')
            for href, current, title, count in re.findall(
                r'<li[^>]*><a href="([^"]+)"((?: aria-current="true")?)>([^<]+)</a> <span class="unit-count">'
                r'([^<]+)</span>(?: <span class="unit-check-ready">[^<]+</span>)?</li>', listed)]


def _table(page) -> list[str]:
    """Return the skill names of the "Where you are on each skill" table, in order."""
    table = page.text.split('id="skills-heading"')[1].split("</table>")[0]
    return [html.unescape(name) for name in re.findall(r'<tr[^>]*><th scope="row">([^<]+)</th>', table)]


def _boxes(page) -> int:
    svg = re.search(r'<svg class="skill-map".*?</svg>', page.text, re.S).group(0)
    return len(re.findall(r'<g class="map-level map-level-\d">', svg))


def _steps(page) -> str:
    return re.search(r'<section aria-labelledby="next-heading">.*?</section>', page.text, re.S).group(0)


def _names(unit_id: str) -> set[str]:
    return {NAMES[s] for s in UNITS[unit_id].skills}


def _follow(page, tool, href: str):
    return open_in_launch(page, tool, href.split("#")[0])


def test_plan_shows_the_unit_the_student_works_in_and_each_units_count(sandbox, tool):
    teacher = _teacher(sandbox)
    plan = sandbox.launch("student")  # Priya Shah, nothing answered: her first step is in Fractions

    units = _units(plan)
    assert [title for title, _, _, _ in units] == [u.title for u in PACK.units]
    assert [count for _, _, count, _ in units] == ["0 of 4 skills at Proficient or above"] * 4
    assert [shown for _, _, _, shown in units] == [True, False, False, False]
    assert [link.split("?")[1] for _, link, _, _ in units] == [f"unit={u.id}#map-heading" for u in PACK.units]
    assert set(_table(plan)) == _names(FRACTIONS) and len(_table(plan)) == 4
    assert _boxes(plan) == 4
    assert '<h2 id="map-heading">Your skill map: Fractions</h2>' in plan.text
    assert '<h2 id="skills-heading">Where you are on each skill: Fractions</h2>' in plan.text

    view = open_in_launch(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    fractions, ratios = UNITS[FRACTIONS].skills, UNITS[RATIOS].skills
    _override(view, priya, fractions[0], "Mastered")
    _override(view, priya, ratios[0], "Proficient")
    _override(view, priya, ratios[1], "Proficient")
    _override(view, priya, ratios[2], "Familiar")  # below Proficient: not counted

    counts = [count for _, _, count, _ in _units(open_in_launch(plan, tool, "/"))]
    assert counts == ["1 of 4 skills at Proficient or above", "2 of 4 skills at Proficient or above",
                      "0 of 4 skills at Proficient or above", "0 of 4 skills at Proficient or above"]


def test_a_units_link_shows_its_map_and_table_and_keeps_the_next_steps(sandbox, tool):
    _teacher(sandbox)
    plan = sandbox.launch("student")
    (title, link, _, shown) = next(u for u in _units(plan) if u[0] == UNITS[LINEAR].title)
    assert not shown

    linear = _follow(plan, tool, link)
    assert linear.status_code == 200
    assert set(_table(linear)) == _names(LINEAR) and _boxes(linear) == 4
    assert [u[0] for u in _units(linear) if u[3]] == [title]  # aria-current moved with the unit shown
    assert f'<h2 id="map-heading">Your skill map: {title}</h2>' in linear.text
    assert _steps(linear) == _steps(plan)  # next steps are course-wide: the unit shown does not change them
    back = next(u[1] for u in _units(linear) if u[0] == UNITS[FRACTIONS].title)
    assert set(_table(_follow(linear, tool, back))) == _names(FRACTIONS)


def test_an_unknown_or_foreign_unit_shows_the_unit_the_student_works_in(sandbox, tool):
    _teacher(sandbox)
    plan = sandbox.launch("student")
    # No such unit, another course's unit, the id of the "Other skills" group in a pack where every skill is in a
    # unit, a unit's title instead of its id, and nothing at all.
    for asked in ("no-such-unit", "unit-science-8", "other-skills", "Fractions", "", "unit-fractions/../x"):
        page = open_in_launch(plan, tool, "/", unit=asked)
        assert page.status_code == 200, asked
        assert [u[0] for u in _units(page) if u[3]] == [UNITS[FRACTIONS].title], asked
        assert set(_table(page)) == _names(FRACTIONS), asked


def test_the_default_unit_follows_the_first_next_step(sandbox, tool):
    teacher = _teacher(sandbox)
    plan = sandbox.launch("student")
    view = open_in_launch(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    for skill_id in UNITS[FRACTIONS].skills:
        _override(view, priya, skill_id, "Mastered")

    plan = open_in_launch(plan, tool, "/")
    first_step = re.search(r'href="[^"]*/practice/([^"?]+)"', plan.text).group(1)
    shown = next(u for u in PACK.units if first_step in u.skills)
    assert shown.id != FRACTIONS
    assert [u[0] for u in _units(plan) if u[3]] == [shown.title]
    assert set(_table(plan)) == _names(shown.id)
    assert _units(plan)[0][2] == "4 of 4 skills at Proficient or above"


def _check_panels(page) -> list[str]:
    """Return the titles of the unit-check panels above the next steps, in order."""
    return [html.unescape(title) for title in re.findall(
        r'data-testid="unit-check-panel">\s*<h2[^>]*><span[^>]*>[^<]*</span>'
        r'(?:<span class="visually-hidden">[^<]*</span>)?([^<]+)</h2>', page.text)]


def _ready(page) -> list[str]:
    """Return the titles of the units the list marks as having a unit check ready."""
    listed = re.search(r'data-testid="unit-list">(.*?)</section>', page.text, re.S).group(1)
    return [html.unescape(title) for title in re.findall(
        r'<a href="[^"]+"(?: aria-current="true")?>([^<]+)</a> <span class="unit-count">[^<]+</span> '
        r'<span class="unit-check-ready">', listed)]


def test_a_student_who_began_every_unit_sees_two_unit_checks_and_the_rest_marked_in_the_list(sandbox, tool):
    # A big course offered a panel for every unit begun (a hundred on 400 skills) above the next steps; the page
    # shows two (the unit shown first) and marks every unit with a check ready in the list of units.
    teacher = _teacher(sandbox)
    plan = sandbox.launch("student")
    view = open_in_launch(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    for unit in PACK.units:
        for skill_id in unit.skills[:3]:  # most of each unit begun: each unit offers its check
            _override(view, priya, skill_id, "Familiar")

    plan = open_in_launch(plan, tool, "/")
    shown = next(u[0] for u in _units(plan) if u[3])
    panels = _check_panels(plan)
    assert len(panels) == 2 and panels[0] == shown
    assert "Unit checks are also ready in 2 more units: they are marked in your units below." in plan.text
    assert _ready(plan) == [u.title for u in PACK.units]

    linear = _follow(plan, tool, next(u[1] for u in _units(plan) if u[0] == UNITS[LINEAR].title))
    assert _check_panels(linear)[0] == UNITS[LINEAR].title  # the unit opened from the list puts its check first
    assert len(_check_panels(linear)) == 2


def _course_with_pack(sandbox, tool, pack: dict):
    """Launch as the teacher (creating the course) and give it this pack through the service."""
    sandbox.launch("teacher")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course
        from lti_tool.models.base import utcnow
        from lti_tool.services.content import import_pack

        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        import_pack(course_id, pack, now=utcnow())
        db.session.remove()


def test_skills_in_no_unit_are_their_own_group_and_a_pack_without_units_shows_every_skill(sandbox, tool):
    data = demo_pack_data()
    left_out = data["units"].pop()  # the last unit's skills are now in no unit
    _course_with_pack(sandbox, tool, data)
    plan = sandbox.launch("student")
    units = _units(plan)
    assert [u[0] for u in units] == [u["title"] for u in data["units"]] + ["Other skills"]
    assert units[-1][2] == "0 of 4 skills at Proficient or above"
    other = _follow(plan, tool, units[-1][1])
    assert set(_table(other)) == {NAMES[s] for s in left_out["skills"]}
    assert '<h2 id="map-heading">Your skill map: Other skills</h2>' in other.text

    data["units"] = []
    _course_with_pack(sandbox, tool, data)
    plan = open_in_launch(plan, tool, "/", unit=UNITS[FRACTIONS].id)
    assert 'data-testid="unit-list"' not in plan.text
    assert set(_table(plan)) == set(NAMES.values()) and _boxes(plan) == len(NAMES)
    assert '<h2 id="skills-heading">Where you are on each skill</h2>' in plan.text


def test_unit_links_carry_the_launch_token_when_the_browser_keeps_no_cookie(make_tool):
    # Inside an LMS frame that blocks cookies the launch token in the address is the session: a unit's link keeps
    # it, and the unit's page opens in that same cookie-less browser.
    launch = StorageLaunch(SandboxActions(make_tool(DEFAULT_COURSE_PACK="demo")))
    home = launch.confirm()
    assert "lt=" in home.url and not launch.http.cookies
    (_, link, _, _) = next(u for u in _units(home) if u[0] == UNITS[LINEAR].title)
    query = parse_qs(urlsplit(link).query)
    assert query["unit"] == [LINEAR] and len(query["lt"]) == 1
    linear = launch.http.get(urljoin(home.url, link), timeout=30)
    assert linear.status_code == 200 and set(_table(linear)) == _names(LINEAR)
