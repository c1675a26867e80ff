"""A teacher double-clicks "Assign" (or two teachers assign the same skill) at once.

Both read that the student had no such assignment and both inserted one: the second failed on the unique row
(500). Assigning is now one upsert.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import SkillAssignment
from lti_tool.models.base import utcnow
from lti_tool.services import assignments
from lti_tool.services.errors import NotFound
from lti_tool.services.permissions import Actor
from tests.races.support import at_once, demo_course
from tests.web.test_override_notes import FIRST


def test_assigning_the_same_skill_twice_at_once_gives_no_server_error(sandbox, tool, monkeypatch):
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    original, barrier = assignments.class_overview, threading.Barrier(2)

    def overview(*args, **kwargs):  # both requests are past their checks before either writes
        found = original(*args, **kwargs)
        barrier.wait(5)
        return found

    monkeypatch.setattr(assignments, "class_overview", overview)

    def click():
        assignments.assign_skills(course_id, platform_id, skill_ids=[FIRST], person_ids=[student], due_on=None,
                                  actor=Actor(teacher, "instructor"), now=utcnow())

    errors = at_once(tool.app, [click, click])
    assert not errors, [repr(e)[:160] for e in errors]
    with tool.app.app_context():
        assert len(db.session.scalars(sa.select(SkillAssignment)).all()) == 1
        db.session.remove()


def test_removing_an_assignment_twice_at_once_removes_it_once_and_says_so_to_the_second(sandbox, tool):
    # Both clicks read the assignment, then both deleted it: the second DELETE met no row, which SQLAlchemy only
    # warns about (a 500 where warnings are errors), and the teacher was told it was removed a second time.
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    teacher_actor = Actor(teacher, "instructor")
    with tool.app.app_context():
        assignments.assign_skills(course_id, platform_id, skill_ids=[FIRST], person_ids=[student], due_on=None,
                                  actor=teacher_actor, now=utcnow())
        assignment_id = db.session.scalar(sa.select(SkillAssignment.id))
        db.session.remove()
    barrier = threading.Barrier(2)

    def both_read_before_either_deletes(session, *_):
        if any(isinstance(row, SkillAssignment) for row in session.deleted):
            try:
                barrier.wait(3)  # SQLite lets one writer on at a time: the other stops waiting
            except threading.BrokenBarrierError:
                pass

    def click():
        assignments.remove_assignment(course_id, assignment_id, confirmed=True, actor=teacher_actor)

    sa.event.listen(sa.orm.Session, "before_flush", both_read_before_either_deletes)
    try:
        errors = at_once(tool.app, [click, click])
    finally:
        sa.event.remove(sa.orm.Session, "before_flush", both_read_before_either_deletes)
    assert [type(exc) for exc in errors] == [NotFound], [repr(e)[:200] for e in errors]
    with tool.app.app_context():
        assert db.session.scalars(sa.select(SkillAssignment)).all() == []
        db.session.remove()
