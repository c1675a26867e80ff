"""LTI endpoints: OIDC login initiation, launch, and the tool's JWKS (DESIGN.md §3)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, redirect, render_template, session, url_for
from pylti1p3.contrib.flask import FlaskRequest

from ..extensions import csrf
from .claims import facts_from_claims
from .keys import public_jwks
from .launch import http_session, make_launch, make_login
from .roles import Access

bp = Blueprint("lti", __name__)

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
# Launch ids a browser may hold at once (tabs open on several courses).
MAX_LAUNCHES_PER_BROWSER = 20


def _tool_conf():
    return current_app.extensions["pathways_tool_conf"]


def _http():
    return current_app.extensions["pathways_http"]


@bp.route("/lti/login", methods=["GET", "POST"])
@csrf.exempt  # posted by the platform; state + nonce protect it (Security Framework §5.1.1)
def login():
    """Start OIDC third-party initiated login: redirect to the platform's authorization endpoint."""
    oidc = make_login(_tool_conf(), FlaskRequest(), current_app.config)
    return oidc.redirect_to_platform(current_app.config["BASE_URL"] + url_for("lti.launch"))


@bp.post("/lti/launch")
@csrf.exempt  # posted by the platform; the id_token's signature, state and nonce protect it
def launch():
    """Validate the id_token, record the launch and send the person to their page."""
    from ..services.launches import record_launch

    message = make_launch(_tool_conf(), FlaskRequest(), current_app.config, _http())
    message.validate()
    facts = facts_from_claims(message.get_launch_data(), message.get_client_id())
    if facts.access is Access.NONE:
        return render_template("lti/no_access.html", roles=facts.role_labels)
    if facts.message_type not in (RESOURCE_LINK, DEEP_LINKING):
        return render_template("lti/unsupported.html", message_type=facts.message_type)
    if facts.message_type == DEEP_LINKING and facts.access is not Access.TEACHER:
        return render_template("lti/no_access.html", roles=facts.role_labels, deep_linking=True)
    launch_session = record_launch(
        facts,
        store_email=current_app.config["STORE_EMAIL"],
        session_seconds=current_app.config["LAUNCH_SESSION_SECONDS"],
        now=datetime.now(UTC).replace(tzinfo=None),
    )
    held = [i for i in session.get("launches", []) if isinstance(i, str)]
    session["launches"] = (held + [launch_session.id])[-MAX_LAUNCHES_PER_BROWSER:]
    session.permanent = True
    return redirect(url_for("course.home", launch_id=launch_session.id), code=303)


@bp.get("/lti/jwks")
@bp.get("/.well-known/jwks.json")
def jwks():
    """Serve the tool's public keys (current and not yet retired)."""
    response = jsonify(public_jwks())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
