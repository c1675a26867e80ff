"""The LMS is down while a teacher uses a page that calls it: a plain message or a 503, never a 500."""

from __future__ import annotations

import re

from lti_tool.lti.services import ServiceCallError
from tests.jobs.gradebook import open_gradebook
from tests.support import SandboxActions


def _compare_url(tool, page, placement_id: int) -> str:
    base = re.search(r"/c/[^/]+", page.url).group(0)
    return tool.url(f"{base}/grades/compare/{placement_id}")


def test_compare_gradebook_with_the_lms_down_says_so_on_the_teachers_page(make_tool):
    tool = make_tool()
    sandbox = SandboxActions(tool)
    book = open_gradebook(tool, sandbox)  # the placement has no column yet: finding it is the first LMS call
    page = sandbox.launch("teacher")
    book.platform.fail_next = [503] * 10  # the LMS is in maintenance

    response = page.http.get(_compare_url(tool, page, book.placement_id), timeout=30)

    assert response.status_code == 200, response.text[:300]  # back on the course page, with the reason
    assert "The gradebook could not be read from the platform" in response.text
    assert "HTTP 503" in response.text and "Try again later." in response.text

    book.platform.fail_next = []  # the LMS is back: the same link works, no restart
    response = page.http.get(_compare_url(tool, page, book.placement_id), timeout=30)
    assert response.status_code == 200 and "could not be read" not in response.text


def _compare_page_meeting(make_tool, monkeypatch, error: ServiceCallError):
    """Open "compare gradebook" with its platform call failing with error, as any page's unhandled call may."""
    tool = make_tool()
    sandbox = SandboxActions(tool)
    book = open_gradebook(tool, sandbox)
    page = sandbox.launch("teacher")

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr("lti_tool.web.course.compare_results", failing)
    return tool, page.http.get(_compare_url(tool, page, book.placement_id), timeout=30)


def test_a_platform_call_no_page_handles_is_a_503_with_retry_after_not_a_500(make_tool, monkeypatch):
    tool, response = _compare_page_meeting(make_tool, monkeypatch, ServiceCallError(
        "The platform could not be reached (reason: timeout).", unreachable=True))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(tool.app.config["RETRY_AFTER_SECONDS"])
    assert "Pathways cannot get an answer from the learning platform right now" in response.text
    assert "Traceback" not in response.text and "reason: timeout" not in response.text


def test_a_platform_refusal_no_page_handles_is_a_502_that_says_whom_to_tell(make_tool, monkeypatch):
    _tool, response = _compare_page_meeting(make_tool, monkeypatch, ServiceCallError(
        "The platform refused the results (HTTP 403, reason: http_403).", status=403))
    assert response.status_code == 502 and "Retry-After" not in response.headers
    assert "LMS administrator" in response.text and "try again in a minute" not in response.text
    assert "http_403" not in response.text
