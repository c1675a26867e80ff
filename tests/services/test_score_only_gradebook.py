"""A link whose LMS grants only the AGS score scope: Pathways posts scores and reads nothing of the gradebook.

AGS 2.0 §3.1.1.3 ("link has a single line item, tool can only POST score"): the claim names the `lineitem` and the
`score` scope only. Reading that line item needs `lineitem` or `lineitem.readonly` (§3.2), its results
`result.readonly` (§3.3.2), so neither is asked for, even when the column is deleted or the teacher checks it.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import COLUMN_GONE
from lti_tool.models import Placement
from lti_tool.sandbox import vocab as v
from tests.support import (
    AGS_CLAIM,
    class_override,
    demo_first_goal_due,
    drain_outbox,
    open_in_launch,
    parse_form,
    submit_form,
)


def _score_only_launch(sandbox, as_: str, resource_link_id: str):
    """Launch the placed link as an LMS does that lets the tool post scores to its column and nothing more."""
    pending = sandbox.begin(as_, resource_link_id=resource_link_id)
    lineitem = pending.claims[AGS_CLAIM]["lineitem"]
    return pending.post(pending.resign(**{AGS_CLAIM: {"scope": [v.SCOPE_SCORE], "lineitem": lineitem}}))


def _set_level(tool, teacher, level: str) -> None:
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level=level, note="Checked in class")


def _gradebook_reads(platform) -> list[dict]:
    """Return the calls that read the gradebook (line items or results) rather than post a score."""
    return [r for r in platform.service_requests if r["method"] == "GET" and "/lineitems" in r["url"]]


def _placed_plan_graded_once(sandbox, tool):
    """The teacher places the plan through Deep Linking; the student's first grade reaches the column."""
    tool.platform.grantable_scopes = {v.SCOPE_SCORE}
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)  # a grade with a number: one without is not sent before one was
    returning = submit_form(sandbox.launch("teacher", message_type="LtiDeepLinkingRequest"), "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (placed,) = [
        i for i, link in tool.platform.courses["math-7"].resource_links.items() if link.title == "My learning plan"
    ]
    _score_only_launch(sandbox, "student", placed)
    teacher = _score_only_launch(sandbox, "teacher", placed)
    _set_level(tool, teacher, "Mastered")
    stats = drain_outbox(tool)
    assert stats.posted == 1 and stats.failed == 0
    (column,) = tool.platform.line_items
    return teacher, column


def test_a_score_only_column_deleted_in_the_lms_fails_the_score_without_reading_the_gradebook(sandbox, tool):
    teacher, column = _placed_plan_graded_once(sandbox, tool)
    context_id, item_id = column.split("/courses/", 1)[1].split("/lineitems/")
    tool.platform.delete_line_item(context_id, item_id)
    tool.platform.service_requests.clear()

    _set_level(tool, teacher, "Familiar")
    stats = drain_outbox(tool)

    assert stats.failed == 1 and stats.posted == 0
    assert [(r["method"], r["status"]) for r in tool.platform.service_requests] == [("POST", 404)]
    assert _gradebook_reads(tool.platform) == []
    home = teacher.http.get(teacher.url)
    assert COLUMN_GONE.split(" (")[0] in home.text
    granted = [r for r in tool.platform.token_requests if r["ok"]]
    assert granted and all(r["scopes"] == [v.SCOPE_SCORE] for r in granted)


def test_without_the_results_scope_the_gradebook_check_is_not_offered_and_says_so_if_visited(sandbox, tool):
    teacher, _ = _placed_plan_graded_once(sandbox, tool)
    tool.platform.service_requests.clear()
    home = teacher.http.get(teacher.url)
    assert "Synced" in home.text  # the grades table is there; only the check the LMS would refuse is not
    assert "/grades/compare/" not in home.text and "” against the LMS" not in home.text  # no "Check “…” against"
    assert "Pathways cannot check these grades against the LMS gradebook" in home.text  # and the page says why

    with tool.app.app_context():
        (placement_id,) = db.session.scalars(sa.select(Placement.id).where(Placement.title == "My learning plan"))
    check = re.search(r"/c/[^/]+/", teacher.url).group(0) + f"grades/compare/{placement_id}"
    page = open_in_launch(teacher, tool, check)

    assert "does not let Pathways read its gradebook in this course" in page.text
    assert _gradebook_reads(tool.platform) == []
    assert not tool.platform.service_requests


def test_an_lms_that_names_no_scopes_and_grants_only_the_score_one_still_gets_the_grade(sandbox, tool):
    # The AGS claim's `scope` list is missing: Pathways asks for every AGS scope, one token for all its calls. An LMS
    # that refuses a token asking for more than it grants (invalid_scope, RFC 6749 §5.2, as Moodle does) is then
    # asked for the one scope each call needs: posting a score needs only `score` (AGS 2.0 §3.4).
    tool.platform.ags_claim_names_scopes = False
    tool.platform.grantable_scopes = {v.SCOPE_SCORE}
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    returning = submit_form(sandbox.launch("teacher", message_type="LtiDeepLinkingRequest"), "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (placed,) = [
        i for i, link in tool.platform.courses["math-7"].resource_links.items() if link.title == "My learning plan"
    ]
    sandbox.launch("student", resource_link_id=placed)
    teacher = sandbox.launch("teacher", resource_link_id=placed)

    _set_level(tool, teacher, "Mastered")
    stats = drain_outbox(tool)

    assert stats.posted == 1 and stats.failed == 0
    assert [len(scores) for scores in tool.platform.scores.values()] == [1]
    granted = [r["scopes"] for r in tool.platform.token_requests if r["ok"]]
    refused = [r["scopes"] for r in tool.platform.token_requests if not r["ok"] and v.SCOPE_SCORE in r["scopes"]]
    assert granted and all(scopes == [v.SCOPE_SCORE] for scopes in granted)
    assert len(refused) == 1  # the whole set is asked for once by the worker's connector, not before every score
