"""SQLite busy: another process holds the database's write lock longer than the busy timeout (a backup, a long
`pathways` command, a stuck writer). A page that must write gets the plain 503 with Retry-After, keeps nothing of
what it began, and the same form lands once the lock is let go; pages that only read go on (WAL).

The database answered (it is busy, not gone): the page says Pathways was busy with another change to the same data,
as for a conflict on PostgreSQL (test_database_conflict.py), never that the database cannot be reached."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import ItemResponse
from tests.support import SandboxActions, served_answer, submit_form

from .test_redis_outage import practise_once


def _answers(tool) -> int:
    with tool.app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse))


def test_a_write_meeting_a_locked_sqlite_database_is_a_busy_503_keeps_nothing_and_lands_once_it_is_free(
    make_tool, tmp_path
):
    path = Path(tmp_path) / "busy.sqlite"
    tool = make_tool(DATABASE_URL=f"sqlite:///{path}")
    sandbox = SandboxActions(tool)
    assert submit_form(sandbox.launch("teacher"), "/content/demo").status_code == 200
    student = sandbox.launch("student")
    practise = [line for line in student.text.split('"') if "/practice/" in line][0]
    page = student.http.get(tool.url(practise), timeout=10)
    assert page.status_code == 200
    page.http = student.http

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held past the tool's 10 s busy timeout
    try:
        refused = submit_form(page, practise.split("/", 3)[3], answer=served_answer(tool, page))
        # Reading still works while another connection writes (WAL): the student's page opens.
        assert student.http.get(tool.url(practise), timeout=10).status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    assert refused.status_code == 503, (refused.status_code, refused.text[:300])
    assert refused.headers["Retry-After"] == "5"
    assert "Pathways was busy with another change to the same data" in refused.text
    assert "try again in a moment" in refused.text and "Traceback" not in refused.text
    assert "cannot reach its database" not in refused.text and "try again in a minute" not in refused.text
    assert _answers(tool) == 0  # nothing half-written

    # The lock is gone: the next answer is kept, once, without a restart.
    answered = practise_once(tool, student)
    assert answered.status_code == 200, answered.text[:300]
    assert _answers(tool) == 1
