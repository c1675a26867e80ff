"""A teacher double-clicks "Add to course": the LMS gets one Deep Linking response and one placement."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.support import parse_form

DL = "LtiDeepLinkingRequest"
PARALLEL = 6


def _picker_form(page: requests.Response) -> tuple[str, dict[str, str]]:
    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        action, fields = parse_form(match.group(0), page.url)
        if action.split("?")[0].endswith("/deep-link"):
            return action, fields
    raise AssertionError("no Deep Linking form on the page")


def test_six_parallel_answers_to_one_deep_linking_request_sign_one_response(sandbox, tool):
    picker = sandbox.launch("teacher", message_type=DL)
    assert picker.status_code == 200, picker.text[:300]
    action, fields = _picker_form(picker)
    browsers = []
    for _ in range(PARALLEL):
        browser = requests.Session()
        browser.cookies.update(picker.http.cookies)  # the same browser's tabs: same session, same CSRF token
        browsers.append(browser)
    barrier = threading.Barrier(PARALLEL)

    def answer(browser):
        barrier.wait()
        return browser.post(action, data={**fields, "title_plan": "Unit 1 pathway"}, timeout=30)

    with ThreadPoolExecutor(PARALLEL) as pool:
        pages = list(pool.map(answer, browsers))

    assert all(page.status_code == 200 for page in pages), [p.status_code for p in pages]
    signed = [page for page in pages if tool.platform.deep_link_return_url in page.text]
    refused = [page for page in pages if "already sent" in page.text]
    assert (len(signed), len(refused)) == (1, PARALLEL - 1)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        assert db.session.scalar(db.select(db.func.count()).select_from(Placement)) == 1
