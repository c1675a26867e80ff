"""A bare pylti1p3 + Flask LTI 1.3 tool: the baseline bench/launch.py compares Pathways with.

It does only what pylti1p3's stock Flask classes do, the way the pylti1.3-flask-example wires them:
FlaskOIDCLogin for the login initiation, FlaskMessageLaunch to validate the id_token, a ToolConfDict built
once, FlaskCacheDataStorage for state and nonce (a Flask-Caching FileSystemCache shared by the gunicorn
workers, or Redis) and the same cache for the platform's JWKS. The launch answers with a tiny page naming
the person. No database, no redirect after the POST, no security headers.

Serve: gunicorn -w 2 --pythonpath bench 'bare_pylti1p3_app:create_app()' with, in the environment,
BARE_BASE_URL, BARE_ISSUER, BARE_CLIENT_ID, BARE_DEPLOYMENT_ID, BARE_AUTH_URL, BARE_TOKEN_URL,
BARE_JWKS_URL, BARE_KEY_FILE (PEM private key of the tool), BARE_SECRET_KEY, and BARE_CACHE_DIR or
BARE_REDIS_URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.hazmat.primitives import serialization
from flask import Flask, jsonify
from flask_caching import Cache
from markupsafe import escape
from pylti1p3.contrib.flask import (
    FlaskCacheDataStorage,
    FlaskMessageLaunch,
    FlaskOIDCLogin,
    FlaskRequest,
)
from pylti1p3.tool_config import ToolConfDict

REQUIRED = (
    "BASE_URL",
    "ISSUER",
    "CLIENT_ID",
    "DEPLOYMENT_ID",
    "AUTH_URL",
    "TOKEN_URL",
    "JWKS_URL",
    "KEY_FILE",
    "SECRET_KEY",
)


def read_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the BARE_* settings without their prefix; fail on a missing one."""
    settings = {k[len("BARE_") :]: v for k, v in environ.items() if k.startswith("BARE_")}
    missing = [f"BARE_{name}" for name in REQUIRED if not settings.get(name)]
    if missing:
        raise RuntimeError("Set " + ", ".join(missing))
    if not (settings.get("CACHE_DIR") or settings.get("REDIS_URL")):
        raise RuntimeError("Set BARE_CACHE_DIR or BARE_REDIS_URL")
    return settings


def build_tool_conf(settings: Mapping[str, str]) -> ToolConfDict:
    """Build the one-platform ToolConfDict, with the tool's key pair."""
    issuer = settings["ISSUER"]
    conf = ToolConfDict(
        {
            issuer: [
                {
                    "default": True,
                    "client_id": settings["CLIENT_ID"],
                    "auth_login_url": settings["AUTH_URL"],
                    "auth_token_url": settings["TOKEN_URL"],
                    "auth_audience": None,
                    "key_set_url": settings["JWKS_URL"],
                    "key_set": None,
                    "deployment_ids": [settings["DEPLOYMENT_ID"]],
                }
            ]
        }
    )
    with open(settings["KEY_FILE"], "rb") as handle:
        private_pem = handle.read()
    key = serialization.load_pem_private_key(private_pem, password=None)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    conf.set_private_key(issuer, private_pem.decode(), client_id=settings["CLIENT_ID"])
    conf.set_public_key(issuer, public_pem.decode(), client_id=settings["CLIENT_ID"])
    return conf


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """Build the baseline tool from BARE_* settings (the process environment by default)."""
    settings = read_settings(os.environ if environ is None else environ)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings["SECRET_KEY"]
    if settings.get("REDIS_URL"):
        app.config.update(
            CACHE_TYPE="RedisCache",
            CACHE_REDIS_URL=settings["REDIS_URL"],
            CACHE_KEY_PREFIX=settings.get("CACHE_PREFIX", "bare-pylti1p3:"),
        )
    else:
        app.config.update(CACHE_TYPE="FileSystemCache", CACHE_DIR=settings["CACHE_DIR"], CACHE_THRESHOLD=100_000)
    cache = Cache(app)
    tool_conf = build_tool_conf(settings)
    launch_url = settings["BASE_URL"].rstrip("/") + "/lti/launch"

    @app.get("/")
    def index() -> str:
        """Answer health checks."""
        return "ok"

    @app.route("/lti/login", methods=["GET", "POST"])
    def login():
        """Redirect the OIDC login initiation to the platform's authorization endpoint."""
        oidc_login = FlaskOIDCLogin(FlaskRequest(), tool_conf, launch_data_storage=FlaskCacheDataStorage(cache))
        return oidc_login.redirect(launch_url)

    @app.post("/lti/launch")
    def launch() -> str:
        """Validate the id_token and greet the person."""
        storage = FlaskCacheDataStorage(cache)
        message_launch = FlaskMessageLaunch(FlaskRequest(), tool_conf, launch_data_storage=storage)
        message_launch.set_public_key_caching(storage, cache_lifetime=7200)
        data = message_launch.get_launch_data()
        return f"<!doctype html><title>Launched</title><p>Hello, {escape(data.get('name', 'someone'))}</p>"

    @app.get("/lti/jwks")
    def jwks():
        """Serve the tool's public key set."""
        return jsonify(tool_conf.get_jwks())

    return app
