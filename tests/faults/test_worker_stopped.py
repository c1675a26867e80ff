"""`pathways worker` stopped with SIGTERM (systemd, Docker, a Procfile host): exit 0, never 143, no grade lost.

A SIGTERM in the worker's first seconds (importing Flask, building the app) met Python's default handling: the
process died with status 143, which systemd counts as a failure. One during a pass now lets the pass finish (its
grades recorded, its leases released) before the worker exits 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.faults.test_worker_killed import STUDENTS, stop_worker, worker_posting
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions

PATHWAYS = str(Path(sys.executable).with_name("pathways"))


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**FAST_RETRIES)
    return open_gradebook(tool, SandboxActions(tool))


@pytest.mark.parametrize(("args", "after"), [(["worker"], 0.5), (["worker"], 1.5), (["worker", "--once"], 0.5),
                                             (["-e", "{env_file}", "worker"], 0.5)])
def test_a_worker_stopped_while_it_starts_exits_0(tool, args, after, tmp_path):
    # `-e FILE` before the command, as the admin docs run it: still the worker.
    env_file = tmp_path / "pathways.env"
    env_file.write_text("# the settings come from the environment here\n")
    args = [arg.format(env_file=env_file) for arg in args]
    worker = subprocess.Popen([PATHWAYS, *args], env=_env(tool.app), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(after)  # still importing, or building the app: before the worker's own handler
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=60)
    finally:
        worker.kill()
    assert worker.returncode == 0, (worker.returncode, err[-2000:])
    assert "Traceback" not in err and "Stopped" in out, (out, err)


def _env(app) -> dict[str, str]:
    return {**os.environ, "PATHWAYS_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "PATHWAYS_SECRET_KEY": app.config["SECRET_KEY"],
            "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": app.config["OUTBOUND_ALLOWED_NETWORKS"],
            "PATHWAYS_BASE_URL": app.config["BASE_URL"], "PATHWAYS_INSTANCE_PATH": app.instance_path}


def test_a_worker_stopped_mid_pass_finishes_the_pass_exits_0_and_loses_no_grade(gradebook):
    worker = worker_posting(gradebook)
    err = stop_worker(worker, signal.SIGTERM, 60)
    assert worker.returncode == 0, (worker.returncode, err[-2000:])
    assert "Traceback" not in err
    # The pass it was in was finished and recorded: nothing left leased, nothing for another worker to redo.
    rows = [r for r in gradebook.rows() if r.score_given is not None and r.score_given >= 50]
    assert rows and all(r.lease_token is None for r in gradebook.rows())
    posted = {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()}
    # What the pass did not get to is still queued, and a later drain posts it: every grade arrives once.
    gradebook.drain()
    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()} == {
        sub: 50.0 + n for n, sub in enumerate(STUDENTS)}
    assert all(r.status in ("synced", "superseded") for r in gradebook.rows())
    assert posted  # the worker itself posted before it stopped
    accepted = [(s["userId"], s["scoreGiven"]) for s in gradebook.posts_received() if s["scoreGiven"] >= 50]
    assert len(accepted) == len(set(accepted)) == len(STUDENTS)  # none sent twice
