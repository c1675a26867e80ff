"""The teacher sees, per student, whether mastery grades reached the LMS, and can compare with the LMS."""

from __future__ import annotations

import re

from tests.support import demo_first_goal_due, parse_form, submit_form


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
    submit_form(class_view, "/class/override", level="Mastered", note="Explained it to the class")
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
