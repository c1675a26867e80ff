"""The launch endpoint: hand the posted id_token to the launch service and route the person."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import jwt
from flask import Blueprint, abort, current_app, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext

from .. import metrics
from ..extensions import csrf
from ..lti.claims import CLAIM, LaunchFacts, way_back_to_lms
from ..lti.toolconf import find_platform
from ..security import forms_post_here_then_to, frame_for_launch
from ..services.launches import (
    LaunchOutcome,
    NewWindowNeeded,
    StorageCheckNeeded,
    accept_launch,
    launches_not_of,
    open_launch_of,
    sign_launch_token,
    tab_binding,
)
from .i18n import remember_language, speak_language_of

bp = Blueprint("launch", __name__)

# Launch ids a browser may hold at once (tabs open on several courses).
MAX_LAUNCHES_PER_BROWSER = 20


@bp.post("/lti/launch")
@csrf.exempt  # posted by the platform; the id_token's signature, state and nonce protect it
def launch():
    """Validate the launch, record it, and send the person to their page."""
    try:
        return _accept(request.form.to_dict())
    except StorageCheckNeeded as needed:
        # No state cookie came back (blocked in the LMS iframe), but the login kept state and nonce in the
        # platform: this page reads them from there and posts the launch again with its one-time ticket.
        page = render_template("lti/storage_launch.html", check=needed.check,
                               verified_url=current_app.config["BASE_URL"] + "/lti/launch/verified")
        response = make_response(page)
        response.headers["Cache-Control"] = "no-store"
        return response
    except NewWindowNeeded as needed:
        return _new_window_page(needed)


def _new_window_page(needed: NewWindowNeeded):
    """Offer to restart the login in a new window when the LMS frame lost the state cookie (no platform storage).

    Only inside a frame: there the browser blocked the cookie as third-party. A top-level launch without its
    cookie came from another browser (or one that keeps no cookies at all), and is refused as such.
    """
    if request.headers.get("Sec-Fetch-Dest") != "iframe" or not needed.login_params:
        raise needed.refusal()
    params = {**needed.login_params, "lti1p3_new_window": "1"}
    # Its form posts the login here again, which sends the new window on to the platform's login.
    platform = find_platform(params.get("iss"), params.get("client_id"))
    forms_post_here_then_to(platform.auth_login_url if platform is not None else None)
    page = render_template("lti/new_window.html", params=params,
                           login_url=current_app.config["BASE_URL"] + "/lti/login")
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/lti/launch/verified")
@csrf.exempt  # no cookie to bind a CSRF token to: the single-use ticket from the check page protects it
def launch_verified():
    """Finish a launch whose state and nonce were read back from platform storage."""
    form = request.form.to_dict()
    proof = {name: form.pop(name, "") for name in ("ticket", "stored_state", "stored_nonce")}
    # The check page's per-tab secret (sessionStorage): the launch token is bound to it, so a launch someone posts
    # into another person's browser (login CSRF) cannot be used from that browser's pages.
    binding = tab_binding(form.get("tab_secret"))
    if binding is None:
        abort(400, "This launch did not come from the Pathways check page. Start again from your course.")
    return _accept({name: form.get(name, "") for name in ("id_token", "state")}, storage_proof=proof,
                   tab=binding)


def _accept(form: dict[str, str], storage_proof: dict[str, str] | None = None, tab: str = ""):
    outcome = accept_launch(
        form=form,
        cookies=request.cookies,
        is_secure=request.is_secure or current_app.config["BASE_URL"].startswith("https://"),
        settings=current_app.config,
        tool_conf=current_app.extensions["pathways_tool_conf"],
        http=current_app.extensions["pathways_http"],
        now=datetime.now(UTC).replace(tzinfo=None),
        storage_proof=storage_proof,
    )
    metrics.record_launch("accepted")
    # Verified: the LMS page its signed return URLs name may frame whatever this answers (security.py).
    frame_for_launch(outcome.facts.details)
    if outcome.kind in (LaunchOutcome.NO_ACCESS, LaunchOutcome.UNSUPPORTED):
        speak_language_of(outcome.facts.details)  # no session: the refusal speaks the language the launch named
        # Someone else's launch all the same (a parent opening the LMS on the computer the student used, with a
        # Mentor role Pathways has no pages for): the launches this browser held are not theirs to open either.
        held = _held_launches() if storage_proof is None else []
        if held:
            _let_go_of(held, launches_not_of(held, outcome.facts))
    if outcome.kind is LaunchOutcome.NO_ACCESS:
        message = _no_access_message(outcome.facts)
        lms_url = way_back_to_lms(outcome.facts.details, message)
        # No page of the LMS to go back to: the home page of a launch of theirs this browser still holds, if any
        # (else the page says how to open Pathways again from the course).
        held = open_launch_of(_held_launches(), outcome.facts,
                              now=datetime.now(UTC).replace(tzinfo=None)) if not lms_url else None
        return render_template("lti/no_access.html", message=message, lms_url=lms_url,
                               home_url=url_for("course.home", launch_id=held) if held else "")
    if outcome.kind is LaunchOutcome.UNSUPPORTED:
        # A valid token for a message we do not handle (e.g. LtiSubmissionReviewRequest): refused, no session.
        message = gettext('Your course sent a "%(message_type)s" message, which Pathways does not handle. Open '
                          'Pathways from its link in your course instead.', message_type=outcome.facts.message_type)
        return render_template("lti/unsupported.html", message=message,
                               lms_url=way_back_to_lms(outcome.facts.details, message)), 400
    page = {"LtiDeepLinkingRequest": "course.deep_link", "DataPrivacyLaunchRequest": "privacy.home"}.get(
        outcome.facts.message_type, "course.home")
    if storage_proof is not None:
        # Pages carry a signed launch token bound to the check page's tab instead of a session. Never the session
        # too: this POST is CSRF-exempt, and a cross-site form posting someone's own launch into another person's
        # browser (login CSRF) would leave it in that browser's cookie, which opens it with no tab secret asked.
        token = sign_launch_token(outcome.session_id, current_app.config["SECRET_KEY"], tab)
        return redirect(url_for(page, launch_id=outcome.session_id, lt=token), code=303)
    held = _held_launches()
    # Someone else's launches in this browser (a shared computer) are no longer held: their pages, still in its
    # history, no longer open for the person launching now. The same person's other courses and tabs stay.
    held = _let_go_of(held, launches_not_of(held, outcome.facts, outcome.session.person_id))
    session["launches"] = (held + [outcome.session_id])[-MAX_LAUNCHES_PER_BROWSER:]
    remember_language(outcome.session_id, outcome.facts.details, session["launches"])
    session.permanent = True
    # Flask-WTF keeps its CSRF secret in the session and makes it for the first form drawn, on the landing page,
    # which then wrote the session cookie a second time; made here, the cookie written now carries it. Only the
    # secret, as Flask-WTF makes it when the session has none: this redirect draws no form, and generate_csrf would
    # also sign a token for it (a third of a million instructions of the launch's POST).
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    if not isinstance(session.get(field), str):
        session[field] = secrets.token_hex(20)
    return redirect(url_for(page, launch_id=outcome.session_id), code=303)


def _held_launches() -> list[str]:
    """The launches this browser's session cookie holds."""
    listed = session.get("launches", [])
    return [i for i in listed if isinstance(i, str)] if isinstance(listed, list) else []


def _let_go_of(held: list[str], others: set[str]) -> list[str]:
    """End this browser's hold on the launches of someone other than the person launching now; return the rest."""
    if not others:
        return held
    kept = [i for i in held if i not in others]
    session["launches"] = kept
    # Nor does anything else of theirs carry over: messages their pages left unread ("Deleted the data of …"), or
    # the CSRF secret their forms were signed with (made again for the next form drawn).
    session.pop("_flashes", None)
    session.pop(current_app.config["WTF_CSRF_FIELD_NAME"], None)
    return kept


def _no_access_message(facts: LaunchFacts) -> str:
    """Say why this validated launch's role opens nothing: shown on the page and sent back to the LMS with it."""
    if facts.message_type == "LtiDeepLinkingRequest":
        return gettext("Only teachers can add Pathways to a course.")
    if facts.has_context and facts.role_labels and not facts.course_role_sent:
        # Canvas, for a course opened by someone not enrolled in it: their roles elsewhere are no role here.
        return gettext("Your LMS sent no role of yours in this course, only your roles elsewhere in the school. "
                       "Pathways opens for the course's own teachers and students: if you teach or study in it, ask "
                       "your LMS administrator to enrol you.")
    if facts.role_labels:
        return gettext("Pathways is for the teachers and students of a course. Your role here (%(roles)s) does not "
                       "include either.", roles=facts.role_labels)
    return gettext("Pathways is for the teachers and students of a course. Your role here (none was given) does not "
                   "include either.")


def speak_language_of_posted_launch() -> None:
    """Make an outage page answering a launch's POST speak the language its id_token names, read unverified.

    The outage came before the token could be checked (its platform, keys or launch could not be read), so the
    claim is trusted for nothing but the words of the "try again in a minute" page: a forged token can choose only
    which supported language that page is in.
    """
    if request.endpoint not in ("launch.launch", "launch.launch_verified"):  # the latter: from the storage check
        return
    id_token = request.form.get("id_token")
    if not isinstance(id_token, str):
        return
    try:
        claims = jwt.decode(id_token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return
    presentation = claims.get(CLAIM + "launch_presentation") if isinstance(claims, dict) else None
    if isinstance(presentation, dict) and isinstance(presentation.get("locale"), str):
        speak_language_of({"locale": presentation["locale"][:100]})
