"""Grades reach the gradebook from every placement, not only from links made through Deep Linking (issue 11.2).

A teacher may add Pathways by hand (Moodle's "Add an activity", a Canvas assignment with an external tool). Such
a link carries no Pathways parameter; its scores go to the column the LMS bound to it (AGS `lineitem`), else to
one Pathways finds or creates for the resource link, else the teacher is told the link has no column and how to
fix it. A column that appears later is back-filled with the scores earned so far.
"""

from __future__ import annotations

import re

from tests.support import (
    AGS_SCOPES_WITHOUT_COLUMNS,
    class_override,
    demo_first_goal_due,
    drain_outbox,
    moodle_launch,
    submit_form,
)

NO_CREATE = AGS_SCOPES_WITHOUT_COLUMNS



def _master_first_skill(tool, teacher):
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level="Mastered", note="Checked in class")



def _student_scores(platform, lineitem_url):
    return [s for s in platform.scores.get(lineitem_url, []) if s["userId"] == "student-1"]


def test_moodle_activity_added_by_hand_with_accept_grades_gets_the_students_score(sandbox, tool):
    tool.platform.grantable_scopes = set(NO_CREATE)
    tool.platform.add_activity("moodle-act-7", "Pathways: fractions", accept_grades=True)
    (column,) = [i["id"] for i in tool.platform.line_items.values() if i.get("resourceLinkId") == "moodle-act-7"]
    submit_form(moodle_launch(sandbox, "teacher"), "/content/demo")
    demo_first_goal_due(tool)  # a grade with a number: one without is not sent before one was
    moodle_launch(sandbox, "student", resource_link_id="moodle-act-7")
    teacher = moodle_launch(sandbox, "teacher", resource_link_id="moodle-act-7")
    assert "No gradebook column" not in teacher.text
    _master_first_skill(tool, teacher)

    stats = drain_outbox(tool)

    assert stats.failed == 0 and stats.posted >= 1
    (score,) = _student_scores(tool.platform, column)
    assert score["scoreGiven"] == 25.0 and "Pathways mastery:" in score["comment"]
    assert len(tool.platform.line_items) == 1  # posted to the LMS's own column, none created beside it


def test_canvas_assignment_without_deep_linking_gets_a_column_for_its_resource_link(sandbox, tool):
    tool.platform.add_activity("canvas-assignment-3", "Pathways homework", accept_grades=False)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    sandbox.launch("student", resource_link_id="canvas-assignment-3")
    teacher = sandbox.launch("teacher", resource_link_id="canvas-assignment-3")
    _master_first_skill(tool, teacher)

    stats = drain_outbox(tool)

    assert stats.failed == 0
    (column,) = tool.platform.line_items.values()
    assert column["resourceLinkId"] == "canvas-assignment-3" and column["label"] == "Pathways homework"
    assert _student_scores(tool.platform, column["id"])
    # Launching again finds the same column: no second one.
    sandbox.launch("teacher", resource_link_id="canvas-assignment-3")
    drain_outbox(tool)
    assert len(tool.platform.line_items) == 1


def test_course_navigation_link_is_not_graded(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    _master_first_skill(tool, sandbox.launch("teacher"))
    drain_outbox(tool)
    assert tool.platform.line_items == {}


def test_teacher_sees_that_a_moodle_activity_without_accept_grades_has_no_gradebook_column(sandbox, tool):
    tool.platform.grantable_scopes = set(NO_CREATE)
    tool.platform.add_activity("moodle-act-9", "Pathways practice", accept_grades=False)

    teacher = moodle_launch(sandbox, "teacher", resource_link_id="moodle-act-9")

    assert "No gradebook column for “Pathways practice”" in teacher.text
    assert "Accept grades from the tool" in teacher.text
    # Opened from the course menu, the teacher page still lists the link that has no column.
    assert "No gradebook column for “Pathways practice”" in moodle_launch(sandbox, "teacher").text


def test_scores_earned_before_the_column_existed_are_backfilled_when_it_appears(sandbox, tool):
    tool.platform.grantable_scopes = set(NO_CREATE)
    submit_form(moodle_launch(sandbox, "teacher"), "/content/demo")
    demo_first_goal_due(tool)
    moodle_launch(sandbox, "student")
    _master_first_skill(tool, moodle_launch(sandbox, "teacher"))
    drain_outbox(tool)
    # Later the teacher adds Pathways as a graded activity; nobody earns anything new.
    tool.platform.add_activity("moodle-act-11", "Pathways unit test", accept_grades=True)
    (column,) = tool.platform.line_items

    moodle_launch(sandbox, "teacher", resource_link_id="moodle-act-11")
    drain_outbox(tool)

    (score,) = _student_scores(tool.platform, column)
    assert score["scoreGiven"] == 25.0 and "Pathways mastery:" in score["comment"]
