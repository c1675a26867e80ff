"""A teacher's override carries a private note for teachers and, optionally, a note the student will see."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import submit_form

PACK = load_pack(demo_pack_data())
FIRST = PACK.skill_graph.topological_order()[0]
LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
PRIVATE = "Parents told me about trouble at home"


def _get(page, tool, path: str):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), timeout=30)
    response.http = page.http
    return response


def _priya(view) -> str:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', view.text, re.S).group(1)
    return next(pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select) if name == "Priya Shah")


def _override(sandbox, tool, **notes):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    view = _get(teacher, tool, "/class")
    assert "the student will see this" in view.text and "Your private note, for teachers" in view.text
    # Teachers are told where the private note does go: the student's own copy of their data.
    assert "a copy of their data (their privacy export) does, labelled as your private note" in view.text
    done = submit_form(view, "/class/override", person_id=_priya(view), skill_id=FIRST, level="Proficient", **notes)
    assert "Level set to Proficient" in done.text
    return teacher, _priya(view)


def test_the_student_sees_only_the_note_meant_for_them_and_teachers_see_both(sandbox, tool):
    teacher, priya = _override(sandbox, tool, note=PRIVATE, note_to_student="You explained it well in class!")
    home = sandbox.launch("student")
    assert "Set by your teacher: You explained it well in class!" in html.unescape(home.text)
    assert PRIVATE not in home.text
    answers = html.unescape(_get(teacher, tool, f"/students/{priya}/skills/{FIRST}").text)
    assert f"Why: {PRIVATE}" in answers
    assert "Note the student sees: You explained it well in class!" in answers
    student_page = html.unescape(_get(teacher, tool, f"/students/{priya}").text)
    assert PRIVATE in student_page  # in the history, for teachers
    assert "Set by a teacher: You explained it well in class!" in student_page  # the level's reason, about the student


def test_without_a_note_for_the_student_they_read_only_that_their_teacher_set_it(sandbox, tool):
    _override(sandbox, tool, note=PRIVATE)
    home = sandbox.launch("student")
    assert "Set by your teacher." in home.text and PRIVATE not in home.text
    pending = sandbox.begin("student")
    spanish = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe", "locale": "es-MX"}}))
    assert "Fijado por tu profe." in spanish.text and PRIVATE not in spanish.text


def test_overrides_made_before_the_upgrade_stop_showing_the_teachers_note_to_the_student(sandbox, tool):
    from flask_migrate import downgrade, upgrade

    from lti_tool.extensions import db

    _override(sandbox, tool, note=PRIVATE)
    with tool.app.app_context():
        downgrade(revision="0012")
        # Before 0013 the one note was the student's reason, word for word.
        db.session.execute(sa.text("UPDATE skill_mastery SET reason = :old WHERE overridden = :yes"),
                           {"old": f"Set by the teacher: {PRIVATE}", "yes": True})
        db.session.commit()
        upgrade()
        reasons = db.session.scalars(sa.text("SELECT reason FROM skill_mastery WHERE overridden = :yes"),
                                     {"yes": True}).all()
    assert reasons == ["Set by your teacher."]
    assert PRIVATE not in sandbox.launch("student").text


def test_the_private_note_is_in_the_students_own_data_export_labelled_as_the_teachers(sandbox, tool):
    """Kept where every teacher of the course reads it, the note is part of the student's record (FERPA) and
    personal data about them (GDPR): their export has it, apart from the note meant for them (docs/privacy.md)."""
    _override(sandbox, tool, note=PRIVATE, note_to_student="You explained it well in class!")
    student = sandbox.launch("student")
    document = _get(student, tool, "/privacy/my-data.json").json()
    (override,) = [e for e in document["courses"][0]["mastery_history"] if e["source"] == "override"]
    assert override["teacher_private_note"] == PRIVATE
    assert override["note_to_student"] == "You explained it well in class!"
    assert override["reason"] == "Set by your teacher: You explained it well in class!"
    assert override["by"] == "teacher"
    # Events Pathways itself made carry no private note.
    assert all(e["teacher_private_note"] is None for e in document["courses"][0]["mastery_history"]
               if e["source"] != "override")
    readable = html.unescape(_get(student, tool, "/privacy/my-data.html").text)
    assert f"Teacher's private note: {PRIVATE}" in re.sub(r"<[^>]+>", "", readable)
    # The student's own pages still do not show it.
    assert PRIVATE not in sandbox.launch("student").text
