"""LTI Dynamic Registration initiation (`/lti/register`), opened by the LMS in a window or iframe.

Only through a one-time link an admin made with `pathways platform invite` (`/lti/register?invite=…`); the LMS
adds `openid_configuration` and `registration_token` to it (Dynamic Registration §3.3).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from ..lti.toolconf import add_deployment_command, approve_command
from ..services.registry import register_dynamically

bp = Blueprint("registration", __name__)


@bp.get("/lti/register")
def register():
    """Register Pathways with the platform that opened this page, then ask it to close the window."""
    config = current_app.config
    if not config["DYNAMIC_REGISTRATION"]:
        abort(404)
    platform = register_dynamically(
        invite=request.args.get("invite") or None,
        config_url=request.args.get("openid_configuration", ""),
        registration_token=request.args.get("registration_token") or None,
        base_url=config["BASE_URL"],
        http=current_app.extensions["pathways_http"],
        # Plain http only when an admin says so (a local test LMS); real platforms are reached over TLS.
        allow_http=bool(config["REGISTRATION_ALLOW_HTTP"]),
        allowed_origins=config["REGISTRATION_ALLOWED_ISSUERS"].split(),
        store_email=config["STORE_EMAIL"],
        timeout=config["SERVICE_TIMEOUT_SECONDS"],
        secret_key=config["SECRET_KEY"],
    )
    response = current_app.make_response(render_template(
        "lti/registered.html", platform=platform, approve_command=approve_command(platform),
        add_command=add_deployment_command(platform, "DEPLOYMENT_ID")))
    response.headers["Cache-Control"] = "no-store"
    return response
