"""A teacher sets up the course, a student practises until a level changes, the teacher sees and overrides it."""

from __future__ import annotations

import re

from tests.support import class_override, served_answer, submit_form


def _setup_course(sandbox):
    teacher = sandbox.launch("teacher")
    page = submit_form(teacher, "/content/demo")
    assert "The course now uses" in page.text
    return page


def _answer_right(page, tool):
    answer = served_answer(tool, page)
    return submit_form(page, page.url.split("/c/")[1].split("/", 1)[1].split("?")[0], answer=answer)


def test_student_sees_no_plan_until_the_teacher_sets_up_the_course(sandbox):
    page = sandbox.launch("student")
    assert "has not set up this course" in page.text


def test_teacher_starts_from_the_demo_pack_and_students_get_next_steps(sandbox):
    _setup_course(sandbox)
    page = sandbox.launch("student")
    assert "Your next steps" in page.text
    assert "Practise" in page.text
    assert "Not started" in page.text


def test_student_answers_items_until_a_level_changes_and_the_teacher_sees_it(sandbox, tool):
    teacher_page = _setup_course(sandbox)
    student = sandbox.launch("student")
    practise = re.search(r'href="([^"]*/practice/([^"/]+))"', student.text)
    skill_id = practise.group(2)
    page = student.http.get(tool.url(practise.group(1)))
    page.http = student.http
    changed = False
    for _ in range(8):
        feedback = _answer_right(page, tool)
        assert "That&#39;s right!" in feedback.text or "That's right!" in feedback.text
        if "changed from" in feedback.text:
            changed = True
        page = feedback.http.get(tool.url(re.search(r'href="([^"]*/practice/' + skill_id + ')"', feedback.text).group(1)))
        page.http = feedback.http
    assert changed
    view = teacher_page.http.get(tool.url(re.search(r'href="([^"]*/class)"', teacher_page.text).group(1)))
    assert "Priya Shah" in view.text
    assert "Proficient" in view.text or "Mastered" in view.text or "Familiar" in view.text


def _answer_first_practice(sandbox, tool, answer):
    """Set up the course and answer the student's first practice question with `answer`; return the feedback."""
    _setup_course(sandbox)
    student = sandbox.launch("student")
    practise = re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1)
    page = student.http.get(tool.url(practise))
    page.http = student.http
    return submit_form(page, practise.split("/", 3)[3], answer=answer)


def test_a_wrong_answer_shows_the_worked_solution(sandbox, tool):
    feedback = _answer_first_practice(sandbox, tool, "definitely wrong 12345")
    assert "Not quite." in feedback.text
    assert "Worked solution" in feedback.text


def test_teacher_overrides_a_level_with_a_note_and_it_is_kept_as_evidence(sandbox, tool):
    teacher_page = _setup_course(sandbox)
    sandbox.launch("student")  # the student joins the course
    class_url = tool.url(re.search(r'href="([^"]*/class)"', teacher_page.text).group(1))
    view = teacher_page.http.get(class_url)
    view.http = teacher_page.http
    done = class_override(view, level="Mastered", note="Showed it in class on the whiteboard")
    assert "Level set to Mastered" in done.text
    assert "Mastered" in done.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import MasteryEvent

        event = db.session.scalars(db.select(MasteryEvent)).one()
        assert event.source == "override"
        assert event.reason == "Showed it in class on the whiteboard"


def test_students_cannot_open_the_class_view(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    launch_path = re.search(r"/c/[^/]+/", student.url).group(0)
    assert student.http.get(tool.url(launch_path + "class")).status_code == 403


def test_a_wrong_answer_shows_what_the_student_answered_escaped(sandbox, tool):
    # The feedback gave the worked solution but never what the student typed, so they could not compare the two.
    feedback = _answer_first_practice(sandbox, tool, "<b>12</b> & 3")
    assert "Not quite." in feedback.text
    assert "You answered: &lt;b&gt;12&lt;/b&gt; &amp; 3" in feedback.text
    assert "<b>12</b>" not in feedback.text
