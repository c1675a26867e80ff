"""A person's export holds what Pathways keeps about them in each row, not only some of its columns.

The questions served kept how many hints each one showed and whether it counted for the levels, and a grade post
kept its progress words and the LMS's answer to a failed attempt (shown on the teacher's grade page): none of it
was in the export, so a student asking what Pathways holds about them did not get all of it.
"""

from __future__ import annotations

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Placement, ScoreOutbox, ServedItem
from lti_tool.models.base import utcnow
from tests.web.test_privacy import _course_with_two_students, _get, _ids, _link


def test_the_export_holds_the_hints_shown_and_the_lms_answer_to_a_grade_and_the_page_shows_the_hints(sandbox, tool):
    _, students = _course_with_two_students(sandbox, tool)
    course_id, priya = _ids(tool, "student-1")
    with tool.app.app_context():
        db.session.execute(sa.update(ServedItem).where(ServedItem.person_id == priya)
                           .values(hints_shown=2, credit=False))
        placement = db.session.scalar(sa.select(Placement.id).where(Placement.course_id == course_id))
        db.session.add(ScoreOutbox(course_id=course_id, placement_id=placement, person_id=priya, skill_id="",
                                   score_given=1, score_maximum=2, activity_progress="InProgress",
                                   grading_progress="Pending", score_timestamp=utcnow(), status="failed",
                                   last_status=422, last_error="User is not enrolled in this section"))
        db.session.commit()
    home = students["student"]
    privacy = _get(home, tool, _link(home, "/privacy/"))

    record = _get(privacy, tool, _link(privacy, "/privacy/my-data.json")).json()["courses"][0]

    assert [(q["hints_shown"], q["counted_for_mastery"]) for q in record["questions_served"]] == [(2, False)]
    [grade] = [g for g in record["grades_for_lms"] if g["status"] == "failed"]
    assert grade["activity_progress"] == "InProgress" and grade["grading_progress"] == "Pending"
    assert grade["lms_answer"] == {"http_status": 422, "message": "User is not enrolled in this section"}
    page = _get(privacy, tool, _link(privacy, "/privacy/my-data.html"))
    served = page.text.split('data-testid="export-questions-served"')[1].split("</table>")[0]
    assert "2 hints" in served
