"""A login's state in the shared cache names nobody (docs/privacy.md, "OIDC state and nonce").

The state entry kept the login's login_hint and lti_message_hint in clear (to restart the login in a new window
when a framed launch loses its cookie), and those often carry the LMS user id: after a teacher deleted the
student, Redis or the file cache still linked them for up to LOGIN_STATE_SECONDS. Now the hints are sealed with a
key made from the state, and the entry is kept under a digest of the state, so the cache alone opens nothing; the
new window still gets them (tests/lti/test_blocked_cookies_without_storage.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from tests.support import SandboxActions

from .test_blocked_cookies_without_storage import FRAMED
from .test_platform_storage import _cookieless


def _raw_cache(tool) -> bytes:
    """Every key and value the tool's cache holds, as stored (Redis, or the file cache's files)."""
    url = tool.app.config.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        try:
            return b"\n".join(key + b"=" + (client.dump(key) or b"") for key in client.scan_iter("*"))
        finally:
            client.close()
    folder = Path(tool.app.instance_path) / "cache"
    return b"\n".join(entry.name.encode() + b"=" + entry.read_bytes() for entry in folder.iterdir() if entry.is_file())


@pytest.fixture(params=["file cache", "redis"])
def cached_tool(request, make_tool):
    if request.param == "file cache":
        return make_tool()
    url = os.environ.get("PATHWAYS_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set PATHWAYS_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
    redis.Redis.from_url(url).flushdb()
    return make_tool(REDIS_URL=url)


def test_a_pending_logins_state_holds_no_login_hint_message_hint_or_state_in_clear(cached_tool):
    sandbox = SandboxActions(cached_tool)
    login_url = sandbox.platform.start_launch(sandbox.sub("student"))
    sent = {name: values[-1] for name, values in parse_qs(urlsplit(login_url).query).items()}
    to_platform = requests.get(login_url, allow_redirects=False, timeout=30)
    assert to_platform.status_code == 302
    state = parse_qs(urlsplit(to_platform.headers["Location"]).query)["state"][-1]

    kept = _raw_cache(cached_tool)

    assert kept  # the login's state is kept …
    assert sent["login_hint"].encode() not in kept  # … but not the hints that name the person
    assert sent["lti_message_hint"].encode() not in kept
    assert state.encode() not in kept  # nor the state, which opens them


def test_the_sealed_hints_still_restart_a_framed_launch_in_a_new_window(cached_tool):
    sandbox = SandboxActions(cached_tool)
    pending = sandbox.begin("student", http=_cookieless())
    pending.http.headers.update(FRAMED)
    page = pending.post()
    assert "Pathways needs its own window" in page.text
    assert f'value="{sandbox.platform.login_hint_for(sandbox.sub("student"))}"' in page.text


def test_hints_sealed_with_one_state_do_not_open_with_another():
    from lti_tool.lti.blocked_cookies import open_relogin, seal_relogin

    sealed = seal_relogin({"login_hint": "u-1", "lti_message_hint": "m"}, "state-a")
    assert open_relogin(sealed, "state-a") == {"login_hint": "u-1", "lti_message_hint": "m"}
    assert open_relogin(sealed, "state-b") == {}
    assert open_relogin("garbage", "state-a") == {} and open_relogin(None, "state-a") == {}


def _kept_as_before_the_upgrade(tool, state: str) -> dict[str, str]:
    """Keep a pending login's state entry as the release before the sealing did: under the state itself, its hints
    in clear (an upgrade finds such entries for up to LOGIN_STATE_SECONDS); return the hints."""
    import hashlib

    from lti_tool.extensions import cache
    from lti_tool.lti.blocked_cookies import open_relogin

    with tool.app.app_context():
        digest = "lti1p3-login-" + hashlib.sha256(f"lti1p3-{state}".encode()).hexdigest()
        entry = dict(cache.get(digest))
        hints = open_relogin(entry.pop("relogin_sealed"), state)
        assert hints["login_hint"] and cache.delete(digest)
        cache.set(f"lti1p3-{state}", {**entry, "relogin": hints}, timeout=600)
    return hints


def test_a_login_pending_across_the_upgrade_still_launches_once(cached_tool):
    sandbox = SandboxActions(cached_tool)
    pending = sandbox.begin("student")
    _kept_as_before_the_upgrade(cached_tool, pending.state)

    page = pending.post()

    assert page.status_code == 200 and "/c/" in page.url, (page.status_code, page.text[:300])
    again = pending.post()
    assert "already been used" in again.text


def test_a_framed_login_pending_across_the_upgrade_still_gets_its_new_window(cached_tool):
    sandbox = SandboxActions(cached_tool)
    pending = sandbox.begin("student", http=_cookieless())
    pending.http.headers.update(FRAMED)
    hints = _kept_as_before_the_upgrade(cached_tool, pending.state)

    page = pending.post()

    assert "Pathways needs its own window" in page.text
    assert f'value="{hints["login_hint"]}"' in page.text
