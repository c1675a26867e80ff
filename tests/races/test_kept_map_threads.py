"""KeptMap holds what a process's request threads share (security.py: verified session cookies, kept CSRF tokens,
frame-ancestors answers): at most its size, however many threads add at once.

Each of those maps was a dict checked for its size and then written in two steps: threads adding at once all passed
the check before any wrote, and the map grew past its bound by as many threads. A key whose hash is slow widens the
gap between the two steps the way a busy server's thread switches do, so the test fails every time without the
lock instead of once in a while.
"""

from __future__ import annotations

import threading
import time

from lti_tool.kept_map import KeptMap

THREADS = 8


class _SlowKey:
    """A key (a cookie, a token) whose every dict lookup lets the other threads run."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __hash__(self) -> int:
        time.sleep(0.005)
        return hash(self.name)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _SlowKey) and other.name == self.name


def _at_once(call) -> None:
    start = threading.Barrier(THREADS)
    done: list[int] = []

    def run(i: int) -> None:
        start.wait()
        call(i)
        done.append(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(done) == list(range(THREADS))


def test_threads_adding_at_once_never_pass_the_bound_and_each_kept_entry_is_its_own():
    kept: KeptMap[_SlowKey, int] = KeptMap(2)
    keys = [_SlowKey(f"cookie-{i}") for i in range(THREADS)]
    _at_once(lambda i: kept.put(keys[i], i))
    assert len(kept) == 2
    assert all(kept.get(key) in (None, i) for i, key in enumerate(keys))


def test_the_oldest_entry_goes_first_and_a_key_put_again_is_the_newest():
    kept: KeptMap[str, int] = KeptMap(2)
    kept.put("a", 1)
    kept.put("b", 2)
    kept.put("a", 3)  # a again: now b is the oldest
    kept.put("c", 4)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (3, None, 4)
