"""An LMS down for longer than the worker's retries (maintenance, an outage): the grade waits and lands, never dropped."""

from __future__ import annotations

import html
import re
import socket
import threading
import time

import pytest
import sqlalchemy as sa

from lti_tool.extensions import cache, db
from lti_tool.jobs.worker import DrainStats, drain
from lti_tool.models import Platform
from tests.support import SandboxActions, grade_rows

from .gradebook import FAST_RETRIES, one_pass_unanswered, open_gradebook

# A small GRADE_MAX_ATTEMPTS, so an outage longer than it takes a second, not the ~47 minutes of the defaults.
SHORT_PATIENCE = {**FAST_RETRIES, "GRADE_MAX_ATTEMPTS": 3}
# The drains' own limit: only a hang guard. Each ends on its own in about a second; a loaded machine's seconds
# must never decide a test, so the tests check that a drain ended before this, not how fast.
DRAIN_LIMIT = 120


def _work_until_posted(book, *, max_seconds: float) -> DrainStats:
    """Run the worker as `pathways worker` does (never --once) until it has posted a score."""
    stop = threading.Event()
    return drain(book.tool.app, once=False, stop=stop, max_seconds=max_seconds,
                 on_pass=lambda stats: stats.posted and stop.set())


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**SHORT_PATIENCE)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()  # the column exists, so the failures below all hit score posts
    return book


def test_a_grade_is_retried_past_grade_max_attempts_and_lands_when_the_lms_is_back(gradebook):
    gradebook.platform.fail_next = [500, 503, 502, 500, 429, 500, 504, 500]  # more failures than 3 attempts
    gradebook.queue("student-1", 30.0)

    stats = _work_until_posted(gradebook, max_seconds=DRAIN_LIMIT)

    assert stats.posted == 1 and stats.failed == 0 and stats.retries_scheduled == 8
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 30.0
    latest = gradebook.rows()[-1]
    assert latest.status == "synced" and latest.attempts == 9


def test_worker_once_stops_waiting_after_grade_max_attempts_and_leaves_the_grade_pending_for_the_teacher_to_see(
    gradebook,
):
    gradebook.platform.fail_next = [500] * 50  # down for the whole drain
    gradebook.queue("student-1", 30.0)

    started = time.monotonic()
    stats = gradebook.drain(max_seconds=DRAIN_LIMIT)

    # `pathways worker --once` ends on its own during an outage: not at the limit it was given (a generous one,
    # so a loaded machine's seconds never decide this), and after exactly GRADE_MAX_ATTEMPTS tries.
    assert time.monotonic() - started < DRAIN_LIMIT
    assert stats.failed == 0 and stats.posted == 0 and stats.claimed == 3
    assert len(gradebook.platform.fail_next) == 50 - 3  # three posts reached the LMS, no more
    latest = gradebook.rows()[-1]
    assert latest.status == "pending" and latest.attempts == 3 and latest.last_status == 500
    page = SandboxActions(gradebook.tool).launch("teacher")
    row = "".join(grade_rows(page.text, "Priya Shah"))
    text = html.unescape(re.sub(r"<[^>]+>", " ", row))
    assert "Pending" in text and "retrying:" in text and "500" in text, text
    assert "Failed" not in text

    gradebook.platform.fail_next = []  # the LMS is back: the running worker posts it
    _work_until_posted(gradebook, max_seconds=DRAIN_LIMIT)
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 30.0


def test_worker_once_stops_after_grade_max_attempts_also_when_its_passes_outlast_the_backoff(gradebook, monkeypatch):
    # A pass also syncs rosters, purges, deletes old launches: on a busy machine (or with a slow roster service)
    # it can take longer than the wait before the next try. The next pass found the row due again and tried it,
    # past GRADE_MAX_ATTEMPTS, and as long as every pass did, `--once` never ended during an outage.
    from lti_tool.jobs import worker

    chore = worker._ended_launches

    def slow_chore(app):
        time.sleep(0.4)  # longer than the longest backoff here (GRADE_RETRY_MAX_SECONDS 0.2, jitter up to 1.5x)
        return chore(app)

    monkeypatch.setattr(worker, "_ended_launches", slow_chore)
    gradebook.platform.fail_next = [500] * 50
    gradebook.queue("student-1", 30.0)

    started = time.monotonic()
    stats = gradebook.drain(max_seconds=DRAIN_LIMIT)

    assert time.monotonic() - started < DRAIN_LIMIT
    assert stats.claimed == 3 and len(gradebook.platform.fail_next) == 50 - 3
    latest = gradebook.rows()[-1]
    assert latest.status == "pending" and latest.attempts == 3 and latest.last_status == 500


def test_worker_once_still_tries_a_grade_that_had_its_tries_in_an_earlier_run(gradebook):
    # Patience counts tries, not runs: a later `--once` (a cron job) tries a due grade once more however many
    # tries it had, and leaves it pending again while the LMS is still down.
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ScoreOutbox

    gradebook.platform.fail_next = [500] * 50
    gradebook.queue("student-1", 30.0)
    with gradebook.tool.app.app_context():
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.status == "pending").values(attempts=7))
        db.session.commit()
        db.session.remove()

    stats = gradebook.drain(max_seconds=DRAIN_LIMIT)

    assert stats.claimed == 1 and len(gradebook.platform.fail_next) == 50 - 1
    latest = gradebook.rows()[-1]
    assert latest.status == "pending" and latest.attempts == 8 and latest.last_status == 500


def test_scores_held_back_because_their_platform_hung_do_not_use_up_an_attempt(make_tool):
    tool = make_tool(**SHORT_PATIENCE, WORKER_PLATFORM_CONCURRENCY=1)
    tool.platform.timeout_seconds = 1.0  # an injected "timeout" outlasts the worker's 0.5 s timeout
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()
    book.platform.fail_next = ["timeout"]  # the first post of the next batch hangs; the rest are not sent
    for sub in ("student-2", "student-3", "student-4"):
        book.queue(sub, 50.0)

    stats = book.drain()

    assert stats.posted == 3 and stats.failed == 0
    attempts = {r.person_id: r.attempts for r in book.rows()[1:]}
    assert attempts == {book.people["student-2"]: 2, book.people["student-3"]: 1, book.people["student-4"]: 1}


def test_a_score_held_back_late_in_an_outage_is_not_given_up(make_tool, monkeypatch):
    # Past GRADE_MAX_ATTEMPTS of timeouts (never given up on), a score held back because the LMS did not answer
    # another one was failed as if our own error had used up its tries ("Gave up after 4 attempts: Not sent"),
    # though it was never tried: the teacher had to retry it by hand once the LMS was back.
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ScoreOutbox

    tool = make_tool(**SHORT_PATIENCE, WORKER_PLATFORM_CONCURRENCY=1)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()
    book.queue("student-2", 50.0)
    book.queue("student-3", 50.0)
    with tool.app.app_context():  # both have timed out 3 times already
        db.session.execute(sa.update(ScoreOutbox).where(ScoreOutbox.status == "pending").values(attempts=3))
        db.session.commit()
        db.session.remove()
    stats, tried = one_pass_unanswered(book, monkeypatch)

    assert stats.failed == 0 and len(tried) == 1
    held = "student-3" if tried == ["student-2"] else "student-2"
    (row,) = [r for r in book.rows() if r.person_id == book.people[held]]
    assert (row.status, row.attempts, row.last_error) == ("pending", 3, None)


def test_an_lms_whose_name_stops_resolving_keeps_its_grade_pending_and_it_lands_once_dns_answers(
        gradebook, monkeypatch):
    # A school's DNS failing (EAI_AGAIN) is an outage like a timeout: the grade waits, the worker goes on.
    tool = gradebook.tool
    with tool.app.app_context():
        platform = db.session.scalars(sa.select(Platform)).one()
        platform.auth_audience = platform.auth_audience or platform.auth_token_url  # what the LMS checks in aud
        platform.auth_token_url = platform.auth_token_url.replace("127.0.0.1", "lms.test")
        db.session.commit()
        db.session.remove()
        cache.clear()  # no access token kept: the next post asks the token endpoint, by its name
    resolving, real_getaddrinfo = threading.Event(), socket.getaddrinfo

    def school_dns(host, port, *args, **kwargs):
        if host == "lms.test":
            if not resolving.is_set():
                raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
            host = "127.0.0.1"
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", school_dns)
    gradebook.queue("student-1", 30.0)

    stats = gradebook.drain(max_seconds=DRAIN_LIMIT)

    assert stats.failed == 0 and stats.posted == 0
    latest = gradebook.rows()[-1]
    assert latest.status == "pending" and latest.attempts == 3, (latest.status, latest.last_error)

    resolving.set()  # DNS answers again: the running worker posts it
    _work_until_posted(gradebook, max_seconds=DRAIN_LIMIT)
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 30.0
