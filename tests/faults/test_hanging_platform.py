"""An LMS that hangs does not hold up grades to other LMSs, and gets its own grades once it answers again."""

from __future__ import annotations

import threading
import time

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.models import Course
from lti_tool.models.base import utcnow
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
    tool = make_tool(**{**FAST_RETRIES, "SERVICE_TIMEOUT_SECONDS": 5})
    healthy = open_gradebook(tool, SandboxActions(tool))
    slow_actions, server = second_lms(tool)
    slow = open_gradebook(tool, slow_actions)
    for book in (slow, healthy):
        book.queue("student-1", 1.0)
        book.drain()  # both gradebook columns exist
    stop = threading.Event()
    worker = threading.Thread(target=drain, args=(tool.app,), kwargs={"once": False, "stop": stop})
    try:
        slow.platform.timeout_seconds = 8.0  # longer than the tool waits: the LMS hangs
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
        # Behind the hanging LMS it would wait a timeout (5 s); the margin is for a loaded machine.
        assert took < 3.5, f"the healthy LMS waited {took:.1f} s behind the hanging one"
        assert all(r.status == "pending" for r in slow.rows()[1:])  # waiting, not failed or lost

        slow.platform.fail_next = []  # the slow LMS answers again
        want = {sub: 60.0 + n for n, sub in enumerate(STUDENTS)}
        while {sub: s["scoreGiven"] for sub, s in slow.lms_scores().items()} != want:
            assert time.monotonic() - started < 60, slow.lms_scores()
            time.sleep(0.1)
        accepted = [s["userId"] for s in slow.posts_received() if s["scoreGiven"] >= 60]
        assert sorted(accepted) == STUDENTS  # each exactly once
    finally:
        stop.set()
        if worker.is_alive():
            worker.join(30)
        server.shutdown()
        server.server_close()


def test_a_hanging_roster_service_costs_one_timeout_a_pass_and_holds_up_no_grade_or_other_lms(make_tool):
    tool = make_tool(**FAST_RETRIES)  # the worker waits 0.5 s for an answer
    book = open_gradebook(tool, SandboxActions(tool))
    other_actions, server = second_lms(tool)
    try:
        other = open_gradebook(tool, other_actions)
        book.queue("student-1", 10.0)
        book.drain()
        with tool.app.app_context():
            base = db.session.get(Course, book.course_id)
            # Teachers of eight other courses on the first LMS launched: their roster syncs are due.
            waiting = []
            for n in range(8):
                course = Course(platform_id=base.platform_id, deployment_id=base.deployment_id,
                                context_id=f"other-{n}", title="Other", label="", created_at=utcnow(),
                                memberships_url=base.memberships_url, roster_sync_due_at=utcnow())
                db.session.add(course)
                waiting.append(course)
            # So did the teacher on the other LMS, whose roster service answers.
            db.session.get(Course, other.course_id).roster_sync_due_at = utcnow()
            db.session.commit()
            waiting = [c.id for c in waiting]
        hangs = book.platform.memberships

        def hanging(context_id, args):
            time.sleep(1.0)  # longer than the worker waits
            return hangs(context_id, args)

        book.platform.memberships = hanging
        book.queue("student-3", 70.0)
        started = time.monotonic()
        stop = threading.Event()
        stats = drain(tool.app, once=False, stop=stop, max_seconds=20, on_pass=lambda s: s.posted and stop.set())
        took = time.monotonic() - started

        assert book.lms_scores()["student-3"]["scoreGiven"] == 70.0
        # Behind the eight hanging roster syncs it would wait 8 x 0.5 s; one timeout is the cost of a pass.
        assert took < 3.5, f"the grade waited {took:.1f} s behind the roster syncs"
        assert stats.roster_syncs == 1  # the other LMS's course, in the same pass
        with tool.app.app_context():
            assert db.session.get(Course, other.course_id).roster_sync_due_at is None
            due = [db.session.get(Course, c).roster_sync_due_at for c in waiting]
        # One course met the timeout and is due again later; the others were not tried and stay due now.
        assert sum(d > utcnow() for d in due) == 1 and sum(d <= utcnow() for d in due) == 7
    finally:
        server.shutdown()
        server.server_close()
