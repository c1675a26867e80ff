"""Database engine options: pre-ping where a server can drop connections, not for a SQLite file."""

from __future__ import annotations

import os
import time

import psycopg
import pytest
import sqlalchemy as sa

from lti_tool import create_app, pool_ping
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


def test_a_postgresql_connection_to_a_dead_host_or_path_is_given_up_in_seconds(tmp_path):
    # Without keepalives and tcp_user_timeout the operating system waits two hours (idle) or some 15 minutes
    # (data sent, never acknowledged) before a connection to a host that vanished fails.
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "DATABASE_URL": "postgresql://pathways@db.invalid/pathways"})
    tcp = app.config["SQLALCHEMY_ENGINE_OPTIONS"]["connect_args"]
    assert tcp["keepalives"] == 1
    assert tcp["keepalives_idle"] + tcp["keepalives_interval"] * tcp["keepalives_count"] <= 60
    assert 0 < tcp["tcp_user_timeout"] <= 60_000


def test_the_statement_deadline_holds_for_pages_and_the_worker_not_for_admin_commands(tmp_path, monkeypatch):
    import click

    from lti_tool.cli import _app_from_env

    monkeypatch.setenv("PATHWAYS_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.setenv("PATHWAYS_INSTANCE_PATH", str(tmp_path))
    assert create_app({"TESTING": True}).config["DATABASE_STATEMENT_DEADLINE_SECONDS"] == 30  # gunicorn's app
    for command, deadline in (("worker", 30), ("run", 30), ("upgrade", 0), ("copy", 0)):
        with click.Context(click.Command(command), info_name=command):
            assert _app_from_env().config["DATABASE_STATEMENT_DEADLINE_SECONDS"] == deadline, command


def test_options_given_by_the_operator_are_kept(tmp_path):
    app = create_app({"SECRET_KEY": TEST_SECRET_KEY, "TESTING": True, "INSTANCE_PATH": str(tmp_path),
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}})
    with app.app_context():
        assert db.engine.pool._pre_ping is True


def _postgresql_engine(tmp_path) -> sa.Engine:
    url = os.environ.get("PATHWAYS_TEST_DATABASE_URL") or ""
    if not url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set PATHWAYS_TEST_DATABASE_URL=postgresql+psycopg://…")
    return _engine(tmp_path, url)


def _backend(connection: sa.Connection) -> int:
    return connection.connection.dbapi_connection.info.backend_pid


def _watcher(url: sa.URL) -> psycopg.Connection:
    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)


def _last_query(url: sa.URL, pid: int) -> str | None:
    """What the server last received on a backend, asked from a connection of its own."""
    with _watcher(url) as watcher:
        row = watcher.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
    return row[0] if row else None


def test_a_postgresql_connection_given_back_a_moment_ago_is_used_again_without_a_ping(tmp_path):
    # The ping is a round trip (and a query for the server) on every request; the connection was fine a moment ago.
    engine = _postgresql_engine(tmp_path)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 'first use'"))
        pid = _backend(connection)
    assert _last_query(engine.url, pid) == "ROLLBACK"  # given back: the pool rolled its transaction back
    with engine.connect() as connection:
        assert _backend(connection) == pid
        assert _last_query(engine.url, pid) == "ROLLBACK", "checked out again with a ping the server saw"
        assert connection.execute(sa.text("SELECT 2")).scalar() == 2
    engine.dispose()


def test_a_postgresql_connection_the_server_ended_is_still_replaced_before_use(tmp_path):
    # An administrator's pg_terminate_backend (or a restart) just after the connection's last use: the server's
    # goodbye waits on its socket, so the pool pings it, the ping fails, and a new connection serves the request.
    engine = _postgresql_engine(tmp_path)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
        pid = _backend(connection)
    with _watcher(engine.url) as watcher:  # not the pool's: its one connection is the one ended
        watcher.execute("SELECT pg_terminate_backend(%s)", [pid])
        for _ in range(100):  # the backend leaves a moment after the signal
            if watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0] == 0:
                break
            time.sleep(0.05)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT 3")).scalar() == 3
        assert _backend(connection) != pid
    engine.dispose()


def test_a_postgresql_connection_idle_for_a_while_is_pinged_as_before(tmp_path, monkeypatch):
    monkeypatch.setattr(pool_ping, "QUIET_SECONDS", 0.0)  # every connection counts as idle for a while
    engine = _postgresql_engine(tmp_path)
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 'first use'"))
        pid = _backend(connection)
    with engine.connect() as connection:
        assert _backend(connection) == pid
        assert _last_query(engine.url, pid) != "ROLLBACK", "the pool's ping should have reached the server"
    engine.dispose()


def test_a_sqlite_file_overwrites_deleted_data_whatever_the_librarys_default(tmp_path):
    # SQLite keeps a deleted row's bytes in the file's free space unless secure_delete is on, and that is a
    # compile-time default: Debian's library has it on, others (many builds of Python's own) off. A deleted learner's
    # name and answers must not stay readable in the database file, so Pathways turns it on itself.
    import sqlite3

    from lti_tool.extensions import _sqlite_pragmas

    connection = sqlite3.connect(tmp_path / "pathways.sqlite")
    try:
        connection.execute("PRAGMA secure_delete=OFF")  # a library built with it off
        _sqlite_pragmas(connection, None)
        assert connection.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        connection.close()
    engine = _engine(tmp_path, None)
    with engine.connect() as live:
        assert live.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    engine.dispose()
