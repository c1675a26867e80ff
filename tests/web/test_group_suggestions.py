"""Group suggestions follow each student's readiness: one who mastered the skill is not sent to be retaught."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import submit_form

PACK = load_pack(demo_pack_data())
FIRST, SECOND = PACK.skill_graph.topological_order()[:2]


def _get(page, tool, path: str, **params):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), params=params, timeout=30)
    response.http = page.http
    return response


def _groups(teacher, tool, skill_id):
    """Return the same-need groups on the skill (or skills): {sorted member names: (the group's reason, its text)}."""
    page = _get(teacher, tool, "/class/groups", skill=skill_id, kind="same-need")
    found = {}
    for group in re.findall(r'<li class="group">(.*?)</ul>\s*</li>', page.text, re.S):
        reason = html.unescape(re.search(r'<p class="group-reason">([^<]+)</p>', group).group(1))
        names = [html.unescape(n).strip() for n in re.findall(r"<li>([^<]+)<span", group)]
        found[tuple(sorted(names))] = (reason, html.unescape(group))
    return found


def _class_where_priya_is(sandbox, tool, level: str, students: int):
    """Launch the teacher (demo pack) and `students` students; the teacher sets Priya's first skill to `level`."""
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    for who in ("student", "student-2", "student-3", "student-4")[:students]:
        sandbox.launch(who)
    view = _get(teacher, tool, "/class")
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    priya = next(pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select) if name == "Priya Shah")
    done = submit_form(view, "/class/override", person_id=priya, skill_id=FIRST, level=level, note="Quiz")
    assert f"Level set to {level}" in done.text
    return teacher


def test_in_a_small_class_the_student_who_mastered_the_skill_gets_a_challenge_group_of_their_own(sandbox, tool):
    teacher = _class_where_priya_is(sandbox, tool, "Mastered", students=3)

    found = {names: reason for names, (reason, _) in _groups(teacher, tool, FIRST).items()}
    assert len(found) == 2, found
    assert found[("Priya Shah",)].endswith("a challenge problem that stretches it further.")
    others = next(reason for names, reason in found.items() if "Priya Shah" not in names)
    assert "introduce it" in others or "reteach" in others


def test_a_skill_the_placement_check_found_known_is_not_introduced_to_the_student_again(sandbox, tool):
    # The reviewer's walk: the check found Equivalent fractions known (never asked: inferred from Divide fractions);
    # the student's plan offers only a short practice to confirm it, but the groups put them in "introduce it with a
    # short demonstration" with classmates who never saw it. Groups go by the levels the plan goes by.
    from tests.web.test_placement_plan import _levels, _take_check_knowing_fractions

    _, _ = _take_check_knowing_fractions(sandbox, tool)
    assert _levels(tool)["Equivalent fractions"] == "Not started"  # the student's own level: the check stands in
    for who in ("student-2", "student-3"):
        sandbox.launch(who)
    found = _groups(sandbox.launch("teacher"), tool, "frac-equivalent")
    priya = next(value for names, value in found.items() if "Priya Shah" in names)
    assert "introduce it" not in priya[0], found
    # Her own level is shown (the plan's table's), with why the groups count her as ready on it.
    assert "the placement check suggests they know it: a short practice confirms it" in priya[1]
    # One truth per skill: her badge says Not started, so the group's reason does not call her Proficient with it,
    # nor send her group to "mixed practice to reach Mastered"; it says what the check suggests.
    assert "Proficient" not in priya[0] and "Mastered" not in priya[0], priya[0]
    assert "placement check suggests" in priya[0] and priya[0].endswith("a short practice confirms it."), priya[0]
    others = next(value for names, value in found.items() if "Priya Shah" not in names)
    assert "introduce it" in others[0]


def test_grouped_by_two_skills_a_student_proficient_on_one_is_not_in_the_group_introduced_to_it(sandbox, tool):
    # The teacher's walk: by Equivalent fractions and the next skill, Priya (badge: Proficient · Equivalent
    # fractions) sat in "Focus on Equivalent fractions: introduce it with a short demonstration" with three
    # classmates who never started it. The lesson her group gets is one none of its members has shown.
    teacher = _class_where_priya_is(sandbox, tool, "Proficient", students=4)
    first, second = PACK.skills_by_id[FIRST].name, PACK.skills_by_id[SECOND].name

    found = _groups(teacher, tool, [FIRST, SECOND])

    priyas = next(value for names, value in found.items() if "Priya Shah" in names)
    assert f"Proficient · {first}" in priyas[1]  # her badge on the page
    assert f"Focus on {first}:" not in priyas[0], priyas[0]
    for reason, _ in found.values():
        if "introduce it" in reason or "reteach" in reason:
            assert reason.count("Focus on ") == 1
    assert f"Focus on {second}: introduce it" in priyas[0], priyas[0]
