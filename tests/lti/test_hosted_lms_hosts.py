"""A hosted LMS (Canvas Cloud, Blackboard SaaS) whose issuer is not the host its school uses.

Canvas Cloud names itself https://canvas.instructure.com, logs in and signs on sso.canvaslms.com, and shows the
course, serves the roster and gradebook and takes Deep Linking answers on school.instructure.com. An auditor found
Pathways locked out: the school's page could not frame it even with the school's host registered as a service
origin, and nothing told the admin which host to add, nor how. The sandbox plays such an LMS on two servers
(tests/support.py start_hosted_lms): the sso one, and the school's, another origin.
"""

from __future__ import annotations

import re

import pytest
import requests
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool import security
from lti_tool.cli import main
from lti_tool.lti.outbound import is_csp_origin, service_csp_origin
from tests.support import (
    HOSTED_ISSUER,
    SandboxActions,
    class_override,
    demo_first_goal_due,
    drain_outbox,
    logged_warnings,
    parse_form,
    start_hosted_lms,
    submit_form,
)

DL = "LtiDeepLinkingRequest"
LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


def _frame_ancestors(response: requests.Response) -> list[str]:
    return response.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1].split(";")[0].split()


class _Via:
    """What SandboxActions needs of a tool: the platform it drives."""

    def __init__(self, platform) -> None:
        self.platform = platform


@pytest.fixture
def hosted(tool):
    """The hosted LMS, its school's host registered as a service origin (what the admin guides say to do)."""
    platform, stop = start_hosted_lms(tool)
    yield SandboxActions(_Via(platform))
    stop()


@pytest.fixture
def hosted_unregistered(tool):
    """The hosted LMS registered with its issuer and sso endpoints only: the school's host is not known."""
    platform, stop = start_hosted_lms(tool, register_school=False)
    yield SandboxActions(_Via(platform))
    stop()


def _login(tool, lms) -> requests.Response:
    """The login the LMS starts (not followed): its answer is what the school's frame shows first."""
    return requests.get(tool.url("/lti/login"), params={
        "iss": HOSTED_ISSUER, "login_hint": "x", "client_id": lms.platform.tool.client_id,
        "target_link_uri": tool.url("/lti/launch")}, allow_redirects=False, timeout=30)


def _place_the_plan(lms) -> requests.Response:
    picker = lms.launch("teacher", message_type=DL)
    assert picker.status_code == 200, picker.text[:500]
    returning = submit_form(picker, "/deep-link")
    assert returning.status_code == 200, returning.text[:500]
    action, fields = parse_form(returning.text, returning.url)
    assert action == lms.platform.deep_link_return_url  # on the school's host
    done = returning.http.post(action, data=fields, timeout=30)
    assert done.status_code == 200, done.text[:500]
    return picker


def test_with_the_schools_host_registered_it_frames_pathways_takes_links_back_and_gets_grades(tool, hosted):
    school = hosted.platform.school_url
    assert school != hosted.platform.base_url and HOSTED_ISSUER not in (school, hosted.platform.base_url)
    # The login's answer (before any launch is verified) may be framed by the school's page: the admin named it.
    assert school in _frame_ancestors(_login(tool, hosted))
    teacher = submit_form(hosted.launch("teacher"), "/content/demo")
    assert "The course now uses" in teacher.text
    assert school in _frame_ancestors(teacher)
    demo_first_goal_due(tool)
    # Deep Linking: the picker is framed by the school's page, and its answer goes back to the school's host.
    picker = _place_the_plan(hosted)
    assert school in _frame_ancestors(picker)
    (column,) = [url for url, item in hosted.platform.line_items.items() if item["label"] == "My learning plan"]
    assert column.startswith(school + "/")
    # A grade reaches the column on the school's host.
    placed = next(link_id for link_id, link in hosted.platform.courses["math-7"].resource_links.items()
                  if link.title == "My learning plan")
    hosted.launch("student", resource_link_id=placed)
    teacher = hosted.launch("teacher")
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"), timeout=30)
    view.http = teacher.http
    class_override(view, level="Mastered", note="Showed it in class")
    stats = drain_outbox(tool)
    assert stats.posted == 1 and stats.failed == 0, stats
    assert hosted.platform.scores[column][-1]["scoreGiven"] > 0


def _cli(tool, *args: str):
    return CliRunner().invoke(main, list(args), obj=ScriptInfo(create_app=lambda: tool.app), catch_exceptions=False)


def test_unregistered_the_launch_is_framed_by_its_signed_page_and_the_teacher_is_told_the_one_command(
        tool, hosted_unregistered):
    lms = hosted_unregistered
    school, client_id = lms.platform.school_url, lms.platform.tool.client_id
    command = f"pathways platform add-origin {HOSTED_ISSUER} {client_id} {school}"
    # An anonymous request (the login, the launch's POST before it is verified) widens nothing.
    assert school not in _frame_ancestors(_login(tool, lms))
    # A verified launch's pages may be framed by the page its signed return_url names: the school's.
    teacher = lms.launch("teacher")
    assert teacher.status_code == 200, teacher.text[:500]
    assert school in _frame_ancestors(teacher)
    # The roster and gradebook on the school's host are refused, and the teacher's page names the command.
    notice = re.search(r'data-testid="refused-services".*?</section>', teacher.text, re.S).group(0)
    assert school in notice and command in notice
    # Deep Linking: framed too, but the links are not sent to a host the admin has not registered; the page says
    # which host and the command.
    picker = lms.launch("teacher", message_type=DL)
    assert picker.status_code == 400
    assert school in _frame_ancestors(picker)
    assert school in picker.text and command in picker.text
    assert not lms.platform.deep_link_responses
    # The admin runs it: the platform keeps everything else, and the links go back.
    result = _cli(tool, *command.split()[1:])
    assert result.exit_code == 0, result.output
    assert school in result.output
    _place_the_plan(lms)
    assert lms.platform.deep_link_responses
    assert school in _frame_ancestors(_login(tool, lms))  # now the admin named it


def test_a_launchs_signed_return_page_frames_only_that_launchs_pages(tool, sandbox):
    pending = sandbox.begin("student")
    framed = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {
        "document_target": "iframe", "return_url": "https://school.example.edu/courses/1"}}))
    assert framed.status_code == 200
    assert "https://school.example.edu" in _frame_ancestors(framed)
    # Another launch in the same browser, which names no such page, is not framed from there.
    other = sandbox.launch("teacher", http=pending.http)
    assert "https://school.example.edu" not in _frame_ancestors(other)
    # Nor is any page outside a launch.
    assert _frame_ancestors(requests.get(tool.url("/healthz"), timeout=30)) == ["'self'"]


@pytest.mark.parametrize("return_url", [
    "http://school.example.edu/",  # plain http off this machine
    "https://school.example.edu;script-src *",  # would end the directive
    "https://school .example.edu/",  # a space in the host
    "javascript:alert(1)",
])
def test_a_signed_return_url_that_is_no_plain_https_origin_frames_nothing(sandbox, return_url):
    pending = sandbox.begin("student")
    page = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe",
                                                                "return_url": return_url}}))
    assert page.status_code == 200
    header = page.headers["Content-Security-Policy"]
    assert "school.example.edu" not in header and "javascript" not in header
    # script-src, object-src, base-uri, form-action, frame-ancestors: nothing added
    assert header.count(";") == 4 and "form-action 'self';" in header


def test_only_origins_fit_for_the_directive_are_written_into_it():
    assert security.signed_frame_origins({
        "return_url": "https://School.Example.edu:443/x",
        "deep_linking": {"deep_link_return_url": "https://dl.example.edu:8443/return"},
    }) == ["https://school.example.edu", "https://dl.example.edu:8443"]
    assert security.signed_frame_origins({"return_url": "http://127.0.0.1:5000/"}) == ["http://127.0.0.1:5000"]
    assert security.signed_frame_origins({"return_url": "http://lms.example.edu/"}) == []
    assert security.signed_frame_origins(None) == []
    assert not is_csp_origin("https://a;b") and not is_csp_origin("https://a b")
    assert not is_csp_origin("https://*.instructure.com")  # one host: a pattern is an admin's (service_csp_origin)
    assert service_csp_origin("https://*.Instructure.com/") == "https://*.instructure.com"


@pytest.fixture
def security_log():
    with logged_warnings("lti_tool.security") as lines:
        yield lines


def test_a_login_framed_by_an_unregistered_page_tells_the_admin_in_the_log_only(tool, hosted_unregistered,
                                                                                 security_log):
    # The login's page is drawn before any launch is verified: the browser refuses it inside the school's page
    # until the admin registers that host, and nothing else reaches Pathways. The log says which host and how.
    lms = hosted_unregistered
    school, client_id = lms.platform.school_url, lms.platform.tool.client_id
    params = {"iss": HOSTED_ISSUER, "login_hint": "x", "client_id": client_id,
              "target_link_uri": tool.url("/lti/launch")}
    framed = {"Sec-Fetch-Dest": "iframe", "Referer": school + "/courses/1"}
    login = requests.get(tool.url("/lti/login"), params=params, headers=framed, timeout=30)
    assert login.status_code == 200 and school not in _frame_ancestors(login)
    assert "add-origin" not in login.text  # never to the visitor
    command = f"pathways platform add-origin {HOSTED_ISSUER} {client_id} {school}"
    assert [line for line in security_log if command in line], security_log
    # Once per process and host; a page that may frame Pathways (the sso host is registered) is not logged.
    requests.get(tool.url("/lti/login"), params=params, headers=framed, timeout=30)
    requests.get(tool.url("/lti/login"), params=params, timeout=30,
                 headers={"Sec-Fetch-Dest": "iframe", "Referer": lms.platform.base_url + "/x"})
    assert len(security_log) == 1, security_log


# ---- review of the hosted-LMS change: tenants sharing an issuer, host spelling, signed origins, logs, add-origin ----

CANVAS = "https://canvas.instructure.com"
SSO = "https://sso.canvaslms.com"


def _register(issuer: str, client_id: str, origins=None, login: str = SSO + "/api/lti/authorize_redirect"):
    from lti_tool.services.registry import add_platform

    return add_platform(issuer=issuer, client_id=client_id, deployment_ids=["d1"], login_url=login,
                        token_url=SSO + "/login/oauth2/token", jwks_url=SSO + "/api/lti/security/jwks",
                        service_origins=origins)


def _unsigned_token(claims: dict) -> str:
    import base64
    import json

    return "e30." + base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=") + ".c2ln"


def test_a_tenants_registered_host_frames_only_that_tenants_login_and_launch_answers(tool):
    """Canvas Cloud tenants share one issuer: school A's host must not frame school B's login or launch refusals."""
    with tool.app.app_context():
        _register(CANVAS, "school-a", ["https://a.instructure.com"])
        _register(CANVAS, "school-b", ["https://b.instructure.com"])
        _register("https://solo-lms.example", "only", ["https://solo.school.example"])

    def login(issuer: str, client_id: str | None) -> list[str]:
        params = {"iss": issuer, "login_hint": "x", "target_link_uri": tool.url("/lti/launch")}
        if client_id:
            params["client_id"] = client_id
        return _frame_ancestors(requests.get(tool.url("/lti/login"), params=params, allow_redirects=False,
                                             timeout=30))

    assert "https://b.instructure.com" in login(CANVAS, "school-b")
    assert "https://a.instructure.com" not in login(CANVAS, "school-b")
    assert "https://b.instructure.com" not in login(CANVAS, "school-a")
    # No client_id and two tenants: nobody's origins, only 'self' and the configured extras.
    assert login(CANVAS, None) == ["'self'"]
    # No client_id and one approved registration under the issuer: that one, as the login itself picks it.
    assert "https://solo.school.example" in login("https://solo-lms.example", None)
    # The launch's POST, before its token is verified: the token's audience (or azp) picks the registration.
    for claims, present, absent in (
            ({"iss": CANVAS, "aud": "school-b"}, "https://b.instructure.com", "https://a.instructure.com"),
            ({"iss": CANVAS, "aud": ["x", "school-a"], "azp": "school-a"}, "https://a.instructure.com",
             "https://b.instructure.com")):
        refused = requests.post(tool.url("/lti/launch"), data={"id_token": _unsigned_token(claims)}, timeout=30)
        assert present in _frame_ancestors(refused) and absent not in _frame_ancestors(refused)
    ambiguous = requests.post(tool.url("/lti/launch"), timeout=30,
                              data={"id_token": _unsigned_token({"iss": CANVAS, "aud": ["school-a", "school-b"]})})
    assert _frame_ancestors(ambiguous) == ["'self'"]


def test_service_origins_stored_before_they_were_normalised_frame_as_browsers_name_them(tool):
    """A row written before add-origin normalised (capitals, an internationalised host) framed nothing until an
    admin added the origin again; it is read through the same normaliser add-origin stores with."""
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Platform

    stored = ("https://School.Instructure.com https://Bücher.de https://*.Blackboard.com https://a.com/path "
              "https://x.*.com javascript:alert(1) https://a;b.com https://" + "a" * 64 + ".com")
    with tool.app.app_context():
        platform = _register(CANVAS, "school-old")
        db.session.execute(sa.update(Platform).where(Platform.id == platform.id).values(service_origins=stored))
        db.session.commit()
        security.forget_frame_ancestors()
        by_id = security.frame_ancestors(platform_id=platform.id).split()
    wanted = ["https://*.blackboard.com", "https://school.instructure.com", "https://xn--bcher-kva.de"]
    login = _frame_ancestors(requests.get(tool.url("/lti/login"), allow_redirects=False, timeout=30, params={
        "iss": CANVAS, "login_hint": "x", "client_id": "school-old", "target_link_uri": tool.url("/lti/launch")}))
    launch = _frame_ancestors(requests.post(tool.url("/lti/launch"), timeout=30, data={
        "id_token": _unsigned_token({"iss": CANVAS, "aud": "school-old"})}))
    for sources in (by_id, login, launch):
        # The sso host (login URL) and the issuer's, then the stored ones that can frame; nothing else.
        assert sources == sorted(["'self'", CANVAS, SSO, *wanted]), sources


def test_a_posted_login_is_framed_by_the_registration_its_form_names_never_by_its_query_string(tool, sandbox):
    """pylti1p3 reads a POSTed login from its form: a query string naming another tenant must not pick who frames
    the login's page (nor the new-window login it offers), whether the login is accepted or refused."""
    from urllib.parse import parse_qsl, urlencode, urlsplit

    from lti_tool.lti.outbound import csp_origin

    with tool.app.app_context():
        _register(CANVAS, "school-a", ["https://a.instructure.com"])
    login_url = sandbox.platform.start_launch(sandbox.sub("student"))
    form = dict(parse_qsl(urlsplit(login_url).query))
    other_tenant = login_url.split("?")[0] + "?" + urlencode({"iss": CANVAS, "client_id": "school-a"})
    framed = {"Sec-Fetch-Dest": "iframe"}

    page = requests.post(other_tenant, data=form, headers=framed, allow_redirects=False, timeout=30)
    assert page.status_code == 200, page.text[:300]  # the form's login, accepted: its page, in the LMS's frame
    assert "https://a.instructure.com" not in _frame_ancestors(page)
    assert csp_origin(form["iss"]) in _frame_ancestors(page)
    _, new_window = parse_form(page.text, page.url)
    assert new_window["iss"] == form["iss"] and new_window["client_id"] == form["client_id"]

    refused = requests.post(other_tenant, data={**form, "target_link_uri": "https://elsewhere.example/"},
                            headers=framed, allow_redirects=False, timeout=30)
    assert refused.status_code == 400
    assert "https://a.instructure.com" not in _frame_ancestors(refused)
    assert csp_origin(form["iss"]) in _frame_ancestors(refused)


def test_a_platform_whose_hosts_are_written_with_capitals_frames_as_their_lowercase_form(tool):
    with tool.app.app_context():
        platform = _register("https://LMS.Example.edu", "c1", login="https://LMS.Example.edu/mod/lti/auth.php")
        assert security.frame_ancestors(platform_id=platform.id) == "'self' https://lms.example.edu"


@pytest.mark.parametrize("return_url", [
    "https://*.com/x",  # a pattern, not a host
    "https://" + "a" * 64 + ".example.edu/",  # a label longer than DNS allows
    "https://" + "a" * 60 + ("." + "b" * 60) * 4 + ".edu/",  # a host over 253 characters
    "https://" + "a" * 3000 + ".com/",
    "https://a.com\x85x/",
])
def test_a_signed_return_url_frames_only_as_one_plain_host(return_url):
    assert security.signed_frame_origins({"return_url": return_url,
                                          "deep_linking": {"deep_link_return_url": return_url}}) == []


def test_a_signed_internationalised_host_frames_as_its_punycode():
    assert security.signed_frame_origins({"return_url": "https://Bücher.de/x"}) == ["https://xn--bcher-kva.de"]


def test_a_signed_wildcard_return_url_adds_no_source_to_a_launchs_frames(sandbox):
    from tests.support import launch_with_presentation

    page = launch_with_presentation(sandbox, "student", return_url="https://*.com/courses/1")
    assert page.status_code == 200
    assert not [source for source in _frame_ancestors(page) if "*" in source]


def test_a_framed_logins_referer_is_logged_only_as_a_plain_origin_and_a_flood_does_not_silence_it(
        tool, monkeypatch, security_log):
    from lti_tool.noted import NotedOnce

    noted = NotedOnce(per_scope=5, window=60.0)
    monkeypatch.setattr(security, "_NOTED_FRAMERS", noted)
    with tool.app.app_context():
        _register(CANVAS, "school-c")
        with tool.app.test_request_context("/lti/login"):
            security.note_login_framer(CANVAS, "school-c", "https://evil.com\x1b[2J run: curl x|sh \x85FAKE\x0bline/")
            security.note_login_framer(CANVAS, "school-c", "https://evil.com\x1bc\x07 ok\x85INFO fake/")
            assert security_log == []  # not an origin that could frame anything: nothing to tell the admin
            for i in range(50):
                security.note_login_framer(CANVAS, "school-c", f"https://junk{i}.example/")
            assert len(security_log) == 5  # bounded per registration
            security.note_login_framer(CANVAS, "school-c", "https://real-school.instructure.com/courses/1")
            assert not [line for line in security_log if "real-school" in line]
            # ... but only for a while: the window passes and the real host is told.
            monkeypatch.setattr("lti_tool.noted.time.monotonic", lambda: 10.0 ** 9)
            security.note_login_framer(CANVAS, "school-c", "https://real-school.instructure.com/courses/1")
    assert [line for line in security_log if "real-school" in line]
    assert all(line.isprintable() for line in security_log)


def test_noted_once_keeps_a_bounded_number_of_values_per_scope_and_forgets_them_after_its_window():
    from lti_tool.noted import NotedOnce

    noted = NotedOnce(per_scope=2, scopes=2, window=10.0)
    assert noted.first_time("p1", "a", now=0) and not noted.first_time("p1", "a", now=1)
    assert noted.first_time("p1", "b", now=1) and not noted.first_time("p1", "c", now=2)
    assert noted.first_time("p2", "c", now=2)  # another platform is not silenced by p1's flood
    assert noted.first_time("p1", "c", now=10) and noted.first_time("p1", "a", now=10)  # a new window
    assert noted.first_time("p3", "a", now=11)  # a third scope: starts over rather than grow
    assert noted.first_time("p2", "c", now=11)


def test_add_origin_stores_each_origin_once_as_browsers_name_it_and_refuses_what_would_frame_nothing(tool):
    from lti_tool.services.errors import ServiceError
    from lti_tool.services.registry import add_service_origins

    with tool.app.app_context():
        platform = _register(CANVAS, "school-d")
        add_service_origins(CANVAS, "school-d", ["https://Bücher.de", "https://A.com/", "https://a.com",
                                                 "https://*.blackboard.com"])
        assert platform.service_origins == "https://xn--bcher-kva.de https://a.com https://*.blackboard.com"
        assert "https://xn--bcher-kva.de" in security.frame_ancestors(platform_id=platform.id).split()
        for value, message in (("https://x.*.com", "'*' only as its first label"),
                               ("https://*", "'*' only as its first label"),
                               ("https://a b.com", "without spaces"),
                               ("https://" + "a" * 64 + ".com", "at most 63"),
                               ("https://a_b.com", "letters, digits"),
                               ("https://a.com/path", "no path"),
                               ("https://[::1", "no path")):  # urlsplit raises on the unclosed bracket
            with pytest.raises(ServiceError, match=re.escape(message)):
                add_service_origins(CANVAS, "school-d", [value])
        assert platform.service_origins == "https://xn--bcher-kva.de https://a.com https://*.blackboard.com"


def test_platform_add_refuses_a_service_origin_with_a_space_instead_of_storing_two(tool):
    result = CliRunner().invoke(main, [
        "platform", "add", "--issuer", CANVAS, "--client-id", "school-e", "--deployment-id", "d1",
        "--login-url", SSO + "/login", "--token-url", SSO + "/token", "--jwks-url", SSO + "/jwks",
        "--service-origin", "https://a b.com"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code != 0 and "without spaces" in result.output, result.output


@pytest.mark.parametrize(("return_url", "shown"), [
    ("https://Bücher.de/r", "https://xn--bcher-kva.de"),  # the command names what add-origin accepts
    ("https://" + "a" * 3000 + ".com/", None),  # no host could be registered: the plain refusal
    ("https://<b>x</b> a.com/", None),
])
def test_a_deep_linking_refusal_suggests_only_a_command_add_origin_accepts(sandbox, return_url, shown):
    from lti_tool.lti.claims import DL_SETTINGS_CLAIM

    pending = sandbox.begin("teacher", message_type=DL)
    settings = {**pending.claims[DL_SETTINGS_CLAIM], "deep_link_return_url": return_url}
    page = pending.post(pending.resign(**{DL_SETTINGS_CLAIM: settings}))
    assert page.status_code == 400
    assert len(page.headers["Content-Security-Policy"]) < 500
    if shown:
        assert f"add-origin {sandbox.platform.issuer} pathways-sandbox {shown}" in page.text
    else:
        assert "not its own" in page.text and "add-origin" not in page.text
