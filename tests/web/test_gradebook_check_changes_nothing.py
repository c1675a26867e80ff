"""The gradebook check (GET /grades/compare/<id>) only reads: a column the LMS lacks is made on the teacher's POST.

A GET must change nothing, in Pathways or in the LMS: a link prefetch, a crawler inside the LMS or a forged image
in a teacher's browser may follow it, and it carries no CSRF token. It used to find-or-create the column there.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Placement
from lti_tool.services.placements import link_resource_id
from tests.jobs.test_lms_gradebook_changes import _delete_in_lms, _graded_activity
from tests.support import open_in_launch, press, teacher_with_demo_pack

_WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE|MERGE|CREATE|DROP|ALTER|TRUNCATE)\b", re.I)
# Opening a page slides the launch's session forward (services/launches._slide): bookkeeping, not a change.
_SESSION_BOOKKEEPING = re.compile(r'\s*UPDATE\s+"?launch_session"?\s', re.I)


def _writes_while(tool, request):
    """Return the response of request() and every statement it wrote to the database but session bookkeeping."""
    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if _WRITE.match(statement) and not _SESSION_BOOKKEEPING.match(statement):
            seen.append(statement)

    with tool.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        response = request()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    return response, seen


def _changes_asked_of_the_lms(platform) -> list[tuple[str, str]]:
    return [(r["method"], r["url"]) for r in platform.service_requests if r["method"] not in ("GET", "HEAD")]


def _lineitem_of(tool, placement_id: int) -> str | None:
    with tool.app.app_context():
        return db.session.get(Placement, placement_id).lineitem_url


def _placement_of_link(tool, resource_link_id: str) -> int:
    with tool.app.app_context():
        return db.session.scalars(
            sa.select(Placement.id).where(Placement.resource_id == link_resource_id(resource_link_id))
        ).one()


def _check_that_changes_nothing(teacher, tool, placement_id: int, says: str):
    """Open the gradebook check of a placement whose column the LMS lacks; see it say so, ask for and write nothing."""
    tool.platform.service_requests.clear()
    check, writes = _writes_while(tool, lambda: open_in_launch(teacher, tool, f"/grades/compare/{placement_id}"))
    assert check.status_code == 200, check.text[:500]
    assert says in check.text
    assert writes == []
    assert _changes_asked_of_the_lms(tool.platform) == [] and tool.platform.line_items == {}
    return check


def test_checking_a_link_the_lms_gave_no_column_makes_none_until_the_teacher_presses_create(sandbox, tool):
    tool.platform.add_resource_link("module-item-3", "Pathways: fractions")  # a link the LMS does not grade
    teacher = teacher_with_demo_pack(sandbox)
    sandbox.launch("student", resource_link_id="module-item-3")
    placement_id = _placement_of_link(tool, "module-item-3")

    check = _check_that_changes_nothing(
        teacher, tool, placement_id, "The LMS has no gradebook column for “Pathways: fractions” yet"
    )

    assert _lineitem_of(tool, placement_id) is None

    # A cross-site form (no CSRF token) is refused, and makes nothing either.
    action = re.search(r'<form method="post" action="([^"]*/grades/compare/\d+/column)"', check.text).group(1)
    forged = teacher.http.post(tool.url(action.replace("&amp;", "&")), data={}, timeout=30)
    assert forged.status_code == 400
    assert tool.platform.line_items == {} and _lineitem_of(tool, placement_id) is None

    made = press(check, "Create the column in the LMS")

    assert made.history and made.history[0].status_code == 303  # post, redirect, get: a reload posts nothing again
    assert made.url.split("?")[0].endswith(f"/grades/compare/{placement_id}")
    assert "The gradebook column for “Pathways: fractions” is in the LMS." in made.text
    # The new column has no grade yet: the check says so, and where the grades stand, rather than an empty table.
    assert "Pathways has not sent a grade to this column yet, so there is nothing to compare." in made.text
    (column,) = tool.platform.line_items.values()
    assert (column["resourceId"], column["tag"]) == (link_resource_id("module-item-3"), "pathways-mastery")
    assert _lineitem_of(tool, placement_id) == column["id"]


def test_checking_a_column_deleted_in_the_lms_says_so_and_the_teacher_makes_it_again(sandbox, tool):
    dead, placement_id = _graded_activity(sandbox, tool, "moodle-act-7")  # a student's 50 sent to it
    _delete_in_lms(tool.platform, dead)
    teacher = sandbox.launch("teacher")

    check = _check_that_changes_nothing(
        teacher, tool, placement_id, "The gradebook column for “Pathways: fractions” is no longer in the LMS"
    )

    assert _lineitem_of(tool, placement_id) == dead  # kept until the teacher (or the worker) acts on it

    again = press(check, "Create the column in the LMS again")

    (column,) = tool.platform.line_items
    assert column != dead and _lineitem_of(tool, placement_id) == column
    assert again.url.split("?")[0].endswith(f"/grades/compare/{placement_id}")
    assert "The gradebook column for “Pathways: fractions” is in the LMS." in again.text
    # The compare page reads the new column: it has no grade yet (— for the LMS) beside what Pathways sent.
    cells = re.findall(
        r"<td[^>]*>(.*?)</td>", re.search(r'<th scope="row">Priya Shah</th>(.*?)</tr>', again.text, re.S).group(1)
    )
    assert cells[1] == "—", cells


def test_a_content_developer_sees_the_missing_column_but_may_not_make_it(sandbox, tool):
    tool.platform.add_resource_link("module-item-3", "Pathways: fractions")
    teacher_with_demo_pack(sandbox)
    sandbox.launch("student", resource_link_id="module-item-3")
    tool.platform.add_user("dev", roles=["ContentDeveloper"], name="Dana Dev", context_id="math-7")
    developer = sandbox.launch("dev")
    placement_id = _placement_of_link(tool, "module-item-3")
    check = _check_that_changes_nothing(developer, tool, placement_id, "has no gradebook column")
    assert "Create the column in the LMS" not in check.text  # only a role that may resend grades is offered it
    # Nor told it may ask for it: the page has nothing to ask with.
    assert "Pathways makes the column when it sends the next grade." in check.text
    assert "unless you ask it to" not in check.text

    # The teacher's form, posted in the developer's launch with its own CSRF token (the sign-out form's): refused.
    token = re.search(r'name="csrf_token" value="([^"]+)"', check.text).group(1)
    base = re.search(r"/c/[^/]+/", developer.url).group(0)
    refused = developer.http.post(tool.url(f"{base}grades/compare/{placement_id}/column"), data={"csrf_token": token})
    assert refused.status_code == 403
    assert tool.platform.line_items == {} and _lineitem_of(tool, placement_id) is None


def test_where_the_lms_lets_pathways_make_no_columns_the_check_says_so_and_offers_no_button(sandbox, tool):
    from lti_tool.extensions import cache
    from lti_tool.sandbox import vocab as v

    dead, placement_id = _graded_activity(sandbox, tool, "moodle-act-7")
    _delete_in_lms(tool.platform, dead)
    # Moodle's "grade sync only": line items may be read, not made (its token answer narrows what was asked).
    tool.platform.narrowing_grants = True
    tool.platform.grantable_scopes = {v.SCOPE_LINEITEM_READONLY, v.SCOPE_RESULT_READONLY, v.SCOPE_SCORE}
    with tool.app.app_context():
        cache.clear()  # the worker's token, granted every scope before the change, is not the one asked for now
    teacher = sandbox.launch("teacher")

    check = _check_that_changes_nothing(teacher, tool, placement_id, "is no longer in the LMS")

    assert "The LMS does not let Pathways create gradebook columns in this course" in check.text
    assert "Create the column in the LMS" not in check.text
