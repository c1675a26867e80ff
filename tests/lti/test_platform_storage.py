"""Cookie-less launches through platform storage (1EdTech OIDC Login with LTI Client Side postMessages), over HTTP.

A browser that blocks the tool's cookies inside the LMS frame is a requests session that keeps no cookies. The
postMessage exchange itself runs in real Chromium (tests/browser/test_cookieless_launch.py); here the test reads
what the pages tell the browser and plays the part of its script.
"""

from __future__ import annotations

import json
import re
import time
from http.cookiejar import DefaultCookiePolicy
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.lti.platform_storage import sign_launch_token, tab_binding
from lti_tool.models.learning import Reflection
from lti_tool.services.content import demo_pack_data

from ..support import CLAIM, PEOPLE, SandboxActions, parse_form, served_answer, start_registered_lms, submit_form

PACK = load_pack(demo_pack_data())


def _drop_cookies(response: requests.Response, *args, **kwargs) -> requests.Response:
    # requests would carry a redirect's Set-Cookie to the next hop itself; a blocking browser keeps nothing.
    original = getattr(response.raw, "_original_response", None)
    if original is not None:
        del original.msg["Set-Cookie"]
    return response


def _cookieless() -> requests.Session:
    """Return a browser whose cookies are blocked (third-party cookies inside the LMS frame)."""
    http = requests.Session()
    http.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    http.hooks["response"].append(_drop_cookies)
    return http


def _page_config(html: str) -> dict:
    match = re.search(r"var config = (\{.*?\});", html, re.S)
    assert match, html[:800]
    return json.loads(match.group(1))


class StorageLaunch:
    """A launch whose login offered platform storage, stopped at the tool's storage check page."""

    def __init__(self, sandbox, as_: str = "student", tamper=None, **launch) -> None:
        """tamper, if given, changes the platform's form fields (id_token, state) before they are posted."""
        self.http = _cookieless()
        url = sandbox.platform.start_launch(PEOPLE.get(as_, as_), **launch) + "&lti_storage_target=_parent"
        login = self.http.get(url, allow_redirects=False, timeout=30)
        assert login.status_code == 200, (login.status_code, login.text[:500])
        self.login_config = _page_config(login.text)
        # The login page's script put these into the LMS window before going on to the platform.
        self.platform_storage = {self.login_config["state_key"]: self.login_config["state"],
                                 self.login_config["nonce_key"]: self.login_config["nonce"]}
        auth = self.http.get(self.login_config["auth_url"], timeout=30)
        action, fields = parse_form(auth.text, auth.url)
        self.check_page = self.http.post(action, data=tamper(fields) if tamper else fields, timeout=30)
        assert self.check_page.status_code == 200, self.check_page.text[:800]
        self.check = _page_config(self.check_page.text)
        self.action, self.fields = parse_form(self.check_page.text, self.check_page.url)

    # The check page's script keeps one secret per browser tab in sessionStorage and posts it with the launch.
    tab_secret = "tab-secret-of-this-browser-tab-0001"

    def confirm(self, **changes: str) -> requests.Response:
        """Do what the check page's script does: read storage, then post the launch with its ticket."""
        fields = {**self.fields, "stored_state": self.platform_storage.get(self.check["state_key"], ""),
                  "stored_nonce": self.platform_storage.get(self.check["nonce_key"], ""),
                  "tab_secret": self.tab_secret, **changes}
        response = self.http.post(self.action, data=fields, timeout=30)
        response.http = self.http
        return response


@pytest.fixture
def demo_sandbox(make_tool) -> SandboxActions:
    """The sandbox LMS beside a tool whose new courses start from the demo pack."""
    return SandboxActions(make_tool(DEFAULT_COURSE_PACK="demo"))


def test_login_offering_platform_storage_puts_state_and_nonce_there_and_still_sets_the_state_cookie(sandbox):
    url = sandbox.platform.start_launch(PEOPLE["student"]) + "&lti_storage_target=_parent"
    login = requests.get(url, allow_redirects=False, timeout=30)

    assert login.status_code == 200
    config = _page_config(login.text)
    auth = parse_qs(urlsplit(config["auth_url"]).query)
    assert config["auth_url"].startswith(sandbox.platform.auth_url + "?")
    assert config["state_key"] == "lti_state_" + auth["state"][0] and config["state"] == auth["state"][0]
    assert config["nonce_key"] == "lti_nonce_" + auth["nonce"][0] and config["nonce"] == auth["nonce"][0]
    assert config["origin"] == sandbox.platform.base_url.rsplit("/sandbox", 1)[0]
    assert config["target"] == "_parent"
    assert login.cookies.get("lti1p3-" + auth["state"][0]) == auth["state"][0]
    assert "Open Pathways in a new window" in login.text
    assert login.headers["Cache-Control"] == "no-store"


def test_login_reopened_in_a_new_window_uses_the_plain_cookie_redirect(sandbox):
    url = sandbox.platform.start_launch(PEOPLE["student"]) + "&lti_storage_target=_parent&lti1p3_new_window=1"
    login = requests.get(url, allow_redirects=False, timeout=30)

    assert login.status_code == 302
    assert login.headers["Location"].startswith(sandbox.platform.auth_url + "?")


def test_learner_whose_browser_blocks_cookies_launches_through_platform_storage_and_practises(demo_sandbox):
    launch = StorageLaunch(demo_sandbox)
    assert "Checking this launch with your LMS" in launch.check_page.text
    assert urlsplit(launch.action).path == "/lti/launch/verified"

    home = launch.confirm()

    assert home.status_code == 200, home.text[:800]
    assert "/c/" in home.url and "lt=" in home.url
    assert not launch.http.cookies  # nothing was kept: the launch token carries the launch
    practice_link = re.search(r'href="([^"]*/practice/[^"]*)"', home.text)
    assert practice_link and "lt=" in practice_link.group(1)
    practice = launch.http.get(requests.compat.urljoin(home.url, practice_link.group(1).replace("&amp;", "&")),
                               timeout=30)
    practice.http = launch.http
    answer = served_answer(demo_sandbox.tool, practice)

    feedback = submit_form(practice, "/practice/" + practice.url.split("/practice/")[1].split("?")[0], answer=answer,
                           ts=launch.tab_secret)  # the page's script adds the tab's secret to every form

    assert feedback.status_code == 200, feedback.text[:800]
    assert "That&#39;s right!" in feedback.text or "That's right!" in feedback.text


def test_storage_check_ticket_works_only_once(sandbox):
    launch = StorageLaunch(sandbox)
    assert launch.confirm().status_code == 200

    again = launch.confirm()

    assert again.status_code == 400
    assert "/c/" not in again.url
    assert "Start again from your course" in again.text


def test_storage_value_that_does_not_match_the_state_is_refused_and_uses_up_the_ticket(sandbox):
    launch = StorageLaunch(sandbox)

    wrong = launch.confirm(stored_state=launch.check["state"] + "x")

    assert wrong.status_code == 400
    assert "could not be confirmed" in wrong.text
    assert launch.confirm().status_code == 400  # the ticket is gone; start again from the course


def test_storage_check_without_the_page_ticket_is_refused(sandbox):
    launch = StorageLaunch(sandbox)

    forged = launch.confirm(ticket="made-up-ticket")

    assert forged.status_code == 400
    assert launch.confirm().status_code == 200  # the real ticket was not used up by the forgery


def test_launch_without_cookie_and_without_platform_storage_is_still_refused(sandbox):
    pending = sandbox.begin("student", http=_cookieless())

    refused = pending.post()

    assert refused.status_code == 400
    assert "not started in this browser" in refused.text


def _launch_id_and_token(home: requests.Response) -> tuple[str, str]:
    parts = urlsplit(home.url)
    return parts.path.split("/")[2], parse_qs(parts.query)["lt"][0]


def test_forged_launch_token_is_refused(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)
    http = _cookieless()

    assert http.get(tool.url(f"/c/{launch_id}/"), params={"lt": token}, timeout=30).status_code == 200
    other_key = sign_launch_token(launch_id, "not-the-secret-key", tab_binding(StorageLaunch.tab_secret))
    assert http.get(tool.url(f"/c/{launch_id}/"), params={"lt": other_key}, timeout=30).status_code == 404
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert http.get(tool.url(f"/c/{launch_id}/"), params={"lt": tampered}, timeout=30).status_code == 404
    # A valid token names one launch only.
    other = StorageLaunch(sandbox, "teacher").confirm()
    other_id, _ = _launch_id_and_token(other)
    assert http.get(tool.url(f"/c/{other_id}/"), params={"lt": token}, timeout=30).status_code == 404
    assert http.get(tool.url(f"/c/{launch_id}/"), timeout=30).status_code == 404


def test_expired_launch_token_is_refused(tool, sandbox):
    home = StorageLaunch(sandbox).confirm()
    launch_id, _ = _launch_id_and_token(home)

    class Yesterday(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - tool.app.config["LAUNCH_TOKEN_SECONDS"] - 60

    stale = URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session",
                                   signer=Yesterday).dumps([launch_id, tab_binding(StorageLaunch.tab_secret)])

    refused = _cookieless().get(tool.url(f"/c/{launch_id}/"), params={"lt": stale}, timeout=30)
    # A token we signed, only idle too long: its time ran out (not "a launch this browser did not make").
    assert refused.status_code == 403 and "ran out" in refused.text


def test_teacher_post_with_launch_token_works_without_a_session_and_without_it_is_refused(tool, sandbox):
    home = StorageLaunch(sandbox, "teacher").confirm()
    launch_id, token = _launch_id_and_token(home)
    http = _cookieless()

    ts = {"ts": StorageLaunch.tab_secret}
    with_token = http.post(tool.url(f"/c/{launch_id}/content/demo"), params={"lt": token}, data=ts, timeout=30)
    assert with_token.status_code == 200 and "lt=" in with_token.url  # redirected to the home page, token kept

    in_body = http.post(tool.url(f"/c/{launch_id}/content/demo"), data={"lt": token, **ts}, timeout=30)
    assert in_body.status_code == 200

    without = http.post(tool.url(f"/c/{launch_id}/content/demo"), timeout=30)
    assert without.status_code == 404


def test_post_with_a_session_but_no_csrf_token_is_still_refused(tool, sandbox):
    home = sandbox.launch(as_="teacher")
    launch_id = urlsplit(home.url).path.split("/")[2]

    forged = home.http.post(tool.url(f"/c/{launch_id}/content/demo"), timeout=30)

    assert forged.status_code == 400
    assert "did not come from Pathways" in forged.text
    # A made-up launch token does not stand in for the missing CSRF token either.
    assert home.http.post(tool.url(f"/c/{launch_id}/content/demo"), data={"lt": "x"}, timeout=30).status_code == 400
    assert submit_form(home, "/content/demo").status_code == 200


def test_storage_launch_without_the_tabs_secret_is_refused(sandbox):
    launch = StorageLaunch(sandbox)
    refused = launch.confirm(tab_secret="")
    assert refused.status_code == 400 and "/c/" not in refused.url


def test_launch_posted_into_someone_elses_browser_cannot_save_anything_there(tool, sandbox):
    """Login CSRF (issue 8): an attacker runs their own storage launch and has the victim's browser post its final
    step. The victim lands in the attacker's launch, but their tab holds another secret (or none), so nothing the
    victim does there is saved into the attacker's account."""
    attacker = StorageLaunch(sandbox, "teacher")
    victim = _cookieless()
    fields = {**attacker.fields, "stored_state": attacker.check["state"], "stored_nonce": attacker.check["nonce"],
              "tab_secret": attacker.tab_secret}
    landed = victim.post(attacker.action, data=fields, timeout=30)
    launch_id, token = _launch_id_and_token(landed)

    victims_tab = {"lt": token, "ts": "the-victims-own-tab-secret-0002"}
    assert victim.post(tool.url(f"/c/{launch_id}/content/demo"), data=victims_tab, timeout=30).status_code == 403
    assert victim.post(tool.url(f"/c/{launch_id}/content/demo"), data={"lt": token}, timeout=30).status_code == 403


def test_launch_posted_into_a_browser_that_keeps_cookies_never_enters_its_session(demo_sandbox):
    """Login CSRF into an ordinary browser: the hidden cross-site form's answer is a top-level page, so its cookies
    are kept. The attacker's launch must not join the victim's session, whose cookie would open it with no tab
    secret asked: the victim's own words would be saved into the attacker's account, for them to read."""
    tool = demo_sandbox.tool
    victim = requests.Session()
    own = demo_sandbox.launch("student-2", http=victim)  # the victim's own launch, in their session cookie
    own_launch = urlsplit(own.url).path.split("/")[2]
    attacker = StorageLaunch(demo_sandbox, "student")
    fields = {**attacker.fields, "stored_state": attacker.check["state"], "stored_nonce": attacker.check["nonce"],
              "tab_secret": attacker.tab_secret}

    landed = victim.post(attacker.action, data=fields, timeout=30)
    launch_id, token = _launch_id_and_token(landed)

    assert victim.get(tool.url(f"/c/{own_launch}/reflect"), timeout=30).status_code == 200
    # Without the token the victim's cookie does not open the attacker's pages.
    for path in ("/", "/reflect"):
        refused = victim.get(tool.url(f"/c/{launch_id}{path}"), timeout=30)
        assert refused.status_code == 404 and "did not make" in refused.text
    # With it (the address the post led to), the victim's tab cannot bring the attacker's tab secret.
    page = victim.get(tool.url(f"/c/{launch_id}/reflect"), params={"lt": token}, timeout=30)
    page.http = victim
    assert submit_form(page, "/reflect", answer_0="The victim's own words").status_code == 403
    assert submit_form(page, "/reflect", answer_0="The victim's own words",
                       ts="the-victims-own-tab-secret-0002").status_code == 403
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Reflection)) == 0


def test_session_cookie_never_opens_a_launch_made_through_the_storage_check(tool, sandbox):
    """Even a session cookie that names it (forged, or written before such launches were kept out of sessions)
    opens a platform-storage launch only with its tab's launch token."""
    launch_id, token = _launch_id_and_token(StorageLaunch(sandbox).confirm())
    cookie = tool.app.session_interface.get_signing_serializer(tool.app).dumps({"launches": [launch_id]})

    refused = requests.get(tool.url(f"/c/{launch_id}/"), cookies={"pathways_session": cookie}, timeout=30)

    assert refused.status_code == 404 and "did not make" in refused.text
    assert _cookieless().get(tool.url(f"/c/{launch_id}/"), params={"lt": token}, timeout=30).status_code == 200


def test_launch_token_lives_minutes_and_each_page_renews_it(tool, sandbox):
    assert tool.app.config["LAUNCH_TOKEN_SECONDS"] <= 3600
    home = StorageLaunch(sandbox).confirm()
    launch_id, _ = _launch_id_and_token(home)
    serializer = URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session")
    binding = tab_binding(StorageLaunch.tab_secret)

    def token_from(minutes_ago: int) -> str:
        class Earlier(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(time.time()) - minutes_ago * 60

        return URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session",
                                      signer=Earlier).dumps([launch_id, binding])

    assert _cookieless().get(tool.url(f"/c/{launch_id}/"), params={"lt": token_from(20)}, timeout=30).status_code == 403
    page = _cookieless().get(tool.url(f"/c/{launch_id}/"), params={"lt": token_from(10)}, timeout=30)
    assert page.status_code == 200
    renewed = re.search(r'href="[^"]*[?&]lt=([^"&]+)', page.text).group(1)
    _, issued = serializer.loads(renewed, return_timestamp=True)
    assert time.time() - issued.timestamp() < 60  # the page's links carry a fresh token, not the 10-minute-old one


def test_cookieless_teacher_sees_the_confirmation_of_a_save_once_and_not_again_on_reload(tool, sandbox):
    """Flashed messages live in the session cookie this browser never keeps: the tool keeps them for the tab."""
    home = StorageLaunch(sandbox, "teacher").confirm()
    launch_id, token = _launch_id_and_token(home)
    http = _cookieless()

    saved = http.post(tool.url(f"/c/{launch_id}/content/demo"), data={"lt": token, "ts": StorageLaunch.tab_secret},
                      timeout=30)

    assert saved.status_code == 200 and "lt=" in saved.url
    assert 'id="flashes-shown"' in saved.text and "The course now uses" in saved.text
    reloaded = http.get(saved.url, timeout=30)
    assert reloaded.status_code == 200 and "Use the demo pack" not in reloaded.text  # the same page, saved
    assert "The course now uses" not in reloaded.text and 'id="flashes"' not in reloaded.text


def test_cookieless_confirmations_wait_for_the_next_page_and_stay_with_their_own_launch(demo_sandbox):
    """A message waits for the next page even when a keep-alive comes first; another launch never sees it."""
    tool = demo_sandbox.tool
    student = StorageLaunch(demo_sandbox).confirm()
    launch_id, token = _launch_id_and_token(student)
    other = StorageLaunch(demo_sandbox, "student-2").confirm()
    other_id, other_token = _launch_id_and_token(other)
    http, tab = _cookieless(), {"ts": StorageLaunch.tab_secret}

    posted = http.post(tool.url(f"/c/{launch_id}/reflect"), data={"lt": token, "answer_0": "Common denominators",
                                                                    **tab}, allow_redirects=False, timeout=30)
    assert posted.status_code == 303
    assert http.post(tool.url(f"/c/{launch_id}/keep-alive"), data={"lt": token, **tab}, timeout=30).ok
    assert "your reflection is saved" not in http.get(tool.url(f"/c/{other_id}/reflect"), params={"lt": other_token},
                                                      timeout=30).text

    page = http.get(requests.compat.urljoin(posted.url, posted.headers["Location"]), timeout=30)
    assert "Thanks: your reflection is saved." in page.text
    assert "your reflection is saved" not in http.get(page.url, timeout=30).text


def test_a_token_from_another_registered_lms_is_refused_after_the_storage_check_too(sandbox, tool):
    """Security Framework §5.1.3: the login's state names its registration; the cookie-less path checks it too."""
    other, server = start_registered_lms(tool, "Other LMS", "other-client", "other-dep")
    try:
        def signed_by_the_other_lms(fields: dict) -> dict:
            claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
            claims.update(iss=other.issuer, aud="other-client", **{CLAIM + "deployment_id": "other-dep"})
            claims.pop("azp", None)
            return {**fields, "id_token": other.sign(claims)}

        launch = StorageLaunch(sandbox, tamper=signed_by_the_other_lms)
        refused = launch.confirm()
    finally:
        server.shutdown()
    assert refused.status_code == 400, refused.text[:500]
    assert "different LMS or tool registration than its login" in refused.text
    assert "/c/" not in refused.url and not launch.http.cookies


def test_a_signed_token_longer_than_any_typed_field_launches_through_the_storage_check(sandbox):
    """A real id_token may pass 20,000 characters (large custom claims); it is capped at MAX_ID_TOKEN_CHARS only."""
    def with_a_large_custom_claim(fields: dict) -> dict:
        claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
        claims[CLAIM + "custom"] = {"blob": "x" * 30_000}
        return {**fields, "id_token": sandbox.platform.sign(claims)}

    launch = StorageLaunch(sandbox, tamper=with_a_large_custom_claim)
    assert len(launch.fields["id_token"]) > 40_000
    home = launch.confirm()
    assert home.status_code == 200 and "/c/" in home.url, home.text[:500]
