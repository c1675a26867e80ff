"""A placement-check answer in one tab while another tab finishes the check.

The answer read the check's run before it took the learner's lock, then wrote that stale state back with
`finished_at` cleared: a check finished early in another tab was reopened, with the priors its finish seeded left
in place. The answer now reads the run again under the lock; a check finished meanwhile stays finished and the
answer is not written.
"""
from __future__ import annotations

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import DiagnosticRun
from lti_tool.models.base import utcnow
from lti_tool.services import diagnostic
from tests.races.support import demo_course
from tests.races.test_delete_during_write import _hold_writer_after, _start_writer


def _answer_current(tool, course_id: int, student: int) -> str:
    """Answer the check's current question ("not sure") in the test's own context; return the next item's id."""
    with tool.app.app_context():
        question = diagnostic.current_question(course_id, student, now=utcnow())
        diagnostic.answer_question(course_id, student, question.item.id, "", not_sure=True, now=utcnow())
        following = diagnostic.current_question(course_id, student, now=utcnow())
        db.session.commit()
        db.session.remove()
    return following.item.id


def test_an_answer_under_way_when_another_tab_finishes_the_check_leaves_it_finished(sandbox, tool, monkeypatch):
    course_id, _, student, _ = demo_course(sandbox, tool)
    item_id = _answer_current(tool, course_id, student)
    reached, go = _hold_writer_after(monkeypatch, diagnostic, "_next")  # the run is read; the lock is not taken
    outcome: list[object] = []
    thread = _start_writer(tool, lambda: diagnostic.answer_question(
        course_id, student, item_id, "", not_sure=True, now=utcnow()), outcome)
    assert reached.wait(10)
    with tool.app.app_context():
        assert diagnostic.finish_early(course_id, student, now=utcnow())
        db.session.remove()
    go.set()
    thread.join(30)
    assert outcome == [True], repr(outcome)[:300]
    with tool.app.app_context():
        run = db.session.scalars(sa.select(DiagnosticRun).where(DiagnosticRun.person_id == student)).one()
        assert run.finished_at is not None
        assert len(run.state["answers"]) == 1  # the answer that came after the finish is not in the check
        db.session.remove()
