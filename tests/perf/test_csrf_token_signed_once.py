"""A session's form token is signed once a minute per process, not on every page with a form (issue 14).

Flask-WTF signs the session's CSRF secret afresh for every page that draws a form (a new serializer, JSON, a
timestamp, base64, an HMAC: about 0.3 million instructions a page). The templates' csrf_token() is now
security.KeptCsrfTokens': the token this process signed for the same session's secret, while it is at most
CSRF_TOKEN_REUSE_SECONDS old. Flask-WTF still checks every form as before. Driven over HTTP through the sandbox LMS.
"""

from __future__ import annotations

import re
import time

import flask_wtf.csrf
import pytest
from flask_wtf.csrf import validate_csrf
from itsdangerous import URLSafeTimedSerializer
from wtforms import ValidationError

from lti_tool.security import CSRF_TOKEN_REUSE_SECONDS
from tests.support import submit_form

PRACTICE = "/practice/frac-equivalent"
TOKEN = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)"')


@pytest.fixture()
def signed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Everything itsdangerous signs from now on (session cookies too): a page whose token is in it signed it anew.

    Matched by the token itself, not by Flask-WTF's salt (its own detail): a token signed again within the same
    second is the same text, and is found here all the same.
    """
    made: list[str] = []
    dumps = URLSafeTimedSerializer.dumps

    def recording(self, *args, **kwargs):
        made.append(dumps(self, *args, **kwargs))
        return made[-1]

    monkeypatch.setattr(URLSafeTimedSerializer, "dumps", recording)
    return made


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
    assert landing not in tokens  # before: one signed token a page (2)

    answered = submit_form(question, PRACTICE, answer="1")  # Flask-WTF checks the kept token
    assert answered.status_code == 200 and "/answered/" in answered.url, answered.status_code
    assert _token(answered) == landing and landing not in tokens


def test_a_kept_token_is_signed_again_once_a_minute_old(sandbox, request, monkeypatch):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    landing = _token(student)
    tokens = request.getfixturevalue("signed")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + CSRF_TOKEN_REUSE_SECONDS + 2)
    question = student.http.get(_practice(student), timeout=30)
    question.http = student.http
    assert _token(question) != landing and _token(question) in tokens
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


def _accepted_by_flask_wtf(tool, page, token: str) -> None:
    """Check `token` as Flask-WTF itself checks a form's, in the session the page's browser holds (raises if not)."""
    name = tool.app.config["SESSION_COOKIE_NAME"]
    with tool.app.test_request_context("/", headers={"Cookie": f"{name}={page.http.cookies.get(name)}"}):
        validate_csrf(token)


def test_the_token_a_page_carries_is_one_flask_wtf_accepts(sandbox, tool):
    """The guard against an upgrade of Flask-WTF: what a page carries, signed anew or kept, passes validate_csrf."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")  # signed anew for its landing page
    question = student.http.get(_practice(student), timeout=30)  # given the kept one
    question.http = student.http
    assert _token(question) == _token(student)
    _accepted_by_flask_wtf(tool, student, _token(student))
    _accepted_by_flask_wtf(tool, question, _token(question))


def test_pages_still_carry_tokens_flask_wtf_accepts_when_it_signs_them_its_own_way(sandbox, tool, monkeypatch):
    """A Flask-WTF that signs its tokens otherwise (here: another salt, as a new release may choose) is followed.

    The kept tokens were signed by rebuilding Flask-WTF's signing (its private salt): with any change to it, every
    page carried a token Flask-WTF refused, and every form of every page was refused.
    """

    class _OtherSalt(URLSafeTimedSerializer):
        def __init__(self, *args, **kwargs):
            kwargs["salt"] = "wtf-csrf-token-of-a-later-release"
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", _OtherSalt)
    assert submit_form(sandbox.launch("teacher"), "/content/demo").status_code == 200  # before: 400
    student = sandbox.launch("student")
    question = student.http.get(_practice(student), timeout=30)
    question.http = student.http
    _accepted_by_flask_wtf(tool, question, _token(question))
    answered = submit_form(question, PRACTICE, answer="1")
    assert answered.status_code == 200 and "/answered/" in answered.url, answered.status_code


def test_a_kept_token_older_than_the_forms_time_limit_is_refused(sandbox, tool, monkeypatch):
    """A token lives WTF_CSRF_TIME_LIMIT from its signing, not from the page that was given it, however long the
    session still lasts: past that its form is refused (the launch's pages say the time ran out), and the next
    page's form, with a token signed anew, posts."""
    limit = 300  # shorter than the session, as a changed setting makes it
    tool.app.config["WTF_CSRF_TIME_LIMIT"] = limit
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + CSRF_TOKEN_REUSE_SECONDS - 5)
    question = student.http.get(_practice(student), timeout=30)
    question.http = student.http
    assert _token(question) == _token(student)  # kept: signed for the landing page, almost a minute before

    monkeypatch.setattr(time, "time", lambda: real() + limit + 2)
    refused = submit_form(question, PRACTICE, answer="1")
    assert refused.status_code != 200 and "ran out" in refused.text, refused.status_code
    with pytest.raises(ValidationError, match="expired"):
        _accepted_by_flask_wtf(tool, question, _token(question))

    again = student.http.get(_practice(student), timeout=30)
    again.http = student.http
    assert _token(again) != _token(question)
    answered = submit_form(again, PRACTICE, answer="1")
    assert answered.status_code == 200 and "/answered/" in answered.url, answered.status_code
