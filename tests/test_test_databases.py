"""The database each test starts with is what `pathways db upgrade` gives a new deployment.

conftest.py migrates once per session and then hands later tests a copy of that schema (SQLite) or the same schema
emptied in place (PostgreSQL). Should the two ever differ (a migration that starts writing rows, a sequence left
running, a signing key shared between tests) every test would run on a database no deployment has.
"""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask_migrate import upgrade

from lti_tool import create_app
from lti_tool.extensions import db
from lti_tool.lti.keys import _decrypt, active_keys

from .conftest import TEST_DATABASE_URL, _pg_fingerprint, _prepare_schema, _reset_schema


def _state(secret_key: str) -> dict:
    """The schema, every table's row count, where each counter would start, and whose secret the first key is for."""
    engine = db.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            schema = _pg_fingerprint(engine)
            counters = sorted(conn.execute(sa.text(
                "SELECT sequencename, coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public'")).all())
        else:
            schema = _sqlite_schema(conn)
            has_counters = conn.execute(sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first()
            counters = sorted(conn.execute(sa.text("SELECT name, seq FROM sqlite_sequence")).all()) if has_counters \
                else []
        tables = sorted(set(sa.inspect(conn).get_table_names()))
        rows = {name: conn.execute(sa.select(sa.func.count()).select_from(sa.table(name))).scalar()
                for name in tables}
        stamp = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
    decrypts = [_opens(key, secret_key) for key in active_keys()]
    db.session.remove()
    return {"schema": schema, "rows": rows, "counters": counters, "stamp": stamp, "keys_for_this_secret": decrypts}


def _sqlite_schema(conn) -> dict:
    """Each table's columns, keys, indexes and checks, in a stable order (a batch migration rebuilding a table writes
    its foreign keys in any order, so its CREATE TABLE text differs between two runs of the same migrations)."""
    inspector = sa.inspect(conn)

    def canonical(items: list[dict]) -> list[str]:
        return sorted(json.dumps(item, sort_keys=True, default=str) for item in items)  # a partial index's WHERE

    return {name: {"columns": [(c["name"], str(c["type"]), c["nullable"], c["default"])
                               for c in inspector.get_columns(name)],
                   "primary_key": inspector.get_pk_constraint(name),
                   "foreign_keys": canonical(inspector.get_foreign_keys(name)),
                   "indexes": canonical(inspector.get_indexes(name)),
                   "unique": canonical(inspector.get_unique_constraints(name)),
                   "checks": canonical(inspector.get_check_constraints(name))}
            for name in inspector.get_table_names()}


def _opens(key, secret_key: str) -> bool:
    try:
        return bool(_decrypt(key, secret_key))
    except InvalidToken:
        return False


def _app(tmp_path, name: str, secret_key: str):
    return create_app({"TESTING": True, "SECRET_KEY": secret_key, "INSTANCE_PATH": str(tmp_path / name),
                       "DATABASE_URL": TEST_DATABASE_URL, "BASE_URL": "http://127.0.0.1:1"})


def test_a_tests_database_after_another_test_wrote_to_one_is_what_migrating_a_new_one_gives(
        tmp_path, sandbox, _schema_templates):
    # Another test's tool has launched: people, courses, sessions and a key are stored and the counters have moved.
    assert sandbox.launch("teacher").status_code == 200
    assert sandbox.launch("student").status_code == 200
    # A tool with a secret of its own, so a signing key copied from the earlier database would not be its own.
    secret = secrets.token_urlsafe(48)

    prepared = _app(tmp_path, "prepared", secret)
    with prepared.app_context():
        _prepare_schema(str(_schema_templates))
        given = _state(secret)
        db.engine.dispose()

    migrated = _app(tmp_path, "migrated", secret)
    with migrated.app_context():
        _reset_schema()
        upgrade()
        expected = _state(secret)
        db.engine.dispose()

    assert given == expected
    assert expected["keys_for_this_secret"] == [True]
