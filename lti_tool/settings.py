"""Application settings: one DEFAULTS table, then PATHWAYS_* environment, then explicit overrides."""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

PREFIX = "PATHWAYS"

# Every setting the tool reads, with its default. Overrides not listed here are refused, and PATHWAYS_* environment
# variables not listed here are warned about at startup (see warn_unknown_environment), so typos surface early.
DEFAULTS: dict[str, Any] = {
    # Where the tool is reachable; every URL we hand a platform is built from it.
    "BASE_URL": "http://127.0.0.1:5000",
    # None means "a SQLite file in the instance folder"; see resolve_database_url.
    "DATABASE_URL": None,
    "SECRET_KEY": None,
    # Launch state and JWKS cache. Empty: a filesystem cache in the instance folder.
    "REDIS_URL": None,
    # True only for `pathways demo`, where one process serves every page and runs the worker: launch state,
    # JWKS and tokens then live in that process's memory, faster than files. Never where more than one process
    # serves (a login's state must be found by whichever worker takes the launch): `pathways serve` refuses it,
    # and REDIS_URL wins over it.
    "IN_PROCESS_CACHE": False,
    # Seconds a Redis connect or command may take before the cache counts as unreachable (then /healthz says
    # so and new logins get a 503 "try again in a minute"; open pages keep working).
    "REDIS_TIMEOUT_SECONDS": 2,
    # Seconds to wait for a PostgreSQL connection before answering 503 (pages) or backing off (worker).
    "DATABASE_CONNECT_TIMEOUT_SECONDS": 5,
    # Seconds a PostgreSQL statement, commit or ping may wait for the server before its connection is cut (a 503
    # for the page, a retried pass for the worker): a server that stops answering on an open connection must not
    # hold a thread for ever (db_deadline.py). Far above any page's or worker's statement; 0: no deadline. Admin
    # commands (migrations, course copies) run without it.
    "DATABASE_STATEMENT_DEADLINE_SECONDS": 30,
    # What 503 pages during a database or cache outage put in their Retry-After header.
    "RETRY_AFTER_SECONDS": 30,
    # Off in production: the sandbox is a fake LMS for demos and tests only.
    "SANDBOX_ENABLED": False,
    # Seconds of clock skew we tolerate on exp/iat/nbf (Security Framework §5.1.3 allows "a few minutes" at most).
    "JWT_LEEWAY_SECONDS": 60,
    # How long a login's state/nonce stays valid before the launch must arrive.
    "LOGIN_STATE_SECONDS": 600,
    # Logins (and as many cookie-less storage checks) one client address may start a minute; past it a 429 and
    # nothing is kept, so one client cannot fill the cache (login_budget.py). 0: no limit.
    "LOGINS_PER_CLIENT_PER_MINUTE": 1200,
    # Platform JWKS are cached this long; a launch signed with a kid not in it refetches it (JWKS_REFETCHES_PER_MINUTE).
    "JWKS_CACHE_SECONDS": 3600,
    # At most this many unknown-kid refetches per platform per minute, one per 60/N seconds whichever kid asks
    # (forged kids must not turn us into a load generator against the platform, nor hold off a real rotation).
    "JWKS_REFETCHES_PER_MINUTE": 6,
    # A failed JWKS fetch is remembered this long, so a slow or down platform cannot hold every launch.
    "JWKS_FAILURE_CACHE_SECONDS": 30,
    # How long a key made by `pathways keys rotate` is published in our JWKS before it signs (grade and roster
    # calls, Deep Linking answers); the key before it signs meanwhile. LMSs keep a tool's key set for minutes to
    # hours, whatever our max-age says, and refuse what a key they have not fetched signs. Never under five minutes.
    "KEY_SIGNS_AFTER_SECONDS": 24 * 3600,
    # Origins allowed to frame Pathways for every platform, besides each platform's own (issuer, login URL, service
    # origins) and each launch's signed return page (space-separated), e.g. "https://*.instructure.com".
    "FRAME_ANCESTORS": "",
    # How long a launch lets the browser use Pathways unused before the person must launch again. Pages in use
    # move the end forward (WCAG 2.2.1: a session in use does not end mid-work), never past
    # LAUNCH_SESSION_MAX_SECONDS after the launch. Two hours cover a double lesson or an evening's homework;
    # shorter than a school day, so a shared lab computer or a copied launch URL left alone stops working soon
    # after, and launching again from the LMS is one click.
    "LAUNCH_SESSION_SECONDS": 2 * 3600,
    "LAUNCH_SESSION_MAX_SECONDS": 12 * 3600,
    # Days an ended launch session is kept before the worker deletes it: the student export lists recent
    # launches, and a family report takes each student's language from their latest launch into the course.
    "LAUNCH_SESSION_KEEP_DAYS": 30,
    # Strict-Transport-Security max-age sent when Pathways is served over HTTPS (BASE_URL https:// or a TLS
    # request); 0 sends none (e.g. while trying HTTPS out).
    "HSTS_SECONDS": 365 * 24 * 3600,
    # How long a cookie-less launch token (`lt=`, platform-storage launches) stays valid without use; each page
    # renews it. Minutes, not hours: it travels in URLs.
    "LAUNCH_TOKEN_SECONDS": 15 * 60,
    # Largest request body accepted anywhere (bytes). An id_token is a few KB.
    "MAX_CONTENT_LENGTH": 256 * 1024,
    # Files students attach as evidence (photos, PDF, audio, video): where they are kept ("local": a folder,
    # EVIDENCE_DIR, empty: <instance>/evidence; "s3": a bucket of an S3-compatible store, needs the s3 extra)
    # and the largest file accepted, in bytes. The upload page alone accepts a body this large; every other
    # request keeps MAX_CONTENT_LENGTH.
    "EVIDENCE_STORAGE": "local",
    "EVIDENCE_DIR": None,
    "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
    # The bucket, when EVIDENCE_STORAGE is "s3". ENDPOINT_URL names a store other than AWS (MinIO, Ceph, …;
    # empty: AWS S3 itself); keys start with PREFIX (e.g. "pathways/"). Credentials come from the two settings
    # below or, when they are empty, from boto3's usual places (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
    # ~/.aws, an instance role). Every call to the store gives up after TIMEOUT_SECONDS.
    "S3_BUCKET": None,
    "S3_ENDPOINT_URL": None,
    "S3_REGION": None,
    "S3_PREFIX": "",
    "S3_ACCESS_KEY_ID": None,
    "S3_SECRET_ACCESS_KEY": None,
    "S3_TIMEOUT_SECONDS": 10,
    "STORE_EMAIL": False,
    # Days without a launch after which `pathways privacy purge` (and the worker) delete a course's data;
    # 0 keeps data until a teacher or admin deletes it.
    "RETENTION_DAYS": 0,
    # Hours between the worker's refits of a course's mastery model from its own answers (courses with new
    # answers only; the teacher's Mastery model page states it); 0 turns scheduled fitting off (`pathways course
    # fit` and the teacher's button still work).
    "MODEL_FIT_HOURS": 24,
    # Seconds one fit in the worker, scheduled or asked for with the teacher's button, may run before the worker
    # abandons it (nothing stored; a scheduled one is tried again at a later check, a requested one shows as
    # failed on the teacher's page); 0: no limit. `pathways course fit` is not limited.
    "MODEL_FIT_MAX_SECONDS": 1800,
    # LTI Dynamic Registration at /lti/register, only through one-time links from `pathways platform invite`.
    # The allow-list holds origins (scheme://host[:port], space-separated, "https://*.example.edu" allowed)
    # compared with the configuration URL's origin; empty: any origin an invite accepts.
    "DYNAMIC_REGISTRATION": True,
    "REGISTRATION_ALLOWED_ISSUERS": "",
    # Register an LMS served over plain http (a local test Moodle). Never in production.
    "REGISTRATION_ALLOW_HTTP": False,
    # Total deadline, in seconds, for one call to a platform (connect, answer, body and redirects together).
    "SERVICE_TIMEOUT_SECONDS": 10,
    # Networks (CIDR, space- or comma-separated) Pathways may call although they are not public, e.g. a campus
    # LMS on 10.20.0.0/16. Loopback, private, link-local and metadata addresses are refused otherwise.
    "OUTBOUND_ALLOWED_NETWORKS": "",
    # Largest answer (bytes) Pathways reads from a platform; larger answers are cut off and refused.
    "OUTBOUND_MAX_BYTES": 2 * 1024 * 1024,
    # A teacher launch asks the worker to re-read the roster when the last sync is older than this.
    "ROSTER_SYNC_MIN_SECONDS": 300,
    # Grade passback worker (pathways worker): rows claimed per pass, lease on a claimed row, posting
    # threads, idle poll, tries `pathways worker --once` waits for before it exits (a running worker retries an
    # unreachable LMS for ever: a grade is never dropped), and the retry backoff's base and cap.
    "WORKER_BATCH": 50,
    "WORKER_LEASE_SECONDS": 300,
    "WORKER_CONCURRENCY": 4,
    "WORKER_POLL_SECONDS": 2,
    "GRADE_MAX_ATTEMPTS": 12,
    "GRADE_RETRY_BASE_SECONDS": 2,
    "GRADE_RETRY_MAX_SECONDS": 900,
    # Posts in flight to any one platform at a time, so a platform that hangs holds at most this many of
    # the WORKER_CONCURRENCY threads and grades to other platforms keep flowing.
    "WORKER_PLATFORM_CONCURRENCY": 2,
    # When a worker pass fails (database, cache or network down, secret key changed) the worker logs it, waits
    # (doubling from WORKER_POLL_SECONDS up to this) and tries again; it never exits on its own.
    "WORKER_BACKOFF_MAX_SECONDS": 60,
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
    # `pathways serve` (gunicorn): listen address, worker processes (0: 2 x CPUs + 1), threads per worker,
    # seconds before a stuck request's worker is restarted, and the proxy addresses whose X-Forwarded-*
    # headers are trusted (space- or comma-separated; "*" trusts every peer).
    "WEB_BIND": "127.0.0.1:8000",
    "WEB_WORKERS": 0,
    "WEB_THREADS": 4,
    "WEB_TIMEOUT_SECONDS": 30,
    "FORWARDED_ALLOW_IPS": "127.0.0.1",
    # Where the SQLite file, the filesystem cache and the development secret live (default: ./instance).
    "INSTANCE_PATH": None,
    "TESTING": False,
    "DEBUG": False,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class InvalidSetting(RuntimeError):
    """A setting Pathways cannot start with; the message says what to set (the CLI prints it, no traceback)."""


class MissingSecretKey(InvalidSetting):
    """PATHWAYS_SECRET_KEY is needed and not set, or too weak; the message says how to set it."""


def _coerce(key: str, raw: Any) -> Any:
    """Give an environment string the type of the setting's default."""
    default = DEFAULTS[key]
    if not isinstance(raw, str):
        return raw
    if isinstance(default, bool):
        word = raw.strip().lower()
        if word not in _TRUE | _FALSE:
            # A typo ("ture", "enabled") must not quietly turn a setting off, e.g. metrics or registration.
            raise InvalidSetting(f"{PREFIX}_{key} is {raw!r}: set it to true or false.")
        return word in _TRUE
    try:
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        # One plain line for the admin (the CLI prints InvalidSetting without a traceback).
        raise InvalidSetting(f"{PREFIX}_{key} is {raw!r}: it must be a number, e.g. {default}.") from None
    return raw or None


def env_setting(key: str) -> Any:
    """Read one setting from the PATHWAYS_* environment (or its default) without an app, e.g. for gunicorn."""
    raw = os.environ.get(f"{PREFIX}_{key}")
    return DEFAULTS[key] if raw is None else _coerce(key, raw)


def base_url_is_set(config: Mapping[str, Any]) -> bool:
    """Tell whether the admin gave the base URL (PATHWAYS_BASE_URL, or an override), not only the built-in default.

    The default names port 5000 on this machine, which is not where Pathways serves unless someone chose it:
    `pathways demo --port`, `pathways run --port` and `pathways serve --bind` do not set it for other commands.
    """
    return bool(os.environ.get(f"{PREFIX}_BASE_URL")) or config["BASE_URL"] != DEFAULTS["BASE_URL"].rstrip("/")


# PATHWAYS_* variables that are not settings: the test suite's and the benchmarks' own (tests/, bench/, .ci/run).
_NOT_SETTINGS_PREFIXES = ("TEST_", "BENCH_")
_NOT_SETTINGS = frozenset({"REQUIRE_BROWSER", "SCREENSHOTS", "CHROMIUM", "CHROMEDRIVER", "AXE_JS"})
_warned_unknown: set[str] = set()


def unknown_environment(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Return PATHWAYS_* variables that name no setting, each with the closest setting's variable (or None)."""
    environ = os.environ if environ is None else environ
    known = [f"{PREFIX}_{key}" for key in DEFAULTS]
    found: dict[str, str | None] = {}
    for name in environ:
        if not name.startswith(f"{PREFIX}_"):
            continue
        key = name[len(PREFIX) + 1:]
        if key in DEFAULTS or key in _NOT_SETTINGS or key.startswith(_NOT_SETTINGS_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1)
        found[name] = close[0] if close else None
    return found


def warn_unknown_environment() -> None:
    """Log once per process each PATHWAYS_* variable that is no setting: a typo would otherwise pass silently."""
    for name, close in sorted(unknown_environment().items()):
        if name in _warned_unknown:
            continue
        _warned_unknown.add(name)
        hint = f"; did you mean {close}?" if close else ""
        log.warning("%s is not one of Pathways' settings and is ignored%s", name, hint)


def load_settings(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill app.config from DEFAULTS, the PATHWAYS_* environment and overrides, in that order."""
    warn_unknown_environment()
    app.config.update(from_environment())
    for key, value in (overrides or {}).items():
        if key not in DEFAULTS and not key.isupper():
            raise KeyError(f"Unknown setting {key!r}")
        if key not in DEFAULTS:
            log.warning("Setting %s is not one of Pathways' settings; passing it to Flask as is", key)
        app.config[key] = _coerce(key, value) if key in DEFAULTS else value
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    _require_secret_key(app)  # first, so a refused start leaves no instance folder behind
    _check_evidence_storage(app.config)
    _check_outbound_networks(app.config)
    app.config["SQLALCHEMY_DATABASE_URI"] = resolve_database_url(app)
    # Database errors and SQL logging must not carry the values (a student's reflection, names, answers).
    engine_options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or _engine_options(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**engine_options, "hide_parameters": True}
    app.config["CACHE_TYPE"], cache_options = _cache_config(app)
    app.config.update(cache_options)
    from .exposure import check_base_url

    check_base_url(app.config)


def from_environment() -> dict[str, Any]:
    """Return DEFAULTS overlaid with the PATHWAYS_* environment (for checks made before an app exists)."""
    values = dict(DEFAULTS)
    for key in DEFAULTS:
        env_value = os.environ.get(f"{PREFIX}_{key}")
        if env_value is not None:
            values[key] = _coerce(key, env_value)
    return values


def resolve_database_url(app: Flask) -> str:
    """Return the configured database URL, defaulting to SQLite in the instance folder."""
    url = app.config.get("DATABASE_URL")
    if not url:
        make_instance_folder(app.instance_path)
        path = os.path.join(app.instance_path, "pathways.sqlite")
        _create_private_file(path)
        return "sqlite:///" + path
    # Heroku-style URLs name the driver "postgres"; SQLAlchemy wants an explicit psycopg (v3) dialect.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
            break
    _check_database_url(url)
    return url


def _check_database_url(url: str) -> None:
    """Refuse, in one line, a database URL SQLAlchemy cannot read or whose driver is not installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        make_url(url).get_dialect().import_dbapi()
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise InvalidSetting("PATHWAYS_DATABASE_URL is not a database URL Pathways can use: give one like "
                             "postgresql://USER:PASSWORD@HOST/DATABASE.") from None
    except ImportError as exc:
        raise InvalidSetting(f"PATHWAYS_DATABASE_URL needs the database driver {exc.name!r}, which is not "
                             "installed; Pathways supports PostgreSQL (postgresql://…) and SQLite.") from None


def make_instance_folder(path: str) -> None:
    """Create a folder of the instance path (SQLite file, file cache, demo secret), or refuse in one plain line.

    Where it cannot be made (a file in the way, no permission), or a process user may not write it, every
    later step would fail with a traceback or, for the file cache, a launch that silently loses its state.
    A folder made here is its owner's only (0700): it holds learners' data, the cache and the demo's secret, which
    the usual umask (022) would leave readable by every user of the host. A folder that exists keeps its mode.
    """
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise InvalidSetting(f"Pathways cannot create the folder {path} ({exc.strerror}): set "
                             "PATHWAYS_INSTANCE_PATH to a folder this user may write to.") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InvalidSetting(f"Pathways may not write to the folder {path}: set PATHWAYS_INSTANCE_PATH to a "
                             "folder this user may write to, or give this user write access to it.")


def _create_private_file(path: str) -> None:
    """Create an empty file readable by its owner only (0600), unless it exists.

    SQLite creates its database with the umask's mode (0644) and gives its -wal and -shm files the database's mode:
    an empty file made first is a valid empty database, and keeps learners' data from other users of the host.
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise InvalidSetting(f"Pathways cannot create the database file {path} ({exc.strerror}): set "
                             "PATHWAYS_INSTANCE_PATH to a folder this user may write to.") from None


def _engine_options(app: Flask) -> dict[str, Any]:
    """Return engine options that let the app ride out a database restart without being restarted itself."""
    from sqlalchemy.engine import make_url

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        # A SQLite file has no server to drop the connection: pre-pinging would only add a `SELECT 1` to every
        # request that uses the database (three per launch).
        return {"pool_pre_ping": False}
    # pre_ping: a pooled connection the server dropped is replaced before use instead of failing a request.
    options: dict[str, Any] = {"pool_pre_ping": True}
    if url.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": int(app.config["DATABASE_CONNECT_TIMEOUT_SECONDS"]),
                                   **_tcp_dead_peer_limits()}
    return options


#: A PostgreSQL connection whose network path or host died (no answer, no acknowledgement, no reset) is given up
#: after this long, instead of the operating system's 15 minutes (data unacknowledged) or two hours (idle).
TCP_DEAD_PEER_SECONDS = 30


def _tcp_dead_peer_limits() -> dict[str, int]:
    """libpq's TCP settings that end a connection to a peer that stopped acknowledging (TCP only; Unix sockets
    ignore them): keepalive probes on an idle connection, and tcp_user_timeout on data sent but not acknowledged.

    A peer that acknowledges but never answers (a frozen server) is db_deadline.py's to cut.
    """
    limits = {"keepalives": 1, "keepalives_idle": TCP_DEAD_PEER_SECONDS // 3, "keepalives_interval": 5,
              "keepalives_count": 3}
    try:
        import psycopg

        libpq = psycopg.pq.version()
    except ImportError:  # another PostgreSQL driver: keepalives only
        libpq = 0
    if libpq >= 120000:  # libpq 12 added tcp_user_timeout; an older one refuses to connect with it
        limits["tcp_user_timeout"] = TCP_DEAD_PEER_SECONDS * 1000
    return limits


def _cache_config(app: Flask) -> tuple[str, dict[str, Any]]:
    # JSON, not pickle, in both backends (see cache_json.py).
    from .cache_json import StrictJSONSerializer
    from .extensions import redis_options

    json_only = {"CACHE_SERIALIZER": StrictJSONSerializer}
    if app.config.get("REDIS_URL"):
        if not str(app.config["REDIS_URL"]).startswith(("redis://", "rediss://", "unix://")):
            raise InvalidSetting("PATHWAYS_REDIS_URL must start with redis://, rediss:// or unix://, e.g. "
                                 "redis://127.0.0.1:6379/0.")
        timeout = float(app.config["REDIS_TIMEOUT_SECONDS"])
        return "RedisCache", {
            "CACHE_REDIS_URL": app.config["REDIS_URL"],
            "CACHE_KEY_PREFIX": "pathways:",
            # A Redis that hangs must fail fast, not hold every request for the OS's TCP timeout.
            # Its protocol and parser tell a Redis that cannot save its snapshot (MISCONF) from other refusals
            # (extensions.py).
            "CACHE_OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout,
                              **redis_options(str(app.config["REDIS_URL"]))},
            **json_only,
        }
    if app.config.get("IN_PROCESS_CACHE"):
        return "SimpleCache", {"CACHE_THRESHOLD": 100_000}
    cache_dir = os.path.join(app.instance_path, "cache")
    make_instance_folder(cache_dir)
    # cachelib's FileSystemCache without its per-write entry counter (file_cache.py).
    return "lti_tool.file_cache.LocalFileCache", {"CACHE_DIR": cache_dir, "CACHE_THRESHOLD": 100_000, **json_only}


# Production keys need 32 bytes of randomness: it signs sessions and launch tokens and, through HKDF,
# encrypts the tool's private keys and cached access tokens.
SECRET_KEY_MIN_BITS = 256
_HEX = frozenset("0123456789abcdefABCDEF")
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")


def secret_key_entropy_bits(secret: str) -> int:
    """Estimate the randomness in a secret from its length and alphabet (hex 4, base64 6, else 6.5 bits a char).

    The estimate is generous to long passphrases and strict about repetition: fewer than 10 distinct
    characters is not a random key whatever its length.
    """
    if len(set(secret)) < 10:
        return 0
    chars = set(secret)
    per_char = 4.0 if chars <= _HEX else 6.0 if chars <= _BASE64 else 6.5
    return int(len(secret) * per_char)


#: Settings for the demo and the tests only: each lets Pathways start without a strong secret key, and the sandbox
#: LMS (under /sandbox) lets anyone sign in as anyone. A production server (`pathways serve`, gunicorn) refuses them.
DEMO_ONLY_SETTINGS = ("SANDBOX_ENABLED", "TESTING", "DEBUG")
DEMO_ONLY_REFUSAL = (
    "Refusing to start: {names} is for `pathways demo` and the tests, not a server others reach (it serves the "
    "sandbox LMS, where anyone can sign in as anyone, or lets Pathways run without a strong secret key). Unset it."
)


def _is_production(app: Flask) -> bool:
    return not any(app.config[key] for key in DEMO_ONLY_SETTINGS)


def refuse_demo_settings(config: Mapping[str, Any]) -> None:
    """Raise InvalidSetting, one line naming them, when a demo-only setting is on (for production servers)."""
    names = [f"{PREFIX}_{key}" for key in DEMO_ONLY_SETTINGS if config.get(key)]
    if names:
        raise InvalidSetting(DEMO_ONLY_REFUSAL.format(names=" and ".join(names)))


def _check_evidence_storage(config: Mapping[str, Any]) -> None:
    """Refuse to start with an evidence store that cannot work, rather than fail on a student's first upload."""
    kind = str(config.get("EVIDENCE_STORAGE") or "local").lower()
    if kind == "local":
        return
    if kind != "s3":
        raise InvalidSetting(f"PATHWAYS_EVIDENCE_STORAGE is {kind!r}: set it to local or s3.")
    if not config.get("S3_BUCKET"):
        raise InvalidSetting("PATHWAYS_EVIDENCE_STORAGE=s3 needs PATHWAYS_S3_BUCKET, the bucket's name.")
    try:
        import boto3  # noqa: F401 - only whether it is installed
    except ImportError:
        raise InvalidSetting("PATHWAYS_EVIDENCE_STORAGE=s3 needs boto3: pip install 'pathways-lti[s3]'.") from None


def _check_outbound_networks(config: Mapping[str, Any]) -> None:
    """Refuse to start with PATHWAYS_OUTBOUND_ALLOWED_NETWORKS the outbound client would not take, in plain words."""
    from .lti.outbound import AddressPolicy

    try:
        AddressPolicy.from_setting(config["OUTBOUND_ALLOWED_NETWORKS"])
    except ValueError as exc:
        raise InvalidSetting(f"PATHWAYS_OUTBOUND_ALLOWED_NETWORKS: {exc}.") from None


def _require_secret_key(app: Flask) -> None:
    """Use PATHWAYS_SECRET_KEY; in development and tests fall back to a per-instance random key file."""
    if app.config.get("SECRET_KEY"):
        bits = secret_key_entropy_bits(str(app.config["SECRET_KEY"]))
        if _is_production(app) and bits < SECRET_KEY_MIN_BITS:
            raise MissingSecretKey(
                f"PATHWAYS_SECRET_KEY is too weak (about {bits} bits): production needs 32 bytes of randomness. "
                "Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return
    if _is_production(app):
        raise MissingSecretKey(
            "PATHWAYS_SECRET_KEY is not set. Set it to a long random value (python -c "
            "'import secrets; print(secrets.token_urlsafe(48))') before serving Pathways."
        )
    path = os.path.join(app.instance_path, "secret_key")
    make_instance_folder(app.instance_path)
    if not os.path.exists(path):
        import secrets

        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    with open(path) as handle:
        app.config["SECRET_KEY"] = handle.read().strip()
