"""The gradebook hears how far a student got (AGS 2.0 §3.4 activityProgress), not "InProgress" for every score.

AGS 2.0 §3.4: Initialized — the student has not started the activity, or it was reset for them; Started — they have
started it; InProgress; Submitted; Completed. Pathways worked these out from the levels and then sent every score
that was not Completed as InProgress: a student whose levels the teacher set back to "Not started" was reported
to the LMS as working on it.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Person
from tests.support import class_override, demo_first_goal_due, drain_outbox, submit_form


def _set_level(tool, teacher, level: str) -> None:
    """Set student-1's first skill to `level` on the class view (the roster may list the class's other students)."""
    with tool.app.app_context():
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level=level, note="Checked in class", person_id=str(person_id))


def _latest(platform, column: str) -> dict:
    return [s for s in platform.scores[column] if s["userId"] == "student-1"][-1]


def test_a_student_set_back_to_not_started_reaches_the_gradebook_as_initialized_and_one_attempted_as_started(
        sandbox, tool):
    tool.platform.add_activity("act-5", "Pathways: fractions", accept_grades=True)
    (column,) = tool.platform.line_items
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    sandbox.launch("student", resource_link_id="act-5")
    teacher = sandbox.launch("teacher", resource_link_id="act-5")

    _set_level(tool, teacher, "Mastered")
    drain_outbox(tool)
    assert _latest(tool.platform, column)["activityProgress"] == "InProgress"  # one skill of many

    _set_level(tool, teacher, "Attempted")
    drain_outbox(tool)
    assert _latest(tool.platform, column)["activityProgress"] == "Started"

    _set_level(tool, teacher, "Not started")
    drain_outbox(tool)
    latest = _latest(tool.platform, column)
    assert latest["activityProgress"] == "Initialized"
    assert latest["gradingProgress"] in ("FullyGraded", "Pending")
