"""An LMS that hangs does not hold up grades to other LMSs, and gets its own grades once it answers again."""

from __future__ import annotations

import threading
import time

from lti_tool.jobs.worker import drain
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, start_registered_lms

STUDENTS = ["student-1", "student-2", "student-3", "student-4", "student-5"]


class _Via:
    def __init__(self, platform):
        self.platform = platform


def second_lms(tool):
    """Another sandbox LMS on its own server, registered with the tool."""
    other, server = start_registered_lms(tool, "Slow LMS", "slow-client", "slow-dep")
    return SandboxActions(_Via(other)), server


def test_grades_reach_a_healthy_lms_at_once_while_another_lms_hangs_and_the_hung_ones_land_later(make_tool):
    tool = make_tool(**{**FAST_RETRIES, "SERVICE_TIMEOUT_SECONDS": 3})
    healthy = open_gradebook(tool, SandboxActions(tool))
    slow_actions, server = second_lms(tool)
    slow = open_gradebook(tool, slow_actions)
    for book in (slow, healthy):
        book.queue("student-1", 1.0)
        book.drain()  # both gradebook columns exist
    stop = threading.Event()
    worker = threading.Thread(target=drain, args=(tool.app,), kwargs={"once": False, "stop": stop})
    try:
        slow.platform.timeout_seconds = 6.0  # longer than the tool waits: the LMS hangs
        slow.platform.fail_next = ["timeout"] * 50
        for n, sub in enumerate(STUDENTS):
            slow.queue(sub, 60.0 + n)  # queued first, so they are first in the batch
        for n, sub in enumerate(STUDENTS):
            healthy.queue(sub, 80.0 + n)
        started = time.monotonic()
        worker.start()

        want = {sub: 80.0 + n for n, sub in enumerate(STUDENTS)}
        while {sub: s["scoreGiven"] for sub, s in healthy.lms_scores().items()} != want:
            assert time.monotonic() - started < 10, healthy.lms_scores()
            time.sleep(0.05)
        took = time.monotonic() - started
        assert took < 1.5, f"the healthy LMS waited {took:.1f} s behind the hanging one"
        assert all(r.status == "pending" for r in slow.rows()[1:])  # waiting, not failed or lost

        slow.platform.fail_next = []  # the slow LMS answers again
        want = {sub: 60.0 + n for n, sub in enumerate(STUDENTS)}
        while {sub: s["scoreGiven"] for sub, s in slow.lms_scores().items()} != want:
            assert time.monotonic() - started < 40, slow.lms_scores()
            time.sleep(0.1)
        accepted = [s["userId"] for s in slow.posts_received() if s["scoreGiven"] >= 60]
        assert sorted(accepted) == STUDENTS  # each exactly once
    finally:
        stop.set()
        if worker.is_alive():
            worker.join(30)
        server.shutdown()
        server.server_close()
