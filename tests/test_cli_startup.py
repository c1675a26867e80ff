"""An admin types `pathways` commands in a shell: help and version always work, and a missing secret is one
plain line, while a demo folder's own secret (instance/secret_key) is used without being asked for."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

PATHWAYS = str(Path(sys.executable).with_name("pathways"))


def pathways(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    return subprocess.run([PATHWAYS, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands_without_a_database_or_a_secret(tmp_path):
    result = pathways(tmp_path, "--help")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    for command in ("demo", "serve", "platform", "keys", "doctor", "worker", "example"):
        assert f"\n  {command} " in result.stdout
    # The options offered are Pathways' own: -e needs nothing more installed, and Flask's --app (load another app)
    # is not one an admin should reach for.
    assert "-e, --env-file FILE" in result.stdout and "python-dotenv" not in result.stdout
    assert "--app" not in result.stdout
    assert not (tmp_path / "instance").exists()


def test_version_comes_from_the_installed_package(tmp_path):
    result = pathways(tmp_path, "--version")
    assert result.returncode == 0 and result.stdout.strip() == f"pathways {version('pathways-lti')}"


def test_admin_command_without_a_secret_says_in_one_line_what_to_set(tmp_path):
    for args in (["platform", "list"], ["doctor"], ["audit", "list"], ["keys", "list"]):
        result = pathways(tmp_path, *args)
        assert result.returncode == 1
        assert "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()]
        assert "PATHWAYS_SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "instance").exists()


def test_admin_commands_in_a_demo_folder_use_the_demo_secret(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    assert pathways(tmp_path, "db", "upgrade").returncode == 0
    listing = pathways(tmp_path, "platform", "list")
    assert listing.returncode == 0, listing.stderr
    assert "No platforms registered" in listing.stdout
    assert pathways(tmp_path, "keys", "rotate").returncode == 0
    keys = pathways(tmp_path, "keys", "list")
    assert keys.returncode == 0 and "active" in keys.stdout
    assert (tmp_path / "instance" / "pathways.sqlite").is_file()


def test_the_instance_folder_and_the_sqlite_database_it_makes_are_the_owners_only(tmp_path):
    # Learners' data and the cache must not be readable by every user of the host under the usual umask (022).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env["PATHWAYS_SECRET_KEY"] = secrets.token_urlsafe(48)
    result = subprocess.run([PATHWAYS, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert result.returncode == 0, result.stderr
    instance = tmp_path / "instance"
    assert instance.stat().st_mode & 0o777 == 0o700
    made = [path for path in instance.iterdir() if path.name.startswith("pathways.sqlite")]
    assert made and all(path.stat().st_mode & 0o777 == 0o600 for path in made), made


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_until_healthy(tmp_path: Path, port: int, args: list[str], settings: dict[str, str], workers: int) -> str:
    """Start `pathways serve`, wait for /healthz to answer ok on the port and for `workers` workers to have booted
    (logged it), stop it and return its log."""
    import threading
    import time

    import requests

    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env |= {"PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48), "PATHWAYS_WEB_THREADS": "2", **settings}
    assert subprocess.run([PATHWAYS, "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True).returncode == 0
    server = subprocess.Popen([PATHWAYS, "serve", *args], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    booted = threading.Semaphore(0)

    def read() -> None:
        for line in server.stdout:
            lines.append(line)
            if "Booting worker" in line:
                booted.release()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        health = None
        for _ in range(120):
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.ConnectionError:
                assert server.poll() is None, "".join(lines)
                time.sleep(0.25)
        assert health is not None and health.status_code == 200 and health.json()["status"] == "ok"
        for _ in range(workers):  # every worker has booted and logged it (not a fixed second: under load, more)
            assert booted.acquire(timeout=60), "".join(lines)
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(30)
        server.stdout.close()
    return "".join(lines)


def test_serve_runs_gunicorn_with_the_packaged_settings(tmp_path):
    port = _free_port()
    log = _serve_until_healthy(tmp_path, port, ["--bind", f"127.0.0.1:{port}", "--workers", "1"], {},
                               workers=1)
    assert "Using worker: gthread" in log  # the packaged configuration, not gunicorn's sync default
    assert f"Listening at: http://127.0.0.1:{port}" in log
    assert log.count("Booting worker") == 1


def test_serve_without_options_takes_the_address_and_the_workers_from_the_settings(tmp_path):
    # Options left off the command line must not blank the packaged values: they did, and production ran
    # gunicorn's default of one worker on its default address whatever PATHWAYS_WEB_* said.
    port = _free_port()
    log = _serve_until_healthy(tmp_path, port, [], {"PATHWAYS_WEB_BIND": f"127.0.0.1:{port}",
                                                    "PATHWAYS_WEB_WORKERS": "3"}, workers=3)
    assert f"Listening at: http://127.0.0.1:{port}" in log
    assert log.count("Booting worker") == 3, log


def test_serve_without_a_secret_says_so_in_one_line_even_in_a_demo_folder(tmp_path):
    result = pathways(tmp_path, "serve", "--bind", "127.0.0.1:1")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error: PATHWAYS_SECRET_KEY is not set")
    # The server takes its secret from the environment only, never from a demo folder's file.
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    result = pathways(tmp_path, "serve", "--bind", "127.0.0.1:1")
    assert result.returncode == 1 and result.stderr.startswith("Error: PATHWAYS_SECRET_KEY is not set")


def test_an_evidence_store_setting_that_cannot_work_stops_a_command_in_one_plain_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env.update(PATHWAYS_SECRET_KEY=secrets.token_urlsafe(48), PATHWAYS_EVIDENCE_STORAGE="s3")
    for more, says in (({}, "PATHWAYS_EVIDENCE_STORAGE=s3 needs PATHWAYS_S3_BUCKET"),
                       ({"PATHWAYS_EVIDENCE_STORAGE": "nfs"}, "PATHWAYS_EVIDENCE_STORAGE is 'nfs': set it to local")):
        result = subprocess.run([PATHWAYS, "doctor"], cwd=tmp_path, env={**env, **more}, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [result.stderr.strip()] and says in result.stderr


def test_allowed_networks_reaching_past_private_ones_stop_a_command_in_one_plain_line(tmp_path):
    # A public address needs no listing: a network reaching past the private ones is a typo ("/1" for "/16" let
    # Pathways call loopback and half the internet's hosts) or opens link-local, where cloud metadata is.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env.update(PATHWAYS_SECRET_KEY=secrets.token_urlsafe(48))
    for networks in ("10.20.0.0/16 10.20.0.0/1", "0.0.0.0/0", "::/0", "169.254.169.254/32", "fe80::/10",
                     "::ffff:0:0/96", "campus-lms", "100.100.100.200/32"):
        result = subprocess.run([PATHWAYS, "doctor"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                env={**env, "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": networks})
        assert result.returncode == 1 and "Traceback" not in result.stderr, (networks, result.stderr[-300:])
        assert result.stderr.strip().splitlines() == [result.stderr.strip()], networks
        assert "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS" in result.stderr, (networks, result.stderr)
    # An LMS's own private network, or loopback for a test LMS, still starts.
    result = subprocess.run([PATHWAYS, "keys", "list"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**env, "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS": "10.20.0.0/16, 127.0.0.0/8 fd12::/64"})
    assert "PATHWAYS_OUTBOUND_ALLOWED_NETWORKS" not in result.stderr and "Traceback" not in result.stderr


def _one_plain_line(result: subprocess.CompletedProcess, says: str) -> None:
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()] and says in result.stderr


def test_an_instance_folder_that_cannot_be_made_stops_a_command_in_one_plain_line(tmp_path):
    (tmp_path / "not-a-folder").write_text("")
    instance = tmp_path / "not-a-folder" / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    env["PATHWAYS_INSTANCE_PATH"] = str(instance)
    secret = {"PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48)}
    runs = [
        (secret, ["db", "upgrade"]),  # the SQLite file's folder
        ({}, ["demo", "--port", "1"]),  # the demo's own secret
        (secret | {"PATHWAYS_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}, ["platform", "list"]),  # the file cache
    ]
    for more, args in runs:
        result = subprocess.run([PATHWAYS, *args], cwd=tmp_path, env=env | more, capture_output=True, text=True,
                                timeout=120)
        _one_plain_line(result, f"Pathways cannot create the folder {instance}")
        assert "(Not a directory): set PATHWAYS_INSTANCE_PATH" in result.stderr


def test_a_setting_pathways_cannot_start_with_is_one_plain_line_in_the_demo_too(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    secret = {"PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48)}
    runs = [
        ({"PATHWAYS_WORKER_BATCH": "fifty"}, ["demo", "--port", "1"], "PATHWAYS_WORKER_BATCH is 'fifty': it must be"),
        # A typo in a switch no longer quietly turns it off.
        (secret | {"PATHWAYS_METRICS_ENABLED": "ture"}, ["platform", "list"],
         "PATHWAYS_METRICS_ENABLED is 'ture': set it to true or false"),
    ]
    for more, args, says in runs:
        result = subprocess.run([PATHWAYS, *args], cwd=tmp_path, env=env | more, capture_output=True, text=True,
                                timeout=120)
        _one_plain_line(result, says)
    assert not (tmp_path / "instance").exists()


def _passes_done(tmp_path) -> bool:
    """Tell whether the worker running in tmp_path has noted a pass in its heartbeat (instance/pathways.sqlite)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "instance" / "pathways.sqlite", timeout=5)) as db:
        return bool(db.execute("SELECT count(*) FROM worker_heartbeat WHERE last_pass_at IS NOT NULL").fetchone()[0])


def test_the_worker_stops_on_sigterm_as_on_ctrl_c(tmp_path):
    """systemd (config/pathways-worker.service), Docker and Procfile hosts stop the worker with SIGTERM."""
    import signal

    from tests.faults.test_redis_outage import wait_for

    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    assert pathways(tmp_path, "db", "upgrade").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    worker = subprocess.Popen([PATHWAYS, "worker"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert "posting grades from the outbox" in worker.stdout.readline()
        wait_for(lambda: _passes_done(tmp_path) or worker.poll() is not None, 60)  # past its first pass
        assert worker.poll() is None, worker.stderr.read()
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    finally:
        worker.kill()
    assert worker.returncode == 0, err
    # SIGTERM lets the pass under way finish (Ctrl+C stops at once: "Stopped; rows being worked on are released").
    assert "Stopped after the pass under way." in out and "Traceback" not in err


def test_serve_refuses_the_sandbox_lms_and_the_test_switches_in_one_line_and_makes_no_secret(tmp_path):
    # They are for `pathways demo` and the tests: under `pathways serve` the sandbox LMS (anyone signs in as anyone)
    # was served at /sandbox and, without PATHWAYS_SECRET_KEY, a secret of its own was written to ./instance.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    for setting in ("PATHWAYS_SANDBOX_ENABLED", "PATHWAYS_TESTING", "PATHWAYS_DEBUG"):
        result = subprocess.run([PATHWAYS, "serve", "--bind", "127.0.0.1:1"], cwd=tmp_path,
                                env={**env, setting: "true"}, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines() == [f"Error: Refusing to start: {setting} is for `pathways demo` "
                                                      "and the tests, not a server others reach (it serves the "
                                                      "sandbox LMS, where anyone can sign in as anyone, or lets "
                                                      "Pathways run without a strong secret key). Unset it."]
        assert not (tmp_path / "instance").exists()


def test_an_env_file_given_with_e_configures_the_command(tmp_path):
    # The deploy's env file, as `pathways example pathways.example.env` prints it and systemd reads it: Flask's -e
    # needed python-dotenv, which was not a dependency, so from a wheel install it only said "python-dotenv must be
    # installed". Quotes, comments and `export` are read as the shell's `set -a; . FILE` would; a line that is no
    # setting is refused, not skipped.
    database = tmp_path / "elsewhere" / "pathways.sqlite"
    database.parent.mkdir()
    env_file = tmp_path / "pathways.env"
    env_file.write_text("# Pathways\n\n"
                        f"PATHWAYS_SECRET_KEY='{secrets.token_urlsafe(48)}'\n"
                        f'export PATHWAYS_DATABASE_URL="sqlite:///{database}"\n'
                        "PATHWAYS_BASE_URL=https://pathways.example.edu   # the public address\n")
    assert pathways(tmp_path, "-e", str(env_file), "db", "upgrade").returncode == 0
    invite = pathways(tmp_path, "--env-file", str(env_file), "platform", "invite")
    assert invite.returncode == 0, invite.stderr
    assert invite.stdout.startswith("https://pathways.example.edu/lti/register?invite=")
    assert database.is_file()

    env_file.write_text("PATHWAYS_SECRET_KEY=x\nthis is not a setting\n")
    broken = pathways(tmp_path, "-e", str(env_file), "doctor")
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert "line 2 is not KEY=VALUE" in broken.stderr


def test_doctor_prints_its_findings_and_no_migration_log_lines(tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    assert pathways(tmp_path, "db", "upgrade").returncode == 0
    doctor = pathways(tmp_path, "doctor")
    assert "ok       Schema is up to date" in doctor.stdout, doctor.stdout + doctor.stderr
    # Alembic's "Context impl SQLiteImpl." / "Will assume non-transactional DDL." came first on every run.
    assert "alembic" not in doctor.stdout + doctor.stderr and "Context impl" not in doctor.stdout + doctor.stderr


def test_doctor_beside_a_demo_names_no_guessed_port_and_reports_the_base_url_the_admin_set(tmp_path):
    # The admin's walk: beside `pathways demo --port 8000`, `pathways doctor` said "Base URL http://127.0.0.1:5000
    # does not use HTTPS": the built-in default's port, which nothing served on. The demo's port is its own option,
    # which no other command can read, so doctor says the setting is missing instead of naming an address.
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    assert pathways(tmp_path, "db", "upgrade").returncode == 0
    unset = pathways(tmp_path, "doctor")
    assert unset.returncode == 1 and "Traceback" not in unset.stderr
    assert "PROBLEM  Base URL is not set (PATHWAYS_BASE_URL)" in unset.stdout, unset.stdout
    assert "`pathways demo` serves at its own --host and --port" in unset.stdout
    assert "5000" not in unset.stdout and "Base URL http" not in unset.stdout

    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    configured = subprocess.run([PATHWAYS, "doctor"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                                env={**env, "PATHWAYS_BASE_URL": "http://127.0.0.1:8000/"})
    assert "PROBLEM  Base URL http://127.0.0.1:8000 does not use HTTPS" in configured.stdout, configured.stdout
    assert "Base URL is not set" not in configured.stdout


def test_an_invite_without_a_base_url_is_refused_with_how_to_set_it_and_a_loopback_one_says_who_can_use_it(tmp_path):
    # The LMS admin's walk: with PATHWAYS_BASE_URL unset, `pathways platform invite` printed
    # http://127.0.0.1:5000/lti/register?invite=… and exit 0; pasted into the LMS, the link failed there, with
    # nothing saying why, and a one-time link stayed valid for a week.
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "secret_key").write_text(secrets.token_urlsafe(48))
    assert pathways(tmp_path, "db", "upgrade").returncode == 0
    refused = pathways(tmp_path, "platform", "invite")
    assert refused.returncode == 1 and refused.stdout == "" and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("Error: PATHWAYS_BASE_URL is not set, so the link would start with "
                                     "http://127.0.0.1:5000, an address only this machine reaches")
    assert "Set PATHWAYS_BASE_URL to the address LMSs reach Pathways at" in refused.stderr
    assert "No audit entries." in pathways(tmp_path, "audit", "list").stdout  # no link was made

    env = {k: v for k, v in os.environ.items() if not k.startswith("PATHWAYS_")}
    local = subprocess.run([PATHWAYS, "platform", "invite"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, env={**env, "PATHWAYS_BASE_URL": "http://localhost:8000"})
    assert local.returncode == 0, local.stderr
    assert local.stdout.startswith("http://localhost:8000/lti/register?invite=")
    assert "Note: http://localhost:8000 is reachable only from this machine" in local.stderr
