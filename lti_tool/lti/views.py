"""LTI endpoints: OIDC login initiation and the tool's JWKS (DESIGN.md §3). The launch is in web/launch.py."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, render_template, request
from pylti1p3.contrib.flask import FlaskRequest

from ..extensions import csrf
from ..security import forms_post_here_then_to, frame_for_login, login_request_params, note_login_framer
from .claims import TIME_ZONE_PARAM, TIME_ZONE_VARIABLE
from .keys import JWKS_MAX_AGE_SECONDS, public_jwks
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
    # The parameters as one plain dict, read where pylti1p3 reads them (the query of a GET, the form of a POST):
    # without it, each of the login's twenty-odd parameter reads went through Flask's request proxy again.
    login_params = login_request_params().to_dict()
    oidc = make_login(
        current_app.extensions["pathways_tool_conf"],
        FlaskRequest(request_data=login_params, request_is_secure=secure),
        current_app.config,
    )
    launch_url = current_app.config["BASE_URL"] + LAUNCH_PATH
    storage = oidc.storage_login(launch_url)
    if storage is None:
        # Fetch metadata says whether we are inside the LMS's frame; only there may the cookie be blocked.
        if request.headers.get("Sec-Fetch-Dest") != "iframe" or login_params.get("lti1p3_new_window"):
            return oidc.redirect_to_platform(launch_url)
        # No platform storage (Moodle): the page checks that this frame keeps cookies before going to the platform.
        storage = oidc.framed_login(launch_url)
    # Validated now: the page may be framed by this registration's origins, the one this login is for.
    frame_for_login(oidc.get_iss(), oidc.get_client_id())
    if request.headers.get("Sec-Fetch-Dest") == "iframe":
        # A page answers, in the LMS's frame: if that page may not frame us, the log tells the admin what to add.
        note_login_framer(oidc.get_iss(), oidc.get_client_id(), request.headers.get("Referer"))
    # The platform offers storage (OIDC Login with LTI Client Side postMessages §3): a page puts state and nonce
    # there, then goes on to the platform. If neither storage nor cookies work in this frame, it offers to
    # start the same login again in a new window, where the tool is first-party and its cookie sticks.
    # Its "new window" form posts the login here again, which sends that window on to the platform's login.
    forms_post_here_then_to(oidc.platform_login_url())
    params = dict(login_params)  # the login this page answers, not the query of a POST mixed in
    params.pop("lti_storage_target", None)
    params["lti1p3_new_window"] = "1"
    page = render_template("lti/storage_login.html", storage=storage, new_window_params=params,
                           login_url=current_app.config["BASE_URL"] + "/lti/login")
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return oidc.add_cookies(response)


@bp.get("/lti/jwks")
@bp.get("/.well-known/jwks.json")
def jwks():
    """Serve the tool's public keys (current and not yet retired)."""
    response = jsonify(public_jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE_SECONDS}"
    return response


AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
NRPS_SCOPES = ["https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"]


@bp.get("/lti/canvas.json")
def canvas_config():
    """Serve the Canvas developer-key JSON ("Paste JSON" / "Enter URL" in Admin > Developer Keys)."""
    from urllib.parse import urlsplit

    base = current_app.config["BASE_URL"]
    launch_url = base + LAUNCH_PATH
    deep_link = {"message_type": "LtiDeepLinkingRequest", "target_link_uri": launch_url}
    return jsonify(
        {
            "title": "Pathways",
            "description": "Personalized, mastery-based learning plans with grade passback.",
            "oidc_initiation_url": base + "/lti/login",
            "target_link_uri": launch_url,
            "public_jwk_url": base + "/lti/jwks",
            "scopes": AGS_SCOPES + NRPS_SCOPES,
            "extensions": [
                {
                    "platform": "canvas.instructure.com",
                    "domain": urlsplit(base).netloc,
                    "tool_id": "pathways",
                    # Pathways keeps names but not emails unless the admin turns email storage on.
                    "privacy_level": "public" if current_app.config["STORE_EMAIL"] else "name_only",
                    "settings": {
                        "text": "Pathways",
                        "placements": [
                            {
                                "placement": "course_navigation",
                                "message_type": "LtiResourceLinkRequest",
                                "target_link_uri": launch_url,
                                "text": "Pathways",
                            },
                            {"placement": "link_selection", **deep_link, "text": "Pathways"},
                            {"placement": "assignment_selection", **deep_link, "text": "Pathways"},
                        ],
                    },
                }
            ],
            # The person's Canvas time zone, so a course's dates can follow the school's calendar (lti/claims.py).
            "custom_fields": {"canvas_course_id": "$Canvas.course.id", TIME_ZONE_PARAM: TIME_ZONE_VARIABLE},
        }
    )
