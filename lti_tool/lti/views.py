"""LTI endpoints: OIDC login initiation and the tool's JWKS (DESIGN.md §3). The launch is in web/launch.py."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from pylti1p3.contrib.flask import FlaskRequest

from ..extensions import csrf
from .keys import public_jwks
from .launch import make_login

bp = Blueprint("lti", __name__)

LAUNCH_PATH = "/lti/launch"


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt  # posted by the platform; state + nonce protect it (Security Framework §5.1.1)
def login():
    """Start OIDC third-party initiated login: redirect to the platform's authorization endpoint."""
    # Behind a TLS-terminating proxy request.is_secure is False; the state cookie must still be
    # Secure + SameSite=None or browsers drop it inside the LMS iframe.
    secure = request.is_secure or current_app.config["BASE_URL"].startswith("https://")
    oidc = make_login(
        current_app.extensions["pathways_tool_conf"], FlaskRequest(request_is_secure=secure), current_app.config
    )
    return oidc.redirect_to_platform(current_app.config["BASE_URL"] + LAUNCH_PATH)


@bp.get("/lti/jwks")
@bp.get("/.well-known/jwks.json")
def jwks():
    """Serve the tool's public keys (current and not yet retired)."""
    response = jsonify(public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
