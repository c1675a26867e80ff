"""The LMS's token answer may grant fewer scopes than Pathways asked for: Pathways reads which, calls nothing else.

RFC 6749 §3.3 lets an authorization server grant part of the requested scope and §5.1 has it say so in the answer's
`scope`; Moodle's token.php grants what the tool's settings allow of what it asked for. A grade-permission change
made by the LMS administrator after the course's last launch leaves the launch's AGS scopes out of date: the token
answer is then the only word on it. Pathways does not make a call its token was not granted for (the LMS would
answer 403 with a reason no teacher can act on) and says which permission the LMS administrator must give.
"""

from __future__ import annotations

import re

from lti_tool.extensions import cache
from lti_tool.sandbox import vocab as v
from tests.support import (
    AGS_SCOPES_WITHOUT_COLUMNS,
    class_override,
    demo_first_goal_due,
    drain_outbox,
    parse_form,
    submit_form,
)


def _set_level(tool, teacher) -> None:
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level="Mastered", note="Checked in class")


def test_a_token_without_the_column_scope_makes_no_column_and_names_the_permission_the_admin_must_give(sandbox, tool):
    tool.platform.add_activity("act-3", "Pathways homework", accept_grades=False)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    sandbox.launch("student", resource_link_id="act-3")
    teacher = sandbox.launch("teacher", resource_link_id="act-3")  # the launch offers all four AGS scopes
    _set_level(tool, teacher)
    # Then the LMS administrator sets the tool to "grade sync only": its token answers leave `lineitem` out.
    tool.platform.grantable_scopes = set(AGS_SCOPES_WITHOUT_COLUMNS)
    tool.platform.narrowing_grants = True

    stats = drain_outbox(tool)

    assert stats.failed == 1 and stats.posted == 0
    granted = [r for r in tool.platform.token_requests if r["ok"]]
    assert granted and all(v.SCOPE_LINEITEM not in r["granted"] for r in granted)
    # No call the token does not cover: no column created (the LMS would answer 403 insufficient_scope).
    assert [r for r in tool.platform.service_requests if r["method"] == "POST"] == []
    assert all(r["status"] < 400 for r in tool.platform.service_requests)
    home = teacher.http.get(teacher.url)
    assert "permission to create and manage gradebook columns" in home.text
    assert "insufficient_scope" not in home.text and "HTTP 403" not in home.text


def test_the_column_the_lms_made_from_deep_linking_still_gets_grades_when_the_token_leaves_out_the_column_scope(
        sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    returning = submit_form(sandbox.launch("teacher", message_type="LtiDeepLinkingRequest"), "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (column,) = tool.platform.line_items  # made by the LMS from the content item's lineItem
    sandbox.launch("student")  # from the course's own link: no lineitem claim names the column
    teacher = sandbox.launch("teacher")
    _set_level(tool, teacher)
    tool.platform.grantable_scopes = set(AGS_SCOPES_WITHOUT_COLUMNS)
    tool.platform.narrowing_grants = True

    stats = drain_outbox(tool)

    assert stats.failed == 0 and stats.posted == 1
    assert [s["userId"] for s in tool.platform.scores[column]] == ["student-1"]
    assert len(tool.platform.line_items) == 1
    assert all(r["status"] < 400 for r in tool.platform.service_requests)


def test_a_roster_the_lms_gives_no_permission_for_names_that_permission(sandbox, tool):
    tool.platform.grantable_scopes = set(v.AGS_SCOPES)  # Names and Role Provisioning not enabled for the tool
    tool.platform.narrowing_grants = True

    page = submit_form(sandbox.launch("teacher"), "roster/sync")

    assert "permission to read the course roster" in page.text
    assert "LTI Advantage scope " + v.SCOPE_NRPS in page.text
    assert list(tool.platform.service_requests) == []


def test_checking_grades_against_an_lms_that_no_longer_grants_reading_them_says_so_without_asking(sandbox, tool):
    tool.platform.add_activity("act-9", "Pathways: ratios", accept_grades=True)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    sandbox.launch("student", resource_link_id="act-9")
    teacher = sandbox.launch("teacher", resource_link_id="act-9")  # the launch offers result.readonly
    _set_level(tool, teacher)
    assert drain_outbox(tool).posted == 1
    # Then the LMS administrator takes the permission to read grades off the tool (Canvas: off its developer key,
    # which then refuses any token request naming it).
    tool.platform.grantable_scopes = {v.SCOPE_LINEITEM, v.SCOPE_LINEITEM_READONLY, v.SCOPE_SCORE}
    with tool.app.app_context():
        cache.clear()  # the access token Pathways keeps has run out
    tool.platform.service_requests.clear()
    home = teacher.http.get(teacher.url)
    compare_url = re.search(r'href="([^"]*/grades/compare/\d+)"', home.text).group(1)

    page = teacher.http.get(tool.url(compare_url))

    assert "does not let Pathways read its gradebook" in page.text
    assert "invalid_scope" not in page.text
    assert [r for r in tool.platform.service_requests if "/results" in r["url"]] == []
