"""Response headers and cookie settings that keep Pathways safe inside an LMS iframe."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, Response, current_app

from .extensions import cache, db
from .models import Platform


def configure_cookies(app: Flask) -> None:
    """Make session cookies work in a cross-site iframe when served over HTTPS."""
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
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=app.config["LAUNCH_SESSION_SECONDS"]),
        WTF_CSRF_SSL_STRICT=False,  # the Referer is the LMS's inside an iframe; the token suffices
        WTF_CSRF_TIME_LIMIT=app.config["LAUNCH_SESSION_SECONDS"],
    )


def frame_ancestors() -> str:
    """Return the origins allowed to frame us: ourselves, registered platforms and configured extras."""
    cached = cache.get("frame-ancestors")
    if cached is not None:
        return cached
    origins = {"'self'"}
    try:
        urls = db.session.execute(sa.select(Platform.auth_login_url, Platform.issuer)).all()
    except sa.exc.SQLAlchemyError:
        # No database yet (or it is down): allow only ourselves rather than fail the response.
        db.session.rollback()
        urls = []
    for row in urls:
        for url in row:
            origin = _origin(url)
            if origin:
                origins.add(origin)
    origins.update(current_app.config["FRAME_ANCESTORS"].split())
    value = " ".join(sorted(origins))
    cache.set("frame-ancestors", value, timeout=60)
    return value


def forget_frame_ancestors() -> None:
    """Drop the cached list after the platform registry changes."""
    cache.delete("frame-ancestors")


def _origin(url: str | None) -> str | None:
    from urllib.parse import urlsplit

    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def register(app: Flask) -> None:
    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault(
            "Content-Security-Policy",
            f"frame-ancestors {frame_ancestors()}; object-src 'none'; base-uri 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Launch ids travel in page URLs; never send them to other sites.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
