"""A browser's session cookie is verified once per process, not on every page (issue 14).

Flask checked and decoded the signed session cookie (base64, HMAC, zlib, tagged JSON) on every request, though a
browser sends the same cookie with every page until a launch or a sign-out changes it. The session interface now
remembers the cookies it verified (security.KeptSerializerSessionInterface): the same text is the same payload
signed at the same moment, so only its age is checked again. Driven over HTTP through the sandbox LMS.
"""

from __future__ import annotations

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.support import submit_form

PRACTICE = "/practice/frac-equivalent"


@pytest.fixture()
def session_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count, from now on, the session cookies itsdangerous verifies (the session's salt: not the CSRF tokens)."""
    checked: list[str] = []
    loads = URLSafeTimedSerializer.loads

    def counting(self, *args, **kwargs):
        if self.salt == b"cookie-session":
            checked.append("session")
        return loads(self, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counting)
    return checked


def test_the_same_cookie_is_verified_once(sandbox, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")  # its landing page read the cookie the launch set
    checked = request.getfixturevalue("session_checks")
    practice = page.url.split("?")[0].rstrip("/") + PRACTICE
    for url in (page.url, practice, page.url):
        shown = page.http.get(url, timeout=30)
        assert shown.status_code == 200 and 'class="sign-out"' in shown.text
    assert checked == []  # before: one check on every page (3)


def test_a_remembered_cookie_still_ages(sandbox, tool, monkeypatch):
    """A cookie verified before is refused once older than the session's lifetime, as itsdangerous refuses it."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")
    assert page.http.get(page.url, timeout=30).status_code == 200
    lifetime = tool.app.permanent_session_lifetime.total_seconds()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + lifetime + 60)
    late = page.http.get(page.url, timeout=30)
    # The cookie is refused: this browser holds no launch, so the launch's page is not its own.
    assert late.status_code == 404 and "This page belongs to a launch this browser did not make" in late.text


def test_a_session_changed_in_place_leaves_the_cookie_as_it_was(sandbox, tool):
    """Two requests with one cookie each get the cookie's payload, whatever the first did to its session's lists."""
    page = sandbox.launch("student")
    cookie = page.http.cookies.get(tool.app.config["SESSION_COOKIE_NAME"])
    interface = tool.app.session_interface
    headers = {"Cookie": f"{tool.app.config['SESSION_COOKIE_NAME']}={cookie}"}
    with tool.app.test_request_context("/", headers=headers) as first:
        opened = interface.open_session(tool.app, first.request)
        held = list(opened["launches"])
        opened["launches"].append("someone-elses-launch")  # in place: the session is not marked modified
    with tool.app.test_request_context("/", headers=headers) as second:
        assert interface.open_session(tool.app, second.request)["launches"] == held
