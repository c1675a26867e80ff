"""A teacher double-clicks "Delete" on a student's data.

Both requests found the student enrolled before either deleted anything; the second waited for the first's locks,
then deleted nothing and logged a second deletion of the same student. It now reads the enrolment again under the
locks and leads back to the privacy page, which says the data is already deleted (as a later click does too).

Each click's answer is read with the session cookie that click's own answer set: the two share one browser, and
its one cookie jar took whichever answer's flashed message came last, so both pages could show the same message.
"""
from __future__ import annotations

import re
import threading

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import AuditEntry
from lti_tool.services import privacy
from tests.races.support import demo_course, meet_after_first_call
from tests.support import open_in_launch, parse_form, submit_form

ALREADY = "their data here is already deleted"


def _deletions(tool, action: str = "delete_student") -> int:
    """How many deletions the audit log records (of a student's data, or another `action`: delete_course…)."""
    with tool.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == action))
        db.session.remove()
    return count


def _click(confirm, action_suffix: str, **typed: str) -> requests.Response:
    """Post the confirm form as one click of a double click, and read the page its answer leads to.

    Both clicks leave with the cookie the page had, as a double click's two requests do; each follows its own
    redirect with the cookie its own answer set, so the page shows what that click was told (its flashed message),
    not the other click's.
    `typed`: what the form is sent with (the box ticked when nothing is given).
    """
    http = requests.Session()
    http.cookies = confirm.http.cookies.copy()
    for match in re.finditer(r"<form[^>]*>.*?</form>", confirm.text, re.S):
        action, fields = parse_form(match.group(0), confirm.url)
        if action.split("?")[0].endswith(action_suffix):
            answer = http.post(action, data={**fields, **(typed or {"confirm": "yes"})}, allow_redirects=False, timeout=30)
            if answer.status_code != 303:
                return answer
            return http.get(requests.compat.urljoin(answer.url, answer.headers["Location"]), timeout=30)
    raise AssertionError(f"no form posting to {action_suffix}")


def test_a_double_clicked_student_deletion_deletes_and_logs_once(sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    teacher = sandbox.launch("teacher")
    confirm = open_in_launch(teacher, tool, f"/privacy/students/{course.student}/delete")
    assert confirm.status_code == 200
    meet_after_first_call(monkeypatch, privacy, "_student_enrollment")
    pages: list = []

    def click() -> None:
        pages.append(_click(confirm, f"/privacy/students/{course.student}/delete"))

    clicks = [threading.Thread(target=click) for _ in range(2)]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join(60)

    assert sorted(p.status_code for p in pages) == [200, 200], [p.text[:300] for p in pages]
    said = sorted("Deleted the data of Priya Shah" in p.text for p in pages)
    assert said == [False, True] and any(ALREADY in p.text for p in pages)
    assert _deletions(tool) == 1

    # A click after it all (a reload of the form's answer) says the same, not "not found".
    later = submit_form(confirm, f"/privacy/students/{course.student}/delete", confirm="yes")
    assert later.status_code == 200 and ALREADY in later.text
    assert _deletions(tool) == 1
