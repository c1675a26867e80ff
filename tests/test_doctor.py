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
