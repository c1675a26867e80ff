"""A deleted student's words do not stay in a process's memory of verified session cookies (lti_tool/security.py).

The session cookie carries flashed messages from a form's post to the next page ("Goal added: <the goal's
title>"). Each process kept every cookie it verified, payload and all, in a bounded map that is emptied only when
full (KeptMap): the student's goal title stayed in the server's memory after the teacher deleted their data. A
cookie with flashed messages is read once (the page that shows them changes the cookie), so it is not kept.
"""

from __future__ import annotations

from tests.support import submit_form
from tests.web.test_agency import FIRST_SKILL, _open, _setup_course
from tests.web.test_privacy import _get, _ids, _link

TITLE = "Stop hiding my answers from Mr Brown"


def _kept_payloads(tool) -> str:
    kept = tool.app.session_interface._kept
    return "" if kept is None else repr(list(kept[2]._entries.values()))


def test_a_goal_title_flashed_through_the_cookie_is_not_kept_after_the_student_is_deleted(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    added = submit_form(_open(student, tool, "My goals"), "/goals", title=TITLE, why="", skill_ids=[FIRST_SKILL])
    assert f"Goal added: {TITLE}" in added.text
    _, priya = _ids(tool, "student-1")

    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}/delete"))
    assert submit_form(confirm, f"/privacy/students/{priya}/delete", confirm="yes").status_code == 200

    assert tool.app.session_interface._kept is not None  # the map is there, and holds other cookies …
    assert TITLE not in _kept_payloads(tool)  # … but not the one that carried the goal's title
