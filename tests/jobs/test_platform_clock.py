"""An LMS that stamps a grade with its own clock refuses (409) our scores until theirs are later than that time.

Moodle (gradebookservices scores.php) stamps a score without a number, or a teacher's edit in its gradebook, with
its own clock and refuses every score whose timestamp is not later ("Refusing score with an earlier timestamp").
With the tool's clock a few seconds behind, the student's next grade was refused and counted as synced: the teacher
saw it synced, the gradebook kept no number.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from lti_tool.extensions import db
from lti_tool.models.base import utcnow
from lti_tool.sandbox.platform import SandboxError
from lti_tool.services.grades import SCORE_STEP, grade_sync_status, retry_failed

from .gradebook import FAST_RETRIES, later, open_gradebook

NOTHING_DUE = "Nothing is due yet: no grade until a goal date passes"


@pytest.fixture
def moodle(make_tool):
    from tests.support import SandboxActions

    tool = make_tool(**FAST_RETRIES, GRADE_MAX_ATTEMPTS=6)
    tool.platform.timeout_seconds = 1.0
    tool.platform.score_times_in_whole_seconds = True
    return open_gradebook(tool, SandboxActions(tool))


def _a_number_then_none(book, clock_ahead: float) -> None:
    """The student had a 40, then nothing due: the LMS clears it and stamps the blank grade with its clock."""
    book.queue("student-1", 40.0)
    book.drain()
    book.platform.blank_score_clock_ahead_seconds = clock_ahead
    book.queue("student-1", None, basis=NOTHING_DUE, now=later(1))
    book.drain()
    assert "scoreGiven" not in book.lms_scores()["student-1"]


def _retry_due(book, once_the_lms_holds: float | None = None) -> None:
    """Wait until the newest score's retry is due (its wait is jittered: a fixed sleep could end before it) and,
    if given, the LMS holds that score of student-2's (it answers late, then keeps it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = once_the_lms_holds is None or any(
            p["userId"] == "student-2" and p.get("scoreGiven") == once_the_lms_holds for p in book.posts_received())
        if held and book.rows()[-1].next_attempt_at <= utcnow():
            return
        time.sleep(0.05)
    raise AssertionError(f"the retry never fell due: {book.rows()[-1]}")


def test_a_grade_after_one_the_lms_stamped_with_its_clock_ahead_of_ours_lands(moodle):
    _a_number_then_none(moodle, clock_ahead=4)
    moodle.queue("student-1", 90.0, now=later(2))  # behind the LMS's stamp
    queued = moodle.rows()[-1].score_timestamp

    stats = moodle.drain()

    assert moodle.lms_scores()["student-1"]["scoreGiven"] == 90.0
    assert stats.posted == 1 and stats.duplicates == 0 and stats.retries_scheduled >= 1 and stats.failed == 0
    newest = moodle.rows()[-1]
    assert newest.status == "synced" and not newest.duplicate and newest.attempts > 1
    assert [p["scoreGiven"] for p in moodle.posts_received() if "scoreGiven" in p] == [40.0, 90.0]
    assert newest.score_timestamp >= queued + (newest.attempts - 1) * SCORE_STEP  # a later time for each retry


def test_a_grade_the_lms_always_refuses_as_not_later_fails_for_the_teacher_to_see_instead_of_counting_as_synced(
        moodle):
    _a_number_then_none(moodle, clock_ahead=10 * 24 * 3600)  # a clock days ahead: no later time of ours in reach
    moodle.queue("student-1", 90.0, now=later(2))

    stats = moodle.drain()

    assert "scoreGiven" not in moodle.lms_scores()["student-1"]
    assert stats.failed == 1 and stats.posted == 0 and stats.duplicates == 0
    newest = moodle.rows()[-1]
    assert (newest.status, newest.last_status, newest.attempts) == ("failed", 409, 6)
    assert newest.last_error.startswith("Gave up after 6 attempts:")
    with moodle.tool.app.app_context():
        shown = [s for s in grade_sync_status(moodle.course_id) if s.user_id == "student-1"]
        assert [(s.state, s.score_given) for s in shown] == [("failed", 90.0)]
        assert retry_failed(moodle.course_id, now=utcnow()) == 1  # the teacher's Retry puts it back in the queue
        db.session.commit()


def test_a_409_after_tries_that_got_no_answer_is_our_own_lost_post_and_goes_again_however_many_tries(moodle):
    moodle.queue("student-1", 10.0)
    moodle.drain()  # the gradebook column exists: the failure below is the score's post
    moodle.tool.app.config.update(GRADE_MAX_ATTEMPTS=1, GRADE_RETRY_BASE_SECONDS=1.5, GRADE_RETRY_MAX_SECONDS=1.5)
    moodle.queue("student-2", 30.0)
    moodle.platform.fail_next = ["slow"]  # the LMS records the score, but answers after we stopped waiting
    moodle.drain()
    _retry_due(moodle, once_the_lms_holds=30.0)  # the retry is due, after the LMS recorded the score
    moodle.tool.app.config.update(GRADE_RETRY_BASE_SECONDS=0.01, GRADE_RETRY_MAX_SECONDS=0.2)
    refused = moodle.drain()  # a 409 on the second try, past GRADE_MAX_ATTEMPTS: not the LMS's clock, our own post
    _retry_due(moodle)

    stats = moodle.drain()

    assert (refused.failed, refused.retries_scheduled, refused.errors) == (0, 1, {"409": 1})
    assert stats.posted == 1 and stats.failed == 0
    assert moodle.rows()[-1].status == "synced"
    assert [p["scoreGiven"] for p in moodle.posts_received() if p["userId"] == "student-2"] == [30.0, 30.0]


def test_the_sandbox_stamps_a_score_without_a_number_with_its_own_clock_ahead_as_moodle_does(moodle):
    platform = moodle.platform
    platform.clock = lambda: datetime(2030, 1, 1, 10, 0, 0, tzinfo=UTC).timestamp()
    platform.blank_score_clock_ahead_seconds = 5
    item = platform.create_line_item(moodle.context_id, {"label": "Quiz", "scoreMaximum": 10})
    item_id = item["id"].rsplit("/", 1)[1]

    def post(stamp: str, given: float | None = 1) -> None:
        number = {} if given is None else {"scoreGiven": given, "scoreMaximum": 10}
        platform.post_score(moodle.context_id, item_id, {
            "userId": "student-1", **number, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded" if number else "Pending", "timestamp": stamp})

    post("2030-01-01T09:59:00+00:00")
    post("2030-01-01T09:59:01+00:00", given=None)  # stored at the platform's 10:00:05
    with pytest.raises(SandboxError) as refused:
        post("2030-01-01T10:00:05+00:00")
    assert refused.value.status == 409
    post("2030-01-01T10:00:06+00:00")
    post("2030-01-01T10:00:07+00:00")  # a number keeps its own time
