"""A student's data deleted while the worker is sending their grade: the grade is not posted after the deletion,
and the teacher is told plainly which grades may already have been on their way."""

from __future__ import annotations

import threading
import time

from tests.support import SandboxActions, submit_form
from tests.web.test_privacy import _get, _link

from .gradebook import FAST_RETRIES, Gradebook, open_gradebook

BEING_SENT = "1 grade update was already being sent to the LMS gradebook, so it may still arrive there."


def _wait_until_claimed(gradebook: Gradebook, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not any(row.lease_token for row in gradebook.rows()):
        assert time.monotonic() < deadline, "the worker never claimed the scores"
        time.sleep(0.01)


def test_a_grade_whose_student_is_deleted_while_the_worker_waits_on_the_lms_is_not_posted(make_tool):
    # The worker holds the scores it claimed in memory, then waits for the LMS (a slow access token). The teacher
    # deletes Priya's data meanwhile: her score's row is gone, so her grade must not reach the gradebook after the
    # deletion said it was cancelled; Liam's, claimed with it, still goes.
    tool = make_tool(**{**FAST_RETRIES, "SERVICE_TIMEOUT_SECONDS": 10})
    column = tool.platform.create_line_item("math-7", {"label": "Fractions", "scoreMaximum": 100})
    sandbox = SandboxActions(tool)
    gradebook = open_gradebook(tool, sandbox, lineitem_url=column["id"])
    priya = gradebook.people["student-1"]
    teacher = sandbox.launch("teacher")
    privacy = _get(teacher, tool, _link(teacher, "/privacy/"))
    confirm = _get(privacy, tool, _link(privacy, f"/privacy/students/{priya}/delete"))
    gradebook.queue("student-1", 75.0)
    gradebook.queue("student-2", 50.0)
    tool.platform.timeout_seconds = 3.0
    tool.platform.fail_next_token = ["slow"]  # the LMS takes 3 s to grant the worker's token, then grants it
    drained = []
    worker = threading.Thread(target=lambda: drained.append(gradebook.drain()))
    worker.start()
    try:
        _wait_until_claimed(gradebook)
        done = submit_form(confirm, f"/privacy/students/{priya}/delete", confirm="yes")
    finally:
        worker.join(60)

    assert done.status_code == 200
    # Her grade was leased to a worker: not "cancelled", but said to be possibly on its way.
    assert "0 unsent grade updates" in done.text and BEING_SENT in done.text
    [stats] = drained
    assert stats.posted == 1
    assert set(gradebook.lms_scores(column["id"])) == {"student-2"}
    assert not [s for s in gradebook.posts_received(column["id"]) if s["userId"] == "student-1"]
