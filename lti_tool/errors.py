"""Error pages: plain words, the right 4xx, never a stack trace."""

from __future__ import annotations

import contextlib
import logging

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from . import metrics
from .lti.launch import LaunchError
from .services.errors import N_, ServiceError

log = logging.getLogger(__name__)

PLAIN = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("This page does not exist."),
    405: N_("This address does not accept that kind of request."),
    413: N_("The request is too large."),
    429: N_("Too many requests; wait a moment and try again."),
}
TITLES = (N_("This launch could not be completed"), N_("Something is not right"), N_("Server error"),
          N_("Pathways could not be registered"))


def _render(status: int, message: str, title: str):
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, status
    from .web.i18n import page_language

    if page_language() != "en":
        # Fixed titles and messages come from the catalog; others (with details) stay as written.
        from flask_babel import gettext

        title, message = gettext(title), gettext(message)
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(LaunchError)
    def launch_error(exc: LaunchError):
        log.info("launch refused: %s", exc.message)
        metrics.record_launch("refused", exc.message)
        return _render(exc.status, exc.message, exc.title)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        from .web.i18n import translated

        return _render(exc.status, translated(exc), "Something is not right")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = PLAIN.get(status, exc.description or "Something went wrong.")
        if status == 400 and exc.description and "CSRF" in exc.description:
            message = N_("This form has expired or did not come from Pathways. Reload the page and try again.")
        return _render(status, message, exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")  # the formatters leave the message out (observability.py)
        # A failed flush leaves the session unusable; the error page reads the launch (for its language) again.
        from .extensions import db

        with contextlib.suppress(Exception):
            db.session.rollback()
        return _render(500, N_("Something went wrong on our side. Please try again."), "Server error")
