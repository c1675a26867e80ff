"""Two students open a duplicated activity for the first time at the same moment: one placement for the copy."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests

from lti_tool.services import placements
from tests.support import SandboxActions, parse_form, submit_form, teacher_with_demo_pack


def _meet_before_reading_the_copy(monkeypatch, parties: int) -> None:
    """Hold each launch after it looked for the copy's placement until all have: each then finds none."""
    original, barrier = placements._find_placement, threading.Barrier(parties)

    def meet(course_id, resource_id):
        found = original(course_id, resource_id)
        if resource_id.startswith("copy-"):
            try:
                barrier.wait(3)  # SQLite lets one writer on at a time: the others then stop waiting
            except threading.BrokenBarrierError:
                pass
        return found

    monkeypatch.setattr(placements, "_find_placement", meet)


def test_two_students_opening_a_copied_link_at_once_make_one_placement_for_it(make_tool, monkeypatch):
    tool = make_tool()
    sandbox = SandboxActions(tool)
    platform = tool.platform
    teacher_with_demo_pack(sandbox)
    platform.add_user("s-2", roles=["Learner"], name="Second Student")
    returning = submit_form(sandbox.launch("teacher", message_type="LtiDeepLinkingRequest"), "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (original,) = [link for link in platform.courses["math-7"].resource_links.values() if link.custom]
    sandbox.launch("teacher", resource_link_id=original.id)  # binds the placement to its link
    platform.add_resource_link("link-b", "Copy", custom=original.custom)
    platform.create_line_item("math-7", {"label": "Copy", "scoreMaximum": 100, "resourceLinkId": "link-b"})
    pending = [sandbox.begin(sub, http=requests.Session(), resource_link_id="link-b") for sub in ("student", "s-2")]
    _meet_before_reading_the_copy(monkeypatch, len(pending))

    with ThreadPoolExecutor(len(pending)) as pool:
        pages = list(pool.map(lambda launch: launch.post(), pending))

    assert [page.status_code for page in pages] == [200, 200], [page.text[:300] for page in pages]
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        rows = db.session.scalars(db.select(Placement).order_by(Placement.id)).all()
        assert [p.resource_link_id for p in rows] == [original.id, "link-b"]
