"""The pool's pre-ping without a round trip for a PostgreSQL connection given back a moment ago.

`pool_pre_ping` (settings._engine_options) sends `SELECT 1` on every checkout, so that a connection the server
dropped (a restart, an administrator's pg_terminate_backend) is replaced before a request uses it. Every request
checks a connection out: under load that was one round trip in eight on a page (ping, BEGIN, five statements,
ROLLBACK) and a query for the server to parse and run, on the same cores as the tool.

A server that ends a connection tells the client: it sends its FATAL message and closes the socket, which then
reads as ready (end of file). So a connection that went back to the pool less than QUIET_SECONDS ago, is idle,
and whose socket has nothing waiting is the connection it was a moment ago: it is used without the ping. Any
other (older, not idle, anything waiting on its socket, or anything unexpected while looking) is pinged as before,
and a failed ping replaces it as before. What this leaves to the request itself is a drop the server never
announced (a cable pulled) in the seconds after the connection's last use, which a ping would only have met by
waiting for the same network time-out the request now meets.
"""

from __future__ import annotations

import select
import time
import weakref
from collections.abc import Callable

import sqlalchemy as sa

#: How recently a connection must have gone back to the pool to be taken without a ping.
QUIET_SECONDS = 5.0


def ping_only_when_needed(engine: sa.Engine) -> None:
    """Have a pre-pinging PostgreSQL engine skip the ping for a connection given back moments ago (see above)."""
    if engine.dialect.name != "postgresql" or not getattr(engine.pool, "_pre_ping", False):
        return
    returned: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    @sa.event.listens_for(engine, "checkin")
    def note_return(dbapi_connection, _record) -> None:
        if dbapi_connection is not None:  # None: the connection was invalidated on its way back
            returned[dbapi_connection] = time.monotonic()

    engine.dialect.do_ping = _quiet_or_pinged(engine.dialect.do_ping, returned)


def _quiet_or_pinged(ping: Callable[[object], bool], returned: weakref.WeakKeyDictionary) -> Callable[[object], bool]:
    def do_ping(dbapi_connection) -> bool:
        # Taken (removed) on checkout: a connection checked out again without going back is pinged.
        given_back = returned.pop(dbapi_connection, None)
        if given_back is not None and time.monotonic() - given_back < QUIET_SECONDS and _quiet(dbapi_connection):
            return True
        return ping(dbapi_connection)

    return do_ping


def _quiet(dbapi_connection) -> bool:
    """Whether a psycopg connection is open, idle outside a transaction, and nothing waits to be read on it."""
    try:
        from psycopg.pq import TransactionStatus

        if dbapi_connection.closed or dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        # Ready to read (the server's goodbye, end of file) or an error or hang-up on the socket: ping it.
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - any doubt about the connection: the ping decides, as before
        return False
