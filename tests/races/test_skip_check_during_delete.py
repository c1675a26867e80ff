"""A student skips the placement check while a teacher deletes their data.

The skip never took the learner's lock: past its first step when the delete committed, it created a finished
run for a person with no enrolment, where no erase looks. It now takes the lock first, finds the learner's data
gone, saves nothing and says so, like every other writer of the learner's data.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import DiagnosticRun, Enrollment
from lti_tool.models.base import utcnow
from lti_tool.services import diagnostic
from lti_tool.services.errors import NotFound
from lti_tool.services.mastery import LEARNER_GONE
from tests.races.support import demo_course
from tests.races.test_delete_during_write import (
    _hold_writer_after,
    _start_writer,
    _teacher_deletes_then_writer_goes_on,
    student_posts_while_deleted,
)
from tests.support import submit_form, teacher_with_demo_pack


def _left(tool, student: int) -> dict[str, int]:
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == student))
                for model in (Enrollment, DiagnosticRun)}
        db.session.remove()
    return left


def test_a_skip_under_way_when_the_teacher_deletes_the_student_leaves_no_run(sandbox, tool, monkeypatch):
    course_id, _, student, teacher = demo_course(sandbox, tool)
    reached, go = _hold_writer_after(monkeypatch, diagnostic, "require_pack")
    outcome: list[object] = []
    thread = _start_writer(tool, lambda: diagnostic.skip(course_id, student, now=utcnow()), outcome)
    assert reached.wait(10)
    _teacher_deletes_then_writer_goes_on(tool, teacher, student, go, thread)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound), repr(outcome)[:300]
    assert outcome[0].message == LEARNER_GONE
    assert _left(tool, student) == {"enrollment": 0, "diagnostic_run": 0}


def test_a_student_who_skips_the_check_as_their_data_is_deleted_is_told_so(sandbox, tool, monkeypatch):
    teacher_with_demo_pack(sandbox)
    home = sandbox.launch("student")
    reached, go = threading.Event(), threading.Event()
    original = diagnostic.require_pack

    def hold(*args, **kwargs):  # the skip has begun; the teacher's delete comes now
        found = original(*args, **kwargs)
        if not reached.is_set():
            reached.set()
            go.wait(10)
        return found

    monkeypatch.setattr(diagnostic, "require_pack", hold)
    page, student = student_posts_while_deleted(tool, lambda: submit_form(home, "/diagnostic/skip"), reached, go)
    assert page.status_code == 404, page.text[:500]
    assert "Your data in this course has been deleted, so this was not saved." in page.text
    assert _left(tool, student) == {"enrollment": 0, "diagnostic_run": 0}
