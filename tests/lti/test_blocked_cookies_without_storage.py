"""Embedded launches from an LMS without platform storage (Moodle) when the browser blocks third-party cookies.

Issue 11.1: the launch used to dead-end at 400 "This launch was not started in this browser", which was untrue.
Now the state and session cookies are Partitioned (CHIPS) over HTTPS, so Chromium keeps them in the LMS frame; a
framed login first checks that the frame keeps cookies; and a framed launch whose cookie still did not come back
gets a page that says so and restarts the login in a new window. A top-level launch without its cookie really came
from another browser and is refused as before. The frame itself runs in Chromium in
tests/browser/test_cookieless_launch.py; here a cookie-less requests session plays the framed browser.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from lti_tool import create_app
from tests.lti.test_platform_storage import _cookieless

from ..support import PEOPLE, parse_form

FRAMED = {"Sec-Fetch-Dest": "iframe", "Sec-Fetch-Site": "cross-site"}


def _framed_begin(sandbox, as_="student"):
    """Run a Moodle-style framed login (no lti_storage_target) in a browser that keeps no cookies."""
    http = _cookieless()
    http.headers.update(FRAMED)
    login_url = sandbox.platform.start_launch(PEOPLE.get(as_, as_))
    return http, login_url


def test_framed_login_without_platform_storage_checks_cookies_before_going_to_the_platform(sandbox):
    http, login_url = _framed_begin(sandbox)

    page = http.get(login_url, allow_redirects=False, timeout=30)

    assert page.status_code == 200  # not straight to the platform, which would use up its one-time message hint
    assert "Open Pathways in a new window" in page.text
    action, fields = parse_form(page.text.split('id="storage-blocked"')[1], page.url)
    assert action.endswith("/lti/login") and fields["lti1p3_new_window"] == "1"
    assert fields["lti_message_hint"] == parse_qs(urlsplit(login_url).query)["lti_message_hint"][0]


def test_framed_launch_whose_cookie_was_blocked_is_offered_a_new_window_not_told_it_is_another_browser(sandbox):
    pending = sandbox.begin("student", http=_cookieless())  # top-level login: straight to the platform
    pending.http.headers.update(FRAMED)  # … but the launch comes back inside the LMS frame, without the cookie

    page = pending.post()

    assert page.status_code == 200
    assert "not started in this browser" not in page.text
    assert "Pathways needs its own window" in page.text
    action, fields = parse_form(page.text, page.url)
    assert action.endswith("/lti/login") and fields["lti1p3_new_window"] == "1"
    assert fields["login_hint"] and fields["iss"] == sandbox.platform.issuer
    assert fields["target_link_uri"].endswith("/lti/launch")


def test_new_window_restarts_the_login_first_party_and_lands_on_the_plan(sandbox):
    http, login_url = _framed_begin(sandbox)
    page = http.get(login_url, allow_redirects=False, timeout=30)
    action, fields = parse_form(page.text.split('id="storage-blocked"')[1], page.url)

    window = __import__("requests").Session()  # a top-level window: the tool's own cookies work
    to_platform = window.post(action, data=fields, allow_redirects=False, timeout=30)
    assert to_platform.status_code == 302
    auth = window.get(to_platform.headers["Location"], timeout=30)
    launch_action, launch_fields = parse_form(auth.text, auth.url)
    home = window.post(launch_action, data=launch_fields, timeout=30)

    assert home.status_code == 200 and "/c/" in home.url and "lt=" not in home.url


def test_top_level_launch_without_its_cookie_is_still_refused_as_another_browser(sandbox):
    pending = sandbox.begin("student", http=_cookieless())
    refused = pending.post()
    assert refused.status_code == 400 and "not started in this browser" in refused.text


def test_state_cookie_is_partitioned_over_https(make_tool):
    from tests.support import SandboxActions

    tool = make_tool()
    with tool.app.test_client() as client:
        tool.app.config["BASE_URL"] = "https://pathways.example.edu"
        url = SandboxActions(tool).platform.start_launch(
            "student-1", target_link_uri="https://pathways.example.edu/lti/launch")
        response = client.get("/lti/login?" + url.split("?", 1)[1])
        tool.app.config["BASE_URL"] = tool.base_url
    cookie = response.headers["Set-Cookie"]
    assert "lti1p3-state-" in cookie and "Secure" in cookie and "SameSite=None" in cookie and "Partitioned" in cookie


def test_state_cookie_is_not_partitioned_over_plain_http_where_it_cannot_be_secure(sandbox):
    login = sandbox.platform.start_launch("student-1")
    import requests

    response = requests.get(login, allow_redirects=False, timeout=30)
    assert "Partitioned" not in response.headers["Set-Cookie"]


def test_session_cookie_is_partitioned_over_https(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "BASE_URL": "https://pathways.example.edu",
                      "INSTANCE_PATH": str(tmp_path)})
    with app.test_request_context("/"):
        from flask import session

        session["launches"] = ["x"]
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    assert "Partitioned" in response.headers["Set-Cookie"]
