"""The floor for bench/launch.py: the fewest steps an LTI 1.3 launch can take and still be checked.

A minimal Flask app with no database and no server-side storage. It does the security checks a launch
needs and nothing else:

- login initiation: the issuer, client id and deployment must be the one registered; a new random state
  and nonce go into Flask's signed session cookie, and the browser is sent to the platform's
  authorization endpoint (form_post, prompt=none, the registered redirect URI);
- launch: the posted state must equal the cookie's (then the cookie's pair is dropped: one use only);
  the id_token's RS256 signature is verified against the platform's JWKS, fetched once per worker and
  cached in memory (refetched for an unknown key id); iss, aud (and azp), exp, iat and the nonce are
  checked, then the LTI version, message type and deployment id. The answer is a tiny page naming the
  person.

Nothing is written anywhere, so it sets the lower bound on a launch's CPU through the same gunicorn setup.

Serve: gunicorn -c python:lti_tool.gunicorn_conf -w 2 -b HOST:PORT --pythonpath bench 'floor_app:create_app()'
with FLOOR_BASE_URL, FLOOR_ISSUER, FLOOR_CLIENT_ID, FLOOR_DEPLOYMENT_ID, FLOOR_AUTH_URL, FLOOR_JWKS_URL and
FLOOR_SECRET_KEY in the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

import jwt
from flask import Flask, abort, redirect, request, session
from markupsafe import escape

REQUIRED = ("BASE_URL", "ISSUER", "CLIENT_ID", "DEPLOYMENT_ID", "AUTH_URL", "JWKS_URL", "SECRET_KEY")
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
LEEWAY_SECONDS = 60


def read_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the FLOOR_* settings without their prefix; fail on a missing one."""
    settings = {k[len("FLOOR_") :]: v for k, v in environ.items() if k.startswith("FLOOR_")}
    missing = [f"FLOOR_{name}" for name in REQUIRED if not settings.get(name)]
    if missing:
        raise RuntimeError("Set " + ", ".join(missing))
    return settings


def create_app(environ: Mapping[str, str] | None = None) -> Flask:
    """Build the floor tool from FLOOR_* settings (the process environment by default)."""
    settings = read_settings(os.environ if environ is None else environ)
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings["SECRET_KEY"], SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="None")
    issuer, client_id, deployment_id = settings["ISSUER"], settings["CLIENT_ID"], settings["DEPLOYMENT_ID"]
    launch_url = settings["BASE_URL"].rstrip("/") + "/lti/launch"
    # PyJWKClient keeps the fetched key set in memory and refetches it for a key id it has not seen.
    jwks = jwt.PyJWKClient(settings["JWKS_URL"], cache_jwk_set=True, lifespan=3600, timeout=5)

    @app.get("/")
    def index() -> str:
        """Answer health checks."""
        return "ok"

    @app.route("/lti/login", methods=["GET", "POST"])
    def login():
        """Check who is asking, remember a fresh state and nonce in the signed cookie, send to the platform."""
        params = request.values
        if params.get("iss") != issuer or params.get("client_id", client_id) != client_id:
            abort(400, "unknown platform")
        if params.get("lti_deployment_id", deployment_id) != deployment_id or not params.get("login_hint"):
            abort(400, "unknown deployment or no login_hint")
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        session["lti"] = [state, nonce]
        query = {
            "scope": "openid", "response_type": "id_token", "response_mode": "form_post", "prompt": "none",
            "client_id": client_id, "redirect_uri": launch_url, "login_hint": params["login_hint"],
            "state": state, "nonce": nonce,
        }
        if params.get("lti_message_hint"):
            query["lti_message_hint"] = params["lti_message_hint"]
        return redirect(settings["AUTH_URL"] + "?" + urlencode(query), code=302)

    @app.post("/lti/launch")
    def launch() -> str:
        """Verify the state, the id_token and its LTI claims; greet the person."""
        expected = session.pop("lti", None)
        if not expected or not secrets.compare_digest(request.form.get("state", ""), expected[0]):
            abort(400, "state does not match this browser's login")
        token = request.form.get("id_token", "")
        try:
            key = jwks.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=client_id, issuer=issuer, leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.PyJWTError as exc:
            abort(400, f"id_token refused: {type(exc).__name__}")
        if not secrets.compare_digest(str(claims["nonce"]), expected[1]):
            abort(400, "nonce does not match")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != client_id:
            abort(400, "azp does not name this tool")
        if claims.get(LTI + "version") != "1.3.0" or claims.get(LTI + "deployment_id") != deployment_id:
            abort(400, "not an LTI 1.3 launch for this deployment")
        if claims.get(LTI + "message_type") != "LtiResourceLinkRequest":
            abort(400, "unsupported message type")
        return f"<!doctype html><title>Launched</title><p>Hello, {escape(claims.get('name', 'someone'))}</p>"

    return app
