"""The signed values every page makes or reads: the session cookie and the CSRF token, each as its library makes it.

Both are itsdangerous timed signatures. Two things cost more than the signing itself, on every request, and
neither changes a byte of what is signed or checked:

- itsdangerous builds a new signer (keys, salt, algorithm) for every value it signs or checks, and Flask and
  Flask-WTF a new serializer; a signer holds only those settings, so one made per secret key serves every call.
- Their default hash is a lazy wrapper of `hashlib.sha1`, and `hmac` runs OpenSSL's HMAC only for hashlib's own
  constructors: any other callable gets Python's HMAC (two hash objects, the key padded by hand). `hashlib.sha1`
  itself gives the same digest through OpenSSL.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask, current_app, g, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import Signer, URLSafeTimedSerializer

#: Flask-WTF's salt for its CSRF tokens (flask_wtf.csrf.generate_csrf and validate_csrf).
CSRF_SALT = "wtf-csrf-token"


class KeptSignerSerializer(URLSafeTimedSerializer):
    """itsdangerous's URL-safe timed serializer, unchanged, with its signer made once per salt."""

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        kept = self.__dict__.setdefault("_kept_signers", {})
        signer = kept.get(salt)
        if signer is None:
            signer = kept[salt] = super().make_signer(salt)
        return signer


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, the same cookie, with the signing serializer built once per secret key.

    Flask builds a new serializer when it opens and again when it saves each request's session; the secret key and
    its fallbacks are read on every request, so a changed key counts at once.
    """

    digest_method = staticmethod(hashlib.sha1)  # Flask's is `_lazy_sha1`: the same SHA-1, Python's HMAC

    def __init__(self) -> None:
        self._kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            kept = self._kept = (keys, _session_serializer(self, app))
        return kept[1]


def _session_serializer(interface: SecureCookieSessionInterface, app: Flask) -> URLSafeTimedSerializer | None:
    """Flask's `get_signing_serializer`, as a KeptSignerSerializer."""
    flask_made = SecureCookieSessionInterface.get_signing_serializer(interface, app)
    if flask_made is None:
        return None
    return KeptSignerSerializer(flask_made.secret_keys, salt=flask_made.salt, serializer=flask_made.serializer,
                                signer_kwargs=flask_made.signer_kwargs)


_CSRF_KEPT: dict[str, Any] = {}


def csrf_token() -> str:
    """Return this request's CSRF token: Flask-WTF's `generate_csrf`, the same token, signed by a kept serializer.

    As generate_csrf: made once per request (kept in `g` under the field's name, where Flask-WTF's forms find it),
    from the session's secret, which is made first if the session has none. Flask-WTF checks it as before
    (`validate_csrf`: the same salt, key and SHA-1 HMAC).
    """
    page = g._get_current_object()
    config = current_app.config
    field_name = config["WTF_CSRF_FIELD_NAME"]
    token = page.get(field_name)
    if token is not None:
        return token
    raw = session.get(field_name)
    secret_key = config.get("WTF_CSRF_SECRET_KEY", current_app.secret_key)
    if not isinstance(raw, str) or secret_key is None:
        # Flask-WTF's own: it makes the session's secret (or replaces one it cannot sign), or says the key is missing.
        return generate_csrf()
    serializer = _CSRF_KEPT.get(secret_key)
    if serializer is None:
        _CSRF_KEPT.clear()  # one key in use at a time: a changed key replaces the old one's serializer
        serializer = _CSRF_KEPT[secret_key] = KeptSignerSerializer(
            secret_key, salt=CSRF_SALT, signer_kwargs={"digest_method": hashlib.sha1})
    token = serializer.dumps(raw)
    setattr(page, field_name, token)
    return token


def use_kept_csrf_token(app: Flask) -> None:
    """Have templates' `csrf_token()` call `csrf_token` (after CSRFProtect.init_app, which installs generate_csrf)."""
    app.jinja_env.globals["csrf_token"] = csrf_token
    # Flask-WTF also puts generate_csrf in every template's context, which wins over the global: this processor,
    # registered after its own, puts ours there.
    app.context_processor(lambda: {"csrf_token": csrf_token})
