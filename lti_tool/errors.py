"""Error pages: plain words, the right 4xx, never a stack trace."""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template, request
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from . import metrics
from .extensions import CACHE_OUTAGES
from .lti.claims import way_back_to_lms
from .lti.launch import LaunchError
from .lti.services import ServiceCallError
from .security import DATABASE_GONE, frame_for_launch
from .services.errors import N_, ServiceError

if TYPE_CHECKING:
    from .services.launches import LaunchExpired

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


def _forget_gone_launch() -> None:
    """Drop the request's launch when its row is gone, so the error page does not fail on reading it.

    A refused write ends its transaction first (web/agency.py `_form_refused`), which expires the launch row; when
    the person's data was deleted meanwhile, the row went with it, and the page's language, way back and headers
    would read it again and fail (a 500 in place of the page saying their data was deleted). The page is then
    drawn without a launch, still framed by its LMS (security.py reads the platform kept when the launch opened).
    """
    from flask import g

    from .extensions import db
    from .models.base import still_loaded

    launch = g.get("launch")
    if launch is None or still_loaded(launch):
        return
    try:
        db.session.refresh(launch)
    except sa.exc.InvalidRequestError:  # the row is gone (ObjectDeletedError), or the session failed
        g.launch = None
        g.expired_platform_id = g.get("launch_platform_id")


def _render(status: int, message: str, title: str, *, for_admin: bool = False, details: dict | None = None,
            typed: str = ""):
    """Draw the error page; `details`, a validated launch's (never a refused token's), give the way back to its LMS;
    `typed`, the words a refused form carried, to copy."""
    _forget_gone_launch()
    if request.accept_mimetypes.best == "application/json":
        return {"error": message}, status
    from .web.i18n import page_language

    if page_language() != "en":
        # Fixed titles and messages come from the catalog; others (with details) stay as written.
        from flask_babel import gettext

        title, message = gettext(title), gettext(message)
    return render_template("errors/error.html", status=status, title=title, message=message, typed=typed,
                           for_admin=for_admin, back=_way_back(), lms_url=way_back_to_lms(details, message)), status


def _way_back() -> dict[str, str | bool]:
    """Return where the page's way back goes and whom it speaks to: {"href": ..., "audience": ..., ...}.

    Inside a launch the course home of that launch ("href"), and the words fit its role (a teacher is not told
    to tell their teacher); a student's course home is their learning plan ("plan"), which the way back names.
    Outside one (or when the launch itself failed) no href: a page opened by a GET offers the browser's back
    ("history"). A refused POST outside a launch is a launch or a login from the LMS, whose page before it posts
    itself again: no back to that (the page says how to open Pathways again from the course instead).
    """
    from flask import g, url_for

    from .services.launches import RESOURCE_LINK

    launch = getattr(g, "launch", None)
    if launch is None or getattr(g, "signed_out", False):
        return {"href": "", "audience": "", "history": request.method == "GET", "plan": False}
    try:
        href = url_for("course.home", launch_id=launch.id, **({"lt": g.launch_token}
                                                               if getattr(g, "launch_token", None) else {}))
        audience = "teacher" if launch.access == "teacher" else "student"
        plan = audience == "student" and launch.message_type == RESOURCE_LINK
    except Exception:  # noqa: BLE001 - the launch row is gone with a failed session: the browser's back will do
        return {"href": "", "audience": "", "history": False, "plan": False}
    return {"href": href, "audience": audience, "history": False, "plan": plan}


#: Form fields people type words into (reflections, evidence, goals, the teacher's notes, comments, overrides and
#: the course-map editor); a form that adds one names it here, so a launch that ran out gives it back.
TYPED_FIELDS = re.compile(r"answer(?:_\d+|s)?|text|url|title(?:_\w+)?|why|note|note_to_student|comment|subject|"
                          r"grade_level|description|modality|instructions|prompt|choices|hints|solution|unit")


def typed_text() -> str:
    """Return the words the refused request's form carried, in the form's order, separated by blank lines.

    Only a form from a page of ours is given back (`_from_a_page_of_ours`): a launch's pages check the form's
    CSRF or launch token after reading the launch, so an outage or a launch that ran out comes first, and a form
    another site posted into the student's browser would otherwise be shown as what they typed.
    """
    if request.method != "POST":
        return ""
    try:
        form = request.form
    except HTTPException:  # a body too large to read: nothing to give back
        return ""
    if not _from_a_page_of_ours(form):
        return ""
    texts = []
    for name, value in form.items(multi=True):
        value = value.strip() if isinstance(value, str) else ""
        # A practice page's hint count is a number in a field the map editor fills with words.
        if value and TYPED_FIELDS.fullmatch(name) and not (name == "hints" and value.isdigit()):
            texts.append(value)
    return "\n\n".join(texts)


#: A form's CSRF token proves where it came from whatever its age (the launch, or the token, may have run out).
ANY_AGE_SECONDS = 100 * 365 * 24 * 3600


def _from_a_page_of_ours(form) -> bool:
    """Tell whether a form carries what only a page of ours puts in one: the session's CSRF token, or the launch
    token of the launch the address names (a cookie-less tab), of any age. Neither needs the database or cache."""
    from flask_wtf.csrf import ValidationError, validate_csrf

    from .lti.platform_storage import read_launch_token

    config = current_app.config
    if not (config.get("WTF_CSRF_ENABLED", True) and config.get("WTF_CSRF_CHECK_DEFAULT", True)):
        return True  # forms are not checked here at all
    # As the launch's pages read it (web/course.py): in the address, or a form's field.
    named = read_launch_token(request.args.get("lt") or form.get("lt"), config["SECRET_KEY"], max_age=None)
    if named is not None:
        return named[0] == g.get("asked_launch_id")
    try:
        validate_csrf(form.get(config["WTF_CSRF_FIELD_NAME"]), time_limit=ANY_AGE_SECONDS)
    except ValidationError:
        return False
    return True


def _expired_page(exc: LaunchExpired):
    """The page of a launch whose time ran out: what to do, a way back to the LMS, what the form would have saved.

    Nothing is saved (the session no longer counts) and no session is started: the page draws no form.
    """
    from flask import g
    from flask_babel import gettext

    from .web.i18n import speak_language_of

    audience = ""
    if exc.launch is not None:
        g.expired_platform_id = exc.launch.platform_id  # its LMS may frame the page (security.py)
        audience = "teacher" if exc.launch.access == "teacher" else "student"
        frame_for_launch(exc.details)
        speak_language_of(exc.details)
    if request.accept_mimetypes.best == "application/json":
        return {"error": exc.message}, exc.status
    message = gettext(exc.template)
    # Back to the LMS with the same words as lti_errormsg (Core §5.4.1 return_url), for the LMS to show there.
    return render_template("errors/expired.html", status=exc.status, title=gettext(exc.TITLE), message=message,
                           typed=typed_text(), lms_url=way_back_to_lms(exc.details, message),
                           back={"audience": audience}), exc.status


def error_page(status: int, message: str, title: str):
    """Return the error page (status, message, title: fixed English texts, looked up in the page's language)."""
    return _render(status, message, title)


# What an outage of the database or the cache looks like to a request: the client library's connection errors.
# (OperationalError also covers a query cancelled by a restart; DBAPIError with connection_invalidated covers
# a connection the pool found dead.) A request meeting one gets a 503 with Retry-After, never a 500.
DATABASE_OUTAGES = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)
# PostgreSQL's "cannot execute … in a read-only transaction": a standby answering in the primary's place during a
# failover. Writes come back when the failover ends (or the connection is pointed at the new primary), so it is an
# outage like the others, not a bug of ours. It arrives as an InternalError, a class that also holds real bugs.
READ_ONLY_SQLSTATE = "25006"


def database_read_only(exc: BaseException) -> bool:
    """Tell whether a database error is PostgreSQL refusing a write because it is (for now) read-only."""
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == READ_ONLY_SQLSTATE


# Two writers meeting, not an outage: the database answered that this transaction lost a deadlock (40P01), a
# serialization check (40001) or its wait for a lock (55P03, lock_timeout). Trying again in a moment works.
CONFLICT_SQLSTATES = frozenset({"40P01", "40001", "55P03"})


def database_conflict(exc: BaseException) -> bool:
    """Tell whether a database error is a conflict with another change to the same data (a busy database).

    PostgreSQL says so with a SQLSTATE; SQLite with "database is locked" once its busy timeout ran out while another
    connection held the write lock.
    """
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in CONFLICT_SQLSTATES:
        return True
    return isinstance(orig, sqlite3.OperationalError) and str(orig).startswith("database is locked")


UNAVAILABLE = N_("Pathways cannot reach its database right now. Please try again in a minute.")
NO_NEW_SESSIONS = N_("Pathways cannot start new sessions right now. Please try again in a minute.")
UNAVAILABLE_TITLE = N_("Pathways is briefly unavailable")
BUSY = N_("Pathways was busy with another change to the same data. Please try again in a moment.")
BUSY_TITLE = N_("Pathways was busy")
#: The most a conflict's Retry-After says: the other change ends (commits or is rolled back) within seconds.
BUSY_RETRY_AFTER_SECONDS = 5
PLATFORM_UNREACHABLE = N_("Pathways cannot get an answer from the learning platform right now. "
                          "Please try again in a minute.")
PLATFORM_REFUSED = N_("The learning platform refused what Pathways asked of it, so this page cannot be shown. "
                      "If this keeps happening, tell your school's LMS administrator.")
PLATFORM_REFUSED_TITLE = N_("The learning platform refused the request")


def _unavailable(message: str, *, database_gone: bool = False, title: str = UNAVAILABLE_TITLE,
                 retry_after_seconds: float | None = None):
    """Answer 503 with Retry-After and a plain page; never touch the database or cache to do it."""
    from .extensions import db

    if database_gone:
        _let_go_of_launch()
        g.setdefault(DATABASE_GONE, True)  # the page's frame-ancestors without the database (security.py)
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass  # the connection is gone; the pool replaces it
    retry_after = str(int(current_app.config["RETRY_AFTER_SECONDS"] if retry_after_seconds is None
                          else retry_after_seconds))
    try:
        if not g.get("launch_locale"):
            from .web.launch import speak_language_of_posted_launch

            speak_language_of_posted_launch()  # a launch met the outage before its locale claim was read
        # What a form carried is not kept: given back to copy, as when a launch's time ran out.
        response = _render(503, message, title, typed=typed_text())
    except Exception:  # noqa: BLE001 - the page itself met the outage (e.g. the language of a launch): go plainer
        page = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p>"
        response = (page, 503)
    body, status = response
    return body, status, {"Retry-After": retry_after, "Cache-Control": "no-store"}


def _let_go_of_launch() -> None:
    """Drop the request's launch, keeping the platform that frames the page and the language it speaks.

    The database went away mid-request (the launch was read, a later statement failed): the rollback expires the
    row, and reading it again meets the outage once more, in the page's way back, its language or its
    Content-Security-Policy; the last of those, in an after_request hook, has no handler left to make it this 503.
    """
    from flask import g

    launch = g.get("launch")
    if launch is None:
        return
    details = sa.inspect(launch).dict.get("details")  # the instance's own dict: reading it never loads
    if isinstance(details, dict):
        g.launch_locale = str(details.get("locale") or "")
    g.launch = None
    g.expired_platform_id = g.get("launch_platform_id")


def _end_session(_exc: BaseException | None) -> None:
    """End the request's database session, even when its connection died after the request's last query.

    A view that read, then waited on an LMS while the database went away, and answered without another query has
    its transaction rolled back here, after every error handler: the failed rollback was the server's bare 500 in
    place of the answer. Nothing is lost by letting it go: what the view kept, it committed; the rest the database
    dropped with the connection.
    """
    from .extensions import db

    try:
        db.session.remove()
    except DATABASE_OUTAGES as exc:
        log.warning("database connection lost as a request ended: %s", exc.__class__.__name__)
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            db.session.close()  # the pool has invalidated the connection: closing again only lets it go
        db.session.registry.clear()


def _database_busy(exc: BaseException):
    """Answer a request that met another change to the same data: 503, try again in a moment, what was typed shown.

    Not retried here: the request's transaction is rolled back, and the person sends it again. The page is drawn as
    the outage's is, without asking the database again (database_gone): SQLite's write lock may still be held.
    """
    log.warning("database conflict: %s (%s); the request was not applied", exc.__class__.__name__,
                getattr(getattr(exc, "orig", None), "sqlstate", None) or "database is locked")
    seconds = min(current_app.config["RETRY_AFTER_SECONDS"], BUSY_RETRY_AFTER_SECONDS)
    return _unavailable(BUSY, database_gone=True, title=BUSY_TITLE, retry_after_seconds=seconds)


def register(app: Flask) -> None:
    def database_outage(exc: Exception):
        if database_conflict(exc):
            return _database_busy(exc)
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return _unavailable(UNAVAILABLE, database_gone=True)

    def cache_outage(exc: Exception):
        # Launch state (state, nonce) lives in the cache: logins and launches cannot proceed without it, while
        # pages of launches already open need only the session cookie and the database.
        log.warning("cache unavailable: %s", exc.__class__.__name__)
        return _unavailable(NO_NEW_SESSIONS)

    for outage in DATABASE_OUTAGES:
        app.register_error_handler(outage, database_outage)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs before it (Flask runs them last first).
    app.teardown_appcontext(_end_session)
    for outage in CACHE_OUTAGES:
        app.register_error_handler(outage, cache_outage)

    from .services.storage import StoreUnavailable

    @app.errorhandler(StoreUnavailable)
    def store_outage(exc: StoreUnavailable):
        # The evidence store (a disk or a bucket) failing is an outage like the database's: 503, try again.
        from .web.i18n import translated

        log.warning("evidence store unavailable")
        return _unavailable(translated(exc))

    @app.errorhandler(ServiceCallError)
    def platform_outage(exc: ServiceCallError):
        # A platform call no view turned into a message of its own: the LMS is down or refused us, not a bug
        # of ours, so a 503 to try again later, never a 500. The status only: platform answers stay out of logs.
        log.warning("platform call failed: %s", exc.status or ("no answer" if exc.unreachable else "refused"))
        if exc.transient:
            return _unavailable(PLATFORM_UNREACHABLE)
        # Waiting will not change a refusal (a 4xx, an origin not registered, no signing key): a 502 that says
        # whom to tell, not "try again in a minute".
        from .extensions import db

        db.session.rollback()
        return _render(502, PLATFORM_REFUSED, PLATFORM_REFUSED_TITLE)

    @app.errorhandler(LaunchError)
    def launch_error(exc: LaunchError):
        if exc.logged:  # a login for a registration we lack: one line, with what the LMS sent
            log.info("launch refused: %s %s", exc.message, exc.logged)
        else:
            log.info("launch refused: %s", exc.message)
        metrics.record_launch("refused", exc.message)
        # Registration failures speak to the LMS administrator doing it, not to a student.
        return _render(exc.status, exc.message, exc.title, for_admin=getattr(exc, "for_admin", False))

    from .services.launches import LaunchExpired, LaunchRefused

    @app.errorhandler(LaunchExpired)
    def launch_expired(exc: LaunchExpired):
        # Its own page, not the generic one: it links back to the LMS and gives back what the form carried.
        return _expired_page(exc)

    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        from .web.i18n import speak_language_of, translated

        _forget_gone_launch()  # before the message is translated: the page's language reads the launch
        # A validated launch refused at the door (services/launches.py LaunchRefused) may go back to its LMS, and
        # speaks the language it named.
        details = exc.details if isinstance(exc, LaunchRefused) else None
        if details is not None:
            speak_language_of(details)
            frame_for_launch(details)
        return _render(exc.status, translated(exc), "Something is not right", details=details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = PLAIN.get(status, exc.description or "Something went wrong.")
        if status == 400 and exc.description and "CSRF" in exc.description:
            message = N_("This form has expired or did not come from Pathways. Reload the page and try again.")
        # Werkzeug's name ("Not Found") is in no catalogue: a Spanish page got an English heading.
        page = _render(status, message, "Something is not right" if status < 500 else exc.name)
        retry_after = [value for name, value in exc.get_headers() if name == "Retry-After"]
        return (*page, {"Retry-After": retry_after[0], "Cache-Control": "no-store"}) if retry_after else page

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error")  # the formatters leave the message out (observability.py)
        # A failed flush leaves the session unusable; the error page reads the launch (for its language) again.
        from .extensions import db

        with contextlib.suppress(Exception):
            db.session.rollback()
        return _render(500, N_("Something went wrong on our side. Please try again."), "Server error")

    @app.errorhandler(sa.exc.InternalError)
    def internal_database_error(exc: sa.exc.InternalError):
        return database_outage(exc) if database_read_only(exc) else unexpected(exc)
