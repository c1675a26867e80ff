"""An admin's mistakes (a bad setting, a wrong option, a folder that is not there) end a command with one plain
line saying what to fix, never a traceback; and `flask --app lti_tool` has the same commands as `pathways`."""

from __future__ import annotations

import logging
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.cli import main
from tests.support import submit_form

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    return {**env, **settings}


def shell(cwd: Path, program: str, *args: str, **settings: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / program), *args], cwd=cwd, env=_env(**settings), capture_output=True,
                          text=True, timeout=120)


def one_plain_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_a_setting_pathways_cannot_use_stops_a_command_in_one_line_naming_it(tmp_path):
    secret = secrets.token_urlsafe(48)
    unreachable = "postgresql://pathways@127.0.0.1:1/pathways"
    cases = [
        ({"PATHWAYS_WORKER_BATCH": "abc"}, ["platform", "list"], "PATHWAYS_WORKER_BATCH is 'abc'"),
        ({"PATHWAYS_REDIS_TIMEOUT_SECONDS": "2s"}, ["platform", "list"], "PATHWAYS_REDIS_TIMEOUT_SECONDS is '2s'"),
        ({"PATHWAYS_DATABASE_URL": "notaurl"}, ["platform", "list"], "PATHWAYS_DATABASE_URL is not a database URL"),
        ({"PATHWAYS_DATABASE_URL": "mysql://u@db/x"}, ["platform", "list"], "needs the database driver 'MySQLdb'"),
        ({"PATHWAYS_REDIS_URL": "localhost:6379"}, ["platform", "list"], "PATHWAYS_REDIS_URL must start with redis://"),
        ({"PATHWAYS_METRICS_ENABLED": "true", "PATHWAYS_BASE_URL": "https://pathways.school.example"},
         ["platform", "list"], "Set PATHWAYS_METRICS_TOKEN"),
        ({"PATHWAYS_DATABASE_URL": unreachable}, ["db", "upgrade"], "The database could not be used"),
        ({"PATHWAYS_DATABASE_URL": unreachable}, ["platform", "list"], "Check PATHWAYS_DATABASE_URL"),
    ]
    for settings, args, says in cases:
        line = one_plain_line(shell(tmp_path, "pathways", *args, PATHWAYS_SECRET_KEY=secret, **settings))
        assert says in line, (settings, line)


def test_db_help_needs_no_secret_and_db_current_and_check_answer(tmp_path):
    for args in (["db", "--help"], ["db", "upgrade", "--help"], ["db", "current", "--help"]):
        result = shell(tmp_path, "pathways", *args)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert result.stdout.startswith(f"Usage: pathways {' '.join(args[:-1])} ")
    assert not (tmp_path / "instance").exists()
    secret = secrets.token_urlsafe(48)
    assert shell(tmp_path, "pathways", "db", "upgrade", PATHWAYS_SECRET_KEY=secret).returncode == 0
    current = shell(tmp_path, "pathways", "db", "current", PATHWAYS_SECRET_KEY=secret)
    assert current.returncode == 0 and "Traceback" not in current.stderr and "(head)" in current.stdout
    check = shell(tmp_path, "pathways", "db", "check", PATHWAYS_SECRET_KEY=secret)
    assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr


def test_flask_app_lti_tool_has_the_pathways_commands(tmp_path):
    secret = secrets.token_urlsafe(48)
    listed = shell(tmp_path, "flask", "--app", "lti_tool", "--help", PATHWAYS_SECRET_KEY=secret)
    assert listed.returncode == 0, listed.stderr
    for command in ("platform", "keys", "worker", "course", "privacy", "audit", "doctor", "serve", "db"):
        assert f"\n  {command} " in listed.stdout
    assert shell(tmp_path, "flask", "--app", "lti_tool", "db", "upgrade", PATHWAYS_SECRET_KEY=secret).returncode == 0
    platforms = shell(tmp_path, "flask", "--app", "lti_tool", "platform", "list", PATHWAYS_SECRET_KEY=secret)
    assert platforms.returncode == 0, platforms.stderr
    assert "No platforms registered" in platforms.stdout


def test_a_mistyped_pathways_variable_is_warned_about_once_with_the_name_meant(monkeypatch):
    from lti_tool.settings import warn_unknown_environment

    monkeypatch.setenv("PATHWAYS_BASEURL", "https://pathways.school.example")
    monkeypatch.setenv("PATHWAYS_REQUIRE_BROWSER", "1")
    monkeypatch.setenv("PATHWAYS_TEST_SOMETHING", "x")
    # A handler on the module's own logger: caplog's, on the root, is replaced when migrations configure logging.
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("lti_tool.settings")
    logger.addHandler(handler)
    try:
        warn_unknown_environment()
        warn_unknown_environment()
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == ["PATHWAYS_BASEURL is not one of Pathways' settings and is ignored; "
                                                 "did you mean PATHWAYS_BASE_URL?"]


def test_the_variables_the_tests_and_ci_use_are_not_taken_for_typos():
    from lti_tool.settings import unknown_environment

    names = set()
    for path in [ROOT / ".ci" / "run", *ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("bench").rglob("*.py")]:
        if path.is_file() and path.name != Path(__file__).name:
            names.update(re.findall(r"PATHWAYS_[A-Z0-9_]*[A-Z0-9]\b", path.read_text(encoding="utf-8")))
    assert unknown_environment(dict.fromkeys(names, "")) == {}


def run(tool, *args):
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: tool.app), catch_exceptions=False)


PLATFORM = ["--client-id", "c", "--deployment-id", "d", "--login-url", "https://lms.example.com/auth",
            "--token-url", "https://lms.example.com/token", "--jwks-url", "https://lms.example.com/jwks"]


def test_an_issuer_that_is_not_an_https_url_is_refused(tool):
    for issuer, says in (("not-a-url", "The issuer must be an http(s) URL"),
                         ("http://lms.example.com", "use the platform's https issuer URL")):
        result = run(tool, "platform", "add", "--issuer", issuer, *PLATFORM)
        assert result.exit_code != 0 and says in result.output, result.output
    assert issuer not in run(tool, "platform", "list").output
    assert run(tool, "platform", "add", "--issuer", "https://lms.example.com", *PLATFORM).exit_code == 0


def test_numbers_out_of_range_are_refused_before_anything_runs(tool):
    for args in (["worker", "--once", "--batch", "-5"], ["worker", "--once", "--batch", "0"],
                 ["privacy", "purge", "--days", "-3"], ["audit", "list", "--limit", "0"]):
        result = run(tool, *args)
        assert result.exit_code == 2 and "is not in the range x>=1" in result.output, (args, result.output)


def test_writing_to_a_folder_that_does_not_exist_says_so(sandbox, tool, tmp_path):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    missing = str(tmp_path / "missing" / "x.json")
    exported = run(tool, "course", "export", "--context", "math-7", "--out", missing)
    assert exported.exit_code == 1 and f"Cannot write {missing}: No such file or directory." in exported.output
    user = ["--platform", tool.platform.issuer, "--client-id", "pathways-sandbox", "--user", "student-1"]
    privacy = run(tool, "privacy", "export", *user, "--out", missing)
    assert privacy.exit_code == 1 and f"Cannot write {missing}: No such file or directory." in privacy.output
