"""A cookie-less tab in use keeps its launch token fresh (POST /c/<launch_id>/keep-alive), over HTTP.

The page's script (templates/_tab_binding.html) asks for a new token while the student types; tests/browser/
test_cookieless_launch.py runs it in Chromium. Here the test plays the script's part.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lti_tool.lti.platform_storage import tab_binding
from lti_tool.models.base import utcnow
from tests.web.test_launch_timeout import _launch_row, _set_launch

from .test_platform_storage import StorageLaunch, _cookieless, _launch_id_and_token

TS = StorageLaunch.tab_secret
JSON = {"Accept": "application/json"}


def _token_from(tool, launch_id: str, seconds_ago: int) -> str:
    """A token signed for the launch and this tab seconds_ago (what a page served then carried)."""
    class Earlier(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds_ago

    return URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session",
                                  signer=Earlier).dumps([launch_id, tab_binding(TS)])


def _issued_seconds_ago(tool, token: str) -> float:
    serializer = URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session")
    _, issued = serializer.loads(token, return_timestamp=True)
    return time.time() - issued.timestamp()


def _keep_alive(tool, launch_id: str, **form: str):
    return _cookieless().post(tool.url(f"/c/{launch_id}/keep-alive"), data=form, headers=JSON, timeout=30)


def test_a_tab_in_use_gets_a_fresh_token_that_opens_the_pages(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, _ = _launch_id_and_token(home)
    # The page tells its script where to ask and how long a token lives; the address carries no old token.
    assert f'data-keep-alive="/c/{launch_id}/keep-alive"' in home.text
    assert f'data-token-seconds="{tool.app.config["LAUNCH_TOKEN_SECONDS"]}"' in home.text
    old = _token_from(tool, launch_id, tool.app.config["LAUNCH_TOKEN_SECONDS"] - 30)  # the student typed a while

    renewed = _keep_alive(tool, launch_id, lt=old, ts=TS)

    assert renewed.status_code == 200, renewed.text[:500]
    assert renewed.headers["Cache-Control"] == "no-store"
    answer = renewed.json()
    assert answer["seconds"] == tool.app.config["LAUNCH_TOKEN_SECONDS"]
    assert _issued_seconds_ago(tool, answer["lt"]) < 60
    http = _cookieless()
    assert http.get(tool.url(f"/c/{launch_id}/"), params={"lt": answer["lt"]}, timeout=30).status_code == 200
    again = http.post(tool.url(f"/c/{launch_id}/keep-alive"), data={"lt": answer["lt"], "ts": TS}, timeout=30)
    assert again.status_code == 200


def test_keep_alive_without_the_tabs_secret_is_refused_and_renews_nothing(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)

    for form in ({"lt": token}, {"lt": token, "ts": "the-secret-of-another-tab-0002"}):
        refused = _keep_alive(tool, launch_id, **form)
        assert refused.status_code == 403
        assert "lt" not in refused.json() and token[:20] not in refused.text


def test_keep_alive_with_a_token_that_ran_out_is_refused_and_renews_nothing(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, _ = _launch_id_and_token(home)
    stale = _token_from(tool, launch_id, tool.app.config["LAUNCH_TOKEN_SECONDS"] + 60)

    refused = _keep_alive(tool, launch_id, lt=stale, ts=TS)
    assert refused.status_code == 403 and "lt" not in refused.json()
    page = _cookieless().post(tool.url(f"/c/{launch_id}/keep-alive"), data={"lt": stale, "ts": TS}, timeout=30)
    assert page.status_code == 403 and "ran out" in page.text


def test_keep_alive_answers_post_only(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)

    answer = _cookieless().get(tool.url(f"/c/{launch_id}/keep-alive"), params={"lt": token, "ts": TS}, timeout=30)
    assert answer.status_code == 405


def test_a_token_of_another_launch_or_none_renews_nothing(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)
    other_id, _ = _launch_id_and_token(StorageLaunch(sandbox, "teacher").confirm())

    assert _keep_alive(tool, other_id, lt=token, ts=TS).status_code == 404
    assert _keep_alive(tool, launch_id, ts=TS).status_code == 404
    assert _keep_alive(tool, launch_id, lt="forged", ts=TS).status_code == 404


@pytest.mark.parametrize("launch", [
    {"message_type": "LtiDeepLinkingRequest", "remove_claims": ["https://purl.imsglobal.org/spec/lti/claim/context"]},
    {"message_type": "DataPrivacyLaunchRequest"},
], ids=["deep linking without a course", "data privacy"])
def test_launches_that_open_only_their_own_pages_are_renewed_too(tool, sandbox, launch):
    """A teacher choosing what to add, or a person reading their data, may take as long as anyone."""
    page = StorageLaunch(sandbox, "teacher", **launch).confirm()
    assert page.status_code == 200, page.text[:800]
    launch_id, token = _launch_id_and_token(page)

    assert _keep_alive(tool, launch_id, lt=token, ts=TS).status_code == 200


def test_renewal_stays_within_the_launch_sessions_own_time(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)
    longest = timedelta(seconds=tool.app.config["LAUNCH_SESSION_MAX_SECONDS"])

    # In use near its absolute end: renewed, but the session is not moved past that end.
    created = utcnow() - longest + timedelta(minutes=5)
    _set_launch(tool, created_at=created, expires_at=utcnow() + timedelta(minutes=1))
    assert _keep_alive(tool, launch_id, lt=token, ts=TS).status_code == 200
    assert _launch_row(tool).expires_at <= created + longest

    # Past it, or past the session's own end: the fresh token it would give is refused.
    _set_launch(tool, created_at=utcnow() - longest - timedelta(seconds=1), expires_at=utcnow() + timedelta(hours=1))
    refused = _keep_alive(tool, launch_id, lt=token, ts=TS)
    assert refused.status_code == 403 and "lt" not in refused.json()
    _set_launch(tool, created_at=utcnow() - timedelta(hours=1), expires_at=utcnow() - timedelta(seconds=1))
    refused = _keep_alive(tool, launch_id, lt=token, ts=TS)
    assert refused.status_code == 403 and "lt" not in refused.json()


def test_a_session_launch_needs_no_renewal(tool, sandbox):
    home = sandbox.launch()
    launch_id = re.search(r"/c/([^/?]+)", home.url).group(1)
    csrf_token = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    assert "data-keep-alive" not in home.text  # the script is only on cookie-less pages

    answer = home.http.post(tool.url(f"/c/{launch_id}/keep-alive"), data={"csrf_token": csrf_token}, timeout=30)
    assert answer.status_code == 204
    assert home.http.post(tool.url(f"/c/{launch_id}/keep-alive"), timeout=30).status_code == 400
