"""PostgreSQL answers but refuses writes (a standby in the primary's place during a failover): an outage, not a 500.

A database gone altogether is tests/faults/test_database_outage.py. Here every connection is up, reads work, and
every write fails with SQLSTATE 25006, "cannot execute INSERT in a read-only transaction", as a hot standby answers.
The tool's connections are made read-only the way a standby's are (each transaction READ ONLY), then writable again.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import ItemResponse
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, served_answer, submit_form


class _Standby:
    """Turn the tool's pooled PostgreSQL connections read-only and back, as a failover to a standby and back does."""

    def __init__(self, engine: sa.Engine) -> None:
        self.read_only = False
        sa.event.listen(engine, "checkout", self._on_checkout)

    def _on_checkout(self, dbapi_connection, _record, _proxy) -> None:
        mode = "READ ONLY" if self.read_only else "READ WRITE"
        dbapi_connection.execute(f"SET SESSION CHARACTERISTICS AS TRANSACTION {mode}")
        dbapi_connection.commit()  # the SET opened a transaction of its own: the request's starts after it


@pytest.fixture
def standby_tool(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url, **FAST_RETRIES)
    with tool.app.app_context():
        standby = _Standby(db.engine)
    return tool, standby


def test_a_read_only_database_gives_a_plain_503_on_a_write_and_the_next_answer_lands_once_it_is_writable(
        standby_tool):
    tool, standby = standby_tool
    sandbox = SandboxActions(tool)
    teacher = sandbox.launch("teacher")
    assert submit_form(teacher, "/content/demo").status_code == 200
    student = sandbox.launch("student")
    practise = tool.url(re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1))
    page = student.http.get(practise, timeout=10)
    assert page.status_code == 200
    page.http = student.http
    answer = served_answer(tool, page)

    standby.read_only = True
    refused = submit_form(page, practise.split("/", 3)[3], answer=answer)
    assert refused.status_code == 503, refused.text[:300]
    assert refused.headers["Retry-After"] and "try again in a minute" in refused.text
    assert "Traceback" not in refused.text
    launch = sandbox.launch("student")  # a launch writes its session: the same plain page
    assert launch.status_code == 503, launch.text[:300]

    standby.read_only = False
    answered = submit_form(page, practise.split("/", 3)[3], answer=answer)
    assert answered.status_code == 200, answered.text[:300]
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse)) == 1


def test_the_worker_waits_out_a_read_only_database_and_the_grade_lands(standby_tool):
    # A guard: this passed before the worker counted read-only as the database away (it retried the row anyway).
    tool, standby = standby_tool
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 60.0)

    standby.read_only = True
    book.drain(max_seconds=2)  # a pass that cannot record what it posted: nothing is marked failed or dropped
    assert [row.status for row in book.rows()] != ["failed"]

    standby.read_only = False
    book.drain()
    assert book.rows()[-1].status == "synced"
    assert book.lms_scores()["student-1"]["scoreGiven"] == 60.0
