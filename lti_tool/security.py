"""Response headers and cookie settings that keep Pathways safe inside an LMS iframe."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException

from . import process_copy
from .extensions import CACHE_OUTAGES, cache, db
from .models import Platform

FRAME_CACHE_KEY = "frame-ancestors"
#: How much longer than the longest launch session the session cookie (the browser's list of launches) is kept.
LAUNCH_COOKIE_GRACE = timedelta(days=7)


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged, with the signing serializer built once per secret key.

    Flask builds a new serializer (keys, salt, signer settings) when it opens and again when it saves each
    request's session; the secret key and its fallbacks are read on every request, so a changed key counts at once.
    """

    def __init__(self) -> None:
        self._kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, super().get_signing_serializer(app))
        return kept[1]


def configure_cookies(app: Flask) -> None:
    """Make session cookies work in a cross-site iframe when served over HTTPS."""
    app.session_interface = KeptSerializerSessionInterface()
    secure = app.config["BASE_URL"].startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="pathways_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Set the cookie only when a launch changes it, so a refused request never carries one.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SECURE=secure,
        # An LMS frames us from another site: only SameSite=None cookies reach us there, and browsers
        # accept SameSite=None only with Secure. Over plain HTTP (local demo) keep the browser default.
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        # Partitioned (CHIPS): kept per LMS site where browsers block third-party cookies (Chromium, incognito).
        SESSION_COOKIE_PARTITIONED=secure,
        # The launch session's row decides how long a launch works (it slides while in use, up to
        # LAUNCH_SESSION_MAX_SECONDS): the cookie only names the browser's launches, and outlives the longest one by
        # a week, so a tab left over a weekend is told its time ran out, not that the launch is not its own.
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=app.config["LAUNCH_SESSION_MAX_SECONDS"]) + LAUNCH_COOKIE_GRACE,
        WTF_CSRF_SSL_STRICT=False,  # the Referer is the LMS's inside an iframe; the token suffices
        # A form's token lasts as long as the longest session could: the session (checked first) ends it, never a
        # shorter fixed limit in the middle of a session still in use.
        WTF_CSRF_TIME_LIMIT=app.config["LAUNCH_SESSION_MAX_SECONDS"],
    )


def _platform_origins() -> dict[str, dict[str, list[str]]]:
    """Return each registered platform's origins, by platform id and by issuer.

    Kept a few seconds per process (`process_copy`) and a minute in the shared cache.

    Every response carries the header built from this, so neither a cache nor a database outage may fail it:
    without the cache the map is rebuilt each time; without the database it is empty (and not remembered).
    """
    # Every response reads this: this process keeps the map a few seconds, so most responses skip the shared
    # cache's round trip (a third of a millisecond of a Redis client's CPU, on every page). The shared entry is
    # what registration clears, so another process may use its copy up to PROCESS_FRAME_SECONDS longer.
    copy = process_copy.held(_FRAME_COPY, "", PROCESS_FRAME_SECONDS)
    if copy is not None:
        return copy
    cached = _cache_get(FRAME_CACHE_KEY)
    if isinstance(cached, dict):
        process_copy.hold(_FRAME_COPY, "", cached)
        return cached
    by_id: dict[str, list[str]] = {}
    by_issuer: dict[str, list[str]] = {}
    try:
        rows = db.session.execute(sa.select(Platform.id, Platform.auth_login_url, Platform.issuer)).all()
    except sa.exc.SQLAlchemyError:
        # No database yet (or it is down): no platform may frame us rather than fail the response.
        db.session.rollback()
        return {"by_id": {}, "by_issuer": {}}
    for platform_id, login_url, issuer in rows:
        origins = sorted({o for o in (_origin(login_url), _origin(issuer)) if o})
        by_id[str(platform_id)] = origins
        by_issuer[issuer] = sorted(set(by_issuer.get(issuer, [])) | set(origins))
    value = {"by_id": by_id, "by_issuer": by_issuer}
    _cache_set(FRAME_CACHE_KEY, value, 60)
    process_copy.hold(_FRAME_COPY, "", value)
    return value


#: How long a process keeps the platforms' origins before asking the shared cache again (`_platform_origins`).
PROCESS_FRAME_SECONDS = 10.0
_FRAME_COPY = "pathways.frame_ancestors"


def frame_ancestors(*, platform_id: int | None = None, issuer: str | None = None) -> str:
    """Return who may frame this response: ourselves, the one platform it belongs to, configured extras.

    A page of a launch names only that launch's platform; login and launch pages name the platform the
    request comes from, if it is registered; every other page (errors, JWKS, health) only the defaults.
    """
    origins = {"'self'"}
    if platform_id is not None or issuer:
        known = _platform_origins()
        if platform_id is not None:
            origins.update(known["by_id"].get(str(platform_id), []))
        if issuer:
            origins.update(known["by_issuer"].get(issuer, []))
    origins.update(current_app.config["FRAME_ANCESTORS"].split())
    return " ".join(sorted(origins))


def _cache_get(key: str) -> object | None:
    try:
        return cache.get(key)
    except CACHE_OUTAGES:
        return None


def _cache_set(key: str, value: object, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_OUTAGES:
        pass  # the map is rebuilt on the next response


def forget_frame_ancestors() -> None:
    """Drop the cached origins after the platform registry changes (this process's copy and the shared one)."""
    process_copy.drop(_FRAME_COPY)
    try:
        cache.delete(FRAME_CACHE_KEY)
    except CACHE_OUTAGES:
        pass  # nothing cached can outlive the outage by more than its minute


def _origin(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def csp_nonce() -> str:
    """Return this response's script nonce (templates: <script nonce="{{ csp_nonce() }}">)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _requesting_issuer() -> str | None:
    """Name the platform a login or launch request says it comes from, to let it frame our answer.

    The id_token is not verified here: the issuer only selects which *registered* platform's origin may
    frame the reply (a launch error or the storage check page), which grants nothing else.
    """
    if request.endpoint == "lti.login":
        issuer = request.values.get("iss")
        return issuer if isinstance(issuer, str) else None
    if request.endpoint in ("launch.launch", "launch.launch_verified"):
        try:
            token = request.form.get("id_token", "")
        except HTTPException:  # a body too large to read
            return None
        held = g.get(_DECODED_LAUNCH)
        # The launch validator decoded this very token already (pylti1p3's format check): the same payload.
        claims = held[1] if held is not None and held[0] == token else _unverified_claims(token)
        issuer = claims.get("iss") if isinstance(claims, dict) else None
        return issuer if isinstance(issuer, str) else None
    return None


_DECODED_LAUNCH = "pathways_decoded_launch"


def note_decoded_token(token: str, claims: object) -> None:
    """Keep an id_token's payload as the launch validator decoded it (unverified) for this request's headers.

    The Content-Security-Policy names the issuer a launch claims (_requesting_issuer); decoding the 3,000-character
    token again for it was about 0.2 million instructions a launch. Only a payload decoded from the same token is
    used, and only as _unverified_claims would read it (both decode base64url, then JSON).
    """
    if has_app_context():
        setattr(g, _DECODED_LAUNCH, (token, claims))


def _unverified_claims(token: object) -> object:
    """Return a JWT's payload, unverified, or None if it is not three base64url segments with a JSON payload.

    The standard library reads it in a few microseconds; PyJWT checks the whole token character by character
    in Python first (a fifth of a millisecond for a launch token), which only its verifying decode needs.
    """
    if not isinstance(token, str) or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None


def content_security_policy() -> str:
    launch = g.get("launch")
    if request.endpoint == "registration.register":
        # The LMS shows Dynamic Registration in an iframe, from a host we cannot know beforehand (Canvas frames it
        # from the school's host, not its issuer's): the page tells only its own result, and its one control (Done)
        # only asks the framing page to close it.
        ancestors = "*"
    else:
        # A launch whose time ran out still shows its page inside its own LMS (errors.py, launch_expired).
        platform_id = getattr(launch, "platform_id", None) if launch is not None else g.get("expired_platform_id")
        ancestors = frame_ancestors(platform_id=platform_id, issuer=_requesting_issuer())
    scripts = "'self'"
    if "csp_nonce" in g:
        scripts += f" 'nonce-{g.csp_nonce}'"
    return f"script-src {scripts}; object-src 'none'; base-uri 'self'; frame-ancestors {ancestors}"


def register(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Launch ids travel in page URLs; never send them to other sites.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages show names, progress and grades: no browser or proxy may keep a copy. Responses that may be
        # cached (JWKS, static files) set their own Cache-Control first.
        response.headers.setdefault("Cache-Control", "no-store")
        https = request.is_secure or current_app.config["BASE_URL"].startswith("https://")
        if https and current_app.config["HSTS_SECONDS"] > 0:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={current_app.config['HSTS_SECONDS']}")
        return response
