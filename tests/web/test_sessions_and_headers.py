"""Sessions end when they should and every response tells the browser what it may run, frame and keep."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import requests

from lti_tool import create_app
from tests.support import PEOPLE, launch_with_presentation, submit_form


def _csp(response: requests.Response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_a_teacher_who_signs_out_cannot_open_their_pages_again_and_is_told_how_to_come_back(sandbox, tool):
    page = sandbox.launch("teacher")
    assert "Sign out" in page.text
    signed_out = submit_form(page, "sign-out")
    assert signed_out.status_code == 200
    assert "open it from your course in your LMS" in signed_out.text
    assert "Sign out" not in signed_out.text and "Amara" not in signed_out.text
    again = page.http.get(page.url)
    assert again.status_code == 404 and "Class roster" not in again.text


NOT_MADE_HERE = "a launch this browser did not make"
SIGNED_OUT = "You have signed out of Pathways"


def test_back_after_signing_out_says_so_in_that_browser_only(sandbox, tool):
    page = sandbox.launch("teacher")
    assert submit_form(page, "sign-out").status_code == 200
    back = page.http.get(page.url, timeout=30)  # the browser's Back: the page is no-store, so it is asked again
    assert back.status_code == 404 and "Class roster" not in back.text
    assert SIGNED_OUT in back.text and NOT_MADE_HERE not in back.text
    # The same address in another browser tells nothing of the launch, nor that anyone signed out of it.
    elsewhere = requests.get(page.url, timeout=30)
    assert NOT_MADE_HERE in elsewhere.text and SIGNED_OUT not in elsewhere.text


def test_back_after_signing_out_of_a_cookieless_launch_says_so(sandbox, tool):
    from tests.lti.test_platform_storage import StorageLaunch

    home = StorageLaunch(sandbox).confirm()
    assert home.status_code == 200 and "lt=" in home.url
    assert submit_form(home, "sign-out", ts=StorageLaunch.tab_secret).status_code == 200
    back = home.http.get(home.url, timeout=30)
    assert SIGNED_OUT in back.text and "ran out" not in back.text and NOT_MADE_HERE not in back.text


def test_sign_out_needs_the_forms_csrf_token(sandbox, tool):
    page = sandbox.launch("student")
    path = re.search(r"/c/[^/]+/", page.url).group(0)
    assert page.http.post(tool.url(path + "sign-out"), data={}).status_code == 400
    assert page.http.get(page.url).status_code == 200


def test_a_launch_lasts_two_hours_by_default(sandbox, tool):
    sandbox.launch("student")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import LaunchSession

        launch = db.session.scalars(db.select(LaunchSession)).one()
        assert launch.expires_at - launch.created_at == timedelta(hours=2)


def test_the_session_lifetime_is_a_setting(make_tool):
    tool = make_tool(LAUNCH_SESSION_SECONDS=900)
    from tests.support import SandboxActions

    page = SandboxActions(tool).launch("student")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import LaunchSession

        launch = db.session.scalars(db.select(LaunchSession)).one()
        assert launch.expires_at - launch.created_at == timedelta(seconds=900)
    # The launch's row ends it; the cookie (the browser's list of launches) outlives the longest session, so a
    # tab whose time ran out is told so rather than that the launch is not its own.
    cookie = next(c for c in page.http.cookies if c.name == "pathways_session")
    import time

    assert cookie.expires - time.time() > tool.app.config["LAUNCH_SESSION_MAX_SECONDS"]


def test_pages_run_only_pathways_scripts_and_inline_scripts_carry_this_responses_nonce(sandbox, tool):
    page = sandbox.launch("teacher")
    assert _csp(page)["script-src"] == ["'self'"]
    # The login page that talks to the LMS through postMessage has an inline script: it runs by nonce.
    login = requests.get(sandbox.platform.start_launch(PEOPLE["student"]) + "&lti_storage_target=_parent")
    scripts = _csp(login)["script-src"]
    nonce = re.fullmatch(r"'nonce-([\w-]+)'", scripts[1]).group(1)
    assert scripts[0] == "'self'" and "'unsafe-inline'" not in scripts
    tags = re.findall(r"<script[^>]*>", login.text)
    assert tags and all(f'nonce="{nonce}"' in tag for tag in tags)
    again = requests.get(sandbox.platform.start_launch(PEOPLE["student"]) + "&lti_storage_target=_parent")
    assert _csp(again)["script-src"][1] != scripts[1]


def test_pages_with_personal_data_are_not_stored_by_browsers_or_proxies(sandbox, tool):
    teacher = sandbox.launch("teacher")
    assert teacher.headers["Cache-Control"] == "no-store"
    assert sandbox.launch("student").headers["Cache-Control"] == "no-store"
    assert "no-store" not in requests.get(tool.url("/lti/jwks")).headers["Cache-Control"]


def test_hsts_only_when_served_over_https(tool, tmp_path):
    assert "Strict-Transport-Security" not in requests.get(tool.url("/healthz")).headers
    app = create_app({"TESTING": True, "SECRET_KEY": "k" * 40, "BASE_URL": "https://pathways.example.edu",
                      "INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/lti/jwks", base_url="https://pathways.example.edu")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_a_launch_page_may_be_framed_only_by_its_own_platform(sandbox, tool):
    with tool.app.app_context():
        from lti_tool.services.registry import add_platform

        add_platform(issuer="https://other-lms.example.com", client_id="other", deployment_ids=["d-2"],
                     login_url="https://other-lms.example.com/auth", token_url="https://other-lms.example.com/t",
                     jwks_url="https://other-lms.example.com/jwks")
    page = sandbox.launch("student")
    ancestors = _csp(page)["frame-ancestors"]
    assert tool.base_url in ancestors or "'self'" in ancestors
    assert "https://other-lms.example.com" not in ancestors
    # Pages without a launch (health, keys, errors) keep to the safe default.
    for path in ("/healthz", "/lti/jwks", "/nope"):
        assert _csp(requests.get(tool.url(path)))["frame-ancestors"] == ["'self'"], path


def test_login_and_launch_pages_may_be_framed_by_the_platform_that_sent_them(tool, sandbox):
    with tool.app.app_context():
        from lti_tool.services.registry import add_platform

        add_platform(issuer="https://other-lms.example.com", client_id="other", deployment_ids=["d-2"],
                     login_url="https://lms-login.example.net/auth", token_url="https://other-lms.example.com/t",
                     jwks_url="https://other-lms.example.com/jwks")
    login = requests.get(tool.url("/lti/login"), params={"iss": "https://other-lms.example.com",
                                                         "login_hint": "x", "target_link_uri": tool.url("/lti/launch"),
                                                         "client_id": "other"}, allow_redirects=False)
    ancestors = _csp(login)["frame-ancestors"]
    assert "https://other-lms.example.com" in ancestors and "https://lms-login.example.net" in ancestors
    assert tool.base_url not in ancestors


def test_configured_frame_ancestors_join_the_launch_platforms_origin(make_tool):
    tool = make_tool(FRAME_ANCESTORS="https://*.instructure.com")
    from tests.support import SandboxActions

    page = SandboxActions(tool).launch("student")
    assert "https://*.instructure.com" in _csp(page)["frame-ancestors"]


def test_the_launch_csp_takes_the_validators_decoded_payload_only_for_the_same_token(tool):
    """The launch validator notes the payload it decoded; the CSP uses it for that token, and decodes any other."""
    import base64
    import json

    from lti_tool import security

    def token(claims: dict) -> str:
        return "e30." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + ".c2ln"

    posted = token({"iss": "https://posted.example", "aud": "c1"})
    with tool.app.test_request_context("/lti/launch", method="POST", data={"id_token": posted}):
        assert security._requesting_client() == ("https://posted.example", "c1")
        security.note_decoded_token(posted, {"iss": "https://noted.example", "aud": ["c2"]})
        # the noted payload, not decoded again
        assert security._requesting_client() == ("https://noted.example", "c2")
        security.note_decoded_token(token({"iss": "https://other.example"}), {"iss": "https://other.example"})
        assert security._requesting_client() == ("https://posted.example", "c1")


def test_the_signed_out_page_links_back_to_the_lms_page_the_launch_came_from(sandbox, tool):
    """Signing out in a window of its own is no dead end: the launch's return_url, with a message for the LMS."""
    signed_out = submit_form(sandbox.launch("teacher"), "sign-out")
    back = re.search(r'<a class="button" href="([^"]+)" data-testid="lms-back">', signed_out.text)
    assert back, "no way back to the LMS on the signed-out page"
    assert html.unescape(back.group(1)) == tool.url("/sandbox/") + "?lti_msg=You%20have%20signed%20out%20of%20Pathways"


def test_an_address_no_page_has_inside_a_launch_is_answered_within_it(sandbox, tool):
    """In the launch's language, framed by its LMS as its other pages are, with the way back to the course home."""
    page = launch_with_presentation(sandbox, "teacher", locale="es")
    launch = re.search(r"/c/[^/]+/", page.url).group(0)
    missing = page.http.get(tool.url(launch + "class/old-bookmark"), timeout=30)
    assert missing.status_code == 404
    assert "<h1>Algo no está bien</h1>" in missing.text and "Esta página no existe." in missing.text
    assert f'href="{launch}" data-testid="error-back">← Volver al curso</a>' in missing.text
    assert _csp(missing)["frame-ancestors"] == _csp(page)["frame-ancestors"]
    # An address whose page takes only a form's POST still says so.
    assert page.http.get(tool.url(launch + "sign-out"), timeout=30).status_code == 405


def test_forms_may_post_only_to_pathways_and_the_deep_linking_answer_only_to_its_return_url(sandbox, tool):
    # Without form-action, markup slipped into a page (an HTML injection the script policy stops from running) could
    # still carry a form, and the CSRF token beside it, to any site. Each page names where its forms may go.
    from tests.lti.test_blocked_cookies_without_storage import FRAMED, _framed_begin
    from tests.lti.test_platform_storage import _cookieless

    teacher = sandbox.launch("teacher")
    assert _csp(teacher)["form-action"] == ["'self'"]
    assert _csp(requests.get(tool.url("/healthz"), timeout=30))["form-action"] == ["'self'"]

    # The Deep Linking answer's page auto-posts to the LMS: that one address and nothing else, not even Pathways.
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link", title_plan="Fractions pathway")
    assert returning.status_code == 200 and 'id="deep-link-return"' in returning.text
    return_url = sandbox.platform.deep_link_return_url
    assert _csp(returning)["form-action"] == [return_url.split("?")[0]]
    # Its frames and scripts are those of any launch's page.
    assert _csp(returning)["frame-ancestors"] == _csp(picker)["frame-ancestors"]

    # The framed login's "new window" form posts to /lti/login, which redirects to the LMS's login: both allowed.
    http, login_url = _framed_begin(sandbox)
    page = http.get(login_url, allow_redirects=False, timeout=30)
    assert page.status_code == 200 and "Open Pathways in a new window" in page.text
    lms = re.match(r"https?://[^/]+", sandbox.platform.auth_url).group(0)
    assert set(_csp(page)["form-action"]) == {"'self'", lms}
    # So does the launch's page offering the new window when the frame lost the state cookie.
    pending = sandbox.begin("student", http=_cookieless())
    pending.http.headers.update(FRAMED)
    offered = pending.post()
    assert offered.status_code == 200 and "Pathways needs its own window" in offered.text
    assert set(_csp(offered)["form-action"]) == {"'self'", lms}
