"""Values each process keeps for a few seconds instead of asking the shared cache on every request.

A read from the shared cache (Redis in production) costs a round trip and about a third of a millisecond of client
CPU. Values every request needs and that change rarely (the platforms' frame origins, a platform's key set) are kept
here for a few seconds. Whoever changes such a value drops this process's copy and the shared entry; the other
processes keep theirs until it is `max_age` seconds old, which is why each caller keeps its copy only seconds.

The copies live in the app's `extensions`, so two apps in one process (tests) never share them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, has_app_context

from .kept_map import KeptMap

#: A kind of copy holds at most this many values, the oldest going first (a process serves a few platforms, and
#: no visitor can add entries faster than the shared cache it copies from).
MAX_COPIES = 256


def held(kind: str, key: str, max_age: float) -> Any | None:
    """Return this process's copy of `key` if it was kept less than `max_age` seconds ago, else None."""
    kept = current_app.extensions.get(kind)
    entry = None if kept is None else kept.get(key)
    if entry is None or time.monotonic() - entry[0] >= max_age:
        return None
    return entry[1]


def hold(kind: str, key: str, value: Any) -> None:
    """Keep `value` as this process's copy of `key`, from now."""
    kept = current_app.extensions.get(kind)
    if kept is None:  # setdefault: of two threads making the first copy, both keep theirs in the same map
        kept = current_app.extensions.setdefault(kind, KeptMap(MAX_COPIES))
    kept.put(key, (time.monotonic(), value))


def drop(kind: str) -> None:
    """Forget this process's copies of one kind (after the value changed here)."""
    if has_app_context():
        current_app.extensions.pop(kind, None)
