"""Flask extensions, created unbound; create_app binds them to an app."""

import logging
from typing import Any

import redis
import sqlalchemy as sa
from flask_babel import Babel
from flask_caching import Cache
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
cache = Cache()
csrf = CSRFProtect()
babel = Babel()


class CacheCannotPersist(redis.exceptions.ResponseError):
    """Redis refuses writes for now because it cannot keep them safe: "MISCONF" or "NOREPLICAS".

    MISCONF: with `stop-writes-on-bgsave-error yes` (Redis's default) and snapshots configured, a disk that is full,
    gone or read-only turns every write (and PING) into this reply until a save works again. NOREPLICAS: a primary
    with `min-replicas-to-write` set and too few replicas in reach. redis-py raises a plain ResponseError for both,
    the class its replies to a command Pathways got wrong share: the parser of Pathways' connections (redis_options)
    raises this subclass instead, so they count as an outage while other errors still surface.
    """


def redis_options(url: str) -> dict[str, Any]:
    """Return the options of Pathways' Redis connections: the protocol, and a reply parser for it that is redis-py's
    own with MISCONF and NOREPLICAS as CacheCannotPersist.

    RESP2 unless the URL asks `protocol=3`: redis-py 8 speaks RESP3 by default, and falls back to RESP2 with its own
    parser when the server does not know HELLO (Redis 5, a proxy speaking only RESP2), which then no longer maps
    those replies (its parse_error reads the class's exception table, not the one it copies onto the instance): they
    were plain errors again, and every login a 500. A cache's commands read the same in both protocols.
    """
    from urllib.parse import parse_qs, urlsplit

    named = (parse_qs(urlsplit(url).query).get("protocol") or [""])[-1].strip()
    protocol = 3 if named == "3" else 2
    base = _redis_parser_base(protocol)
    if base is None:
        return {"protocol": protocol}
    # MASTERDOWN too: redis-py 5.0, which pyproject allows, does not map it.
    refusals = {**base.EXCEPTION_CLASSES, "MISCONF": CacheCannotPersist, "NOREPLICAS": CacheCannotPersist,
                "MASTERDOWN": redis.exceptions.MasterDownError}
    name = "Pathways" + base.__name__.lstrip("_")
    parser = type(name, (base,), {"EXCEPTION_CLASSES": refusals, "__module__": __name__})
    return {"protocol": protocol, "parser_class": parser}


def _redis_parser_base(protocol: int) -> type | None:
    """Return the reply parser redis-py picks for that protocol, or None (and a warning, once per app) when this
    redis-py names its parsers otherwise.

    They are redis-py's private names (redis is not bounded above in pyproject): a rename must not stop the tool
    from starting wherever Redis is configured. Without them the connections keep redis-py's own parser, and
    MISCONF and NOREPLICAS are plain errors again, as before Pathways mapped them: those logins get the error page
    rather than the outage page. tests/faults/test_redis_refusing_writes.py fails on such a redis-py.
    """
    try:
        from redis._parsers import _HiredisParser, _RESP2Parser, _RESP3Parser
        from redis.connection import DefaultParser

        # The one redis-py picks for that protocol: hiredis speaks both; else its RESP2 or RESP3 parser (redis-py
        # swaps its own RESP2 parser for the RESP3 one, not a subclass of it). The URL's protocol wins over this.
        base = DefaultParser if DefaultParser is _HiredisParser else _RESP3Parser if protocol == 3 else _RESP2Parser
        if not isinstance(base, type) or not isinstance(base.EXCEPTION_CLASSES, dict):
            raise TypeError(f"{base!r} has no table of error replies")
    except (ImportError, AttributeError, TypeError) as change:
        logging.getLogger(__name__).warning(
            "this redis-py (%s) names its reply parsers otherwise (%s): a Redis that cannot save its snapshot "
            "(MISCONF) or reach its replicas (NOREPLICAS) shows the error page rather than the outage page.",
            getattr(redis, "__version__", "?"), change)
        return None
    return base


# The errors a cache outage raises; callers that can do without the cache catch these. Besides Redis down or too
# slow (or still loading its data, BusyLoadingError, a ConnectionError): up but refusing writes, full at its
# maxmemory with nothing to evict (OOM), a replica a failover left in the primary's place (READONLY), unable to save
# its snapshot or without the replicas it must write to (MISCONF, NOREPLICAS: on connections made with
# redis_options), or a replica cut off from its primary that serves no stale reads (MASTERDOWN). All pass without a
# restart once Redis answers again.
CACHE_OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                 redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError, CacheCannotPersist,
                 redis.exceptions.MasterDownError)


@sa.event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """Use WAL on SQLite files so readers don't wait on writers, enforce foreign keys, and overwrite deleted data."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")  # as PostgreSQL does, so both databases behave alike
        # A deleted row's bytes (a learner's name, answers) otherwise stay in the file's free space until the page
        # is reused: a deletion of a person's data must not leave them readable in the database file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()
