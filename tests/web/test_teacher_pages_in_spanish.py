"""A teacher's class pages on a Spanish launch name skills as the student's pages do: in the pack's Spanish."""

from __future__ import annotations

import re

from markupsafe import escape

from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.localization import localize
from lti_tool.services.content import demo_pack_data
from tests.support import answer_wrong_until_stuck, launch_with_presentation, open_in_launch, submit_form

PACK = load_pack(demo_pack_data())
ENGLISH = {s.id: s.name for s in PACK.skills}
SPANISH = {s.id: s.name for s in localize(PACK, "es").skills}


def _shows(page, text: str) -> bool:
    return str(escape(text)) in page.text


def _spanish_teacher(sandbox):
    teacher = launch_with_presentation(sandbox, "teacher", locale="es")
    done = submit_form(teacher, "/content/demo")
    assert done.status_code == 200
    return teacher


def _priya(teacher, tool) -> int:
    view = open_in_launch(teacher, tool, "/class")
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    return int(re.search(r'value="(\d+)">Priya Shah<', select).group(1))


def test_spanish_teachers_student_page_needs_help_and_groups_name_skills_in_spanish(sandbox, tool):
    teacher = _spanish_teacher(sandbox)
    skill_id, _ = answer_wrong_until_stuck(sandbox.launch("student"), tool)
    assert SPANISH[skill_id] != ENGLISH[skill_id]

    student = open_in_launch(teacher, tool, f"/students/{_priya(teacher, tool)}")
    assert student.status_code == 200
    assert _shows(student, SPANISH[skill_id]) and not _shows(student, ENGLISH[skill_id])
    english_left = [name for sid, name in ENGLISH.items() if name != SPANISH[sid] and _shows(student, name)]
    assert english_left == []

    needs = open_in_launch(teacher, tool, "/class/needs-help")
    assert "Priya Shah" in needs.text
    assert _shows(needs, SPANISH[skill_id]) and not _shows(needs, ENGLISH[skill_id])

    groups = open_in_launch(teacher, tool, "/class/groups", skill=skill_id, kind="same-need")
    assert groups.status_code == 200
    assert _shows(groups, SPANISH[skill_id]) and not _shows(groups, ENGLISH[skill_id])
