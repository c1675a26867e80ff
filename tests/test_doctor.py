"""`pathways doctor` tells an admin what is wrong with a deployment."""

import os

import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main


def test_doctor_flags_a_demo_style_setup_and_passes_the_schema_and_keys(tool):
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code == 1
    # Each PROBLEM line says what is wrong, not what would be right.
    assert f"PROBLEM  Base URL {tool.base_url} does not use HTTPS" in result.output
    assert "Set PATHWAYS_BASE_URL=https://" in result.output
    assert "PROBLEM  Sandbox LMS is on" in result.output
    assert "uses HTTPS" not in result.output and "Sandbox LMS is off" not in result.output
    assert "ok       Schema is up to date" in result.output
    assert "ok       The tool has a signing key" in result.output
    assert "ok       The signing key opens with PATHWAYS_SECRET_KEY" in result.output
    assert "ok       1 platform(s) registered" in result.output


def test_doctor_says_whether_evidence_files_can_be_stored(make_tool, tmp_path):
    tool = make_tool()
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert "ok       Evidence files can be stored in " in result.output
    assert not any(files for _, _, files in os.walk(os.path.join(tool.app.instance_path, "evidence")))

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    tool.app.config["EVIDENCE_DIR"] = str(blocker)
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert f"PROBLEM  Evidence files cannot be stored in {blocker}" in result.output
    assert "make PATHWAYS_EVIDENCE_DIR a folder the web processes may write" in result.output


def test_doctor_with_no_platform_points_at_a_registration_that_works(make_tool):
    # /lti/register on its own answers 403 (dynamic registration takes only one-time links): the hint names the
    # command that makes such a link.
    tool = make_tool()
    cli = ScriptInfo(create_app=lambda: tool.app)
    for registered in CliRunner().invoke(main, ["platform", "list"], obj=cli).stdout.splitlines():
        issuer, client_id = registered.split("\t")[:2]  # the sandbox LMS registers itself
        assert CliRunner().invoke(main, ["platform", "remove", issuer, client_id, "--yes"], obj=cli).exit_code == 0
    result = CliRunner().invoke(main, ["doctor"], obj=cli)
    assert "PROBLEM  No platform is registered" in result.output
    assert "`pathways platform invite`" in result.output and "at /lti/register" not in result.output
    assert requests.get(tool.base_url + "/lti/register", timeout=10).status_code == 403


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_says_which_redis_does_not_answer_and_what_to_check_without_its_password(make_tool):
    port = _closed_port()
    tool = make_tool(REDIS_URL=f"redis://:hunter2-secret@127.0.0.1:{port}/5", REDIS_TIMEOUT_SECONDS=1)
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert "PROBLEM  Cache does not answer" in result.output
    assert f"Redis at 127.0.0.1:{port} did not answer" in result.output
    assert "Check that the Redis server is running and that PATHWAYS_REDIS_URL names it." in result.output
    assert "hunter2" not in result.output


def _doctor_on_a_database_that_does_not_answer(tmp_path, url: str) -> str:
    from lti_tool import create_app

    from .conftest import TEST_SECRET_KEY

    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET_KEY, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "DATABASE_URL": url, "DATABASE_CONNECT_TIMEOUT_SECONDS": 2})
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: app))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "PROBLEM  Database does not answer" in result.output
    return result.output


def test_doctor_says_why_the_database_does_not_answer_and_what_to_check(tmp_path):
    port = _closed_port()
    output = _doctor_on_a_database_that_does_not_answer(tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:{port}/x")
    assert f"port {port} failed" in output  # the driver's own reason, not only "OperationalError"
    assert "Check PATHWAYS_DATABASE_URL and that the database server is running." in output


def test_doctor_calls_grades_stuck_after_the_same_age_as_healthz(make_tool):
    from datetime import timedelta

    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ScoreOutbox
    from lti_tool.sandbox.platform import DEMO_STUDENTS
    from lti_tool.services.doctor import examine
    from tests.jobs.gradebook import open_gradebook
    from tests.support import SandboxActions

    tool = make_tool()
    open_gradebook(tool, SandboxActions(tool)).queue(DEMO_STUDENTS[0], 50.0)

    def flowing(limit: int, waited: timedelta) -> bool:
        with tool.app.app_context():
            oldest = db.session.scalar(sa.select(sa.func.min(ScoreOutbox.created_at))
                                       .where(ScoreOutbox.status == "pending"))
            config = {**tool.app.config, "OUTBOX_MAX_AGE_SECONDS": limit}
            findings = examine(config, now=oldest + waited, migration_head="x", db_revision="x")
        return next(f.ok for f in findings if "Grades" in f.check)

    assert flowing(3600, timedelta(minutes=30))  # /healthz is still ok at 30 minutes with a one-hour limit
    assert not flowing(3600, timedelta(minutes=61))
    assert flowing(0, timedelta(days=3))  # 0 turns the check off, as for /healthz


def test_doctor_never_quotes_a_database_password_holding_an_unescaped_at_sign(tmp_path):
    # "hunt@er2-secret" read as the password "hunt" and the host "er2-secret@127.0.0.1", which the driver's
    # "failed to resolve host" quoted: half the password in a doctor's output, pasted into a ticket.
    output = _doctor_on_a_database_that_does_not_answer(
        tmp_path, f"postgresql+psycopg://postgres:hunt@er2-secret@127.0.0.1:{_closed_port()}/x")
    assert "er2-secret" not in output and "hunt" not in output
    assert "an '@' in its user name or password must be written %40" in output
