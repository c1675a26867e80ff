"""PostgreSQL stops answering on open connections (a frozen server, a proxy that lost its upstream): the peer still
acknowledges every packet, so only Pathways' own deadline (db_deadline.py) ends the wait. Pages answer 503 within
it, the worker outlives it (and still stops when told), and all recovers without a restart."""

from __future__ import annotations

import threading
import time

import requests

from lti_tool.jobs.worker import drain
from tests.support import SandboxActions

from .test_redis_outage import HEALTH_TOKEN, healthz, wait_for

DEADLINE = 2


def _timed_get(http: requests.Session, url: str) -> tuple[requests.Response | None, float]:
    started = time.monotonic()
    try:
        return http.get(url, timeout=DEADLINE * 8), time.monotonic() - started
    except requests.exceptions.ReadTimeout:
        return None, time.monotonic() - started


def test_a_database_that_stops_answering_gives_503_within_the_deadline_and_the_worker_outlives_it(
    make_tool, postgres, failed_passes
):
    tool = make_tool(DATABASE_URL=postgres.url, DATABASE_STATEMENT_DEADLINE_SECONDS=DEADLINE,
                     DATABASE_CONNECT_TIMEOUT_SECONDS=DEADLINE, WORKER_POLL_SECONDS=0.3,
                     WORKER_BACKOFF_MAX_SECONDS=0.5, METRICS_TOKEN=HEALTH_TOKEN)
    student = SandboxActions(tool).launch("student")
    assert student.status_code == 200
    stop = threading.Event()
    worker = threading.Thread(target=drain, args=(tool.app,), kwargs={"once": False, "stop": stop}, daemon=True)
    worker.start()
    assert wait_for(lambda: (healthz(tool).json()["worker"]["last_pass_seconds_ago"] or 99) < 2, 10) < 10

    postgres.proxy.hang()  # every connection stays open, acknowledged, and silent
    before = len(failed_passes)

    page, took = _timed_get(student.http, student.url)
    assert page is not None, f"no answer after {took:.0f} s: the request waits on the silent database for ever"
    assert page.status_code == 503 and took < DEADLINE * 3, (page.status_code, took)
    assert "try again in a minute" in page.text and page.headers["Retry-After"] == "30"
    health, took = _timed_get(requests.Session(), tool.url("/healthz"))
    assert health is not None and health.status_code == 503 and took < DEADLINE * 3
    # The worker's passes meet the silence too.
    assert wait_for(lambda: len(failed_passes) >= before + 2, DEADLINE * 10) < DEADLINE * 10
    assert worker.is_alive()

    postgres.proxy.restore()
    assert wait_for(lambda: student.http.get(student.url, timeout=15).status_code == 200, 15) < 10
    # The worker's passes succeed again: its heartbeat moves.
    assert wait_for(lambda: (healthz(tool).json()["worker"]["last_pass_seconds_ago"] or 99) < 2, 15) < 10

    # Told to stop while the database is silent, the worker stops rather than wait on it for ever.
    postgres.proxy.hang()
    time.sleep(1)
    stop.set()
    worker.join(DEADLINE * 4)
    alive = worker.is_alive()
    postgres.proxy.restore()
    assert not alive, "the worker waits on the silent database and never sees its stop"
    worker.join(30)


def _watchers() -> int:
    return sum(t.name == "pathways-db-deadline" and t.is_alive() for t in threading.enumerate())


def test_an_idle_deadline_watcher_ends_and_the_next_call_starts_one(make_tool, postgres, monkeypatch):
    from lti_tool import db_deadline

    monkeypatch.setattr(db_deadline, "IDLE_SECONDS", 0.5)
    tool = make_tool(DATABASE_URL=postgres.url, DATABASE_STATEMENT_DEADLINE_SECONDS=DEADLINE)
    sandbox = SandboxActions(tool)
    assert sandbox.launch("student").status_code == 200
    assert _watchers() >= 1

    # Nothing under way: every watcher (this app's and those of apps earlier tests left) ends.
    assert wait_for(lambda: _watchers() == 0, 10) < 10

    assert sandbox.launch("student").status_code == 200
    assert _watchers() >= 1


def test_disposing_the_engine_ends_its_watcher_and_the_next_call_starts_one(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url, DATABASE_STATEMENT_DEADLINE_SECONDS=DEADLINE)
    sandbox = SandboxActions(tool)
    assert sandbox.launch("student").status_code == 200
    with tool.app.app_context():
        from lti_tool.extensions import db

        watching = {t for t in threading.enumerate() if t.name == "pathways-db-deadline"}
        db.engine.dispose()
    assert wait_for(lambda: not any(t.is_alive() for t in watching), 5) < 5

    assert sandbox.launch("student").status_code == 200
    assert _watchers() >= 1
