"""A launch signs and checks only what it must (issue 14).

The launch's POST made Flask-WTF's CSRF secret for the landing page's forms with `generate_csrf`, which also signed
a token for a redirect that draws no form; and the landing page checked the signature of the session cookie the POST
had just signed. Now the POST only puts the secret in the session, and the session interface remembers the cookies
it signs as verified (security.KeptSerializerSessionInterface). Driven over HTTP through the sandbox LMS.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from itsdangerous import URLSafeTimedSerializer

from tests.support import open_in_launch, submit_form


@pytest.fixture()
def signing(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Record, from now on, what itsdangerous signs (dumps) and checks (loads), by salt."""
    done: list[tuple[str, bytes]] = []
    dumps, loads = URLSafeTimedSerializer.dumps, URLSafeTimedSerializer.loads

    def counting_dumps(self, *args, **kwargs):
        done.append(("dumps", self.salt))
        return dumps(self, *args, **kwargs)

    def counting_loads(self, *args, **kwargs):
        done.append(("loads", self.salt))
        return loads(self, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "dumps", counting_dumps)
    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counting_loads)
    return done


def test_a_launch_signs_one_form_token_and_checks_no_cookie(sandbox, tool, request):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    signing = request.getfixturevalue("signing")
    page = sandbox.launch("student")  # the id_token's POST and the landing page it redirects to
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    # The landing page's forms: one token (before: two, the POST signed one for its redirect too).
    assert signing.count(("dumps", b"wtf-csrf-token")) == 1
    assert signing.count(("dumps", b"cookie-session")) == 1  # the POST's cookie, the only one the launch sets
    # The landing page brought the cookie the POST signed: not checked again (before: once).
    assert ("loads", b"cookie-session") not in signing
    # The secret the POST put in the session is the one the landing page's forms are signed with.
    goals = open_in_launch(page, tool, "/goals")
    assert submit_form(goals, "/goals", title="My own goal", why="mine").status_code == 200


def test_a_cookie_the_tagged_json_changes_is_checked_when_it_comes_back(sandbox, tool):
    """A signed payload Flask's tagged JSON would not read back as itself (a date's microseconds) is not remembered."""
    sandbox.launch("student")
    app, interface = tool.app, tool.app.session_interface
    when = datetime(2026, 12, 5, 4, 0, 0, 123456, tzinfo=UTC)
    cookie = interface.get_signing_serializer(app).dumps({"launches": ["x"], "when": when})
    headers = {"Cookie": f"{app.config['SESSION_COOKIE_NAME']}={cookie}"}
    with app.test_request_context("/", headers=headers) as context:
        opened = interface.open_session(app, context.request)
    assert opened["when"] == when.replace(microsecond=0)  # as itsdangerous and the tagged JSON read it
    assert opened["launches"] == ["x"]
