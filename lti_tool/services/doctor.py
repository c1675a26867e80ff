"""`pathways doctor`: check a deployment's configuration and say what is wrong in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import cache, db
from ..models import Platform, ScoreOutbox, ToolKey


@dataclass(frozen=True)
class Finding:
    """One check: passed or not, and what to do about it."""

    ok: bool
    check: str
    advice: str


def examine(
    config: Mapping[str, Any], *, now: datetime, migration_head: str | None, db_revision: str | None
) -> list[Finding]:
    """Run every check against the configuration, the database and the cache."""
    findings: list[Finding] = []

    def add(ok: bool, check: str, advice: str = "") -> None:
        findings.append(Finding(ok, check, "" if ok else advice))

    base = config["BASE_URL"]
    add(base.startswith("https://"), f"Base URL {base} uses HTTPS",
        "LMSs frame Pathways from another site; cookies then need HTTPS. Set PATHWAYS_BASE_URL=https://…")
    from ..settings import SECRET_KEY_MIN_BITS, secret_key_entropy_bits

    add(secret_key_entropy_bits(str(config.get("SECRET_KEY") or "")) >= SECRET_KEY_MIN_BITS,
        "Secret key is set and random enough",
        "Set PATHWAYS_SECRET_KEY to 32 bytes of randomness, e.g. secrets.token_urlsafe(48) (it also encrypts "
        "the tool's private keys).")
    add(not config["SANDBOX_ENABLED"], "Sandbox LMS is off",
        "PATHWAYS_SANDBOX_ENABLED is on: anyone could launch as anyone through the sandbox. Turn it off.")
    add(str(db.engine.url).startswith("postgresql"), "Database is PostgreSQL",
        "SQLite suits a demo; production needs PostgreSQL (PATHWAYS_DATABASE_URL) for many workers.")
    add(bool(config.get("REDIS_URL")), "Redis cache is configured",
        "Without PATHWAYS_REDIS_URL each host keeps launch state in its own files; several hosts need Redis.")
    try:
        cache.set("doctor", "1", timeout=10)
        add(cache.get("doctor") == "1", "Cache answers", "The cache did not keep a value; check PATHWAYS_REDIS_URL.")
    except Exception as exc:  # noqa: BLE001 - report any backend failure in words
        add(False, "Cache answers", f"The cache failed: {exc.__class__.__name__}.")
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        add(False, "Database answers", f"Cannot reach the database: {exc.__class__.__name__}.")
        return findings
    add(True, "Database answers")
    add(db_revision == migration_head, f"Schema is up to date ({db_revision or 'none'})",
        f"Run `pathways db upgrade` (the code expects {migration_head}).")
    if db_revision != migration_head:
        return findings
    keys = db.session.scalar(sa.select(sa.func.count()).select_from(ToolKey).where(ToolKey.retired_at.is_(None)))
    add(keys > 0, "The tool has a signing key", "Run `pathways keys rotate` to create one.")
    platforms = db.session.scalar(sa.select(sa.func.count()).select_from(Platform))
    add(platforms > 0, f"{platforms} platform(s) registered",
        "Register your LMS with `pathways platform add` or its dynamic registration at /lti/register.")
    oldest = db.session.scalar(sa.select(sa.func.min(ScoreOutbox.created_at)).where(ScoreOutbox.status == "pending"))
    waiting = (now - oldest).total_seconds() if oldest else 0
    add(waiting < 900, "Grades are flowing to the LMS",
        f"A grade has waited {waiting / 60:.0f} minutes: is `pathways worker` running?")
    return findings
