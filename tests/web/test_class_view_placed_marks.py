"""The class view's placement mark (bench/README.md, Round 21b): the heatmap looks in Python only at the students
whose placement check stands in for skills, and what it marks is exactly what each student's own plan goes by.

`services.diagnostic.placed_as_known` gives the heatmap the skills each such student's plan counts above the level
they hold, leaving every other student out (before, the heatmap copied every student's levels and compared them
skill by skill, and every cell of every row asked whether it was marked); the page shows the same marks as the
plan's levels (`planning_levels_by_person`), cell for cell, and a row without marks the same cells as before."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.mastery import Level
from tests.support import open_in_launch

from .test_placement_plan import _KNOWS, _take_check_knowing_fractions


def _class_levels(tool) -> tuple[int, dict[int, dict[str, Level]]]:
    from lti_tool.models import Course, SkillMastery
    from lti_tool.services.classroom import class_overview

    course = db.session.scalars(sa.select(Course)).one()
    _, students = class_overview(course.id, course.platform_id)
    assert {r.person_id for r in students} >= set(db.session.scalars(sa.select(SkillMastery.person_id)))
    return course.id, {r.person_id: r.levels for r in students}


def test_the_class_view_marks_only_what_each_students_plan_counts_above_their_level(sandbox, tool):
    from lti_tool.models import DiagnosticRun
    from lti_tool.services.diagnostic import placed_as_known, planning_levels_by_person

    _take_check_knowing_fractions(sandbox, tool)
    for classmate in ("student-2", "student-3"):
        sandbox.launch(classmate)  # in the class, no placement check
    with tool.app.app_context():
        try:
            course_id, levels = _class_levels(tool)
            checked = db.session.scalars(sa.select(DiagnosticRun.person_id)).one()  # the student who took it
            planning = planning_levels_by_person(course_id, levels)
            expected = {pid: frozenset(sid for sid, lv in planning[pid].items()
                                       if lv.rank > levels[pid].get(sid, Level.NOT_STARTED).rank)
                        for pid in levels}
            placed = placed_as_known(course_id, levels)
        finally:
            db.session.remove()
    assert len(levels) >= 3, "the student who took the check and two classmates who did not"
    # Only the student who took the check, with the skills their plan counts as known.
    assert set(placed) == {checked}
    assert placed[checked] == expected[checked] and placed[checked] <= set(_KNOWS)
    assert not any(expected[pid] for pid in levels if pid != checked)

    page = html.unescape(open_in_launch(sandbox.launch("teacher"), tool, "/class").text)
    rows = re.findall(r'<tr>\s*<th scope="row"><a href="[^"]*/students/(\d+)"[^>]*>.*?</tr>', page, re.S)
    assert sorted(int(pid) for pid in rows) == sorted(levels)
    for pid in levels:
        row = re.search(rf'<tr>\s*<th scope="row"><a href="[^"]*/students/{pid}".*?</tr>', page, re.S).group(0)
        marked = set(re.findall(r'<td class="level-cell level-\d placed-cell"><a href="[^"]*/skills/([^"/]+)"', row))
        assert marked == expected[pid], pid
        assert row.count("placement check: likely knows it") == len(expected[pid])
    assert 'id="placed-key"' in page
