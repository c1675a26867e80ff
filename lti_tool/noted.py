"""Remembering which values a log line already named, so a line is written once a while, not on every request."""

from __future__ import annotations

import threading
import time


class NotedOnce:
    """Values already logged, per scope (a platform), so each is logged once a while rather than on every request.

    Bounded without going deaf: a scope keeps at most `per_scope` values and forgets them all `window` seconds
    after its first, so a flood of made-up values (a Referer is the visitor's word) fills neither memory nor the
    log for long, and a real host is logged again at the latest one window later.

    Shared by a process's request threads: a lock makes each check-and-remember one step, or two requests naming
    the same new value at once would both be told to log it (and a scope could pass its bound).
    """

    def __init__(self, *, per_scope: int = 20, scopes: int = 1000, window: float = 3600.0) -> None:
        self._per_scope, self._scopes, self._window = per_scope, scopes, window
        self._seen: dict[object, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    def first_time(self, scope: object, value: str, *, now: float | None = None) -> bool:
        """Tell whether to log `value` in `scope` now, and remember that it was."""
        now = time.monotonic() if now is None else now
        with self._lock:
            started, values = self._seen.get(scope) or (now, set())
            if now - started >= self._window:
                started, values = now, set()
            if value in values or len(values) >= self._per_scope:
                return False
            if scope not in self._seen and len(self._seen) >= self._scopes:
                self._seen.clear()  # more platforms than any registry has: start over rather than grow
            values.add(value)
            self._seen[scope] = (started, values)
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
