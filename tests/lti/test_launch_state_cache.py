"""The local launch-state cache (no Redis): single use, and expired logins cleaned away (lti_tool/file_cache.py)."""

from __future__ import annotations

import os
import struct
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


def test_entries_are_written_whole_owner_only_in_cachelibs_format_and_leave_no_temporary_file(tmp_path):
    from cachelib.file import FileSystemCache

    from lti_tool.cache_json import StrictJSONSerializer

    folder = tmp_path / "cache"
    ours = LocalFileCache(str(folder), threshold=100)
    ours.serializer = StrictJSONSerializer()
    assert ours.set("state", {"nonce": "n1"}, timeout=300) is True
    assert ours.set("state", {"nonce": "n2"}, timeout=300) is True  # replaced in place
    assert ours.set("forever", [1, 2], timeout=0) is True
    assert sorted(os.listdir(folder)) == sorted(os.path.basename(ours._get_filename(k)) for k in ("state", "forever"))
    for name in os.listdir(folder):
        assert os.stat(folder / name).st_mode & 0o777 == 0o600  # launch state: readable by the tool's user only
    # The file format is cachelib's (an expiry, then the value): either version reads what the other wrote.
    stock = FileSystemCache(str(folder), threshold=0)
    stock.serializer = StrictJSONSerializer()
    assert stock.get("state") == {"nonce": "n2"} and stock.get("forever") == [1, 2]
    stock.set("from-cachelib", "x", timeout=60)
    assert ours.get("from-cachelib") == "x"
    assert ours.set("expired", "x", timeout=-1) is True and ours.get("expired") is None


def test_add_takes_a_key_whose_entry_expired_though_its_file_is_not_pruned_yet(tmp_path):
    """As Redis's SET NX with an expiry: a marker that held for seconds must not hold until the next prune."""
    backend = LocalFileCache(str(tmp_path / "cache"), threshold=100)
    assert backend.add("marker", 1, timeout=60) is True
    assert backend.add("marker", 2, timeout=60) is False and backend.get("marker") == 1  # live: kept
    assert backend.set("gap", 1, timeout=-1) is True  # expired; its file stays until a prune
    assert backend.add("gap", 2, timeout=60) is True and backend.get("gap") == 2


def test_a_count_keeps_its_windows_expiry_and_starts_again_once_that_ran_out(tmp_path):
    """As Redis's INCRBY: a login budget's count runs out with its minute, however often it was bumped (cachelib's
    wrote it back with the default timeout, so a client that kept knocking kept its window open for ever)."""
    backend = LocalFileCache(str(tmp_path / "cache"), threshold=100, default_timeout=300)

    def expiry(key: str) -> int:
        with open(backend._get_filename(key), "rb") as entry:
            return struct.unpack("I", entry.read(4))[0]

    assert backend.add("count", 1, timeout=60) is True
    window_ends = expiry("count")
    assert backend.inc("count") == 2 and backend.inc("count", 3) == 5
    assert backend.get("count") == 5 and expiry("count") == window_ends
    assert backend.set("ran-out", 7, timeout=-1) is True
    assert backend.inc("ran-out") == 1  # a new count, not 8
    assert backend.inc("never-kept") == 1 and backend.get("never-kept") == 1


def test_a_write_that_fails_says_so_and_leaves_nothing_behind(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    backend = LocalFileCache(str(folder), threshold=100)
    backend.set("warm", 1, timeout=60)  # the first write prunes; the next ones only write

    def full_disk(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("lti_tool.file_cache.os.replace", full_disk)
    assert backend.set("state", {"nonce": "n"}, timeout=60) is False
    assert os.listdir(folder) == [os.path.basename(backend._get_filename("warm"))]  # no half-written file
    assert backend.get("state") is None


def test_a_login_keeps_its_nonce_only_in_its_state_entry_which_the_launch_uses_up(sandbox, tool):
    pending = sandbox.begin("student")
    nonce = pending.claims["nonce"]
    with tool.app.app_context():
        storage = LaunchStateStorage(cache)
        assert storage.get_value("lti1p3-" + pending.state)["nonce"] == nonce
        assert storage.get_value("lti1p3-nonce-" + nonce) is None  # no second entry to write, read and delete
    assert pending.post().status_code == 200
    with tool.app.app_context():
        assert LaunchStateStorage(cache).get_value("lti1p3-" + pending.state) is None
    # The nonce went with its state: the same token cannot be used again, nor the nonce under another login.
    assert "already been used" in pending.post().text
    other = sandbox.begin("student")
    assert "nonce" in other.post(other.resign(nonce=nonce)).text.lower()
