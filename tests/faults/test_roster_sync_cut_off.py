"""A roster sync cut off halfway (a database blip, a killed worker) runs again; it is never forgotten."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.models import Course
from lti_tool.models.base import utcnow
from lti_tool.services import roster


def _due_at(tool):
    with tool.app.app_context():
        return db.session.scalar(sa.select(Course.roster_sync_due_at))


def _members(page) -> bool:
    return "Zainab Hassan" in page.http.get(page.url).text


def test_a_roster_sync_cut_by_a_database_error_is_due_again_and_runs_once_the_database_answers(
    sandbox, tool, monkeypatch
):
    page = sandbox.launch("teacher")  # asks the worker for a roster sync
    real_sync = roster.sync_roster

    def blip(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(roster, "sync_roster", blip)
    started = utcnow()
    stats = drain(tool.app, once=True, max_seconds=3)

    assert stats.roster_syncs == 0 and stats.errors  # the pass failed and said so
    due = _due_at(tool)
    assert due is not None, "the sync was claimed, failed on the blip, and is never due again"
    assert due <= started + timedelta(seconds=tool.app.config["ROSTER_SYNC_MIN_SECONDS"] + 5)

    monkeypatch.setattr(roster, "sync_roster", real_sync)  # the database answers again
    with tool.app.app_context(), requests.Session() as http:
        result = roster.run_due_roster_sync(secret_key=tool.app.config["SECRET_KEY"], http=http, timeout=10,
                                            store_email=False, now=due, retry_seconds=0)
    assert result is not None and result.members == 7
    assert _due_at(tool) is None  # done: not due again until a teacher launch asks
    assert _members(page)


def test_a_roster_sync_whose_worker_died_is_held_by_its_lease_then_runs_again(sandbox, tool, monkeypatch):
    page = sandbox.launch("teacher")
    real_sync = roster.sync_roster

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for kill -9: nothing after the claim runs, not even an except block

    monkeypatch.setattr(roster, "sync_roster", killed)
    now = utcnow()
    with tool.app.app_context(), requests.Session() as http, pytest.raises(KeyboardInterrupt):
        roster.run_due_roster_sync(secret_key=tool.app.config["SECRET_KEY"], http=http, timeout=10,
                                   store_email=False, now=now, retry_seconds=300)
    monkeypatch.setattr(roster, "sync_roster", real_sync)

    lease = _due_at(tool)
    assert lease is not None, "the claim forgot the sync"
    assert lease > now  # held: another worker does not take it while it might still be running
    assert drain(tool.app, once=True).roster_syncs == 0
    assert not _members(page)

    with tool.app.app_context(), requests.Session() as http:
        result = roster.run_due_roster_sync(secret_key=tool.app.config["SECRET_KEY"], http=http, timeout=10,
                                            store_email=False, now=lease, retry_seconds=300)
    assert result is not None  # the lease ran out: the sync runs again
    assert _due_at(tool) is None and _members(page)
