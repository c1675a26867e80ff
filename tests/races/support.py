"""Shared pieces of the service-level race tests: the demo course and running calls in parallel threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
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
