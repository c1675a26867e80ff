"""Request ids and structured logs: one JSON object per line, carrying the request id, never personal data."""

from __future__ import annotations

import json
import logging
import re
import traceback
import uuid
from types import TracebackType

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Query parameters that carry secrets or a person's platform id (registration tokens, one-time invites, launch
# tokens, the cookieless launch token `lt`, login hints, the learner's LMS id an AGS results read asks Canvas
# for, `results?user_id=`), and what a student typed, which a question page's address carries back after "Show a
# hint" (`answer=`): never logged.
_SECRET_PARAMS = re.compile(
    r"((?:registration_token|invite|id_token|state|code|token|(?<=[?&])lt|login_hint|lti_message_hint|user_id"
    r"|(?<=[?&])answer)=)[^&\s\"]*", re.I)


class SecretQueryFilter(logging.Filter):
    """Blank secret query parameters in request lines (the development server logs whole request lines)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        redacted = _SECRET_PARAMS.sub(r"\1[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


class RequestIdFilter(logging.Filter):
    """Add the current request's id to every log record (or "-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(g, "request_id", "-") if has_request_context() else "-"
        return True


ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def safe_exception_text(exc_info: ExcInfo) -> str:
    """Return the traceback's frames, the exception types and, for database errors, the SQL statement.

    Never the exception's message: it may echo input (SQL parameters; PostgreSQL's "DETAIL: Key (text)=(…)";
    a value that failed to parse), and the logs promise no personal data.
    """
    exc_type, exc, tb = exc_info
    lines = ["Traceback (most recent call last):\n", *traceback.format_tb(tb)]
    lines.append(_exception_line(exc_type, exc))
    cause = (exc.__cause__ or exc.__context__) if exc is not None else None
    depth = 0
    while cause is not None and depth < 5:
        lines.append(f"caused by: {_exception_line(type(cause), cause)}")
        cause = cause.__cause__ or cause.__context__
        depth += 1
    return "".join(lines).rstrip("\n")


def _exception_line(exc_type: type[BaseException], exc: BaseException | None) -> str:
    name = f"{exc_type.__module__}.{exc_type.__qualname__}"
    statement = getattr(exc, "statement", None)  # sqlalchemy.exc.StatementError: the SQL, with placeholders
    return f"{name} in SQL: {statement}\n" if isinstance(statement, str) else f"{name}\n"


class SafeTextFormatter(logging.Formatter):
    """Plain log lines whose tracebacks leave out exception messages (see safe_exception_text)."""

    def formatException(self, ei) -> str:  # noqa: N802 - logging's name
        return safe_exception_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        # Another handler may have cached the full traceback text on the record; use ours instead.
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON line: time, level, logger, message, request id (and the exception type)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info and record.exc_info[0] is not None:
            # The type and the traceback's frames, but not the exception's message, which may echo input.
            entry["exception"] = record.exc_info[0].__name__
            entry["traceback"] = safe_exception_text(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class _NoResultRows(logging.Filter):
    """Drop SQLAlchemy's DEBUG records: they are result rows (names, answers), even with hidden parameters."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO


_SQL_LOGGERS = ("sqlalchemy.engine.Engine", "sqlalchemy.engine.base.Engine")


def configure(app: Flask) -> None:
    """Give every request an id (echoed in X-Request-ID) and set the log format from LOG_FORMAT."""

    # A URL value preprocessor, the app's running before any blueprint's: a launch's page opens its launch in one
    # (web/course.py), and a database outage met there is answered, and logged, with the id too.
    @app.url_value_preprocessor
    def assign_request_id(_endpoint: str | None, _values: dict | None) -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        if has_request_context() and getattr(g, "request_id", None):
            response.headers["X-Request-ID"] = g.request_id
        return response

    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, SecretQueryFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(SecretQueryFilter())
    # urllib3 logs every outbound request line at DEBUG, query string and all (an AGS results read names the
    # learner's LMS user id): at PATHWAYS_LOG_LEVEL=DEBUG too the logs carry no personal data, so it stays at INFO.
    outbound_log = logging.getLogger("urllib3")
    if outbound_log.level < logging.INFO:  # NOTSET included: it would inherit the root's DEBUG
        outbound_log.setLevel(logging.INFO)
    for name in _SQL_LOGGERS:
        sql_log = logging.getLogger(name)
        if not any(isinstance(f, _NoResultRows) for f in sql_log.filters):
            sql_log.addFilter(_NoResultRows())

    root = logging.getLogger()
    if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        # Every logger's records, not only werkzeug's: urllib3 warns of a retried request with its whole URL.
        handler.addFilter(SecretQueryFilter())
        if app.config["LOG_FORMAT"] == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(SafeTextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
        if not app.config["TESTING"]:
            root.addHandler(handler)
            root.setLevel(app.config["LOG_LEVEL"])
