"""Flask extensions, created unbound; create_app binds them to an app."""

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

# The errors a cache outage raises; callers that can do without the cache catch these. Besides Redis down or too
# slow: up but refusing writes, full at its maxmemory with nothing to evict (OOM) or a replica a failover left in
# the primary's place (READONLY). Both pass without a restart once Redis accepts writes again.
CACHE_OUTAGES = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
                 redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError)


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
