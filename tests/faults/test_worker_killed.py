"""`kill -9` of a `pathways worker` process mid-drain: another worker finishes the job, no grade lost or doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions

STUDENTS = ["student-1", "student-2", "student-3", "student-4", "student-5"]


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**FAST_RETRIES)
    return open_gradebook(tool, SandboxActions(tool))


def start_worker_process(app) -> subprocess.Popen:
    """Run `pathways worker` as its own process on the tool's database, as a deployment would."""
    env = {
        **os.environ,
        "PATHWAYS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PATHWAYS_SECRET_KEY": app.config["SECRET_KEY"],
        "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": app.config["OUTBOUND_ALLOWED_NETWORKS"],
        "PATHWAYS_BASE_URL": app.config["BASE_URL"],
        "PATHWAYS_INSTANCE_PATH": app.instance_path,
        "PATHWAYS_WORKER_LEASE_SECONDS": "2",
        "PATHWAYS_WORKER_POLL_SECONDS": "1",
        "PATHWAYS_SERVICE_TIMEOUT_SECONDS": "30",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from lti_tool.cli import main; main()", "worker"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def worker_posting(gradebook) -> subprocess.Popen:
    """Queue a score for each student, the LMS slow to record them; start a worker process and return it once at
    least two of its posts are in flight."""
    gradebook.queue("student-1", 1.0)
    gradebook.drain()  # the gradebook column exists; what follows is all score posts
    for n, sub in enumerate(STUDENTS):
        gradebook.queue(sub, 50.0 + n)
    platform = gradebook.platform
    platform.timeout_seconds = 2.0
    platform.fail_next = ["slow"] * 5  # the LMS takes its time over each score, then records it

    worker = start_worker_process(gradebook.tool.app)
    deadline = time.monotonic() + 60
    while len(platform.fail_next) > 3:  # at least two posts are in flight
        if worker.poll() is not None or time.monotonic() > deadline:
            worker.kill()
            raise AssertionError(f"the worker never started posting: {worker.stderr.read().decode()[-2000:]}")
        time.sleep(0.05)
    return worker


def stop_worker(worker: subprocess.Popen, signum: int, wait: float) -> str:
    """Send the worker process the signal and wait for it to end (killed after `wait` seconds); return its stderr."""
    try:
        worker.send_signal(signum)
        worker.wait(wait)
    finally:
        if worker.poll() is None:
            worker.kill()
        err = worker.stderr.read().decode()
        worker.stderr.close()
    return err


def wait_until_free(gradebook, posts: int, seconds: float = 30) -> None:
    """Wait until no row's lease is still running and the LMS has recorded `posts` of the scores (given >= 50)."""
    from lti_tool.models.base import utcnow

    deadline = time.monotonic() + seconds
    while True:
        now = utcnow()
        leased = [r for r in gradebook.rows() if r.lease_token and r.lease_expires_at >= now]
        landed = len([s for s in gradebook.posts_received() if s["scoreGiven"] >= 50])
        if not leased and landed >= posts:
            return
        assert time.monotonic() < deadline, f"still leased: {len(leased)}; posts landed: {landed} of {posts}"
        time.sleep(0.05)


def test_a_worker_process_killed_mid_drain_loses_and_doubles_no_grade(gradebook):
    worker = worker_posting(gradebook)
    stop_worker(worker, signal.SIGKILL, 10)
    assert worker.returncode == -signal.SIGKILL
    assert any(r.lease_token for r in gradebook.rows())  # it died holding leases

    in_flight = 5 - len(gradebook.platform.fail_next)  # each post it sent took one "slow" answer
    # The leases run out and the LMS finishes the posts it was given (each one after its 2 s).
    wait_until_free(gradebook, in_flight)
    stats = gradebook.drain()

    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()} == {
        sub: 50.0 + n for n, sub in enumerate(STUDENTS)
    }
    accepted = [(s["userId"], s["scoreGiven"]) for s in gradebook.posts_received() if s["scoreGiven"] >= 50]
    assert set(accepted) == {(sub, 50.0 + n) for n, sub in enumerate(STUDENTS)}
    # The dead worker's posts landed: a score the LMS refused as already there (409) went again with a later time,
    # the same grade (the LMS cannot tell our own score from one it stamped itself, see jobs/test_platform_clock.py).
    assert stats.posted == 5 and stats.duplicates == 0 and len(accepted) - 5 == stats.errors.get("409", 0)
    assert all(r.status in ("synced", "superseded") and r.lease_token is None for r in gradebook.rows())
