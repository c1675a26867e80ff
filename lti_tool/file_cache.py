"""The local cache (no Redis): cachelib's FileSystemCache without its shared item counter.

cachelib keeps the number of entries in a count file that every new entry and every delete reads and rewrites
(a temporary file, a rename, a chmod and a stat), to know when it is over its threshold. Launch state is two
new entries per login and two deletes per launch, so that bookkeeping was most of the cache's cost: about
1.7 ms of CPU per launch on a quiet machine, more than the entries themselves. Here nothing is counted; instead
each process, at most every PRUNE_SECONDS, removes the expired entries and, if more than `threshold` remain,
the ones that expire first. An expired entry is never served either way (cachelib checks the expiry it stores
in each file on every read).

Deleting says whether this caller removed the entry (cachelib's interface: "whether the key existed and has
been deleted"; its file cache said True for a missing file), so a launch's state and nonce are used up by
exactly one request, as with Redis.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import struct
import threading
import time
from typing import Any

from flask_caching.backends.filesystemcache import FileSystemCache

log = logging.getLogger(__name__)

PRUNE_SECONDS = 300
# A new file only (never follow a link someone put in its place), for writing.
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class LocalFileCache(FileSystemCache):
    """A FileSystemCache that prunes on a timer instead of counting its entries on every write."""

    def __init__(self, cache_dir: str, threshold: int = 500, *args: Any, **kwargs: Any) -> None:
        # threshold=0 turns cachelib's count file off (no listing at start, no rewrite per entry).
        super().__init__(cache_dir, 0, *args, **kwargs)
        self._max_entries = threshold
        self._prune_lock = threading.Lock()
        self._next_prune = 0.0  # the first write of each process prunes (entries left by an earlier run)

    def set(self, key: str, value: Any, timeout: Any = None, mgmt_element: bool = False) -> bool:
        """Write the entry to a new file beside it, then rename it into place (readers see old or new, never half).

        cachelib's set does the same with more steps (a stat before, tempfile's random names, a buffered file
        object, a chmod and a stat after): 0.45 ms of CPU per login state entry, two per login.
        """
        self._prune_now_and_then()
        expires = self._normalize_timeout(0 if mgmt_element else timeout)
        data = struct.pack("I", expires) + self.serializer.dumps(value)
        filename = self._get_filename(key)
        # The suffix keeps a half-written file out of _list_dir (and so out of pruning and counting).
        temporary = f"{filename}.{secrets.token_hex(8)}{self._fs_transaction_suffix}"
        try:
            fd = os.open(temporary, _CREATE_NEW, self._mode)  # created with the entry's mode: no chmod after
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(temporary, filename)
        except OSError:
            log.warning("could not write a cache file", exc_info=True)
            with contextlib.suppress(OSError):
                os.remove(temporary)
            return False
        return True

    def add(self, key: str, value: Any, timeout: Any = None) -> bool:
        """Write the entry unless a live one is there (Redis's SET NX with an expiry).

        cachelib's add refused while any file was there, an expired one too, until a prune removed it (up to
        PRUNE_SECONDS later): a marker meant to hold for seconds (a platform's JWKS refetch gap, a worker's chore)
        held for minutes. Check then write, as cachelib's was: two processes may both add an expired key.
        """
        if self.has(key):
            return False
        return self.set(key, value, timeout)

    def inc(self, key: str, delta: int = 1) -> int | None:
        """Add delta to the number kept under key, keeping the entry's expiry (a count per time window).

        cachelib's read the number and wrote it back with the default timeout, so a window counter that was
        bumped now and then never ran out. Not atomic across processes, as cachelib's was not.
        """
        now = int(time.time())
        try:
            with open(self._get_filename(key), "rb") as f:
                expires = struct.unpack("I", f.read(4))[0]
                value = self.serializer.load(f)
        except (OSError, struct.error):
            expires, value = None, None  # none kept: a new count, with the default timeout
        if expires is not None and expires != 0 and expires <= now:
            expires, value = None, None  # ran out: likewise
        timeout = None if expires is None else 0 if expires == 0 else max(1, expires - now)  # 0: never runs out
        value = (value if type(value) is int else 0) + delta
        return value if self.set(key, value, timeout) else None

    def delete(self, key: str, mgmt_element: bool = False) -> bool:
        try:
            os.remove(self._get_filename(key))
        except FileNotFoundError:
            return False  # someone else used it up (or it never was)
        except OSError:
            log.warning("could not delete a cache file", exc_info=True)
            return False
        return True

    def _prune_now_and_then(self) -> None:
        now = time.time()
        if now < self._next_prune or not self._prune_lock.acquire(blocking=False):
            return
        try:
            self._next_prune = now + PRUNE_SECONDS
            self._prune_entries(now)
        finally:
            self._prune_lock.release()

    def _prune_entries(self, now: float) -> None:
        """Remove expired entries, then the soonest to expire while more than the threshold remain."""
        alive: list[tuple[int, str]] = []
        for name in self._list_dir():
            try:
                with open(name, "rb") as f:
                    expires = struct.unpack("I", f.read(4))[0]
                if expires != 0 and expires < now:
                    os.remove(name)
                else:
                    alive.append((expires or 2**32, name))
            except (OSError, struct.error):
                continue  # removed meanwhile by another process, or being written
        if self._max_entries and len(alive) > self._max_entries:
            alive.sort()
            for _, name in alive[: len(alive) - self._max_entries]:
                try:
                    os.remove(name)
                except OSError:
                    continue
