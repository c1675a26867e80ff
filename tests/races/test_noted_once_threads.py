"""NotedOnce is shared by a process's request threads (security.note_login_framer, launches' unregistered pages).

Two requests naming the same new host at once were both told to log it: the check (not seen yet) and the remember
(seen) were two steps. A scope whose hash is slow widens the gap between them the way a busy server's thread
switches do, so the test fails every time without the lock instead of once in a while.
"""

from __future__ import annotations

import threading
import time

from lti_tool.noted import NotedOnce

THREADS = 8


class _SlowScope:
    """A scope (a platform) whose every dict lookup lets the other threads run."""

    def __hash__(self) -> int:
        time.sleep(0.005)
        return 1

    def __eq__(self, other: object) -> bool:
        return other is self


def _at_once(call) -> list[bool]:
    start = threading.Barrier(THREADS)
    answers: list[bool] = []

    def run(i: int) -> None:
        start.wait()
        answers.append(call(i))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == THREADS
    return answers


def test_threads_noting_the_same_new_value_at_once_log_it_once():
    noted, scope = NotedOnce(), _SlowScope()
    assert _at_once(lambda _i: noted.first_time(scope, "https://school.example")).count(True) == 1
    assert not noted.first_time(scope, "https://school.example")


def test_threads_noting_many_values_at_once_keep_the_scopes_bound():
    noted, scope = NotedOnce(per_scope=2), _SlowScope()
    assert _at_once(lambda i: noted.first_time(scope, f"https://junk{i}.example")).count(True) == 2
