"""What a platform answers to a score post: AGS 2.0 defines no body, so any 2xx is the score taken."""

from __future__ import annotations

from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions


def test_a_score_post_answered_200_with_a_body_that_is_not_json_counts_as_taken(make_tool):
    # Read as a failure, the score was posted again (and again, up to the retry limit, where the platform takes
    # repeated timestamps, as Canvas does) though the LMS held it.
    tool = make_tool(**FAST_RETRIES)
    book = open_gradebook(tool, SandboxActions(tool))
    book.platform.score_answer = ("OK", "text/plain")
    book.queue("student-1", 40.0)
    book.drain()
    assert [(r.status, r.attempts) for r in book.rows()] == [("synced", 1)]
    assert [p["scoreGiven"] for p in book.posts_received()] == [40.0]
