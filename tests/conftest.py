"""Fixtures: a fresh Pathways app per test, served over real HTTP with the sandbox LMS beside it.

Each test gets its own instance folder (SQLite file, filesystem cache) or, when PATHWAYS_TEST_DATABASE_URL
is set, a freshly migrated PostgreSQL schema. The tool fetches the sandbox's JWKS, and the sandbox the
tool's, over HTTP on loopback: nothing is mocked.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from lti_tool import create_app
from lti_tool.extensions import db
from lti_tool.sandbox import SandboxPlatform
from lti_tool.sandbox_mount import connect_sandbox

from .support import LIVE_TOOLS, SandboxActions

TEST_DATABASE_URL = os.environ.get("PATHWAYS_TEST_DATABASE_URL")


def _reset_schema() -> None:
    """Drop every table (PostgreSQL is shared between tests) so migrations run from scratch."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))


class LiveTool:
    """A Pathways app served on a free loopback port, with its sandbox platform."""

    def __init__(self, app, server) -> None:
        self.app = app
        self.server = server
        self.base_url = app.config["BASE_URL"]

    @property
    def platform(self) -> SandboxPlatform:
        return self.app.extensions["sandbox_platform"]

    def url(self, path: str) -> str:
        return self.base_url + path


TEST_SECRET_KEY = secrets.token_urlsafe(48)


@pytest.fixture
def make_tool(tmp_path) -> Iterator:
    """Return a factory that starts a live tool with the given settings overrides."""
    started: list = []

    def start(**overrides) -> LiveTool:
        settings = {
            "TESTING": True,
            "SANDBOX_ENABLED": True,
            # Random like a production key, so processes started outside TESTING (a worker) accept it too.
            "SECRET_KEY": TEST_SECRET_KEY,
            "INSTANCE_PATH": str(tmp_path / f"instance{len(started)}"),
            "DATABASE_URL": TEST_DATABASE_URL,
            # The sandbox LMS and the tool share a loopback port; production refuses loopback addresses.
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8 ::1/128",
            # The sandbox LMS speaks plain http.
            "REGISTRATION_ALLOW_HTTP": True,
            "BASE_URL": "http://127.0.0.1:1",
        }
        settings.update(overrides)
        app = create_app(settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        app.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        tool = LiveTool(app, server)
        LIVE_TOOLS.append(tool)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        started.append((tool, thread))
        with app.app_context():
            _reset_schema()
            upgrade()
            connect_sandbox(app)
        thread.start()
        return tool

    yield start
    for tool, thread in started:
        if thread.is_alive():
            tool.server.shutdown()
            thread.join(timeout=5)
        tool.server.server_close()
        with tool.app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def tool(make_tool) -> LiveTool:
    """Start the tool with default test settings."""
    return make_tool()


@pytest.fixture
def sandbox(tool) -> SandboxActions:
    """Drive launches through the sandbox LMS like a browser would."""
    return SandboxActions(tool)


@pytest.fixture
def browser_session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


@pytest.fixture
def pending_launch(sandbox):
    """A real login whose id_token has not been posted yet (for tampering)."""
    return sandbox.begin("student")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, containing: str = "") -> list[str]:
        return [r.getMessage() for r in self.records if containing in r.getMessage()]


@pytest.fixture
def worker_log() -> Iterator[_Records]:
    """What the worker logs (caplog would lose it: migrations reconfigure the root logger)."""
    logger = logging.getLogger("lti_tool.jobs.worker")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)
