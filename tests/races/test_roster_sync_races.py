"""Launches that land while a roster sync is reading the LMS: the launch, being newer than the pages read, wins."""

from __future__ import annotations

import threading

from tests.services.test_roster import _roster_rows
from tests.support import SandboxActions, submit_form


def test_people_who_launch_while_the_roster_is_read_are_not_taken_for_leavers(make_tool):
    tool = make_tool(SERVICE_TIMEOUT_SECONDS=60)  # the LMS below holds its page while the launches go on
    sandbox = SandboxActions(tool)
    platform = tool.platform
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "roster/sync")  # everyone enrolled, Zainab Hassan (student-5) among them
    platform.add_user("late-1", roles=["Learner"], name="Late Learner", context_id="math-7")
    # Both log in while the LMS lists them; the LMS then drops them from the course, so no page the sync reads
    # names them, and they post their launches while the sync is reading.
    returning, newcomer = sandbox.begin("student-5"), sandbox.begin("late-1")
    platform.courses["math-7"].members.remove("student-5")
    platform.courses["math-7"].members.remove("late-1")
    platform._roster_snapshots.clear()  # a whole read, which decides the leavers itself
    platform.page_size = 3
    # The LMS holds the whole roster's first page (after the refused differences request) until both launches are
    # done: no fixed "slow" answer, which under load could end before the launches had landed.
    asked, answer = threading.Event(), threading.Event()
    memberships = platform.memberships

    def held(context_id, args):
        if "since" not in args and not asked.is_set():
            asked.set()
            assert answer.wait(60)
        return memberships(context_id, args)

    platform.memberships = held
    synced = {}
    sync = threading.Thread(target=lambda: synced.setdefault("page", submit_form(teacher, "roster/sync")))
    sync.start()
    try:
        assert asked.wait(30), "the sync never asked for its first page"
        assert returning.post().status_code == 200
        assert newcomer.post().status_code == 200
    finally:
        answer.set()
    sync.join(timeout=60)

    page = synced["page"]
    # Six listed (the demo's seven less Zainab Hassan); the two who launched meanwhile are not counted as leavers, nor marked so.
    # The message counts the course's active members after the sync: the six listed and the two kept.
    assert "Roster updated: 8 members, 0 new, 0 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert rows["Late Learner"] == ("Student", "Active")
