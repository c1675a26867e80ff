"""A teacher's "Set a level" that Pathways refuses comes back as they filled it in, with the problem on the field.

Before, a refused override (a private note of spaces only) redirected to the class view, whose form started again
at the first student, the first skill and "Not started", with both notes emptied: the teacher who then wrote a
note and pressed "Set level" again set another student's level, on another skill, to another level.
"""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import submit_form
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
SECOND_SKILL = PACK.skills[1]
STUDENT_NOTE = "Let's go over this together on Monday."


def _selected(page, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    chosen = re.findall(r'<option value="([^"]*)"[^>]* selected>', select)
    return chosen[0] if chosen else re.search(r'<option value="([^"]*)"', select).group(1)


def _student_note(page) -> str:
    return html.unescape(re.search(r'<textarea name="note_to_student"[^>]*>(.*?)</textarea>', page.text, re.S).group(1))


def _person_ids(page) -> dict[str, str]:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    return {html.unescape(name): pid for pid, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)<', select)}


def test_a_refused_override_on_the_class_view_keeps_the_student_skill_level_and_notes(sandbox, tool):
    teacher = _teacher(sandbox)
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    view = _get(teacher, tool, "/class")
    sofia = _person_ids(view)["Sofía García"]
    assert _selected(view, "person_id") != sofia, "she is not the one the form starts at"
    refused = submit_form(view, "/class/override", person_id=sofia, skill_id=SECOND_SKILL.id, level="Familiar",
                          note="   ", note_to_student=STUDENT_NOTE)
    assert "Add a short note saying why" in refused.text
    assert _selected(refused, "person_id") == sofia
    assert _selected(refused, "skill_id") == SECOND_SKILL.id
    assert _selected(refused, "level") == "Familiar"
    assert refused.status_code == 422
    assert _student_note(refused) == STUDENT_NOTE
    # The refused field says so to a screen reader, and reads the message first.
    note = re.search(r'<input [^>]*name="note"[^>]*>', refused.text).group(0)
    assert 'aria-invalid="true"' in note and 'aria-describedby="form-error override-note-help"' in note
    assert 'id="form-error"' in refused.text
    # Nothing was set: the class summary still counts nobody at Familiar.
    assert "Level set to" not in refused.text
    assert "Familiar" not in re.search(r"<tfoot>.*?</tfoot>", refused.text, re.S).group(0)

    # Writing the note and pressing again sets her level, as she was chosen.
    done = submit_form(refused, "/class/override", note="Watched her work at the board")
    assert "Level set to Familiar for Sofía García on " + html.escape(SECOND_SKILL.name) in done.text


def test_a_refused_override_on_a_students_answers_keeps_the_level_and_notes(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    view = _get(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    page = _get(teacher, tool, f"/students/{priya}/skills/{SECOND_SKILL.id}")
    refused = submit_form(page, "/class/override", level="Mastered", note="  ", note_to_student=STUDENT_NOTE)
    assert "Add a short note saying why" in refused.text
    assert f"Priya Shah on {html.escape(SECOND_SKILL.name)}" in refused.text
    assert _selected(refused, "level") == "Mastered"
    assert refused.status_code == 422
    assert _student_note(refused) == STUDENT_NOTE
    note = re.search(r'<input [^>]*name="note"[^>]*>', refused.text).group(0)
    assert 'aria-invalid="true"' in note
