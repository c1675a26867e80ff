"""A teacher double-clicks "Save" on a student's first family-report comment (or two teachers save at once).

Both read that the student had no comment and both inserted one: the second failed on the unique row (500).
The comment is now written with one upsert, the later save's text kept.
"""
from __future__ import annotations

import threading

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import ReportComment
from lti_tool.models.base import utcnow
from lti_tool.services import family_report
from lti_tool.services.permissions import Actor
from tests.races.support import at_once, demo_course


def test_saving_a_first_report_comment_twice_at_once_gives_no_server_error(sandbox, tool, monkeypatch):
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    original, barrier = family_report.require_student, threading.Barrier(2)

    def student_then_wait(*args):  # both saves are past their checks before either writes
        found = original(*args)
        barrier.wait(5)
        return found

    monkeypatch.setattr(family_report, "require_student", student_then_wait)

    def save(text: str):
        return lambda: family_report.save_report_comment(course_id, platform_id, student, text,
                                                         actor=Actor(teacher, "instructor"), now=utcnow())

    errors = at_once(tool.app, [save("Reads well."), save("Reads very well.")])
    assert not errors, [repr(e)[:160] for e in errors]
    with tool.app.app_context():
        texts = db.session.scalars(sa.select(ReportComment.text)).all()
        db.session.remove()
    assert len(texts) == 1 and texts[0] in ("Reads well.", "Reads very well."), texts
