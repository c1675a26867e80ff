"""A map a process keeps for its request threads, bounded so that no visitor can make it grow without end."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")


class KeptMap(Generic[K, V]):
    """At most `size` entries, shared by a process's request threads; when full, the oldest entry goes first.

    Its keys often come from visitors (cookies, tokens, URLs in claims), so it must stay bounded however many
    arrive. Reads take no lock (a dict's get is one step for Python's threads); writes take one, so two threads
    adding at once can neither pass the bound nor evict from a dict the other is changing. The oldest entry goes,
    not all of them: a flood of new keys pushes the busy ones out one at a time, never all at once.
    """

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a KeptMap holds at least one entry")
        self._size = size
        self._entries: dict[K, V] = {}
        self._lock = threading.Lock()

    @overload
    def get(self, key: K) -> V | None: ...
    @overload
    def get(self, key: K, default: V) -> V: ...

    def get(self, key: K, default: V | None = None) -> V | None:
        return self._entries.get(key, default)

    def put(self, key: K, value: V) -> None:
        """Keep `value` as the newest entry for `key`, evicting the oldest ones past the bound."""
        with self._lock:
            entries = self._entries
            entries.pop(key, None)
            while len(entries) >= self._size:
                del entries[next(iter(entries))]
            entries[key] = value

    def pop(self, key: K) -> None:
        """Forget `key` (kept no more, e.g. after its value changed here)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
