"""Canvas makes a score a student's new submission unless told otherwise; Pathways marks only the first one.

Canvas (app/controllers/lti/ims/scores_controller.rb) creates a submission attempt for every score whose
`https://canvas.instructure.com/lti/submission` extension does not say `new_submission: false`, refuses one past
the assignment's allowed attempts (422), moves the submission time to each `submitted_at` (a re-grade after the
due date would mark the student late) and adds every comment it receives to SpeedGrader.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.lti.ags import CANVAS_SUBMISSION
from lti_tool.models import ScoreOutbox
from lti_tool.models.base import utcnow
from tests.jobs.gradebook import FAST_RETRIES, gradebook_in_another_lms, later, one_pass_unanswered, open_gradebook
from tests.support import SandboxActions


def _play_canvas(lms) -> None:
    lms.allowed_attempts = 1
    lms.same_score_timestamp_taken = True  # Canvas refuses only an older timestamp


@pytest.fixture
def canvas(make_tool):
    """A gradebook in a sandbox LMS whose issuer names Canvas, allowing one submission attempt."""
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES), "Canvas", setup=_play_canvas) as book:
        yield book


def _extension(post: dict) -> dict:
    return post[CANVAS_SUBMISSION]


def test_only_a_students_first_score_is_a_canvas_submission_and_regrades_keep_its_time(canvas):
    canvas.queue("student-1", 40.0)
    canvas.drain()
    canvas.queue("student-1", 60.0, now=later(1))
    canvas.drain()
    canvas.queue("student-1", 80.0, now=later(2))
    canvas.queue("student-2", 30.0, now=later(2))  # another student's first score, in a later batch
    canvas.drain()

    assert [(r.status, r.last_status) for r in canvas.rows()] == [("synced", None)] * 4
    assert canvas.lms_scores()["student-1"]["scoreGiven"] == 80.0
    first, *regrades = [p for p in canvas.posts_received() if p["userId"] == "student-1"]
    assert _extension(first)["new_submission"] is True and _extension(first)["submitted_at"]
    assert [_extension(p) for p in regrades] == [{"new_submission": False}] * 2  # no submitted_at: not late
    url = canvas.placement().lineitem_url
    assert len(canvas.platform.submissions(url, "student-1")) == 1  # one attempt, however often re-graded
    (other,) = [p for p in canvas.posts_received() if p["userId"] == "student-2"]
    assert _extension(other)["new_submission"] is True
    assert len(canvas.platform.submissions(url, "student-2")) == 1


def test_a_comment_canvas_already_has_is_not_sent_again(canvas):
    canvas.platform.allowed_attempts = None  # comments only
    canvas.queue("student-1", 40.0, skill_names=["Fractions"])
    canvas.drain()
    canvas.queue("student-1", 60.0, skill_names=["Fractions"], now=later(1))
    canvas.drain()
    canvas.queue("student-1", 80.0, skill_names=["Fractions", "Ratios"], now=later(2))
    canvas.drain()
    comments = [p.get("comment") for p in canvas.posts_received()]
    assert comments == ["Pathways mastery: Fractions", None, "Pathways mastery: Fractions, Ratios"]


def test_other_platforms_get_every_comment_and_no_canvas_extension(make_tool):
    tool = make_tool(**FAST_RETRIES)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 40.0, skill_names=["Fractions"])
    book.drain()
    book.queue("student-1", 60.0, skill_names=["Fractions"], now=later(1))
    book.drain()
    posts = book.posts_received()
    assert [p.get("comment") for p in posts] == ["Pathways mastery: Fractions"] * 2
    assert not [p for p in posts if CANVAS_SUBMISSION in p]


def test_a_column_made_again_after_a_deletion_gets_the_students_first_submission(canvas):
    from tests.jobs.test_lms_gradebook_changes import _delete_in_lms

    canvas.queue("student-1", 40.0)
    canvas.drain()
    dead = canvas.placement().lineitem_url
    _delete_in_lms(canvas.platform, dead)
    canvas.queue("student-1", 60.0, now=later(1))
    canvas.drain()

    assert canvas.rows()[-1].status == "synced"
    new = canvas.placement().lineitem_url
    assert new != dead
    (resent,) = [p for p in canvas.posts_received() if p["userId"] == "student-1" and p["scoreGiven"] == 60.0
                 and _extension(p).get("new_submission")]
    assert _extension(resent)["submitted_at"]
    assert len(canvas.platform.submissions(new, "student-1")) == 1


@pytest.fixture
def patient_canvas(make_tool):
    """A Canvas gradebook whose calls wait as long as the LMS holds them (a worker's lease may not)."""
    tool = make_tool(**{**FAST_RETRIES, "SERVICE_TIMEOUT_SECONDS": 30})
    with gradebook_in_another_lms(tool, "Canvas", setup=_play_canvas) as book:
        yield book


class _HeldFirst:
    """The LMS holds the first call to one of its services (the platform method its route calls) until `release`
    is set, then serves it; later calls are served at once. No fixed delay: the test says when."""

    def __init__(self, lms, name: str) -> None:
        self.arrived, self.release, self.served = threading.Event(), threading.Event(), threading.Event()
        original = getattr(lms, name)

        def held(*args, **kwargs):
            if self.arrived.is_set():
                return original(*args, **kwargs)
            self.arrived.set()
            try:
                assert self.release.wait(30), f"the test never let the LMS answer the first {name}"
                return original(*args, **kwargs)
            finally:
                self.served.set()

        setattr(lms, name, held)


def _first_worker(canvas, **options) -> threading.Thread:
    worker = threading.Thread(target=canvas.drain, kwargs={"max_seconds": 30, **options})
    worker.start()
    return worker


def _end_leases(canvas) -> None:
    """Let every lease run out now, as the clock would: the next worker's pass takes the rows."""
    with canvas.tool.app.app_context():
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.lease_token.is_not(None))
                           .values(lease_expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()


def test_a_score_canvas_took_from_a_worker_that_lost_its_lease_is_sent_again_as_a_regrade(patient_canvas):
    canvas = patient_canvas
    canvas.queue("student-2", 10.0)
    canvas.drain()  # the gradebook column exists; what follows is student-1's first score
    canvas.queue("student-1", 40.0, skill_names=["Fractions"], now=later(1))
    lms = canvas.platform
    # The LMS holds the first worker's post until another worker asks for the student's results, and answers that
    # once the post is recorded: Canvas has the score by the time the worker that took the row over asks.
    post = _HeldFirst(lms, "post_score")
    results = lms.results

    def results_once_the_post_landed(*args):
        if post.arrived.is_set() and not post.release.is_set():  # not the first worker's: it is waiting on its post
            post.release.set()
            assert post.served.wait(30), "the first worker's post never landed"
        return results(*args)

    lms.results = results_once_the_post_landed
    first = _first_worker(canvas)
    assert post.arrived.wait(30), "the first worker never posted"
    _end_leases(canvas)  # its lease runs out while the LMS holds its post
    canvas.drain()  # a second worker takes the row
    first.join(30)
    assert not first.is_alive()

    assert post.served.is_set()
    (row,) = [r for r in canvas.rows() if r.score_given == 40.0]
    assert (row.status, row.last_status) == ("synced", None)
    url = canvas.placement().lineitem_url
    assert len(lms.submissions(url, "student-1")) == 1  # one attempt, though the score went twice
    posts = [p for p in canvas.posts_received() if p["userId"] == "student-1"]
    assert [_extension(p).get("new_submission") for p in posts] == [True, False]
    assert [p.get("comment") for p in posts] == ["Pathways mastery: Fractions", None]  # SpeedGrader shows it once
    assert [p["timestamp"] for p in posts][0] == posts[1]["timestamp"]


def test_a_worker_whose_lease_ran_out_while_it_found_the_column_leaves_the_post_to_the_worker_holding_it(
        patient_canvas):
    canvas = patient_canvas
    canvas.queue("student-1", 40.0, skill_names=["Fractions"])
    # The LMS holds the first worker's look for the column until a second worker has taken the row (its lease ran
    # out: the second worker's own passes wait for that), made the column and posted the score.
    listing = _HeldFirst(canvas.platform, "list_line_items")
    first = _first_worker(canvas, lease_seconds=0.4)
    assert listing.arrived.wait(30), "the first worker never looked for the column"
    canvas.drain()  # a second worker takes the row, makes the column and posts the score
    listing.release.set()
    first.join(30)
    assert not first.is_alive()

    assert listing.served.is_set()
    (row,) = canvas.rows()
    assert (row.status, row.last_status) == ("synced", None)
    posts = canvas.posts_received()
    # Posting it too, the first worker would have raced the second one's post: not tried, so nothing to undo.
    assert [(p["userId"], _extension(p).get("new_submission")) for p in posts] == [("student-1", True)]
    assert len(canvas.platform.submissions(canvas.placement().lineitem_url, "student-1")) == 1


NOTHING_DUE = "Nothing is due yet: no grade until a goal date passes"


def test_a_score_without_a_number_is_no_submission_until_a_number_was_sent_and_then_clears_it(canvas):
    # Early in a course nothing is due: a score without scoreGiven made a Canvas submission for every student,
    # and the teacher's "Needs grading" list filled with students who had nothing to grade.
    canvas.queue("student-1", None, basis=NOTHING_DUE)
    stats = canvas.drain()
    assert (stats.posted, stats.not_needed, stats.failed) == (0, 1, 0)
    assert canvas.platform.scores == {} and canvas.placement().lineitem_url is None  # no column made for it
    canvas.queue("student-1", 40.0, now=later(1))  # a goal's date passed
    canvas.drain()
    canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(2))  # the teacher moved the goal later
    canvas.drain()

    assert [r.status for r in canvas.rows()] == ["nothing_to_clear", "synced", "synced"]
    first, cleared = canvas.posts_received()
    assert first["scoreGiven"] == 40.0 and _extension(first)["new_submission"] is True  # the student's submission
    assert "scoreGiven" not in cleared and cleared["gradingProgress"] == "Pending"  # the 40 no longer applies
    assert _extension(cleared) == {"new_submission": False}
    assert "scoreGiven" not in canvas.lms_scores()["student-1"]


def test_a_score_without_a_number_is_sent_while_a_number_may_be_on_its_way(canvas):
    # A worker holds the student's 40 (claimed, posting) when the teacher moves the goal later: the 40 may land,
    # so the score that clears it must be sent after it, not held back because nothing was synced yet.
    from lti_tool.jobs.worker import claim

    canvas.queue("student-1", 40.0)
    with canvas.tool.app.app_context():
        _, held = claim(10, 5.0)
        db.session.remove()
    assert len(held) == 1
    canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(1))
    stats = canvas.drain()
    assert (stats.posted, stats.not_needed) == (1, 0)
    (cleared,) = canvas.posts_received()
    assert "scoreGiven" not in cleared and cleared["gradingProgress"] == "Pending"



def _a_40_the_lms_took_on_a_row_that_failed(canvas) -> None:
    """Queue student-1's 40: the LMS takes it but the worker times out first, and its next attempt is refused."""
    lms = canvas.platform
    lms.timeout_seconds = 1.0  # longer than the worker waits (FAST_RETRIES)
    # The column is looked for, made and found, the student's results read; the post is served after the worker gave
    # up waiting. Then the LMS refuses (HTTP 400) whatever comes next: the roster sync between the two attempts (its
    # differences, then the whole roster) if one is due, and the next attempt's results read and post.
    lms.fail_next = ["ok", "ok", "ok", "ok", "slow", 400, 400, 400, 400]
    canvas.queue("student-1", 40.0)
    assert canvas.drain().failed == 1
    lms.fail_next.clear()
    deadline = time.monotonic() + 10
    while "student-1" not in canvas.lms_scores():  # the slow post lands after the worker gave up on it
        assert time.monotonic() < deadline, "the LMS never served the slow post"
        time.sleep(0.05)
    assert canvas.lms_scores()["student-1"]["scoreGiven"] == 40.0
    (row,) = canvas.rows()
    assert (row.status, row.last_status) == ("failed", 400)


def _retry(canvas) -> None:
    """The teacher presses "retry" on the grade status page: the failed 40 waits again, its attempt count reset."""
    from lti_tool.services.grades import retry_failed

    with canvas.tool.app.app_context():
        assert retry_failed(canvas.course_id, now=utcnow()) == 1
        db.session.remove()


def test_a_score_without_a_number_clears_a_number_that_failed_after_landing_and_was_retried(canvas):
    # After the retry, before the worker's next pass, the teacher moves the goal later: the score loses its number and
    # replaces the waiting 40. Judged from the attempt count the retry had reset, the 40 looked never sent: the score
    # that clears it was kept back, and the LMS kept the 40 for good.
    _a_40_the_lms_took_on_a_row_that_failed(canvas)
    _retry(canvas)
    canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(2))

    stats = canvas.drain()

    assert (stats.posted, stats.not_needed) == (1, 0)
    assert [(r.score_given, r.status) for r in canvas.rows()] == [(40.0, "superseded"), (None, "synced")]
    assert "scoreGiven" not in canvas.lms_scores()["student-1"]


def test_a_retried_number_the_worker_took_but_did_not_send_is_still_cleared(canvas):
    # The retried 40 is taken by a worker whose lease runs out before the post: not sent, so its attempt is given
    # back (the count is 0 again) and nothing is said. The answer to its earlier attempt must stay on the row: it is
    # what tells that the 40 may be in the LMS when a score without a number replaces it.
    _a_40_the_lms_took_on_a_row_that_failed(canvas)
    _retry(canvas)
    one_pass = threading.Event()
    canvas.drain(lease_seconds=0.0001, stop=one_pass, on_pass=lambda _: one_pass.set())
    (row,) = canvas.rows()
    assert (row.status, row.attempts, row.last_status) == ("pending", 0, 400)
    canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(2))

    stats = canvas.drain()

    assert (stats.posted, stats.not_needed) == (1, 0)
    assert "scoreGiven" not in canvas.lms_scores()["student-1"]


def test_a_number_the_lms_took_before_the_worker_lost_the_database_is_still_cleared(canvas, monkeypatch):
    # The 40 is posted and the LMS takes it; then the commit that records it fails (the database blipped). The pass
    # gave the batch back as if nothing was sent: the count was 0 again and nothing said, so when the 40 was replaced
    # by a score without a number before the next pass, the 40 looked never sent and stayed in the LMS for good.
    from lti_tool.jobs import worker

    canvas.queue("student-1", 40.0)
    one_pass = threading.Event()

    def commit_fails(token, outcomes):
        one_pass.set()
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    with monkeypatch.context() as patched:
        patched.setattr(worker, "_record", commit_fails)
        canvas.drain(stop=one_pass)
    assert canvas.lms_scores()["student-1"]["scoreGiven"] == 40.0
    (row,) = canvas.rows()
    assert (row.status, row.lease_token, row.attempts) == ("pending", None, 1)  # given back, the post still counted
    canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(2))

    stats = canvas.drain()

    assert (stats.posted, stats.not_needed) == (1, 0)
    assert [(r.score_given, r.status) for r in canvas.rows()] == [(40.0, "superseded"), (None, "synced")]
    assert "scoreGiven" not in canvas.lms_scores()["student-1"]


def test_a_number_held_back_because_the_lms_did_not_answer_another_is_no_reason_to_send_a_blank(make_tool,
                                                                                              monkeypatch):
    # The LMS does not answer one student's post, so the batch's other scores are not sent. Such a score told that it
    # was not sent in words that counted as an attempt's answer: once replaced by a score without a number, that
    # score went to a student who never had one of ours, and became a submission in the teacher's "Needs grading".
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES, WORKER_PLATFORM_CONCURRENCY=1), "Canvas",
                                  setup=_play_canvas) as canvas:
        canvas.queue("student-1", 40.0)
        canvas.queue("student-2", 30.0)
        _, tried = one_pass_unanswered(canvas, monkeypatch)
        (posted,) = tried  # the other score was held back, not tried
        held = "student-2" if posted == "student-1" else "student-1"
        rows = {r.person_id: r for r in canvas.rows()}
        never = rows[canvas.people[held]]
        assert (never.status, never.attempts, never.last_status, never.last_error) == ("pending", 0, None, None)
        assert rows[canvas.people[posted]].attempts == 1 and rows[canvas.people[posted]].last_error
        canvas.queue("student-1", None, basis=NOTHING_DUE, now=later(2))
        canvas.queue("student-2", None, basis=NOTHING_DUE, now=later(2))

        stats = canvas.drain()

        assert (stats.posted, stats.not_needed) == (1, 1)  # the score that may have landed is cleared
        url = canvas.placement().lineitem_url
        assert held not in canvas.lms_scores() and canvas.platform.submissions(url, held) == []
        assert "scoreGiven" not in canvas.lms_scores()[posted]
