"""A student double-clicks the first answer of the placement check.

Both clicks found no run and each made one: the second failed on the unique run (500). The run is now inserted
race-safely; the later click, which read the check before the earlier one's answer, is told the question was
already answered and writes nothing.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.diagnostic import DiagnosticState
from lti_tool.models import DiagnosticRun, ItemResponse
from lti_tool.models.base import utcnow
from lti_tool.services import diagnostic
from lti_tool.services.content import course_pack
from lti_tool.services.errors import ServiceError
from tests.races.support import at_once, demo_course
from tests.support import right_answer


def test_a_double_clicked_first_placement_answer_is_answered_once_without_a_server_error(sandbox, tool, monkeypatch):
    course_id, _, student, _ = demo_course(sandbox, tool)
    app = tool.app
    with app.app_context():
        pack = course_pack(course_id)
        item_id = diagnostic._next(pack, DiagnosticState())
        answer = right_answer(pack.item(item_id))
        diagnostic.current_question(course_id, student, now=utcnow())  # the page shows the first question
        db.session.commit()
        db.session.remove()
    original = diagnostic._new_run
    barrier = threading.Barrier(2)

    def new_run(*args):  # both clicks reach the point of making the run before either commits
        run = original(*args)
        try:
            barrier.wait(2)
        except threading.BrokenBarrierError:
            pass  # fixed: the other click waits inside its own insert of the run until this one commits
        return run

    monkeypatch.setattr(diagnostic, "_new_run", new_run)

    def click():
        diagnostic.answer_question(course_id, student, item_id, answer, not_sure=False, now=utcnow())

    errors = at_once(app, [click, click])
    # The later click is told, as any repeat of an answered question is, and shown the next question (not a 500).
    assert all(isinstance(e, ServiceError) and e.message == "That question was already answered. Here is the next one."
               for e in errors), [repr(e)[:200] for e in errors]
    with app.app_context():
        runs = db.session.scalars(sa.select(DiagnosticRun)).all()
        assert len(runs) == 1 and len(runs[0].state["answers"]) == 1, [r.state for r in runs]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse)) == 1
        db.session.remove()
