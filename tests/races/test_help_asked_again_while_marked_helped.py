"""A student presses "Ask my teacher" again on a skill at the moment the teacher marks them helped.

The ask read the student's open request under the learner's lock and then moved its time; "Mark as helped" takes
no learner lock, so on PostgreSQL it could close that request in between. The ask then wrote its new time onto the
closed request: the student was told their teacher would see it, and the needs-help list never showed it. The
ask now moves the time only of a request still open (one conditional UPDATE) and otherwise makes a new one. On
SQLite the ask holds the database's write lock from before its read, so the teacher's click waits and closes it
after, as a click a moment later does. With the time its page showed (the form sends it), that click leaves the
refreshed request open: it was asked again after the page was drawn.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import HelpRequest
from lti_tool.models.base import utcnow
from lti_tool.services import help as help_service
from lti_tool.services.content import course_pack
from lti_tool.services.permissions import Actor
from tests.races.support import LockWait, at_once, demo_course

SKILL = "frac-equivalent"


def _requests(tool) -> list[tuple[int, bool]]:
    with tool.app.app_context():
        rows = db.session.execute(sa.select(HelpRequest.id, HelpRequest.resolved_at.is_(None))
                                  .order_by(HelpRequest.id)).all()
        db.session.remove()
    return [(row[0], row[1]) for row in rows]


@pytest.mark.parametrize("with_time", [False, True], ids=["ids only", "ids and times"])
def test_asking_again_as_the_teacher_marks_the_student_helped_is_not_lost(sandbox, tool, with_time):
    course_id, _, student, teacher = demo_course(sandbox, tool)
    start = utcnow()
    with tool.app.app_context():
        pack = course_pack(course_id)
        help_service.ask_teacher(course_id, student, SKILL, pack, now=start)
        db.session.remove()
    [(shown, _)] = _requests(tool)  # the request the teacher's needs-help page shows

    teacher_click = LockWait()
    order: list[str] = []
    read_once = threading.local()

    def after_read(_row, _context) -> None:
        # In the ask's thread, once it has loaded the open request: the teacher's click now runs, to its commit or
        # to the lock it waits for, before the ask writes.
        if threading.current_thread().name == "ask" and not getattr(read_once, "done", False):
            read_once.done = True
            teacher_click.start_and_wait()
            order.append("teacher first" if teacher_click.done.is_set() else "teacher waits")

    def ask() -> None:
        threading.current_thread().name = "ask"
        help_service.ask_teacher(course_id, student, SKILL, pack, now=start + timedelta(minutes=5))

    def mark() -> None:
        with teacher_click.watching():
            help_service.mark_helped(course_id, student, actor=Actor(teacher, "instructor"),
                                     now=start + timedelta(minutes=6), request_ids=[shown],
                                     shown={shown: start} if with_time else None)

    sa.event.listen(HelpRequest, "load", after_read)
    try:
        errors = at_once(tool.app, [ask, mark])
    finally:
        sa.event.remove(HelpRequest, "load", after_read)
    assert errors == [], [repr(e)[:300] for e in errors]
    rows = _requests(tool)
    if order == ["teacher first"]:
        # PostgreSQL: the teacher closed what their page showed; the ask came after it and stays on the list.
        assert (shown, False) in rows and [open_ for _, open_ in rows].count(True) == 1, rows
    elif with_time:
        # SQLite: the teacher's click waited for the ask, which moved the request's time past the one the page
        # showed: it stays open.
        assert order == ["teacher waits"] and rows == [(shown, True)], (order, rows)
    else:
        # SQLite, a page that sent no times: the teacher's click waited for the ask, and closes the request it
        # refreshed.
        assert order == ["teacher waits"] and rows == [(shown, False)], (order, rows)
