"""A student's page signs and checks its session cookie and CSRF token with less work, the same values (issue 14).

Every page opens the signed session cookie and signs a CSRF token for its forms. itsdangerous made a new signer
for each, and both signed with Python's HMAC (their SHA-1 is a wrapper `hmac` does not hand to OpenSSL): about a
twentieth of a plan page's instructions. The signers are now kept per key and sign with hashlib's SHA-1 itself.
Counted over real HTTP through the sandbox LMS; the values are checked against the libraries' own.
"""

from __future__ import annotations

import hmac

import pytest
import requests
from flask import g, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf, validate_csrf
from itsdangerous import Signer, TimestampSigner

from tests.support import submit_form


@pytest.fixture()
def signing_work(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count, from now on, the signers made and the HMACs Python computes itself (not OpenSSL)."""
    counted = {"signers made": 0, "Python HMACs": 0}
    make_signer, python_hmac = Signer.__init__, hmac.HMAC._init_old

    def counting_signer(self, *args, **kwargs):
        counted["signers made"] += 1
        make_signer(self, *args, **kwargs)

    def counting_hmac(self, *args, **kwargs):
        counted["Python HMACs"] += 1
        python_hmac(self, *args, **kwargs)

    monkeypatch.setattr(Signer, "__init__", counting_signer)
    monkeypatch.setattr(hmac.HMAC, "_init_old", counting_hmac)
    return counted


def test_a_plan_page_makes_no_signer_and_no_python_hmac(sandbox, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    page = sandbox.launch("student")  # the first pages made the signers this process keeps
    counted = request.getfixturevalue("signing_work")
    again = page.http.get(page.url, timeout=30)
    assert again.status_code == 200 and 'name="csrf_token"' in again.text
    # Before: two signers (the cookie's, the token's) and three Python HMACs (the cookie's key and signature, the
    # token's signature).
    assert counted == {"signers made": 0, "Python HMACs": 0}


def test_the_cookie_and_the_token_are_the_libraries_own(tool, sandbox):
    """A cookie signed by Flask's stock session interface (a process of the release before) opens the launch, and
    the cookie and CSRF token this process makes are what Flask and Flask-WTF make and check."""
    launch_id = sandbox.launch("student").url.split("/c/", 1)[1].split("/", 1)[0]
    app = tool.app
    stock = SecureCookieSessionInterface().get_signing_serializer(app)
    ours = app.session_interface.get_signing_serializer(app)
    assert requests.get(tool.url(f"/c/{launch_id}/"), cookies={"pathways_session": stock.dumps(
        {"launches": [launch_id]})}, timeout=30).status_code == 200
    data = {"launches": [launch_id], "csrf_token": "f" * 40}
    with pytest.MonkeyPatch.context() as frozen:
        frozen.setattr(TimestampSigner, "get_timestamp", lambda self: 1_800_000_000)
        assert ours.dumps(data) == stock.dumps(data)
        with app.test_request_context("/"):
            session["csrf_token"] = "f" * 40
            token = app.jinja_env.globals["csrf_token"]()
            g.pop("csrf_token")
            assert token == generate_csrf()
    with app.test_request_context("/"):
        session["csrf_token"] = "f" * 40
        fresh = app.jinja_env.globals["csrf_token"]()
        validate_csrf(fresh)  # raises if Flask-WTF refuses it
