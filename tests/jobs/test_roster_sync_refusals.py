"""A roster sync the LMS refuses for good stops asking; one it asks to wait for waits as long as the LMS said.

The worker syncs a course's roster when a teacher's launch finds it stale. A failed sync was due again after
ROSTER_SYNC_MIN_SECONDS whatever the answer: a 403 (the LMS does not let the tool read rosters) was asked again every
few minutes for ever, a token request and a roster request each time, with nobody told; and a 429 or 503 whose
Retry-After asked for longer (RFC 9110 §10.2.3) was asked again sooner than the LMS allowed.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.models import Course
from lti_tool.models.base import utcnow

MIN_SECONDS = 1
REFUSED = "The LMS refused the last automatic roster update"


@pytest.fixture
def lms(make_tool):
    from tests.support import SandboxActions

    tool = make_tool(ROSTER_SYNC_MIN_SECONDS=MIN_SECONDS)
    return SandboxActions(tool)


def _roster_requests(platform) -> int:
    return sum(1 for r in platform.service_requests if r["method"] == "GET" and "/memberships" in r["url"])


def _due_at(tool):
    with tool.app.app_context():
        return db.session.scalar(sa.select(Course.roster_sync_due_at))


def _roster_shown(page) -> bool:
    return "Zainab Hassan" in page.http.get(page.url).text


def test_a_roster_the_lms_refuses_for_good_is_not_asked_for_again_until_a_teacher_launch_asks(lms):
    platform = lms.platform
    page = lms.launch("teacher")  # the roster is stale: the worker is asked to sync it
    platform.fail_next.extend([403] * 20)  # the LMS does not let the tool read this roster

    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 0
    asked = _roster_requests(platform)
    assert asked == 1
    time.sleep(MIN_SECONDS + 0.5)
    drain(lms.tool.app, once=True, max_seconds=5)

    assert _roster_requests(platform) == asked  # not asked again on its own
    assert REFUSED in page.http.get(page.url).text  # and the teacher is told
    platform.fail_next.clear()  # the LMS admin allows it now
    lms.launch("teacher")  # the teacher's next launch asks once more
    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 1
    assert _roster_shown(page)
    assert REFUSED not in page.http.get(page.url).text


def test_a_roster_the_lms_asks_to_wait_for_is_asked_again_after_its_retry_after_not_sooner(lms):
    platform = lms.platform
    # Far longer than Pathways' own wait (MIN_SECONDS), and than the first two passes take on a loaded machine (the
    # first may use its 5 s): the second pass must meet the wait not yet over.
    platform.retry_after_date_seconds = 12
    page = lms.launch("teacher")
    platform.fail_next.append("429-date")
    asked_at = utcnow()

    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 0
    time.sleep(MIN_SECONDS + 0.5)
    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 0  # the LMS's wait is not over
    assert _roster_requests(platform) == 1
    due = _due_at(lms.tool)
    assert due >= asked_at + timedelta(seconds=10)  # the Retry-After (an HTTP-date, whole seconds), not MIN_SECONDS
    time.sleep(max((due - utcnow()).total_seconds(), 0) + 0.2)

    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 1
    assert _roster_requests(platform) == 2
    assert _roster_shown(page)
    assert REFUSED not in page.http.get(page.url).text  # a wait is not a refusal


def test_a_roster_sync_that_met_a_server_error_is_asked_again_after_the_usual_wait(lms):
    platform = lms.platform
    page = lms.launch("teacher")
    platform.fail_next.append(500)

    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 0
    time.sleep(MIN_SECONDS + 0.5)

    assert drain(lms.tool.app, once=True, max_seconds=5).roster_syncs == 1
    assert _roster_shown(page)


def test_a_refusal_noted_for_a_course_whose_data_was_deleted_is_not_told_to_the_course_made_after_it(lms):
    from tests.support import open_in_launch, submit_form

    platform, tool = lms.platform, lms.tool
    page = lms.launch("teacher")
    platform.fail_next.extend([403] * 20)
    drain(tool.app, once=True, max_seconds=5)
    assert REFUSED in page.http.get(page.url).text
    platform.fail_next.clear()
    confirm = open_in_launch(page, tool, "/privacy/course/delete")
    done = submit_form(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
    assert done.status_code == 200

    # The LMS still has the course: the teacher's next launch makes it anew (on SQLite, under the same row id, as
    # the deleted course had the highest), and no automatic roster update of it has been refused.
    again = lms.launch("teacher")

    assert "Grade 7 Mathematics" in again.text
    assert REFUSED not in again.text
