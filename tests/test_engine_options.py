"""Database engine options: pre-ping where a server can drop connections, not for a SQLite file."""

from __future__ import annotations

import sqlalchemy as sa

from lti_tool import create_app
from lti_tool.extensions import db
from tests.conftest import TEST_SECRET_KEY


def _engine(tmp_path, database_url: str | None) -> sa.Engine:
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": database_url})
    with app.app_context():
        return db.engine  # built without connecting


def test_a_sqlite_file_is_not_pinged_before_each_use(tmp_path):
    engine = _engine(tmp_path, None)
    assert engine.dialect.name == "sqlite"
    assert engine.pool._pre_ping is False
    pings = []
    original = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: pings.append(1) or original(connection)
    for _ in range(3):  # the second and third checkouts reuse the pooled connection without a SELECT 1
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
    assert pings == []


def test_a_postgresql_server_keeps_pre_ping_and_a_connect_timeout(tmp_path):
    # Pre-ping replaces a connection the server dropped (a restart: tests/faults) instead of failing a request.
    engine = _engine(tmp_path, "postgresql://pathways@db.invalid/pathways")
    assert engine.dialect.name == "postgresql"
    assert engine.pool._pre_ping is True
    assert engine.url.drivername == "postgresql+psycopg"
    assert engine.hide_parameters is True


def test_options_given_by_the_operator_are_kept(tmp_path):
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}})
    with app.app_context():
        assert db.engine.pool._pre_ping is True
