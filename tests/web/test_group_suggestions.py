"""Group suggestions follow each student's readiness: one who mastered the skill is not sent to be retaught."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import submit_form

PACK = load_pack(demo_pack_data())
FIRST = PACK.skill_graph.topological_order()[0]


def _get(page, tool, path: str, **params):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), params=params, timeout=30)
    response.http = page.http
    return response


def test_in_a_small_class_the_student_who_mastered_the_skill_gets_a_challenge_group_of_their_own(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    view = _get(teacher, tool, "/class")
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    priya = next(pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select) if name == "Priya Shah")
    done = submit_form(view, "/class/override", person_id=priya, skill_id=FIRST, level="Mastered", note="Quiz")
    assert "Level set to Mastered" in done.text

    page = _get(teacher, tool, "/class/groups", skill=FIRST, kind="same-need")
    groups = re.findall(r'<li class="group">(.*?)</ul>\s*</li>', page.text, re.S)
    found = {}
    for group in groups:
        reason = html.unescape(re.search(r'<p class="group-reason">([^<]+)</p>', group).group(1))
        names = [html.unescape(n).strip() for n in re.findall(r"<li>([^<]+)<span", group)]
        found[tuple(sorted(names))] = reason
    assert len(found) == 2, found
    assert found[("Priya Shah",)].endswith("a challenge problem that stretches it further.")
    others = next(reason for names, reason in found.items() if "Priya Shah" not in names)
    assert "introduce it" in others or "reteach" in others
