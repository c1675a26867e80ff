"""Application settings: one DEFAULTS table, then PATHWAYS_* environment, then explicit overrides."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

PREFIX = "PATHWAYS"

# Every setting the tool reads, with its default. Keys not listed here are refused so typos surface early.
DEFAULTS: dict[str, Any] = {
    # Where the tool is reachable; every URL we hand a platform is built from it.
    "BASE_URL": "http://127.0.0.1:5000",
    # None means "a SQLite file in the instance folder"; see resolve_database_url.
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    # Launch state and JWKS cache. Empty: a filesystem cache in the instance folder.
    "REDIS_URL": None,
    # Off in production: the sandbox is a fake LMS for demos and tests only.
    "SANDBOX_ENABLED": False,
    # Seconds of clock skew we tolerate on exp/iat/nbf (Security Framework §5.1.3 allows "a few minutes" at most).
    "JWT_LEEWAY_SECONDS": 60,
    # How long a login's state/nonce stays valid before the launch must arrive.
    "LOGIN_STATE_SECONDS": 600,
    # Platform JWKS are cached this long; an unknown kid forces one refresh.
    "JWKS_CACHE_SECONDS": 3600,
    # An unknown kid refetches the platform JWKS, but not more often than this (forged tokens must not
    # turn us into a load generator against the platform).
    "JWKS_REFRESH_MIN_SECONDS": 10,
    # Origins allowed to frame Pathways besides the registered platforms' (space-separated), e.g.
    # "https://*.instructure.com" for Canvas Cloud, whose iframe origin differs from its issuer.
    "FRAME_ANCESTORS": "",
    # How long a launch lets the browser use Pathways before the person must launch again.
    "LAUNCH_SESSION_SECONDS": 8 * 3600,
    # Largest request body accepted anywhere (bytes). An id_token is a few KB.
    "MAX_CONTENT_LENGTH": 256 * 1024,
    "STORE_EMAIL": False,
    # Days without a launch after which `pathways privacy purge` (and the worker) delete a course's data;
    # 0 keeps data until a teacher or admin deletes it.
    "RETENTION_DAYS": 0,
    # Hours between the worker's refits of a course's mastery model from its own answers (courses with new
    # answers only); 0 turns scheduled fitting off (`pathways course fit` and the teacher's button still work).
    "MODEL_FIT_HOURS": 24,
    # LTI Dynamic Registration at /lti/register: on by default; set an allow-list of issuer prefixes
    # (space-separated) to accept only your own LMS.
    "DYNAMIC_REGISTRATION": True,
    "REGISTRATION_ALLOWED_ISSUERS": "",
    "SERVICE_TIMEOUT_SECONDS": 10,
    # A teacher launch asks the worker to re-read the roster when the last sync is older than this.
    "ROSTER_SYNC_MIN_SECONDS": 300,
    # Grade passback worker (pathways worker): rows claimed per pass, lease on a claimed row, posting
    # threads, idle poll, attempts before a row is marked failed, and the retry backoff's base and cap.
    "WORKER_BATCH": 50,
    "WORKER_LEASE_SECONDS": 300,
    "WORKER_CONCURRENCY": 4,
    "WORKER_POLL_SECONDS": 2,
    "GRADE_MAX_ATTEMPTS": 12,
    "GRADE_RETRY_BASE_SECONDS": 2,
    "GRADE_RETRY_MAX_SECONDS": 900,
    # A course pack given to new courses ("demo" for the shipped Grade 7 pack; empty: teachers choose).
    "DEFAULT_COURSE_PACK": "",
    # /healthz turns "degraded" (503) when a grade has waited longer than this; 0 turns the check off.
    "OUTBOX_MAX_AGE_SECONDS": 900,
    # Prometheus metrics at /metrics (off by default); with a token, scrapers must send it as a Bearer token.
    "METRICS_ENABLED": False,
    "METRICS_TOKEN": None,
    # "json" for one JSON object per log line (with the request id), "text" for plain lines.
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
    # Where the SQLite file, the filesystem cache and the development secret live (default: ./instance).
    "INSTANCE_PATH": None,
    "TESTING": False,
    "DEBUG": False,
}

_TRUE = {"1", "true", "yes", "on"}


def _coerce(key: str, raw: Any) -> Any:
    """Give an environment string the type of the setting's default."""
    default = DEFAULTS[key]
    if not isinstance(raw, str):
        return raw
    if isinstance(default, bool):
        return raw.strip().lower() in _TRUE
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    return raw or None


def load_settings(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from DEFAULTS, the PATHWAYS_* environment and overrides, in that order."""
    app.config.update(DEFAULTS)
    for key in DEFAULTS:
        env_value = os.environ.get(f"{PREFIX}_{key}")
        if env_value is not None:
            app.config[key] = _coerce(key, env_value)
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS and not key.isupper():
            raise KeyError(f"Unknown setting {key!r}")
        if key not in DEFAULTS:
            log.warning("Setting %s is not one of Pathways' settings; passing it to Flask as is", key)
        app.config[key] = _coerce(key, value) if key in DEFAULTS else value
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    app.config["SQLALCHEMY_DATABASE_URI"] = resolve_database_url(app)
    app.config["CACHE_TYPE"], cache_options = _cache_config(app)
    app.config.update(cache_options)
    _require_secret_key(app)


def resolve_database_url(app: Flask) -> str:
    """Return the configured database URL, defaulting to SQLite in the instance folder."""
    url = app.config.get("DATABASE_URL")
    if not url:
        os.makedirs(app.instance_path, exist_ok=True)
        return "sqlite:///" + os.path.join(app.instance_path, "pathways.sqlite")
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants an explicit psycopg (v3) dialect.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _cache_config(app: Flask) -> tuple[str, dict[str, Any]]:
    if app.config.get("REDIS_URL"):
        return "RedisCache", {"CACHE_REDIS_URL": app.config["REDIS_URL"], "CACHE_KEY_PREFIX": "pathways:"}
    cache_dir = os.path.join(app.instance_path, "cache")
    os.makedirs(cache_dir, exist_ok=True)
    return "FileSystemCache", {"CACHE_DIR": cache_dir, "CACHE_THRESHOLD": 100_000}


def _require_secret_key(app: Flask) -> None:
    """Use PATHWAYS_SECRET_KEY; in development and tests fall back to a per-instance random key file."""
    if app.config.get("SECRET_KEY"):
        return
    if not (app.config["SANDBOX_ENABLED"] or app.config["TESTING"] or app.config["DEBUG"]):
        raise RuntimeError(
            "PATHWAYS_SECRET_KEY is not set. Set it to a long random value (python -c "
            "'import secrets; print(secrets.token_urlsafe(48))') before serving Pathways."
        )
    path = os.path.join(app.instance_path, "secret_key")
    os.makedirs(app.instance_path, exist_ok=True)
    if not os.path.exists(path):
        import secrets

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    with open(path) as handle:
        app.config["SECRET_KEY"] = handle.read().strip()
