"""An operator who turns /metrics on without a token cannot serve it beyond this host by mistake."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from lti_tool import create_app

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def _env(tmp_path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PATHWAYS_", "GUNICORN_"))}
    env.update({"PATHWAYS_SECRET_KEY": secrets.token_urlsafe(48), "PATHWAYS_INSTANCE_PATH": str(tmp_path),
                "PATHWAYS_DATABASE_URL": f"sqlite:///{tmp_path}/p.sqlite", "PATHWAYS_WEB_WORKERS": "1",
                "PATHWAYS_METRICS_ENABLED": "true", **settings})
    return env


def _gunicorn(env: dict[str, str], bind: str) -> subprocess.Popen:
    return subprocess.Popen([GUNICORN, "-c", str(ROOT / "config" / "gunicorn.conf.py"), "-b", bind,
                             "lti_tool:create_app()"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _refusal(env: dict[str, str], bind: str, naming: str) -> str:
    """Run gunicorn, which must exit before listening, and return its one stderr line naming `naming`."""
    process = _gunicorn(env, bind)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise
    assert process.returncode != 0
    assert "Listening at" not in stderr and "Traceback" not in stderr
    refusal = [line for line in stderr.splitlines() if naming in line]
    assert len(refusal) == 1, stderr
    return refusal[0]


def test_gunicorn_refuses_open_metrics_on_a_public_bind_before_opening_any_socket(tmp_path):
    # A documentation address (RFC 5737) that no interface here has: even without the check nothing listens.
    assert "192.0.2.10:8000" in _refusal(_env(tmp_path), "192.0.2.10:8000", "PATHWAYS_METRICS_TOKEN")


def test_gunicorn_serves_open_metrics_on_loopback_and_the_scrape_answers(tmp_path):
    subprocess.run([str(Path(sys.executable).with_name("pathways")), "db", "upgrade"], env=_env(tmp_path),
                   cwd=ROOT, check=True, capture_output=True, timeout=120)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = _gunicorn(_env(tmp_path), f"127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
        assert response.status_code == 200 and "pathways_" in response.text
    finally:
        process.terminate()
        process.communicate(timeout=30)  # also closes the pipes


def test_the_app_refuses_open_metrics_when_its_base_url_is_public(tmp_path):
    settings = {"SECRET_KEY": secrets.token_urlsafe(48), "INSTANCE_PATH": str(tmp_path), "METRICS_ENABLED": True,
                "BASE_URL": "https://pathways.example.edu"}
    with pytest.raises(RuntimeError, match="PATHWAYS_METRICS_TOKEN"):
        create_app(settings)
    create_app({**settings, "METRICS_TOKEN": secrets.token_urlsafe(32)})
    create_app({**settings, "BASE_URL": "http://127.0.0.1:8000"})


def test_gunicorn_refuses_the_sandbox_lms_before_opening_any_socket(tmp_path):
    # Plain gunicorn with the packaged settings, as operators may run it: the sandbox LMS lets anyone sign in as
    # anyone, so it never reaches a server, even on loopback behind a proxy.
    env = _env(tmp_path, PATHWAYS_METRICS_ENABLED="false", PATHWAYS_SANDBOX_ENABLED="true")
    assert _refusal(env, "127.0.0.1:0", "PATHWAYS_SANDBOX_ENABLED").startswith("Refusing to start")
