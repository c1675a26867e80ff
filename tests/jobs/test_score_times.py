"""Moodle keeps a score's time in whole seconds and refuses (409) one not in a later second than the last.

Two scores for the same student and column within one second must both land: the newer is not "already there".
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from lti_tool.models.base import utcnow
from lti_tool.sandbox.platform import SandboxError

from .gradebook import FAST_RETRIES, open_gradebook


@pytest.fixture
def gradebook(make_tool):
    from tests.support import SandboxActions

    tool = make_tool(**FAST_RETRIES)
    tool.platform.timeout_seconds = 1.0
    return open_gradebook(tool, SandboxActions(tool))


def test_two_scores_in_the_same_second_both_reach_a_gradebook_that_keeps_whole_seconds(gradebook):
    gradebook.platform.score_times_in_whole_seconds = True  # as Moodle's gradebookservices stores them
    base = utcnow().replace(microsecond=100_000) + timedelta(seconds=5)
    gradebook.queue("student-1", 40.0, now=base - timedelta(seconds=5))
    gradebook.drain()
    gradebook.queue("student-1", 50.0, now=base)
    gradebook.drain()
    gradebook.queue("student-1", 90.0, now=base + timedelta(milliseconds=500))  # the same wall-clock second

    stats = gradebook.drain()

    assert stats.posted == 1 and stats.duplicates == 0
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 90.0
    first, second, third = gradebook.rows()
    assert third.status == "synced" and not third.duplicate
    assert second.score_timestamp.replace(microsecond=0) < third.score_timestamp.replace(microsecond=0)
    assert first.score_timestamp < second.score_timestamp


def test_the_sandbox_can_compare_score_timestamps_in_whole_seconds_as_moodle_does(gradebook):
    platform = gradebook.platform
    item = platform.create_line_item(gradebook.context_id, {"label": "Quiz", "scoreMaximum": 10})
    item_id = item["id"].rsplit("/", 1)[1]

    def post(stamp: str) -> None:
        platform.post_score(gradebook.context_id, item_id, {
            "userId": "student-1", "scoreGiven": 1, "scoreMaximum": 10, "activityProgress": "Completed",
            "gradingProgress": "FullyGraded", "timestamp": stamp})

    post("2030-01-01T10:00:00.100+00:00")
    post("2030-01-01T10:00:00.600+00:00")  # full precision: later, accepted
    platform.score_times_in_whole_seconds = True
    with pytest.raises(SandboxError) as refused:
        post("2030-01-01T10:00:00.900+00:00")
    assert refused.value.status == 409
    post("2030-01-01T10:00:01.000+00:00")
