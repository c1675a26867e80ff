"""Request ids and structured logs: one JSON object per line, carrying the request id, never personal data."""

from __future__ import annotations

import json
import logging
import re
import uuid

from flask import Flask, g, has_request_context, request
from flask.wrappers import Response

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Query parameters that carry secrets (registration tokens, one-time invites, launch tokens): never logged.
_SECRET_PARAMS = re.compile(r"((?:registration_token|invite|id_token|state|code|token)=)[^&\s\"]*", re.I)


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
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(app: Flask) -> None:
    """Give every request an id (echoed in X-Request-ID) and set the log format from LOG_FORMAT."""

    @app.before_request
    def assign_request_id() -> None:
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

    root = logging.getLogger()
    if not any(isinstance(f, RequestIdFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.addFilter(RequestIdFilter())
        if app.config["LOG_FORMAT"] == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
        if not app.config["TESTING"]:
            root.addHandler(handler)
            root.setLevel(app.config["LOG_LEVEL"])
