"""PATHWAYS_SECRET_KEY changed under a running deployment: doctor says so, the worker keeps the grades and says so."""

from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main
from lti_tool.jobs import worker
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(WORKER_BACKOFF_MAX_SECONDS=0.2, **FAST_RETRIES)
    return open_gradebook(tool, SandboxActions(tool))


def doctor(app):
    return CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: app))


def stop_after_failed_passes(monkeypatch, count: int) -> threading.Event:
    """Return an event set once the worker has met `count` failed passes (counted, not timed: CI machines are slow)."""
    stop, failed, seen = threading.Event(), worker._Health.failed, []

    def counting(health, *args, **kwargs):
        wait = failed(health, *args, **kwargs)
        seen.append(wait)
        if len(seen) >= count:
            stop.set()
        return wait

    monkeypatch.setattr(worker._Health, "failed", counting)
    return stop


def test_with_a_changed_secret_doctor_names_the_mismatch_and_the_worker_keeps_the_grade_until_it_is_restored(
    gradebook, worker_log, monkeypatch
):
    app = gradebook.tool.app
    gradebook.queue("student-1", 70.0)
    original = app.config["SECRET_KEY"]
    assert "ok       The signing key opens with PATHWAYS_SECRET_KEY" in doctor(app).output

    app.config["SECRET_KEY"] = "someone-rotated-the-secret-without-rotating-keys"

    report = doctor(app)
    assert report.exit_code == 1
    assert "PROBLEM  The secret key does not match the signing key" in report.output
    assert "Set PATHWAYS_SECRET_KEY back to its previous value" in report.output
    stop = stop_after_failed_passes(monkeypatch, 3)
    stats = gradebook.drain(max_seconds=60, stop=stop)  # several passes, each meeting the mismatch
    assert stop.is_set() and stats.passes >= 3 and stats.posted == 0
    monkeypatch.undo()
    [row] = gradebook.rows()
    assert row.status == "pending" and row.attempts == 0 and row.lease_token is None
    [line] = worker_log.lines("worker pass failed")
    assert "PATHWAYS_SECRET_KEY does not match" in line and "pathways keys rotate" in line

    app.config["SECRET_KEY"] = original

    assert gradebook.drain().posted == 1
    assert gradebook.lms_scores()["student-1"]["scoreGiven"] == 70.0
    assert [s["userId"] for s in gradebook.posts_received()] == ["student-1"]
