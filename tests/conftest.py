"""Fixtures: a fresh Pathways app per test, served over real HTTP with the sandbox LMS beside it.

Each test gets its own instance folder (SQLite file, filesystem cache) or, when PATHWAYS_TEST_DATABASE_URL
is set, an empty PostgreSQL schema at the migrations' head. The migrations run once per session; later tests get
a copy of the migrated SQLite file, or the PostgreSQL schema emptied in place when it is still exactly the
migrated one (see _prepare_schema). The tool fetches the sandbox's JWKS, and the sandbox the tool's, over HTTP
on loopback: nothing is mocked.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa
from flask import current_app
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


# Everything in PostgreSQL's public schema that migrations make or a test could change (tables, columns, defaults,
# indexes, constraints, sequences, triggers, functions, enum labels) and the migration it is stamped at.
_PG_SCHEMA_FINGERPRINT = sa.text("""
    SELECT coalesce(string_agg(x, E'\n' ORDER BY x), '') FROM (
        SELECT format('col %s.%s %s %s %s %s', table_name, column_name, data_type, is_nullable, column_default,
                      character_maximum_length) AS x
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL SELECT format('con %s %s %s', conrelid::regclass, conname, pg_get_constraintdef(oid))
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT format('rel %s %s', relname, relkind) FROM pg_class WHERE relnamespace = 'public'::regnamespace
        UNION ALL SELECT format('trg %s %s', tgrelid::regclass, tgname) FROM pg_trigger
          WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)
        UNION ALL SELECT 'fn ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
        UNION ALL SELECT format('enum %s %s %s', t.typname, e.enumsortorder, e.enumlabel)
          FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typnamespace = 'public'::regnamespace
        UNION ALL SELECT 'at ' || version_num FROM alembic_version
    ) AS parts
""")
# The fingerprint of the schema the migrations made this session (None until they first ran on PostgreSQL), and
# the SQLite file they made, copied for later tests.
_migrated: dict = {"postgresql": None, "sqlite": None}


def _pg_fingerprint(engine) -> str | None:
    """The public schema's fingerprint, or None when it has no migrations stamped (a new or foreign database)."""
    with engine.connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass('public.alembic_version')")).scalar() is None:
            return None
        return conn.execute(_PG_SCHEMA_FINGERPRINT).scalar()


def _children_first(names) -> list[str]:
    """The tables named, those the models know ordered so that rows referring to others go first."""
    known = [table.name for table in reversed(db.metadata.sorted_tables) if table.name in names]
    return sorted(set(names) - set(known)) + known


def _empty_pg_tables(engine) -> None:
    """Delete every row but the migration stamp, and restart every sequence, as a new schema has them.

    DELETE, children before parents, rather than TRUNCATE: a test leaves a few rows, and TRUNCATE makes new files
    for each of the schema's tables (about 0.4 s, most of what migrating costs); it is the fallback for a
    foreign-key order DELETE cannot follow.
    """
    with engine.connect() as conn:
        present = set(conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")).scalars())
    ordered = _children_first(present)
    try:
        with engine.begin() as conn:
            for name in ordered:
                conn.execute(sa.delete(sa.table(name)))
    except sa.exc.IntegrityError:
        quoted = ", ".join(engine.dialect.identifier_preparer.quote(name) for name in ordered)
        with engine.begin() as conn:
            conn.execute(sa.text(f"TRUNCATE {quoted} CASCADE"))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, start_value, false)"
            " FROM pg_sequences WHERE schemaname = 'public'"))


def _sqlite_file(engine) -> str | None:
    database = engine.url.database
    return database if database and database != ":memory:" and not database.startswith("file:") else None


def _copy_sqlite(source: str, target: str) -> None:
    """Copy a SQLite database page by page (the backup API: consistent whatever the journal mode)."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _prepare_schema(template_dir: str) -> None:
    """Give the app's database what `pathways db upgrade` gives a new one: the migrations' schema and a first key.

    Running the 28 migrations costs about 0.3 s on SQLite and 1 s on PostgreSQL (plus the RSA key the last step
    makes), for every tool every test starts. They run for real once per session, and whenever the schema is not
    exactly theirs. Otherwise a new SQLite file is a copy of the schema they made (rows deleted), and a PostgreSQL
    schema identical to theirs (by _PG_SCHEMA_FINGERPRINT, read from the database itself, so a test's downgrade
    or stray table is noticed) has its rows deleted and its sequences restarted; then, as the migrations' last
    step does, the tool gets its first signing key, made for this app's secret. An existing SQLite file (a second
    tool on the same instance) is upgraded in place, keeping its rows, as before.
    """
    from lti_tool.services.registry import ensure_tool_key

    engine = db.engine
    if engine.dialect.name == "postgresql":
        known = _migrated["postgresql"]
        if known is not None and _pg_fingerprint(engine) == known:
            _empty_pg_tables(engine)
            ensure_tool_key(current_app.config["SECRET_KEY"])
            return
        _reset_schema()
        upgrade()
        # Emptying stands in for migrating only while the migrations leave no rows but the stamp and the first key.
        with engine.connect() as conn:
            tables = conn.execute(sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                                          " AND tablename NOT IN ('alembic_version', 'tool_key')")).scalars().all()
            rows = sum(conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar()
                       for name in tables)
        _migrated["postgresql"] = _pg_fingerprint(engine) if rows == 0 else None
        return
    path = _sqlite_file(engine) if engine.dialect.name == "sqlite" else None
    if path is None or os.path.exists(path):
        upgrade()
        return
    if _migrated["sqlite"] is None:
        upgrade()
        engine.dispose()
        template = os.path.join(template_dir, "migrated.sqlite")
        _copy_sqlite(path, template)
        _empty_sqlite(template)
        _migrated["sqlite"] = template
        return
    _copy_sqlite(_migrated["sqlite"], path)
    ensure_tool_key(current_app.config["SECRET_KEY"])


def _empty_sqlite(path: str) -> None:
    """Delete every row but the migration stamp (the first key is made per app), as a new database has none."""
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            for name in _children_first(set(sa.inspect(conn).get_table_names()) - {"alembic_version"}):
                conn.execute(sa.delete(sa.table(name)))
            if conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first():
                conn.execute(sa.text("DELETE FROM sqlite_sequence"))
    finally:
        engine.dispose()


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


@pytest.fixture(scope="session")
def _schema_templates(tmp_path_factory):
    """Where the session keeps the SQLite file the migrations made (see _prepare_schema)."""
    return tmp_path_factory.mktemp("migrated")


@pytest.fixture
def make_tool(tmp_path, _schema_templates) -> Iterator:
    """Return a factory that starts a live tool with the given settings overrides."""
    started: list = []
    template_dir = _schema_templates

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
            _prepare_schema(str(template_dir))
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
