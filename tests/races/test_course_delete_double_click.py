"""A teacher double-clicks "Delete the course's data" (or confirms it in two tabs, or two teachers at once).

Both requests checked the typed title before either deleted anything; the second waited for the first's locks,
then deleted nothing, logged a second deletion of the course and told the teacher it had removed it (0 records).
It now reads the course again under the locks and says the course's data is already deleted.
"""

from __future__ import annotations

import html

from lti_tool.extensions import db
from lti_tool.models import Course
from lti_tool.services import privacy
from tests.races.support import demo_course, in_parallel, meet_after_first_call
from tests.races.test_student_delete_double_click import _click, _deletions
from tests.support import open_in_launch

TITLE = "Grade 7 Mathematics"
DELETED = "Pathways removed"
ALREADY = "This course's data was already deleted"


def test_a_double_clicked_course_deletion_deletes_and_logs_once_and_the_second_click_says_so(
        sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    teacher = sandbox.launch("teacher")
    confirm = open_in_launch(teacher, tool, "/privacy/course/delete")
    assert confirm.status_code == 200
    # Both clicks have checked the typed title (and who is deleting) before either takes the course's locks.
    meet_after_first_call(monkeypatch, privacy, "_require_teacher")
    pages = in_parallel([lambda: _click(confirm, "/privacy/course/delete", title=TITLE)] * 2)

    assert sorted(p.status_code for p in pages) == [200, 200], [p.text[:300] for p in pages]
    texts = [html.unescape(p.text) for p in pages]
    assert sorted(DELETED in text for text in texts) == [False, True], [t[-1500:] for t in texts]
    assert sorted(ALREADY in text for text in texts) == [False, True], [t[-1500:] for t in texts]
    assert _deletions(tool, "delete_course") == 1
    with tool.app.app_context():
        assert db.session.get(Course, course.course_id) is None
        db.session.remove()
