"""A teacher double-clicks "Delete" on a student's data.

Both requests found the student enrolled before either deleted anything; the second waited for the first's locks,
then deleted nothing and logged a second deletion of the same student. It now reads the enrolment again under the
locks and leads back to the privacy page, which says the data is already deleted (as a later click does too).
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import AuditEntry
from lti_tool.services import privacy
from tests.races.support import demo_course, meet_after_first_call
from tests.support import open_in_launch, submit_form

ALREADY = "their data here is already deleted"


def _deletions(tool) -> int:
    with tool.app.app_context():
        count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                                  .where(AuditEntry.action == "delete_student"))
        db.session.remove()
    return count


def test_a_double_clicked_student_deletion_deletes_and_logs_once(sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    teacher = sandbox.launch("teacher")
    confirm = open_in_launch(teacher, tool, f"/privacy/students/{course.student}/delete")
    assert confirm.status_code == 200
    meet_after_first_call(monkeypatch, privacy, "_student_enrollment")
    pages: list = []

    def click() -> None:
        pages.append(submit_form(confirm, f"/privacy/students/{course.student}/delete", confirm="yes"))

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
