"""A teacher double-clicks "Create the column in the LMS" on the gradebook check (or presses it in two tabs).

Both posts look for the placement's column in the LMS, find none and create one each; the LMS must still end with one column,
and Pathways must keep its address. The existing find-or-create (ags.find_or_create_lineitem) settles both on the
LMS's first column and deletes the other: this holds on the teacher's button as it does between two workers.
"""

from __future__ import annotations

import re
import threading

import requests

from lti_tool.extensions import db
from lti_tool.lti import ags
from lti_tool.models import Placement
from tests.races.support import hold_first_call, in_parallel, meet_after_first_call
from tests.races.test_student_delete_double_click import _click as _delete_click
from tests.support import open_in_launch, parse_form, teacher_with_demo_pack
from tests.web.test_gradebook_check_changes_nothing import _lineitem_of, _placement_of_link


def _click(page: requests.Response, label: str) -> requests.Response:
    """Post the button's form as one click of a double click, with the cookies the page had."""
    http = requests.Session()
    http.cookies = page.http.cookies.copy()
    for match in re.finditer(r"<form[^>]*>.*?</form>", page.text, re.S):
        if re.search(r"<button[^>]*>\s*" + re.escape(label) + r"\s*</button>", match.group(0)):
            action, fields = parse_form(match.group(0), page.url)
            return http.post(action, data=fields, timeout=60)
    raise AssertionError(f"no button {label!r}")


def test_a_double_clicked_create_column_leaves_one_column_in_the_lms(sandbox, tool, monkeypatch):
    tool.platform.add_resource_link("module-item-3", "Pathways: fractions")  # a link the LMS does not grade
    teacher = teacher_with_demo_pack(sandbox)
    sandbox.launch("student", resource_link_id="module-item-3")
    placement_id = _placement_of_link(tool, "module-item-3")
    check = open_in_launch(teacher, tool, f"/grades/compare/{placement_id}")
    assert "Create the column in the LMS" in check.text
    # Both clicks have looked in the LMS and found no column before either makes one.
    meet_after_first_call(monkeypatch, ags, "find_lineitem")

    pages = in_parallel([lambda: _click(check, "Create the column in the LMS")] * 2)

    assert [p.status_code for p in pages] == [200, 200], [p.text[:300] for p in pages]
    assert all("is in the LMS." in p.text for p in pages), [p.text[-1500:] for p in pages]
    # Both made one; the post whose column is not the LMS's first deleted its own (ags.find_or_create_lineitem).
    asked = [r["method"] for r in tool.platform.service_requests if r["method"] in ("POST", "DELETE")]
    assert sorted(asked) == ["DELETE", "POST", "POST"], asked
    (column,) = tool.platform.line_items.values()
    assert _lineitem_of(tool, placement_id) == column["id"]


def test_creating_the_column_as_another_tab_deletes_the_course_gives_no_server_error(sandbox, tool, monkeypatch):
    # The teacher presses "Create the column in the LMS"; while Pathways makes it in the LMS, the course's data is
    # deleted from another tab. Storing the column's address then met no placement row: SQLAlchemy's StaleDataError,
    # a 500 page.
    tool.platform.add_resource_link("module-item-3", "Pathways: fractions")
    teacher = teacher_with_demo_pack(sandbox)
    sandbox.launch("student", resource_link_id="module-item-3")
    placement_id = _placement_of_link(tool, "module-item-3")
    check = open_in_launch(teacher, tool, f"/grades/compare/{placement_id}")
    confirm = open_in_launch(sandbox.launch("teacher"), tool, "/privacy/course/delete")  # the other tab
    reached, go = hold_first_call(monkeypatch, ags, "find_or_create_lineitem")  # the column is made in the LMS
    pressed: list[requests.Response] = []
    click = threading.Thread(target=lambda: pressed.append(_click(check, "Create the column in the LMS")))
    click.start()
    try:
        assert reached.wait(30)
        deleted = _delete_click(confirm, "/privacy/course/delete", title="Grade 7 Mathematics")
        assert "Pathways removed" in deleted.text, deleted.text[-1500:]
    finally:
        go.set()
        click.join(60)

    (page,) = pressed
    assert page.status_code < 500, page.text[:500]
    # The launch went with the course: the page says so, with what became of the click.
    assert "This placement is not known to Pathways." in page.text
    with tool.app.app_context():
        assert db.session.get(Placement, placement_id) is None
        db.session.remove()
