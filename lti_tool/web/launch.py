"""The launch endpoint: hand the posted id_token to the launch service and route the person."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for

from ..extensions import csrf
from ..services.launches import LaunchOutcome, accept_launch

bp = Blueprint("launch", __name__)

# Launch ids a browser may hold at once (tabs open on several courses).
MAX_LAUNCHES_PER_BROWSER = 20


@bp.post("/lti/launch")
@csrf.exempt  # posted by the platform; the id_token's signature, state and nonce protect it
def launch():
    """Validate the launch, record it, and send the person to their page."""
    outcome = accept_launch(
        form=request.form.to_dict(),
        cookies=request.cookies,
        is_secure=request.is_secure or current_app.config["BASE_URL"].startswith("https://"),
        settings=current_app.config,
        tool_conf=current_app.extensions["pathways_tool_conf"],
        http=current_app.extensions["pathways_http"],
        now=datetime.now(UTC).replace(tzinfo=None),
    )
    if outcome.kind is LaunchOutcome.NO_ACCESS:
        return render_template("lti/no_access.html", roles=outcome.facts.role_labels,
                               deep_linking=outcome.facts.message_type == "LtiDeepLinkingRequest")
    if outcome.kind is LaunchOutcome.UNSUPPORTED:
        return render_template("lti/unsupported.html", message_type=outcome.facts.message_type)
    held = [i for i in session.get("launches", []) if isinstance(i, str)]
    session["launches"] = (held + [outcome.session.id])[-MAX_LAUNCHES_PER_BROWSER:]
    session.permanent = True
    page = {"LtiDeepLinkingRequest": "course.deep_link", "DataPrivacyLaunchRequest": "privacy.home"}.get(
        outcome.facts.message_type, "course.home")
    return redirect(url_for(page, launch_id=outcome.session.id), code=303)
