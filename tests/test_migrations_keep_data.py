"""Migrations run on a database in use: going down and up again keeps every course's rows."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from lti_tool.extensions import db

#: Tables holding what launches leave behind: the course and, through foreign keys, its enrolments and launches.
_KEPT = ("course", "person", "enrollment", "launch_session")


def _counts() -> dict[str, int]:
    counts = {t: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(t))) for t in _KEPT}
    db.session.remove()  # end the read: PostgreSQL's ALTER TABLE would wait for it
    return counts


def test_a_downgrade_past_batch_changes_to_course_and_back_keeps_every_row(sandbox, tool):
    # On SQLite, batch mode rebuilds course (copy, drop, rename); with foreign keys on, dropping the old table
    # deleted every enrolment and launch through ON DELETE CASCADE (migrations 0005 and 0007 do this).
    student = sandbox.launch("student")
    assert student.status_code == 200
    sandbox.launch("teacher")
    with tool.app.app_context():
        before = _counts()
        assert all(before.values()), before
        downgrade(revision="0004")
        assert _counts() == before
        upgrade()
        assert _counts() == before
        if db.engine.dialect.name == "sqlite":
            assert db.session.scalar(sa.text("PRAGMA foreign_keys")) == 1  # on again for the app's connections
    assert sandbox.launch("student").status_code == 200


def test_rows_already_without_their_parent_do_not_stop_an_upgrade(sandbox, tool):
    # The check after a migration reports only what the migration left, not an orphan from before (a hand edit).
    sandbox.launch("student")
    with tool.app.app_context():
        if db.engine.dialect.name != "sqlite":
            return  # PostgreSQL never lets such a row in
        with db.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.exec_driver_sql("UPDATE enrollment SET course_id = 99999")
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        db.session.remove()
        upgrade()  # at head already: nothing to do, and nothing to blame on it
