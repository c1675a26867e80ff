"""The teacher sees, per student, whether mastery grades reached the LMS, and can compare with the LMS."""

from __future__ import annotations

import re

from tests.support import class_override, demo_first_goal_due, grade_rows, parse_form, submit_form


def _place_plan(sandbox):
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)


def test_an_override_is_pending_then_synced_and_matches_the_lms_gradebook(sandbox, tool):
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    demo_first_goal_due(tool)  # a grade with a number: one without is not sent before one was
    _place_plan(sandbox)
    sandbox.launch("student")
    class_view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    class_view.http = teacher.http
    class_override(class_view, level="Mastered", note="Explained it to the class")
    home = teacher.http.get(teacher.url)
    assert "Pending" in home.text
    with tool.app.app_context():
        from lti_tool.jobs.worker import drain

        stats = drain(tool.app, once=True)
    assert stats.posted == 1
    home = teacher.http.get(teacher.url)
    assert "Synced" in home.text
    compare_url = re.search(r'href="([^"]*/grades/compare/\d+)"', home.text).group(1)
    compare = teacher.http.get(tool.url(compare_url))
    assert "Priya Shah" in compare.text and "Same" in compare.text
    scores = [s for rows in tool.platform.scores.values() for s in rows]
    assert scores and scores[-1]["userId"] == "student-1"


def test_a_teacher_whose_students_have_no_grade_yet_reads_why_on_the_course_page(sandbox, tool):
    # The teacher's walk: set Mastered, opened the LMS gradebook (no score) and the course page ("no grade yet" on
    # every row) with no word of why; only the Grading page said nothing is due before a goal date.
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    _place_plan(sandbox)  # the demo's goals are weeks away: nothing is due yet
    sandbox.launch("student")
    class_view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    class_view.http = teacher.http
    class_override(class_view, level="Mastered", note="Explained it to the class")

    home = teacher.http.get(teacher.url)

    row = next(r for r in grade_rows(home.text, "Priya Shah") if "My learning plan" in r)
    assert ">no grade yet</td>" in row, row
    why = re.search(r'<p class="muted" id="no-grade-yet-help">(.*?)</p>', home.text, re.S).group(1)
    assert "nothing is due until a goal date passes, so the LMS gradebook shows no score before then" in why
    assert re.search(r'<a href="[^"]*/teacher/grading">Grading</a>', why)
    # Once a goal is due her grade has a number: no row says "no grade yet", and the note goes.
    demo_first_goal_due(tool)
    class_override(class_view, level="Proficient", note="Checked again")
    home = teacher.http.get(teacher.url)
    assert ">no grade yet</td>" not in home.text and 'id="no-grade-yet-help"' not in home.text


def test_before_any_grade_is_sent_the_check_and_the_course_page_say_so_in_words(sandbox, tool):
    # The teacher's walk: "Check … against the LMS" opened a table of headings and no rows, and every student's line
    # on the course page read "Synced: 0 · Pending: 0 · Failed: 0", neither saying why nothing was there.
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    _place_plan(sandbox)  # the demo's goals are weeks away: nothing is due, so no grade is sent
    sandbox.launch("student")

    home = teacher.http.get(teacher.url)
    summary = re.search(r"<summary><strong>Priya Shah</strong>(.*?)</summary>", home.text, re.S).group(1)
    assert "Nothing to send yet" in summary and "Synced: 0" not in summary, summary

    compare = teacher.http.get(tool.url(re.search(r'href="([^"]*/grades/compare/\d+)"', home.text).group(1)))
    assert compare.status_code == 200
    nothing = re.search(r'<p data-testid="nothing-to-compare">(.*?)</p>', compare.text, re.S).group(1)
    assert "Pathways has not sent a grade to this column yet, so there is nothing to compare." in nothing
    assert re.search(r'<a href="[^"]*/c/[^/"]+/#grades-heading">Grades sent to the LMS</a>', nothing), nothing
    assert "<table" not in compare.text
