"""PostgreSQL goes away for a while: pages say 503 with Retry-After, the worker waits it out, nothing is lost."""

from __future__ import annotations

import threading
import time

import pytest

from lti_tool.jobs.worker import drain
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions

from .test_redis_outage import healthz, wait_for

STUDENTS = ["student-1", "student-2", "student-3", "student-4", "student-5"]


@pytest.fixture
def running_worker():
    """Start `pathways worker` (the drain loop, in a thread of this process); stop it at the end."""
    started = []

    def start(app):
        stop = threading.Event()
        thread = threading.Thread(target=drain, args=(app,), kwargs={"once": False, "stop": stop}, daemon=True)
        thread.start()
        started.append((thread, stop))
        return thread

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(30)


def test_a_database_outage_gives_503_pages_the_worker_waits_it_out_and_no_grade_is_lost_or_doubled(
    make_tool, postgres, running_worker, worker_log
):
    tool = make_tool(DATABASE_URL=postgres.url, WORKER_BACKOFF_MAX_SECONDS=0.5, **FAST_RETRIES)
    gradebook = open_gradebook(tool, SandboxActions(tool))
    student = SandboxActions(tool).launch("student")
    page_url = student.url
    for n, sub in enumerate(STUDENTS):
        gradebook.queue(sub, 10.0 + n)
    worker = running_worker(tool.app)

    postgres.proxy.cut()
    outage_started = time.monotonic()

    page = student.http.get(page_url, timeout=15)
    assert page.status_code == 503, page.text[:300]
    assert page.headers["Retry-After"] == "30"
    assert "try again in a minute" in page.text and "Traceback" not in page.text
    health = healthz(tool)
    assert health.status_code == 503 and health.json()["checks"]["database"] == "unreachable"
    while time.monotonic() - outage_started < 3:  # several worker passes meet the outage
        time.sleep(0.2)
    assert worker.is_alive(), "the worker must outlive a database outage"

    postgres.proxy.restore()

    assert wait_for(lambda: student.http.get(page_url, timeout=15).status_code == 200, 15) < 10
    assert wait_for(lambda: healthz(tool).status_code == 200, 15) < 10
    assert wait_for(lambda: all(r.status == "synced" for r in gradebook.rows()), 20) < 15
    # Every score reached the LMS exactly once.
    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()} == {
        sub: 10.0 + n for n, sub in enumerate(STUDENTS)
    }
    accepted = [s["userId"] for s in gradebook.posts_received()]
    assert sorted(accepted) == sorted(STUDENTS)
    # The operator saw the outage once in the log, and /healthz shows the worker's recent successful pass.
    [failure] = worker_log.lines("worker pass failed")
    assert "database is unreachable" in failure
    assert wait_for(lambda: (healthz(tool).json()["worker"]["last_pass_seconds_ago"] or 99) < 5, 10) < 10
