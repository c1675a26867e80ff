"""A deadline on each PostgreSQL round trip, so a database that stops answering cannot hold a thread forever.

A connection whose peer still acknowledges every packet but never answers (a frozen or swapping server process, a
proxy or load balancer that lost its upstream) blocks the client in `recv` for ever: TCP keepalives and
`tcp_user_timeout` (settings._engine_options) end only a path that stopped acknowledging, and libpq has no read
time-out. Without this, each such connection held a page's thread (under `pathways serve` the worker process stopped
answering and gunicorn, whose heartbeat runs on another thread, never replaced it) and the grade worker's pass (which
then never saw its stop).

Every statement, commit, rollback and pool ping on the engine is noted as it starts and forgotten as it ends. One
thread per process looks about once a second; a call still waiting after PATHWAYS_DATABASE_STATEMENT_DEADLINE_SECONDS
has its socket shut down, so the blocked call fails at once with the client library's OperationalError. SQLAlchemy
then discards the connection, a page answers the usual 503 (errors.DATABASE_OUTAGES) and the worker's pass fails
and is retried, as for any outage. The deadline is far above any statement a page or the worker runs; admin
commands (migrations, course copies) run without it (cli._app_from_env).

Cost on the hot path: a clock read, a dict write and a dict delete per call (each atomic under the GIL, so no
lock), and no statement: about a microsecond (timeit, on a busy two-core machine), next to the hundreds of
microseconds of a round trip.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

#: How often, at most, the watching thread looks (seconds); a call is cut at most this long after its deadline.
LOOK_EVERY_SECONDS = 1.0
#: A watching thread that found nothing under way at its looks for this long ends; the next call starts another
#: (a busy process may so start one a minute, a fraction of a millisecond each). So an engine nobody
#: uses any more (the test suite builds hundreds of apps) does not keep a thread waking every second.
IDLE_SECONDS = 60.0

# Dialect methods that wait for the server, and whether their first argument is a DBAPI cursor or connection.
_CALLS = (("do_execute", True), ("do_executemany", True), ("do_execute_no_params", True),
          ("do_commit", False), ("do_rollback", False), ("do_ping", False))


class _Watch:
    """The calls under way on one engine's connections, and the thread that cuts those past the deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.look_every = min(LOOK_EVERY_SECONDS, deadline / 4)
        # DBAPI connection -> monotonic time its call must end by (a float made for that call, so the watching
        # thread can tell the same call from a later one). A connection runs one call at a time.
        self.waiting: dict[Any, float] = {}
        self.thread: threading.Thread | None = None
        self._starting = threading.Lock()

    def start_thread(self) -> None:
        with self._starting:
            if self.thread is not None:
                return
            # Holds the watch weakly: a discarded app's engine (tests build many) lets its thread end.
            self.thread = threading.Thread(target=_look, args=(weakref.ref(self), self.look_every),
                                           name="pathways-db-deadline", daemon=True)
            self.thread.start()

    def end_if_idle(self) -> bool:
        """End the watching thread's turn (True) unless a call is under way (checked under the starting lock).

        A call notes itself before it checks for the thread (`_timed`), so either this sees it or it sees no
        thread and starts one.
        """
        with self._starting:
            if self.waiting:
                return False
            self.thread = None
            return True

    def forget_thread(self) -> None:
        # In a forked child the parent's thread is not running, and the calls under way were the parent's threads':
        # none is this process's to cut. A thread starts with the child's first call.
        self.thread = None
        self._starting = threading.Lock()
        self.waiting.clear()

    def cut_overdue(self) -> None:
        now = time.monotonic()
        for connection, ends in self.waiting.copy().items():  # copy(): one step under the GIL
            if ends <= now and _shut_down(connection, lambda c=connection, e=ends: self.waiting.get(c) is e):
                log.warning("a database call waited more than %s s for PostgreSQL; its connection was cut "
                            "(PATHWAYS_DATABASE_STATEMENT_DEADLINE_SECONDS)", f"{self.deadline:g}")


def _look(watch_ref: weakref.ref, every: float) -> None:
    idle_since = time.monotonic()
    while True:
        time.sleep(every)
        watch = watch_ref()
        if watch is None or watch.thread is not threading.current_thread():  # gone, or ended (idle, disposed)
            return
        if watch.waiting:
            idle_since = time.monotonic()
            watch.cut_overdue()
        elif time.monotonic() - idle_since > IDLE_SECONDS and watch.end_if_idle():
            return
        del watch


def _shut_down(connection: Any, same_call: Callable[[], bool]) -> bool:
    """Shut the connection's socket down, so the call blocked on it returns at once with an error.

    The socket is duplicated first and shut down only if the same call is still under way after that: the copy
    then names that connection's socket even if the call ends meanwhile and its descriptor is closed and reused.
    """
    try:
        number = connection.pgconn.socket
        dup = socket.fromfd(number, socket.AF_INET, socket.SOCK_STREAM)
    except Exception:  # noqa: BLE001 - closed meanwhile, or not psycopg: nothing left to cut
        return False
    try:
        # libpq closes the socket itself when the call fails: if it did so between reading the number and the
        # copy, the number may already name another thread's socket. It then no longer reports that number.
        if not same_call() or _socket_number(connection) != number:
            return False
        with contextlib.suppress(OSError):  # already shut down (a second look before the call noticed)
            dup.shutdown(socket.SHUT_RDWR)
        return True
    finally:
        dup.close()


def _socket_number(connection: Any) -> int | None:
    try:
        return connection.pgconn.socket
    except Exception:  # noqa: BLE001 - libpq has dropped the socket: psycopg refuses to name one
        return None


def set_statement_deadline(engine: sa.Engine, seconds: float) -> None:
    """Cut any PostgreSQL call on `engine` still waiting after `seconds` (0: no deadline); see the module's doc."""
    if seconds <= 0 or engine.dialect.name != "postgresql":
        return
    watch = _Watch(float(seconds))
    held = weakref.ref(watch)  # weakly here too: a discarded engine's watch (and its thread) must be able to end
    os.register_at_fork(after_in_child=lambda: _forget_thread(held))
    for name, by_cursor in _CALLS:
        setattr(engine.dialect, name, _timed(getattr(engine.dialect, name), watch, by_cursor))
    # A disposed engine's thread ends at its next look (the next call starts another): every waking thread makes
    # the others wait for the GIL, and the test suite disposes an app's engine after each test.
    sa.event.listen(engine, "engine_disposed", lambda _engine: watch.end_if_idle())


def _forget_thread(held: weakref.ref) -> None:
    watch = held()
    if watch is not None:
        watch.forget_thread()


def _timed(call: Callable[..., Any], watch: _Watch, by_cursor: bool) -> Callable[..., Any]:
    waiting, deadline, monotonic = watch.waiting, watch.deadline, time.monotonic

    def timed(target: Any, *args: Any, **kwargs: Any) -> Any:
        connection = target.connection if by_cursor else target
        waiting[connection] = monotonic() + deadline
        if watch.thread is None:  # after noting the call: an idle thread ending now sees it (_Watch.end_if_idle)
            watch.start_thread()
        try:
            return call(target, *args, **kwargs)
        finally:
            waiting.pop(connection, None)

    return timed
