"""Two teachers review the same evidence at once (one accepts it, one returns it), or review it while a teacher
deletes the student's data.

Each review checked that the evidence was pending before taking the student's lock. The accept then changed the
evidence before asking for the lock: on PostgreSQL it held the evidence row while the return held the learner and
waited for the evidence (a deadlock, a 503); on SQLite both were saved, the evidence "returned" while its level
was raised. Now each review takes the learner's lock first and reads the evidence again under it: the second is
told the evidence has been reviewed already.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Evidence, MasteryEvent, ScoreOutbox, SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services import evidence
from lti_tool.services.content import course_pack
from lti_tool.services.errors import NotFound, ServiceError
from lti_tool.services.permissions import Actor
from tests.races.support import DemoCourse, at_once, demo_course, meet_after_first_call
from tests.races.test_delete_during_write import (
    _hold_writer_after,
    _start_writer,
    _teacher_deletes_then_writer_goes_on,
)


def _pending_evidence(tool, course: DemoCourse) -> tuple[int, str]:
    """Give the demo student evidence waiting for review; return its id and skill."""
    with tool.app.app_context():
        skill = course_pack(course.course_id).skills[0].id
        row = Evidence(course_id=course.course_id, person_id=course.student, skill_id=skill, kind="link",
                       url="https://example.org/work", text="my work", status="pending", submitted_at=utcnow())
        db.session.add(row)
        db.session.commit()
        found = row.id
        db.session.remove()
    return found, skill


def _accept(course: DemoCourse, evidence_id: int):
    return lambda: evidence.accept_evidence(course.course_id, course.platform_id, evidence_id, level="Proficient",
                                            comment="", actor=Actor(course.teacher, "instructor"), now=utcnow())


def _return(course: DemoCourse, evidence_id: int):
    return lambda: evidence.return_evidence(course.course_id, course.platform_id, evidence_id, comment="Add more",
                                            actor=Actor(course.teacher, "instructor"), now=utcnow())


def test_evidence_accepted_and_returned_at_once_is_reviewed_once_and_the_other_teacher_is_told(
        sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    evidence_id, skill = _pending_evidence(tool, course)
    # Both teachers' pages showed the evidence pending: both checks pass before either saves.
    meet_after_first_call(monkeypatch, evidence, "_pending")
    errors = at_once(tool.app, [_accept(course, evidence_id), _return(course, evidence_id)])
    assert len(errors) == 1, [repr(e)[:200] for e in errors]
    assert isinstance(errors[0], ServiceError) and errors[0].status == 400, repr(errors[0])[:300]
    assert errors[0].message == "This evidence has been reviewed already."
    with tool.app.app_context():
        row = db.session.get(Evidence, evidence_id)
        level = db.session.scalar(sa.select(SkillMastery.level).where(
            SkillMastery.person_id == course.student, SkillMastery.skill_id == skill))
        raised = db.session.scalar(sa.select(sa.func.count()).select_from(MasteryEvent).where(
            MasteryEvent.person_id == course.student, MasteryEvent.source == "evidence"))
        db.session.remove()
    # One story: accepted with the level raised, or returned with the level untouched.
    if row.status == "accepted":
        assert (row.level_awarded, level, raised) == ("Proficient", "Proficient", 1)
    else:
        assert row.status == "returned" and raised == 0 and level != "Proficient", (row.status, level, raised)


@pytest.mark.parametrize("review", ["accept", "return"])
def test_a_review_under_way_when_another_teacher_deletes_the_student_saves_nothing(sandbox, tool, monkeypatch,
                                                                                   review):
    course = demo_course(sandbox, tool)
    evidence_id, _ = _pending_evidence(tool, course)
    reached, go = _hold_writer_after(monkeypatch, evidence, "_pending")
    outcome: list[object] = []
    write = (_accept if review == "accept" else _return)(course, evidence_id)
    thread = _start_writer(tool, write, outcome)
    assert reached.wait(10)
    _teacher_deletes_then_writer_goes_on(tool, course.teacher, course.student, go, thread)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound), repr(outcome)[:300]
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == course.student))
                for model in (Evidence, SkillMastery, MasteryEvent, ScoreOutbox)}
        db.session.remove()
    assert left == dict.fromkeys(left, 0), left
