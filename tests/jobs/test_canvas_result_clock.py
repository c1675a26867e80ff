"""Canvas refuses (400) a score older than the result it holds, and dates that result by its own clock.

Canvas (app/controllers/lti/ims/scores_controller.rb `verify_valid_timestamp`; its Score API: "Returns a 400 if the
timestamp is earlier than the updated_at time of the Result") compares a score's timestamp with the time by its own
clock it stored the student's last score. A student's next grade stamped before the previous one reached Canvas (two
answers a second apart, a worker that posted the first late) or a Canvas clock a few seconds ahead of ours was
refused; Pathways read the 400 as a bad request and failed the newest grade for good, leaving the older one in the
gradebook. AGS 2.0 §3.4.1 (the platform keeps the latest score) is the same refusal other platforms send as 409.
"""

from __future__ import annotations

import pytest

from tests.jobs.gradebook import FAST_RETRIES, gradebook_in_another_lms, later


def _play_canvas(lms) -> None:
    lms.same_score_timestamp_taken = True  # Canvas refuses only an older timestamp
    lms.result_clock_ahead_seconds = 0.0


@pytest.fixture
def canvas_ahead(make_tool):
    """A gradebook in a Canvas whose clock runs 4 seconds ahead of the tool's."""
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES, GRADE_MAX_ATTEMPTS=8), "Canvas",
                                  setup=_play_canvas) as book:
        book.platform.result_clock_ahead_seconds = 4
        yield book


@pytest.fixture
def canvas_days_ahead(make_tool):
    """A gradebook in a Canvas whose clock runs days ahead: no later time of ours is in reach."""
    with gradebook_in_another_lms(make_tool(**FAST_RETRIES, GRADE_MAX_ATTEMPTS=4), "Canvas",
                                  setup=_play_canvas) as book:
        book.platform.result_clock_ahead_seconds = 10 * 24 * 3600
        yield book


def test_a_students_newer_grade_that_canvas_refuses_as_older_than_its_result_is_sent_again_later_and_lands(
        canvas_ahead):
    canvas_ahead.queue("student-1", 40.0)
    canvas_ahead.drain()
    canvas_ahead.queue("student-1", 90.0, now=later(1))  # stamped before Canvas's time for the 40

    stats = canvas_ahead.drain()

    assert canvas_ahead.lms_scores()["student-1"]["scoreGiven"] == 90.0
    assert stats.posted == 1 and stats.failed == 0 and stats.retries_scheduled >= 1
    newest = canvas_ahead.rows()[-1]
    assert newest.status == "synced" and not newest.duplicate and newest.attempts > 1


def test_a_grade_canvas_always_refuses_as_older_fails_for_the_teacher_after_the_tries_and_names_the_reason(
        canvas_days_ahead):
    canvas_days_ahead.queue("student-1", 40.0)
    canvas_days_ahead.drain()
    canvas_days_ahead.queue("student-1", 90.0, now=later(1))

    stats = canvas_days_ahead.drain()

    assert canvas_days_ahead.lms_scores()["student-1"]["scoreGiven"] == 40.0
    assert stats.failed == 1 and stats.posted == 0
    newest = canvas_days_ahead.rows()[-1]
    assert (newest.status, newest.attempts) == ("failed", 4)
    assert newest.last_error.startswith("Gave up after 4 attempts:")
    assert "HTTP 400, reason: score_not_later" in newest.last_error
    assert "Provided timestamp" not in newest.last_error  # the platform's words are never shown


def test_the_sandbox_dates_a_result_by_its_own_clock_and_refuses_an_older_score_with_400_as_canvas_does(
        canvas_ahead):
    posts = [p for p in canvas_ahead.platform.service_requests if p["method"] == "POST"]
    assert posts == []  # nothing sent yet; the refusal below is the sandbox's alone
    canvas_ahead.queue("student-1", 40.0)
    canvas_ahead.drain()
    url = canvas_ahead.placement().lineitem_url
    context_id, item_id = canvas_ahead.context_id, url.rsplit("/", 1)[1]
    from lti_tool.sandbox.platform import SandboxError
    with pytest.raises(SandboxError) as refused:
        canvas_ahead.platform.post_score(context_id, item_id, {
            "userId": "student-1", "scoreGiven": 1, "scoreMaximum": 10, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded", "timestamp": later(2).isoformat() + "+00:00"})
    assert refused.value.status == 400
    assert "before last updated timestamp" in refused.value.body["errors"]["message"]
