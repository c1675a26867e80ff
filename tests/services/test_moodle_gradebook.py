"""Moodle-style gradebooks: the tool may not create columns, and asking for that scope fails the token request.

Pathways then asks only for the AGS scopes the launch announced and posts to the line item the LMS created
for the placed link; a placement without one fails with a message saying what the teacher can do.
"""

from __future__ import annotations

import re

from tests.support import (
    AGS_SCOPES_WITHOUT_COLUMNS,
    class_override,
    demo_first_goal_due,
    drain_outbox,
    moodle_launch,
    parse_form,
    submit_form,
)

NO_CREATE = AGS_SCOPES_WITHOUT_COLUMNS



def _override(tool, teacher):
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level="Mastered", note="Moodle check")



def _place_the_plan_in_a_read_only_gradebook(sandbox, tool):
    """The teacher adds the plan with Deep Linking where Pathways may read line items but not create them."""
    tool.platform.grantable_scopes = set(NO_CREATE)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)  # a grade with a number: one without is not sent before one was
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)


def test_scores_reach_a_moodle_line_item_without_asking_for_the_create_scope(sandbox, tool):
    _place_the_plan_in_a_read_only_gradebook(sandbox, tool)
    placed = [i for i, link in tool.platform.courses["math-7"].resource_links.items() if link.title == "My learning plan"]
    moodle_launch(sandbox, "student", resource_link_id=placed[0])  # the launch names the link's line item
    teacher = moodle_launch(sandbox, "teacher")
    _override(tool, teacher)
    stats = drain_outbox(tool)
    assert stats.posted == 1 and stats.failed == 0
    granted = [r for r in tool.platform.token_requests if r["ok"]]
    assert granted and all(set(r["scopes"]) <= set(NO_CREATE) for r in granted)


def test_the_column_the_lms_made_from_deep_linking_is_found_before_any_launch_of_that_link(sandbox, tool):
    # Read-only line items are enough to find it by our resourceId and tag (AGS 2.0 §3.2.4 filters).
    _place_the_plan_in_a_read_only_gradebook(sandbox, tool)
    (column,) = [url for url, item in tool.platform.line_items.items() if item.get("label") == "My learning plan"]
    moodle_launch(sandbox, "student")  # from the course's own link, not the placed one: no lineitem claim
    teacher = moodle_launch(sandbox, "teacher")
    _override(tool, teacher)
    stats = drain_outbox(tool)
    assert stats.posted == 1 and stats.failed == 0
    assert tool.platform.scores.get(column), tool.platform.scores
    granted = [r for r in tool.platform.token_requests if r["ok"]]
    assert granted and all(set(r["scopes"]) <= set(NO_CREATE) for r in granted)


def test_without_a_line_item_from_the_lms_the_teacher_is_told_what_to_do(sandbox, tool):
    tool.platform.grantable_scopes = set(NO_CREATE)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    with tool.app.app_context():  # a placement whose column the LMS never created
        from lti_tool.extensions import db
        from lti_tool.models import Course, Placement

        course_id = db.session.scalar(db.select(Course.id))
        db.session.add(Placement(course_id=course_id, resource_id="manual-1", title="Plan", kind="plan",
                                 skill_ids=[], score_maximum=100.0))
        db.session.commit()
    moodle_launch(sandbox, "student")
    teacher = moodle_launch(sandbox, "teacher")
    _override(tool, teacher)
    stats = drain_outbox(tool)
    assert stats.failed == 1
    home = teacher.http.get(teacher.url)
    assert "does not let Pathways create gradebook columns" in home.text
