"""The class view at a glance: a summary row of how many students are at each level, and how many need help now."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import submit_form

PACK = load_pack(demo_pack_data())


def _get(page, tool, path: str):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), timeout=30)
    response.http = page.http
    return response


def _person_ids(page) -> dict[str, int]:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    return {html.unescape(name): int(pid) for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select)}


def _summary(page) -> list[str]:
    row = re.search(r'<tr class="class-summary">(.*?)</tr>', page.text, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", cell).split()) for cell in cells]


def _badge(page) -> str | None:
    link = re.search(r'href="[^"]*/class/needs-help[^"]*"[^>]*>(.*?)</a>', page.text, re.S).group(1)
    found = re.search(r'<span class="count-badge">(\d+)<span class="visually-hidden"> ([a-z]+)</span>', link)
    return f"{found.group(1)} {found.group(2)}" if found else None


def test_class_view_sums_up_each_skill_by_level_and_counts_who_needs_help(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student-2")
    student = sandbox.launch("student")
    view = _get(teacher, tool, "/class")
    assert _badge(view) is None  # no one needs help yet: no badge
    ids = _person_ids(view)
    first = PACK.skill_graph.topological_order()[0]
    done = submit_form(view, "/class/override", person_id=str(ids["Priya Shah"]), skill_id=first, level="Mastered",
                       note="Seen in class")
    assert "Level set to Mastered" in done.text
    summary = _summary(_get(teacher, tool, "/class"))
    assert summary[0] == "Mastered 1 Not started 1"
    assert summary[1] == "Not started 2"
    assert summary[-1] == "2 students"

    practice = student.http.get(tool.url(html.unescape(
        re.search(r'href="([^"]*/practice/[^"/?]+)"', student.text).group(1))), timeout=30)
    practice.http = student.http
    asked = submit_form(practice, "/ask")
    assert "Your teacher will see that you asked" in asked.text
    assert _badge(_get(teacher, tool, "/class")) == "1 student"
    assert _badge(_get(teacher, tool, "/")) == "1 student"
    needs = _get(teacher, tool, "/class/needs-help")
    assert re.search(r'/students/\d+/skills/[^"]+" aria-label="See the answers \(Priya Shah, asked for help\)">', needs.text)  # straight to what they did
    # Filtered to one student, the summary counts only the students shown.
    below = _get(teacher, tool, f"/class?skill={first}&below=Mastered")
    assert _summary(below)[0] == "Not started 1" and _summary(below)[-1] == "1 student"
