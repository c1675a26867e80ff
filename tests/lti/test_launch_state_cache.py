"""The local launch-state cache (no Redis): single use, and expired logins cleaned away (lti_tool/file_cache.py)."""

from __future__ import annotations

import os
import time

from lti_tool.extensions import cache
from lti_tool.file_cache import LocalFileCache
from lti_tool.lti.launch import LaunchStateStorage


def _entries(folder: str) -> set[str]:
    return {name for name in os.listdir(folder) if not name.endswith(".__wz_cache")}


def test_a_logins_state_is_used_up_by_exactly_one_of_two_requests(sandbox, tool):
    pending = sandbox.begin("student")
    with tool.app.app_context():
        assert isinstance(cache.cache, LocalFileCache)
        storage = LaunchStateStorage(cache)
        # Two posts of the same launch at once both read the state; only one may consume it (as with Redis).
        assert storage.pop_value("lti1p3-" + pending.state) is True
        assert storage.pop_value("lti1p3-" + pending.state) is False
    # The launch itself is then refused as already used.
    refused = pending.post()
    assert refused.status_code == 400
    assert "already been used" in refused.text


def test_abandoned_logins_are_removed_once_expired_and_live_entries_are_kept(sandbox, tool):
    with tool.app.app_context():
        backend = cache.cache
        folder = backend._path
        sandbox.begin("student")  # a login whose launch never comes: its state and nonce stay behind
        assert len(_entries(folder)) >= 2
        cache.set("kept-for-an-hour", {"kept": True}, timeout=3600)
        # A write after the prune interval removes what has expired by then, and only that.
        backend._prune_entries(time.time() + tool.app.config["LOGIN_STATE_SECONDS"] + 5)
        assert _entries(folder) == {os.path.basename(backend._get_filename("kept-for-an-hour"))}
        assert cache.get("kept-for-an-hour") == {"kept": True}


def test_the_oldest_entries_go_first_when_the_cache_holds_more_than_its_threshold(tool, tmp_path):
    small = LocalFileCache(str(tmp_path / "small"), threshold=3)
    for n in range(5):
        small.set(f"k{n}", n, timeout=100 + n)  # k0 expires first
    small._prune_entries(time.time())
    assert [small.get(f"k{n}") for n in range(5)] == [None, None, 2, 3, 4]
