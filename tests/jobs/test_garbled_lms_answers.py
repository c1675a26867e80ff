"""An LMS (or the proxy in front of it) answering with a page instead of JSON, JSON cut off mid-way, or a body that
trickles in a byte at a time: each is a failed try, retried until the grade lands; the worker never stops, never
waits past its deadline, and never marks the grade failed for it.

(A score post itself answered 2xx counts as taken whatever its body says, unless it is a web page: AGS defines no
answer to it, see lti/services.py make_service_request and tests/jobs/test_score_answers.py.)
"""

from __future__ import annotations

import time

import pytest

from lti_tool.extensions import cache
from tests.support import SandboxActions

from .gradebook import FAST_RETRIES, open_gradebook

DRIP_SECONDS = 5.0  # ten times the worker's service timeout (FAST_RETRIES: 0.5 s)


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**FAST_RETRIES)
    book = open_gradebook(tool, SandboxActions(tool))
    book.platform.timeout_seconds = DRIP_SECONDS
    with tool.app.app_context():
        cache.clear()  # no access token kept: the worker asks the LMS for one
    return book


@pytest.mark.parametrize("answer", ["garbage", "truncated", "drip"])
@pytest.mark.parametrize("endpoint", ["token", "line items"])
def test_a_garbled_lms_answer_is_a_retried_try_and_the_grade_lands_once(gradebook, answer, endpoint):
    gradebook.queue("student-1", 65.0)
    # The first calls of the pass: the access token, then the line item listing (the column is not made yet).
    if endpoint == "token":
        gradebook.platform.fail_next_token = [answer, answer]
    else:
        gradebook.platform.fail_next = [answer, answer]

    started = time.monotonic()
    stats = gradebook.drain(max_seconds=15)
    took = time.monotonic() - started

    assert stats.failed == 0 and stats.posted == 1, stats
    assert stats.retries_scheduled >= 1, stats  # the grade met one (a roster sync of the pass may meet the other)
    assert gradebook.platform.fail_next_token == [] and gradebook.platform.fail_next == []  # both were met
    assert [p["scoreGiven"] for p in gradebook.posts_received()] == [65.0]  # landed once
    assert gradebook.rows()[-1].status == "synced"
    assert took < DRIP_SECONDS, took  # a drip is cut at the deadline, not waited out
