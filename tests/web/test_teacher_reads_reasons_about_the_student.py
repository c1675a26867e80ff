"""A teacher's page about a student gives each level's reason about the student, not to them ("you got …")."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import launch_with_presentation, open_in_launch, served_answer, submit_form

PACK = load_pack(demo_pack_data())
FIRST_SKILL = PACK.units[0].skills[0]


def _take_placement_check_right(sandbox, tool) -> None:
    student = sandbox.launch("student")
    link = re.search(r'href="([^"]*/diagnostic)"', student.text).group(1)
    page = student.http.get(tool.url(link), timeout=30)
    page.http = student.http
    while "/diagnostic/result" not in page.url:
        page = submit_form(page, "/diagnostic", answer=served_answer(tool, page))


def _why_column(page) -> str:
    body = re.search(r'id="skills-heading".*?<tbody>(.*?)</tbody>', page.text, re.S).group(1)
    return html.unescape(" ".join(re.findall(r"<td>(.*?)</td></tr>", body, re.S)))


def _student_page(teacher, tool):
    view = open_in_launch(teacher, tool, "/class")
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    priya = int(re.search(r'value="(\d+)">Priya Shah<', select).group(1))
    return view, open_in_launch(teacher, tool, f"/students/{priya}")


def test_the_why_column_on_a_teachers_student_page_speaks_about_the_student(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    _take_placement_check_right(sandbox, tool)
    view, _ = _student_page(teacher, tool)
    done = submit_form(view, "/class/override", person_id=re.search(r'value="(\d+)">Priya Shah<', view.text).group(1),
                       skill_id=FIRST_SKILL, level="Mastered", note="Seen in class",
                       note_to_student="Great work at the board!")
    assert done.status_code == 200

    _, page = _student_page(teacher, tool)
    why = _why_column(page)
    assert "Set by a teacher: Great work at the board!" in why
    assert "From the placement check: got " in why or "From the placement check: answered " in why
    assert "your teacher" not in why and "you " not in why.replace("You", "you")

    # The student still reads the reasons spoken to them.
    home = sandbox.launch("student")
    assert "Set by your teacher: Great work at the board!" in html.unescape(home.text)

    # In Spanish the teacher is not told "tu profe" about their own student.
    spanish = launch_with_presentation(sandbox, "teacher", locale="es")
    _, page = _student_page(spanish, tool)
    why = _why_column(page)
    assert "tu profe" not in why and "you got" not in why and "Great work at the board!" in why
