"""Two writers meeting on PostgreSQL (a deadlock, a serialization failure, a lock wait past lock_timeout) is not an
outage: the database answered, and trying again in a moment works. A page says Pathways was busy with another change
to the same data (503, a short Retry-After, what was typed given back), never that the database cannot be reached;
a `pathways` command says to run it again, never to check PATHWAYS_DATABASE_URL; the worker logs the pass that met
it as such and goes on with the next.

The conflict here is PostgreSQL's own: another connection holds a table's lock while the tool's transactions wait at
most a moment for it (lock_timeout), so the request fails with SQLSTATE 55P03 as a real lock wait would.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main
from lti_tool.extensions import db
from lti_tool.models import Person, Reflection
from tests.support import SandboxActions, open_in_launch, submit_form, teacher_with_demo_pack
from tests.web.test_agency import FIRST_SKILL

from .test_redis_outage import wait_for

WORDS = "Finding a common denominator & <b>why</b>"
OUTAGE_WORDS = ("cannot reach its database", "try again in a minute", "PATHWAYS_DATABASE_URL")


def _skip_on_sqlite(tool) -> None:
    with tool.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("lock_timeout and table locks are PostgreSQL's (SQLite's busy lock: test_sqlite_locked.py)")


@contextmanager
def _held_while_the_tool_waits_a_moment(tool, table: str) -> Iterator[None]:
    """Hold `table`'s lock against writers in another connection; the tool's transactions wait 300 ms for a lock."""
    with tool.app.app_context():
        engine = db.engine

    def impatient(conn: sa.Connection) -> None:
        conn.exec_driver_sql("SET LOCAL lock_timeout = '300ms'")

    with engine.connect() as holder:
        holder.exec_driver_sql(f"LOCK TABLE {table} IN EXCLUSIVE MODE")  # reads go on; writes wait for it
        sa.event.listen(engine, "begin", impatient)
        try:
            yield
        finally:
            sa.event.remove(engine, "begin", impatient)
            holder.rollback()


def test_a_reflection_meeting_another_change_to_its_data_is_a_busy_503_with_the_words_to_copy(make_tool):
    tool = make_tool()
    _skip_on_sqlite(tool)
    sandbox = SandboxActions(tool)
    teacher_with_demo_pack(sandbox)
    reflect = open_in_launch(sandbox.launch("student"), tool, "/reflect")
    assert reflect.status_code == 200, reflect.text[:300]

    with _held_while_the_tool_waits_a_moment(tool, Reflection.__tablename__):
        refused = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=WORDS)

    assert refused.status_code == 503, (refused.status_code, refused.text[:300])
    assert refused.headers["Retry-After"] == "5"
    assert "Pathways was busy with another change to the same data" in refused.text
    assert "try again in a moment" in refused.text
    assert not any(words in refused.text for words in OUTAGE_WORDS), refused.text
    assert "What you typed has not been saved" in refused.text
    assert ">Finding a common denominator &amp; &lt;b&gt;why&lt;/b&gt;</textarea>" in refused.text
    # Still inside the LMS's frame, as the page the form came from.
    framed_by = re.search(r"frame-ancestors ([^;]*)", reflect.headers["Content-Security-Policy"]).group(1)
    assert re.search(r"frame-ancestors ([^;]*)", refused.headers["Content-Security-Policy"]).group(1) == framed_by
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0

    saved = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=WORDS)  # sent again: it lands
    assert "your reflection is saved" in saved.text


def test_a_privacy_deletion_meeting_another_change_says_to_run_it_again_not_to_check_the_database_url(sandbox, tool):
    _skip_on_sqlite(tool)
    sandbox.launch("student")
    command = ["privacy", "delete", "--platform", tool.platform.issuer, "--client-id", "pathways-sandbox",
               "--user", "student-1", "--yes"]

    def run():
        return CliRunner().invoke(main, command, obj=ScriptInfo(create_app=lambda: tool.app))

    with _held_while_the_tool_waits_a_moment(tool, Person.__tablename__):
        refused = run()

    assert refused.exit_code == 1, refused.output
    assert "Another change to the same data was under way" in refused.output
    assert "run the command again" in refused.output
    assert not any(words in refused.output for words in OUTAGE_WORDS), refused.output
    assert "Traceback" not in refused.output

    again = run()
    assert again.exit_code == 0, again.output
    assert "Deleted the data of student-1" in again.output


def test_the_worker_says_a_pass_met_another_change_and_goes_on_with_the_next(make_tool, failed_passes, caplog):
    from lti_tool.jobs import worker
    from lti_tool.models import ScoreOutbox

    tool = make_tool()
    _skip_on_sqlite(tool)
    done: list[worker.DrainStats] = []
    drainer = threading.Thread(target=lambda: done.append(
        worker.drain(tool.app, once=True, poll_seconds=0.05, max_seconds=60)))
    with caplog.at_level(logging.WARNING, logger="lti_tool.jobs.worker"), \
            _held_while_the_tool_waits_a_moment(tool, ScoreOutbox.__tablename__):
        drainer.start()
        assert wait_for(lambda: failed_passes, 30) < 30  # a pass met the held lock
    drainer.join(60)
    assert not drainer.is_alive(), "the worker went on once the other change ended"

    [stats] = done
    assert failed_passes[0].startswith("another change to the same data was under way"), failed_passes
    assert list(stats.errors) == [failed_passes[0]] and stats.passes > stats.errors[failed_passes[0]]
    [line] = [r.getMessage() for r in caplog.records if "worker pass failed" in r.getMessage()]
    assert "another change to the same data" in line and "unreachable" not in line
