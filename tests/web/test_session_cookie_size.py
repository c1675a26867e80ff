"""The session cookie of a browser holding as many launches as it may stays well inside what browsers keep.

Browsers drop a cookie over 4096 bytes (name, value and attributes) without a word: every launch in that browser
would then fail as one this browser did not make. The worst case a browser can reach: MAX_LAUNCHES_PER_BROWSER
launches held, from different courses, each remembering its language (web/i18n.py), as many launches signed out of
(web/course.py), and the CSRF secret.
"""

from __future__ import annotations

import requests

from lti_tool.web.course import SIGNED_OUT_HERE
from lti_tool.web.i18n import LAUNCH_LANGUAGES
from lti_tool.web.launch import MAX_LAUNCHES_PER_BROWSER
from tests.support import SandboxActions, submit_form

#: Well under the 4096 browsers keep: over HTTPS the attributes grow by "; Secure; Partitioned" and SameSite=None.
MOST = 3500


def _session_cookie(response: requests.Response) -> str:
    """The last pathways_session Set-Cookie header of a response or the redirects before it."""
    headers = [
        value
        for hop in [*response.history, response]
        for name, value in hop.raw.headers.items()
        if name.lower() == "set-cookie" and value.startswith("pathways_session=")
    ]
    assert headers, "no session cookie was set"
    return headers[-1]


def test_a_browser_holding_every_launch_it_may_in_spanish_keeps_a_cookie_browsers_accept(tool):
    sandbox = SandboxActions(tool)
    student = sandbox.sub("student")
    http = requests.Session()

    def launch_in_a_new_course(n: int) -> requests.Response:
        course = f"course-{n:03d}"
        tool.platform.add_course(course, f"Course {n}", f"C{n}")
        tool.platform.add_user(student, roles=["Learner"], context_id=course)
        page = sandbox.launch("student", http=http, context_id=course, locale="es-419")
        assert page.status_code == 200 and 'lang="es"' in page.text, page.text[:300]
        return page

    for n in range(MAX_LAUNCHES_PER_BROWSER):  # signed out of as many as the cookie remembers
        submit_form(launch_in_a_new_course(n), "/sign-out")
    for n in range(MAX_LAUNCHES_PER_BROWSER, 2 * MAX_LAUNCHES_PER_BROWSER + 1):  # one more than it holds
        cookie = _session_cookie(launch_in_a_new_course(n))

    held = tool.app.session_interface.get_signing_serializer(tool.app).loads(cookie.split(";", 1)[0].split("=", 1)[1])
    assert len(held["launches"]) == MAX_LAUNCHES_PER_BROWSER
    assert len(held[SIGNED_OUT_HERE]) == MAX_LAUNCHES_PER_BROWSER
    assert held[LAUNCH_LANGUAGES] == dict.fromkeys(held["launches"], "es")  # each held launch's, no other
    assert len(cookie.encode()) < MOST, len(cookie.encode())
