"""`pathways doctor`: check a deployment's configuration and say what is wrong in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..extensions import cache, db
from ..lti.keys import SecretKeyMismatch, current_signing_key
from ..models import Platform, ScoreOutbox, ToolKey


@dataclass(frozen=True)
class Finding:
    """One check: what we found (said the right way round whether it passed or not), and what to do about it."""

    ok: bool
    check: str
    advice: str


def examine(
    config: Mapping[str, Any], *, now: datetime, migration_head: str | None, db_revision: str | None
) -> list[Finding]:
    """Run every check against the configuration, the database and the cache."""
    findings: list[Finding] = []

    def add(ok: bool, good: str, bad: str = "", advice: str = "") -> None:
        # A line reads as a statement of fact: "Base URL … uses HTTPS" or "Base URL … does not use HTTPS".
        findings.append(Finding(ok, good if ok else (bad or good), "" if ok else advice))

    from ..settings import SECRET_KEY_MIN_BITS, base_url_is_set, secret_key_entropy_bits

    base = config["BASE_URL"]
    if base_url_is_set(config):
        add(base.startswith("https://"), f"Base URL {base} uses HTTPS", f"Base URL {base} does not use HTTPS",
            "LMSs frame Pathways from another site; cookies then need HTTPS. Set PATHWAYS_BASE_URL=https://…")
    else:
        # Only the built-in default: the port a server was started on (`pathways demo --port 8000`, `serve --bind`)
        # is not recorded where this command can read it, so no address is named as if it were Pathways'.
        add(False, "", "Base URL is not set (PATHWAYS_BASE_URL)",
            "This command cannot tell where Pathways is served (`pathways demo` serves at its own --host and --port). "
            "A deployment builds its LTI addresses (login, launch, keys) from this setting: set PATHWAYS_BASE_URL to "
            "the address LMSs reach Pathways at, e.g. https://pathways.example.edu, in the environment or the env "
            "file (pathways -e FILE doctor).")

    add(secret_key_entropy_bits(str(config.get("SECRET_KEY") or "")) >= SECRET_KEY_MIN_BITS,
        "Secret key is set and random enough", "Secret key is missing or not random enough",
        "Set PATHWAYS_SECRET_KEY to 32 bytes of randomness, e.g. secrets.token_urlsafe(48) (it also encrypts "
        "the tool's private keys).")
    add(not config["SANDBOX_ENABLED"], "Sandbox LMS is off", "Sandbox LMS is on",
        "PATHWAYS_SANDBOX_ENABLED is on: anyone could launch as anyone through the sandbox. Turn it off.")
    add(str(db.engine.url).startswith("postgresql"), "Database is PostgreSQL", "Database is SQLite, not PostgreSQL",
        "SQLite suits a demo; production needs PostgreSQL (PATHWAYS_DATABASE_URL) for many workers.")
    add(bool(config.get("REDIS_URL")), "Redis cache is configured", "No Redis cache is configured",
        "Without PATHWAYS_REDIS_URL each host keeps launch state in its own files; several hosts need Redis.")
    try:
        cache.set("doctor", "1", timeout=10)
        add(cache.get("doctor") == "1", "Cache answers", "Cache does not keep values",
            "The cache did not keep a value; check PATHWAYS_REDIS_URL.")
    except Exception as exc:  # noqa: BLE001 - report any backend failure in words
        add(False, "Cache answers", "Cache does not answer", _cache_advice(config, exc))
    from .storage import StoreUnavailable, evidence_store, failure_name

    store = evidence_store()
    s3 = str(config.get("EVIDENCE_STORAGE") or "local").lower() == "s3"
    where = store.describe()
    try:
        # A real save, read and delete: a folder that exists but is not writable, or a bucket we may list but
        # not write, fails only on a student's upload.
        key = store.save(b"%PDF-1.4 pathways doctor", extension="pdf")
        store.open(key)
        store.delete(key)
        add(True, f"Evidence files can be stored in {where}")
    except (StoreUnavailable, OSError) as exc:
        cause = exc.__cause__ or exc
        fix = ("check PATHWAYS_S3_BUCKET, PATHWAYS_S3_ENDPOINT_URL, PATHWAYS_S3_REGION and the credentials (they need "
               "s3:PutObject, s3:GetObject and s3:DeleteObject on the bucket)." if s3 else
               "make PATHWAYS_EVIDENCE_DIR a folder the web processes may write.")
        add(False, "", f"Evidence files cannot be stored in {where}",
            f"Saving, reading and deleting a test file failed ({failure_name(cause)}); {fix}")
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        add(False, "Database answers", "Database does not answer",
            f"Cannot reach the database ({_database_reason(db.engine.url, exc)}). Check PATHWAYS_DATABASE_URL and "
            "that the database server is running.")
        return findings
    add(True, "Database answers")
    add(db_revision == migration_head, f"Schema is up to date ({db_revision or 'none'})",
        f"Schema is out of date ({db_revision or 'none'}, the code expects {migration_head})",
        "Run `pathways db upgrade`.")
    if db_revision != migration_head:
        return findings
    keys = db.session.scalar(sa.select(sa.func.count()).select_from(ToolKey).where(ToolKey.retired_at.is_(None)))
    add(keys > 0, "The tool has a signing key", "The tool has no signing key",
        "Run `pathways db upgrade` or `pathways keys rotate` to create one.")
    if keys:
        try:
            current_signing_key(config["SECRET_KEY"])
            add(True, "The signing key opens with PATHWAYS_SECRET_KEY")
        except SecretKeyMismatch as exc:
            # The worker and launches would fail with it; say why here rather than in a stack trace.
            add(False, "", "The secret key does not match the signing key", str(exc))
    platforms = db.session.scalar(sa.select(sa.func.count()).select_from(Platform))
    add(platforms > 0, f"{platforms} platform(s) registered", "No platform is registered",
        "Register your LMS with `pathways platform add`, or paste a one-time registration link from "
        "`pathways platform invite` into the LMS.")
    oldest = db.session.scalar(sa.select(sa.func.min(ScoreOutbox.created_at)).where(ScoreOutbox.status == "pending"))
    waiting = (now - oldest).total_seconds() if oldest else 0
    # The same limit as /healthz's (0: off), so the two never disagree about whether grades are stuck.
    limit = config.get("OUTBOX_MAX_AGE_SECONDS", 900)
    add(not limit or waiting <= limit, "Grades are flowing to the LMS",
        f"Grades are not flowing to the LMS: one has waited {waiting / 60:.0f} minutes",
        "Is `pathways worker` running? Its log and /healthz (worker.last_error) say what stops it.")
    return findings


def _database_reason(url: sa.engine.URL, exc: sa.exc.SQLAlchemyError) -> str:
    """Say why the database did not answer: the driver's first line, which names the host, never the password.

    An "@" left unescaped in the password (or user name) ends it there for SQLAlchemy, and the rest reads as the
    host: the driver's "failed to resolve host" would then quote that part of the password.
    """
    if "@" in (url.host or ""):
        return "an '@' in its user name or password must be written %40"
    reason = (str(getattr(exc, "orig", None) or "").strip().splitlines() or [""])[0]
    if not reason or (url.password and str(url.password) in reason):
        return exc.__class__.__name__
    return reason


def _cache_advice(config: Mapping[str, Any], exc: Exception) -> str:
    """Say which cache failed and what to check: Redis by its address (never its password), or the cache folder."""
    from urllib.parse import urlsplit

    url = config.get("REDIS_URL")
    if url:
        parts = urlsplit(str(url))
        where = parts.path if parts.scheme == "unix" else f"{parts.hostname}:{parts.port or 6379}"
        return (f"Redis at {where} did not answer ({exc.__class__.__name__}). Check that the Redis server is "
                "running and that PATHWAYS_REDIS_URL names it.")
    return (f"The cache failed ({exc.__class__.__name__}). Check that this user may write to the instance folder "
            "(PATHWAYS_INSTANCE_PATH), or set PATHWAYS_REDIS_URL.")
