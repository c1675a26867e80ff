"""Shared pieces of the service-level race tests: the demo course and running calls in parallel threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NamedTuple, TypeVar

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Person
from tests.support import teacher_with_demo_pack

T = TypeVar("T")


class DemoCourse(NamedTuple):
    course_id: int
    platform_id: int
    student: int
    teacher: int


def demo_course(sandbox, tool) -> DemoCourse:
    """Set up the demo pack and launch the demo student; return the course, its student and its teacher."""
    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course)).one()
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        teacher = db.session.scalar(sa.select(Person.id).where(Person.id != student))
        found = DemoCourse(course.id, course.platform_id, student, teacher)
        db.session.remove()
    return found


def at_once(app, calls: list[Callable[[], object]]) -> list[BaseException]:
    """Run each call in its own thread and app context at the same time; return what they raised."""
    errors: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        with app.app_context():
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - a race shows up as any error, reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def in_parallel(calls: list[Callable[[], T]], timeout: float = 90) -> list[T]:
    """Run each call in its own thread at the same time (clicks over HTTP: no app context); return their results
    in the order the calls were given."""
    results: list = [None] * len(calls)

    def run(index: int) -> None:
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results


def hold_first_call(monkeypatch, module, name: str) -> tuple[threading.Event, threading.Event]:
    """Hold the first call of `module.name` once it returns, in whichever thread (the tool serves HTTP in its own).

    Returns (reached, go): the test waits for `reached`, does what must happen meanwhile, then sets `go`.
    """
    original = getattr(module, name)
    reached, go = threading.Event(), threading.Event()

    def held(*args, **kwargs):
        found = original(*args, **kwargs)
        if not reached.is_set():
            reached.set()
            go.wait(20)
        return found

    monkeypatch.setattr(module, name, held)
    return reached, go


def meet_after_first_call(monkeypatch, module, name: str, parties: int = 2, timeout: float = 5) -> None:
    """Make each thread's first call of `module.name` wait, once it returns, until `parties` threads made theirs.

    So every caller has read what it checks before any goes on to write; a caller kept out by a lock meanwhile
    breaks the wait after `timeout` seconds, and the others go on.
    """
    original, barrier, seen = getattr(module, name), threading.Barrier(parties), threading.local()

    def meet(*args, **kwargs):
        found = original(*args, **kwargs)
        if not getattr(seen, "once", False):
            seen.once = True
            try:
                barrier.wait(timeout)
            except threading.BrokenBarrierError:
                pass
        return found

    monkeypatch.setattr(module, name, meet)


class LockWait:
    """Tell, from another thread, when a call waits for a lock another writer holds, or is done.

    In place of a fixed sleep before letting the holder go on, which raced the machine: under load the call had
    not reached its wait yet. On PostgreSQL the call's backend has an ungranted lock in pg_locks, waited on for
    longer than deadlock_timeout (so the deadlock check has had its turn); on SQLite, whose waits pg_locks cannot
    show, the holder had the write lock before the call began (`holder_writes`) and the call is in a statement
    that needs it.
    """

    _WRITES = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE", "REPLACE")

    def __init__(self, engine: sa.Engine | None = None) -> None:
        self._engine = engine  # else the app context's (a call made outside one, as a CLI command, names it)
        self.done = threading.Event()
        self.started = threading.Event()
        self._thread: int | None = None
        self._backend: int | None = None
        self._writing = False
        self._holder_writes = False

    @contextmanager
    def watching(self) -> Iterator[None]:
        """Watch the statements this thread runs inside the block (the call), after the watcher let it start."""
        self.started.wait(30)
        engine, self._thread = self._engine or db.engine, threading.get_ident()
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        try:
            yield
        finally:
            sa.event.remove(engine, "before_cursor_execute", self._before)
            sa.event.remove(engine, "after_cursor_execute", self._after)
            self.done.set()

    def _before(self, conn, _cursor, statement, *_args) -> None:
        if threading.get_ident() == self._thread:
            if conn.dialect.name == "postgresql":
                self._backend = conn.connection.driver_connection.info.backend_pid
            self._writing = statement.lstrip().upper().startswith(self._WRITES)

    def _after(self, *_args) -> None:
        if threading.get_ident() == self._thread:
            self._writing = False

    def start_and_wait(self, timeout: float = 30) -> None:
        """Let the call start, then return once it waits for a lock or is done (AssertionError after `timeout`)."""
        engine = self._engine or db.engine
        self._holder_writes = engine.dialect.name == "sqlite" and _write_lock_taken(engine)
        self.started.set()
        deadline = time.monotonic() + timeout
        while not self.done.is_set():
            if self._waiting(engine):
                return
            assert time.monotonic() < deadline, "the call neither waited for a lock nor finished"
            time.sleep(0.02)

    def _waiting(self, engine: sa.Engine) -> bool:
        if engine.dialect.name == "sqlite":
            return self._holder_writes and self._writing
        if self._backend is None:
            return False
        with engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE pid = :pid AND NOT granted AND waitstart IS NOT NULL"
                " AND clock_timestamp() - waitstart > current_setting('deadlock_timeout')::interval"),
                {"pid": self._backend}).scalar() > 0


def _write_lock_taken(engine: sa.Engine) -> bool:
    """Whether another connection holds SQLite's write lock now (a probe that does not wait for it)."""
    import sqlite3

    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        patience = driver.execute("PRAGMA busy_timeout").fetchone()[0]
        driver.execute("PRAGMA busy_timeout = 0")
        try:
            driver.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        finally:
            driver.execute(f"PRAGMA busy_timeout = {int(patience)}")
        driver.execute("ROLLBACK")
        return False
