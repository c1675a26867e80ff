"""Launches that land while a roster sync is reading the LMS: the launch, being newer than the pages read, wins."""

from __future__ import annotations

import threading
import time

from tests.services.test_roster import _roster_rows
from tests.support import SandboxActions, submit_form


def test_people_who_launch_while_the_roster_is_read_are_not_taken_for_leavers(make_tool):
    tool = make_tool()
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
    platform.timeout_seconds = 5  # "slow": the first page is held this long (the tool waits up to 10 s)
    platform.fail_next.extend(["ok", "slow"])  # the differences request (refused), then the first page
    synced = {}
    sync = threading.Thread(target=lambda: synced.setdefault("page", submit_form(teacher, "roster/sync")))
    sync.start()
    deadline = time.monotonic() + 30
    while platform.fail_next and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not platform.fail_next, "the sync never asked for its first page"
    assert returning.post().status_code == 200
    assert newcomer.post().status_code == 200
    sync.join(timeout=60)

    page = synced["page"]
    # Six listed (the demo's seven less Zainab Hassan); the two who launched meanwhile are not counted as leavers, nor marked so.
    # The message counts the course's active members after the sync: the six listed and the two kept.
    assert "Roster updated: 8 members, 0 new, 0 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert rows["Late Learner"] == ("Student", "Active")
