"""`pathways doctor` tells an admin what is wrong with a deployment."""

from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main


def test_doctor_flags_a_demo_style_setup_and_passes_the_schema_and_keys(tool):
    result = CliRunner().invoke(main, ["doctor"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code == 1
    assert "PROBLEM  Base URL" in result.output and "https://" in result.output
    assert "PROBLEM  Sandbox LMS is off" in result.output
    assert "ok       Schema is up to date" in result.output
    assert "ok       The tool has a signing key" in result.output
    assert "ok       1 platform(s) registered" in result.output
