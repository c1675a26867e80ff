"""The outbox worker posts grades to the sandbox LMS over real HTTP, and loses none on the way."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.extensions import db
from lti_tool.jobs.cli import worker_command
from lti_tool.jobs.worker import RetryPolicy, claim, drain
from lti_tool.models import Placement
from lti_tool.models.base import utcnow
from lti_tool.services.grades import retry_failed

from .gradebook import FAST_RETRIES, open_gradebook

STUDENTS = ["student-1", "student-2", "student-3", "student-4", "student-5"]


@pytest.fixture
def gradebook(make_tool):
    from tests.support import SandboxActions

    tool = make_tool(**FAST_RETRIES)
    tool.platform.timeout_seconds = 1.0  # an injected "timeout" outlasts the worker's 0.5 s timeout
    return open_gradebook(tool, SandboxActions(tool))


def test_a_students_new_mastery_reaches_the_lms_gradebook_with_progress_timestamp_and_skills(gradebook):
    gradebook.queue("student-1", 75.0, skill_names=["Fractions", "Ratios"])

    stats = gradebook.drain()

    assert stats.posted == 1 and stats.failed == 0
    placement = gradebook.placement()
    item = gradebook.platform.line_items[placement.lineitem_url]
    assert item["resourceId"] == "unit-fractions" and item["tag"] == "pathways-mastery" and item["label"] == "Fractions"
    score = gradebook.lms_scores()["student-1"]
    assert score["scoreGiven"] == 75.0 and score["scoreMaximum"] == 100.0
    assert score["activityProgress"] == "InProgress" and score["gradingProgress"] == "FullyGraded"
    assert score["comment"] == "Pathways mastery: Fractions, Ratios"
    assert datetime.fromisoformat(score["timestamp"]).utcoffset().total_seconds() == 0
    [row] = gradebook.rows()
    assert row.status == "synced" and row.attempts == 1 and row.lineitem_url == placement.lineitem_url


def test_mastery_waiting_for_the_teacher_to_check_evidence_is_posted_as_pending_manual(gradebook):
    gradebook.queue("student-2", 40.0, pending_manual=True)
    gradebook.queue("student-3", 100.0, completed=True)

    gradebook.drain()

    book = gradebook.lms_scores()
    assert book["student-2"]["gradingProgress"] == "PendingManual"
    assert book["student-3"]["activityProgress"] == "Completed"
    assert book["student-3"]["gradingProgress"] == "FullyGraded"


def test_server_errors_rate_limits_and_timeouts_are_retried_until_the_score_lands(gradebook):
    gradebook.queue("student-1", 10.0)
    gradebook.drain()  # creates the line item, so the failures below all hit the score post
    gradebook.queue("student-1", 55.0)
    gradebook.platform.fail_next = [500, 429, "timeout", 503]

    started = time.monotonic()
    stats = gradebook.drain()

    assert stats.posted == 1 and stats.retries_scheduled == 4 and stats.failed == 0
    assert time.monotonic() - started >= 1.0  # the 429 and 503 said Retry-After: 1
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 55.0
    latest = gradebook.rows()[-1]
    assert latest.status == "synced" and latest.attempts == 5


def test_a_retry_after_given_as_an_http_date_is_waited_for(gradebook):
    # RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date; the sandbox says "three seconds from now" as a
    # date, so the retry must wait at least two (the date has whole seconds), not the worker's own 0.01 s.
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    gradebook.queue("student-1", 45.0)
    gradebook.platform.fail_next = ["429-date"]

    started = time.monotonic()
    stats = gradebook.drain()

    assert stats.posted == 1 and stats.retries_scheduled == 1 and stats.failed == 0
    assert time.monotonic() - started >= 2.0
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 45.0


def test_retry_after_is_read_in_both_forms_and_capped():
    from email.utils import formatdate

    from lti_tool.lti.services import MAX_RETRY_AFTER_SECONDS, _retry_after

    def answer(value):
        resp = requests.Response()
        resp.headers["Retry-After"] = value
        return _retry_after(resp, now=1_000_000.0)

    assert answer("120") == 120.0 and answer("-5") == 0.0 and answer("nan") is None and answer("soon") is None
    assert answer(formatdate(1_000_030.0, usegmt=True)) == 30.0
    assert answer(formatdate(999_000.0, usegmt=True)) == 0.0  # a date in the past: now
    assert answer("99999999") == answer(formatdate(9_000_000.0, usegmt=True)) == MAX_RETRY_AFTER_SECONDS


def test_canvas_throttling_answered_as_403_rate_limit_exceeded_is_retried_not_failed(gradebook):
    gradebook.queue("student-1", 10.0)
    gradebook.drain()
    gradebook.queue("student-1", 65.0)
    gradebook.platform.fail_next = ["canvas-throttle", "canvas-throttle"]

    stats = gradebook.drain()

    assert stats.posted == 1 and stats.failed == 0 and stats.retries_scheduled == 2
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 65.0


def test_a_score_the_lms_refuses_is_marked_failed_with_a_reason_code_and_lands_after_the_teacher_retries(gradebook):
    course = gradebook.platform.course
    course.members.remove("student-4")  # the LMS dropped the student; Pathways has not synced the roster yet
    gradebook.queue("student-4", 80.0)

    stats = gradebook.drain()

    assert stats.failed == 1 and stats.retries_scheduled == 0
    [row] = gradebook.rows()
    assert row.status == "failed" and row.last_status == 400
    # Status and the LMS's error code, never its free text (which teachers would see on the grades page).
    assert row.last_error == "The platform refused the request (HTTP 400, reason: invalid_request)."

    course.members.append("student-4")  # re-enrolled in the LMS
    with gradebook.tool.app.app_context():
        assert retry_failed(gradebook.course_id, now=utcnow()) == 1
    gradebook.drain()
    assert gradebook.lms_scores()["student-4"]["scoreGiven"] == 80.0
    assert gradebook.rows()[0].status == "synced"


def test_a_worker_killed_mid_batch_loses_nothing_once_its_lease_expires(gradebook):
    for n, sub in enumerate(STUDENTS):
        gradebook.queue(sub, 20.0 * n)
    with gradebook.tool.app.app_context():
        # A lease long enough that a loaded machine still claims again inside it (0.5 s once ran out in between).
        _, taken = claim(batch=100, lease_seconds=5)  # ... and the worker dies before posting anything
        assert len(taken) == 5
        _, again = claim(batch=100, lease_seconds=5)
        assert again == []  # no one else may take leased rows while the lease runs

    stats = gradebook.drain()

    assert stats.posted == 5
    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()} == {
        sub: 20.0 * n for n, sub in enumerate(STUDENTS)
    }
    assert all(r.status == "synced" and r.attempts == 2 for r in gradebook.rows())


def test_posting_the_same_mastery_twice_is_harmless(gradebook):
    first = gradebook.queue("student-1", 60.0)
    assert gradebook.queue("student-1", 60.0) is None  # nothing new to say
    gradebook.drain()
    assert gradebook.queue("student-1", 60.0) is None  # already in the gradebook
    assert first is not None

    # The LMS records the score but answers too late: the worker retries, the LMS refuses the same time (409), and
    # the same grade goes again with a later time (the 409 alone cannot tell our score from one the LMS stamped).
    gradebook.queue("student-2", 30.0)
    gradebook.platform.fail_next = ["slow"]
    # The retry waits until the slow answer is done.
    gradebook.tool.app.config.update(GRADE_RETRY_BASE_SECONDS=1.5, GRADE_RETRY_MAX_SECONDS=1.5)
    stats = gradebook.drain()

    assert stats.posted == 1 and stats.duplicates == 0 and stats.errors["409"] == 1
    assert [s["scoreGiven"] for s in gradebook.posts_received() if s["userId"] == "student-2"] == [30.0, 30.0]
    assert gradebook.lms_scores()["student-2"]["scoreGiven"] == 30.0
    assert gradebook.rows()[-1].status == "synced" and gradebook.rows()[-1].duplicate is False


def test_only_the_newest_of_several_waiting_scores_is_posted_with_strictly_increasing_timestamps(gradebook):
    moment = utcnow()
    ids = [gradebook.queue("student-5", score, now=moment) for score in (10.0, 20.0, 30.0)]

    stats = gradebook.drain()

    assert stats.posted == 1
    rows = {r.id: r for r in gradebook.rows()}
    assert [rows[i].status for i in ids] == ["superseded", "superseded", "synced"]
    stamps = [rows[i].score_timestamp for i in ids]
    assert stamps[0] < stamps[1] < stamps[2]
    assert [s["scoreGiven"] for s in gradebook.posts_received()] == [30.0]


def test_many_scores_need_only_one_access_token(gradebook):
    for round_ in range(4):
        for sub in STUDENTS:
            gradebook.queue(sub, 10.0 * round_ + 1)
        gradebook.drain(batch=3)

    assert gradebook.grade_tokens() == 1
    assert {s["scoreGiven"] for s in gradebook.lms_scores().values()} == {31.0}


def test_two_workers_draining_together_post_every_score_exactly_once(gradebook):
    for n in range(3):
        for sub in STUDENTS:
            gradebook.placement()  # keep the gradebook's session short-lived
            gradebook.queue(sub, float(n * 10 + STUDENTS.index(sub)), skill_id=f"skill-{n}")
    results = []

    def work() -> None:
        results.append(gradebook.drain(batch=2))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert sum(r.posted for r in results) == 15
    assert sum(r.duplicates for r in results) == 0
    received = [s for scores in gradebook.platform.scores.values() for s in scores]
    assert len(received) == 15


def test_retry_waits_grow_exponentially_with_jitter_but_never_undercut_retry_after():
    policy = RetryPolicy(base_seconds=2, max_seconds=60, max_attempts=5)
    waits = [policy.delay(n) for n in range(1, 8)]
    assert 1 <= waits[0] <= 3 and 2 <= waits[1] <= 6 and 8 <= waits[3] <= 24
    assert all(w <= 90 for w in waits)
    assert policy.delay(1, retry_after=30) >= 30


def test_the_worker_command_posts_what_is_queued_and_exits(gradebook):
    gradebook.queue("student-3", 90.0)

    app = gradebook.tool.app
    result = CliRunner().invoke(worker_command, ["--once"], obj=ScriptInfo(create_app=lambda: app),
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert "Posted 1 scores" in result.output
    assert gradebook.lms_scores()["student-3"]["scoreGiven"] == 90.0


def test_the_worker_logs_each_grade_it_posts_or_fails_by_id_and_outcome_without_personal_data(gradebook, worker_log):
    gradebook.platform.course.members.remove("student-4")  # the LMS will refuse this one
    posted = gradebook.queue("student-1", 73.0)
    refused = gradebook.queue("student-4", 81.0)

    gradebook.drain()

    assert worker_log.lines(f"grade {posted} posted") == [f"grade {posted} posted (attempt 1)"]
    assert worker_log.lines(f"grade {refused} failed") == [f"grade {refused} failed after 1 attempt(s) (400)"]
    everything = " ".join(worker_log.lines())
    for personal in ("student-1", "student-4", "Priya", "73", "81"):
        assert personal not in everything


def _backlog(gradebook, rows: int, *, at: datetime, sub: str = "student-1", prefix: str = "s") -> None:
    """Write waiting rows straight into the outbox, one per skill column, as racing writers could leave them."""
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ScoreOutbox

    with gradebook.tool.app.app_context():
        db.session.execute(sa.insert(ScoreOutbox), [
            {"course_id": gradebook.course_id, "placement_id": gradebook.placement_id,
             "person_id": gradebook.people[sub], "skill_id": f"{prefix}{n}", "score_given": 50.0,
             "score_maximum": 100.0, "activity_progress": "InProgress", "grading_progress": "FullyGraded",
             "comment": "", "score_timestamp": at, "status": "pending", "attempts": 0, "next_attempt_at": at,
             "duplicate": False, "created_at": at}
            for n in range(rows)
        ])
        db.session.commit()


def test_a_score_replaced_by_a_newer_one_is_never_claimed_even_beyond_the_rows_a_pass_checks(gradebook):
    from datetime import timedelta

    moment = utcnow() - timedelta(minutes=5)
    _backlog(gradebook, 3, at=moment, sub="student-2", prefix="same-")  # columns same-0, same-1, same-2 ...
    _backlog(gradebook, 1, at=moment + timedelta(seconds=1), sub="student-2", prefix="same-")  # ... same-0 again
    with gradebook.tool.app.app_context():
        _, rows = claim(10, 30.0)
    claimed = sorted((r.skill_id, r.score_timestamp) for r in rows)
    assert [skill for skill, _ in claimed] == ["same-0", "same-1", "same-2"]
    assert dict(claimed)["same-0"] == moment + timedelta(seconds=1)  # the newer of the two same-0 rows


def test_the_stale_row_pass_looks_only_at_the_front_of_a_huge_backlog(gradebook):
    """Issue 14: the pass checked every waiting row (7.8 s at 20k); it now checks the front of the queue.

    Counted, not timed (a timed test fails on a busy machine): with 15 windows of stale rows waiting, one pass
    marks one window's worth, and the next pass the next; without the window the first would mark them all.
    """
    from datetime import timedelta

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.jobs.worker import SUPERSEDE_WINDOW, supersede_stale
    from lti_tool.models import ScoreOutbox

    moment = utcnow() - timedelta(minutes=5)
    stale = 15 * SUPERSEDE_WINDOW
    _backlog(gradebook, stale, at=moment)  # each column's older score ...
    _backlog(gradebook, stale, at=moment + timedelta(seconds=1))  # ... and the newer one that replaces it
    with gradebook.tool.app.app_context():
        assert supersede_stale(utcnow()) == SUPERSEDE_WINDOW
        assert supersede_stale(utcnow()) == SUPERSEDE_WINDOW
        waiting = db.session.scalar(sa.select(sa.func.count()).select_from(ScoreOutbox).where(
            ScoreOutbox.status == "pending", ScoreOutbox.score_timestamp == moment))
    assert waiting == stale - 2 * SUPERSEDE_WINDOW


def test_a_grade_retried_for_days_never_overflows_the_backoff():
    # Transient failures are retried for ever; the exponent of the backoff must stay a number.
    assert RetryPolicy().delay(5000) <= RetryPolicy().max_seconds * 1.5


def test_only_a_platform_that_does_not_answer_or_asks_to_wait_is_retried_for_ever():
    from types import SimpleNamespace

    from lti_tool.jobs.worker import _Poster
    from lti_tool.lti.outbound import ADDRESS_REFUSED, TIMEOUT, OutboundError
    from lti_tool.lti.services import ServiceCallError, _no_answer
    from lti_tool.models.outbox import FAILED, PENDING

    assert _no_answer(OutboundError(TIMEOUT)) and not _no_answer(OutboundError(ADDRESS_REFUSED))
    poster = _Poster.__new__(_Poster)
    poster.policy = RetryPolicy(max_attempts=3)
    row = SimpleNamespace(id=1, attempts=50)
    now = utcnow()
    for error in (ServiceCallError("no answer", unreachable=True), ServiceCallError("busy", status=503),
                  ServiceCallError("slow down", status=429)):
        assert poster._failure(row, error, now).status == PENDING
    # Ours to fix (an origin not registered, no signing key): max_attempts tries, then the teacher sees it.
    ours = ServiceCallError("Pathways did not call … (reason: foreign_origin).")
    assert poster._failure(SimpleNamespace(id=1, attempts=2), ours, now).status == PENDING
    gave_up = poster._failure(SimpleNamespace(id=1, attempts=3), ours, now)
    assert gave_up.status == FAILED and "Gave up after 3 attempts" in gave_up.last_error


def test_a_retry_that_read_a_failed_score_before_a_worker_took_it_leaves_the_workers_lease_alone(gradebook,
                                                                                                 monkeypatch):
    # A double-clicked "Retry": the second click read the row as failed, the first one's retry was claimed by a
    # worker meanwhile, and the second click's write cleared the worker's lease, so another pass could post it too.
    import threading

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ScoreOutbox
    from lti_tool.services import grades
    from tests.races.support import hold_first_call

    gradebook.platform.course.members.remove("student-4")
    gradebook.queue("student-4", 80.0)
    gradebook.drain()
    assert gradebook.rows()[0].status == "failed"
    reached, go = hold_first_call(monkeypatch, grades, "_retryable")
    retried: list[int] = []

    def second_click():
        with gradebook.tool.app.app_context():
            retried.append(retry_failed(gradebook.course_id, now=utcnow()))
            db.session.remove()

    thread = threading.Thread(target=second_click)
    thread.start()
    assert reached.wait(20)
    with gradebook.tool.app.app_context():  # the first click's retry, then a worker's claim of it
        db.session.execute(sa.update(ScoreOutbox).values(status="pending", lease_token="worker-1",
                                                         lease_expires_at=utcnow()))
        db.session.commit()
        db.session.remove()
    go.set()
    thread.join(30)
    assert retried == [0]
    [row] = gradebook.rows()
    assert (row.status, row.lease_token) == ("pending", "worker-1")


def test_a_platform_that_says_slow_down_gets_no_other_score_until_its_retry_after(make_tool):
    # RFC 6585 §4: a 429's Retry-After says how long the client waits before a new request, not only this one:
    # Canvas throttles per developer key, and every call made while throttled counts against it again.
    import sqlalchemy as sa

    from lti_tool.models import ScoreOutbox
    from tests.support import SandboxActions

    tool = make_tool(**FAST_RETRIES, WORKER_PLATFORM_CONCURRENCY=1)
    book = open_gradebook(tool, SandboxActions(tool))
    for sub in STUDENTS:
        book.queue(sub, 10.0)
    book.drain()  # the column exists and holds everyone's first score
    for sub in STUDENTS:
        book.queue(sub, 50.0)
    # Retry-After: an HTTP-date a minute from now (whole seconds), far past the worker's run below however slow
    # this machine is: a run near the date (it was three seconds) could reach it, and post the others rightly.
    book.platform.retry_after_date_seconds = 60
    book.platform.fail_next = ["429-date"]
    book.platform.service_requests.clear()
    asked_at = utcnow()

    drain(tool.app, once=False, stop=threading.Event(), max_seconds=1.5)  # `pathways worker`, for 1.5 seconds

    posts = [r for r in book.platform.service_requests if r["method"] == "POST" and r["url"].endswith("/scores")]
    assert [r["status"] for r in posts] == [429]
    waiting = [row for row in book.rows() if row.score_given == 50.0]
    assert all(row.status == "pending" for row in waiting)
    # The scores held back were not tried: no attempt is counted against them, and all wait out the minute.
    assert sorted(row.attempts for row in waiting) == [0, 0, 0, 0, 1]
    assert all(row.next_attempt_at >= asked_at + timedelta(seconds=55) for row in waiting)

    with tool.app.app_context():  # the minute passes
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.status == "pending")
                           .values(next_attempt_at=utcnow()))
        db.session.commit()
    stats = book.drain()
    assert stats.failed == 0
    assert {sub: book.lms_scores()[sub]["scoreGiven"] for sub in STUDENTS} == dict.fromkeys(STUDENTS, 50.0)


def test_a_placement_with_a_long_title_still_gets_its_gradebook_columns(gradebook):
    # A Moodle activity's name may run to 1,333 characters (a placement keeps 300), but Canvas refuses an
    # assignment title and Moodle a grade item name over 255: the column's label is cut to fit.
    gradebook.platform.max_label_length = 255
    with gradebook.tool.app.app_context():
        placement = db.session.get(Placement, gradebook.placement_id)
        placement.title = ("Unit 3: " + "fractions, ratios and proportional reasoning; " * 7)[:300]
        db.session.commit()
    gradebook.queue("student-1", 75.0)
    gradebook.queue("student-1", 3.0, skill_id="fractions", score_maximum=4.0)  # and a skill's column

    stats = gradebook.drain()

    assert stats.failed == 0 and stats.posted == 2
    labels = [item["label"] for item in gradebook.platform.line_items.values()]
    assert len(labels) == 2 and all(len(label) == 255 and label.startswith("Unit 3: fractions") for label in labels)
