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
