"""What a platform answers to a score post: AGS 2.0 defines no body, so a 2xx is the score taken, unless it is a
web page; a redirect is never followed, and means the score was not delivered."""

from __future__ import annotations

import html

import pytest

from lti_tool.models.base import utcnow
from lti_tool.services.grades import retry_failed
from tests.support import SandboxActions

from .gradebook import FAST_RETRIES, open_gradebook

MAX_ATTEMPTS = 3


@pytest.fixture
def book(make_tool):
    tool = make_tool(**FAST_RETRIES, GRADE_MAX_ATTEMPTS=MAX_ATTEMPTS)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()  # the column exists, and a first score is in it
    return book


@pytest.mark.parametrize("answer", [("OK", "text/plain"), ("", "text/html; charset=UTF-8"), ("[]", "application/json")])
def test_a_score_post_answered_200_with_a_body_that_is_not_a_page_counts_as_taken(book, answer):
    # Read as a failure, the score was posted again (and again, up to the retry limit, where the platform takes
    # repeated timestamps, as Canvas does) though the LMS held it. An empty body of any type says nothing.
    book.platform.score_answer = answer
    book.queue("student-1", 40.0)
    book.drain()
    assert [(r.status, r.attempts) for r in book.rows()][-1] == ("synced", 1)
    assert [p["scoreGiven"] for p in book.posts_received()] == [10.0, 40.0]


def _gradebook_status(book) -> str:
    """The teacher's course page, where each student's grade says synced, retrying (why) or failed (why)."""
    return html.unescape(SandboxActions(book.tool).launch("teacher").text)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_score_post_redirected_to_a_sign_in_page_is_not_counted_as_sent_and_is_retried(book, status):
    # A 301, 302 or 303 turned the post into a GET of the sign-in page, which answered 200: the score was counted as
    # sent though the LMS never had it (a 307 or 308 posted it to the sign-in page, with the same result).
    book.platform.score_redirect = status
    book.queue("student-1", 40.0)
    stats = book.drain()

    row = book.rows()[-1]
    assert (row.status, row.attempts, stats.posted) == ("failed", MAX_ATTEMPTS, 0), (row.status, row.last_error)
    assert row.last_error == (f"Gave up after {MAX_ATTEMPTS} attempts: The platform answered the score with a "
                              "redirect, which Pathways does not follow: it was not delivered (reason: redirect_refused).")
    assert [p["scoreGiven"] for p in book.posts_received()] == [10.0]  # the LMS never had it
    page = _gradebook_status(book)
    assert "reason: redirect_refused" in page and "Sign in to the LMS" not in page

    # Once the platform takes scores again, the teacher's "retry" sends it.
    book.platform.score_redirect = None
    with book.tool.app.app_context():
        assert retry_failed(book.course_id, now=utcnow()) == 1
    book.drain()
    assert book.rows()[-1].status == "synced"
    assert book.lms_scores()["student-1"]["scoreGiven"] == 40.0


def test_a_score_post_answered_200_with_a_proxys_page_is_retried_until_the_lms_has_it(book):
    # A proxy in front of a lost LMS answers 200 and a page of its own: the score never reached the gradebook.
    book.platform.fail_next = ["garbage"]
    book.queue("student-1", 40.0)
    stats = book.drain()
    assert stats.retries_scheduled >= 1 and stats.failed == 0, stats
    assert book.platform.fail_next == []
    assert (book.rows()[-1].status, book.lms_scores()["student-1"]["scoreGiven"]) == ("synced", 40.0)


def test_a_platform_answering_every_score_with_a_page_fails_it_for_the_teacher_to_see_not_for_ever(book):
    book.platform.score_answer = ("<!DOCTYPE html><html><body>Welcome! Please sign in.</body></html>", "text/html")
    book.queue("student-1", 40.0)
    stats = book.drain()
    row = book.rows()[-1]
    assert (row.status, row.attempts, stats.failed) == ("failed", MAX_ATTEMPTS, 1), (row.status, row.last_error)
    assert row.last_error.startswith(f"Gave up after {MAX_ATTEMPTS} attempts: The platform answered the score with "
                                     "a web page")
    assert "(reason: html_answer)" in row.last_error
    page = _gradebook_status(book)
    assert "reason: html_answer" in page and "Please sign in" not in page



@pytest.mark.parametrize("status", [300, 302])
def test_a_score_post_answered_3xx_without_a_location_is_not_counted_as_sent(book, status):
    # No Location, so not a redirect to refuse: the answer came back as is, and a 3xx is below 400 (requests'
    # `ok`). The score was counted as sent though nothing took it: the student's grade never reached the LMS.
    book.platform.fail_next = [status]
    book.queue("student-1", 40.0)
    stats = book.drain()
    assert stats.retries_scheduled >= 1 and stats.failed == 0, stats
    assert (book.rows()[-1].status, book.lms_scores()["student-1"]["scoreGiven"]) == ("synced", 40.0)


def test_a_platform_answering_every_score_with_a_3xx_fails_it_for_the_teacher_to_see(book):
    book.platform.fail_next = [302] * (MAX_ATTEMPTS + 1)
    book.queue("student-1", 40.0)
    book.drain()
    row = book.rows()[-1]
    assert (row.status, row.attempts) == ("failed", MAX_ATTEMPTS), (row.status, row.last_error)
    assert "(reason: http_302)" in row.last_error
    assert book.lms_scores()["student-1"]["scoreGiven"] == 10.0
