"""A session's form token is signed once a minute per process, not on every page with a form (issue 14).

Flask-WTF signs the session's CSRF secret afresh for every page that draws a form (a new serializer, JSON, a
timestamp, base64, an HMAC: about 0.3 million instructions a page). The templates' csrf_token() is now
security.KeptCsrfTokens': the token this process signed for the same session's secret, while it is at most
CSRF_TOKEN_REUSE_SECONDS old. Flask-WTF still checks every form as before. Driven over HTTP through the sandbox LMS.
"""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from lti_tool.security import CSRF_TOKEN_REUSE_SECONDS
from tests.support import submit_form

PRACTICE = "/practice/frac-equivalent"
TOKEN = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def signed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CSRF tokens itsdangerous signs from now on (Flask-WTF's salt: not the session cookie)."""
    tokens: list[str] = []
    dumps = URLSafeTimedSerializer.dumps

    def counting(self, *args, **kwargs):
        made = dumps(self, *args, **kwargs)
        if self.salt == b"wtf-csrf-token":
            tokens.append(made)
        return made

    monkeypatch.setattr(URLSafeTimedSerializer, "dumps", counting)
    return tokens


def _token(page) -> str:
    found = TOKEN.search(page.text)
    assert page.status_code == 200 and found, page.status_code
    return found.group(1)


def _practice(page) -> str:
    return page.url.split("?")[0].rstrip("/") + PRACTICE


def test_a_sessions_pages_share_one_signed_token_and_their_forms_still_post(sandbox, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")  # its landing page signed this session's token
    landing = _token(student)
    tokens = request.getfixturevalue("signed")
    question = student.http.get(_practice(student), timeout=30)
    question.http = student.http
    plan = student.http.get(student.url, timeout=30)
    assert _token(question) == _token(plan) == landing
    assert tokens == []  # before: one signed token a page (2)

    answered = submit_form(question, PRACTICE, answer="1")  # Flask-WTF checks the kept token
    assert answered.status_code == 200 and "/answered/" in answered.url, answered.status_code
    assert _token(answered) == landing and tokens == []


def test_a_kept_token_is_signed_again_once_a_minute_old(sandbox, request, monkeypatch):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    landing = _token(student)
    tokens = request.getfixturevalue("signed")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + CSRF_TOKEN_REUSE_SECONDS + 2)
    question = student.http.get(_practice(student), timeout=30)
    question.http = student.http
    assert _token(question) != landing and tokens == [_token(question)]
    assert submit_form(question, PRACTICE, answer="1").status_code == 200


def test_a_token_is_only_ever_given_to_its_own_session(sandbox, request):
    """Two browsers get tokens of their own secrets; one's token posted with the other's cookie is refused."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    first, second = sandbox.launch("student"), sandbox.launch("student")
    one = first.http.get(_practice(first), timeout=30)
    other = second.http.get(_practice(second), timeout=30)
    assert _token(one) != _token(other)
    fields = dict(re.findall(r'<input type="hidden" name="(served|hints)" value="([^"]*)"', other.text))
    refused = second.http.post(_practice(second), data={**fields, "csrf_token": _token(one), "answer": "1"}, timeout=30)
    assert refused.status_code == 400, refused.status_code


def test_the_forms_time_limit_covers_the_longest_session_from_a_kept_tokens_signing(tool):
    config = tool.app.config
    assert config["WTF_CSRF_TIME_LIMIT"] == config["LAUNCH_SESSION_MAX_SECONDS"] + CSRF_TOKEN_REUSE_SECONDS
