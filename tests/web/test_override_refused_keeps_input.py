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


def test_the_class_views_form_chooses_no_student_skill_or_level_until_the_teacher_does(sandbox, tool):
    # The teacher's walk: the form started at the first student, the first skill and Not started, so "Set level"
    # pressed without looking lowered Liam's Mastered to Not started. Each menu now starts at "Choose …", and what
    # was left unchosen is named, with everything typed kept.
    teacher = _teacher(sandbox)
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    view = _get(teacher, tool, "/class")
    for name, first in (("person_id", "Choose a student"), ("skill_id", "Choose a skill"), ("level", "Choose a level")):
        menu = re.search(rf'<select name="{name}" id="override-[a-z]+" required>(.*?)</select>', view.text, re.S)
        assert menu and menu.group(1).startswith(f'<option value="">{first}</option>'), name
        assert " selected" not in menu.group(1)

    refused = submit_form(view, "/class/override", note="Exit ticket")  # what a browser sends, left as it is
    assert refused.status_code == 422 and '<p class="notice notice-error" id="form-error">Choose a student.</p>' in (
        refused.text)
    assert re.search(r'<select name="person_id" id="override-person" required aria-invalid="true"', refused.text)
    assert 'value="Exit ticket"' in refused.text
    sofia = _person_ids(refused)["Sofía García"]
    no_skill = submit_form(refused, "/class/override", person_id=sofia)
    assert no_skill.status_code == 422 and "Choose a skill from this course." in no_skill.text
    assert _selected(no_skill, "person_id") == sofia
    no_level = submit_form(no_skill, "/class/override", skill_id=SECOND_SKILL.id)
    assert no_level.status_code == 422 and "Choose one of the levels." in no_level.text
    assert "Level set to" not in no_level.text
    assert "Not started" not in re.search(r"<tfoot>.*?</tfoot>", no_level.text, re.S).group(0).replace(
        '<span class="level level-0">Not started</span> 3', "")  # all three still Not started on every skill

    done = submit_form(no_level, "/class/override", level="Familiar")
    assert "Level set to Familiar for Sofía García on " + html.escape(SECOND_SKILL.name) in done.text
