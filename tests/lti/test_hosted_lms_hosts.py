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
from tests.support import (
    HOSTED_ISSUER,
    SandboxActions,
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
    submit_form(view, "/class/override", level="Mastered", note="Showed it in class")
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
    assert header.count(";") == 3  # script-src, object-src, base-uri, frame-ancestors: nothing added


def test_only_origins_fit_for_the_directive_are_written_into_it():
    assert security.signed_frame_origins({
        "return_url": "https://School.Example.edu:443/x",
        "deep_linking": {"deep_link_return_url": "https://dl.example.edu:8443/return"},
    }) == ["https://school.example.edu", "https://dl.example.edu:8443"]
    assert security.signed_frame_origins({"return_url": "http://127.0.0.1:5000/"}) == ["http://127.0.0.1:5000"]
    assert security.signed_frame_origins({"return_url": "http://lms.example.edu/"}) == []
    assert security.signed_frame_origins(None) == []
    assert not security.is_csp_origin("https://a;b") and not security.is_csp_origin("https://a b")
    assert security.is_csp_origin("https://*.instructure.com")


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
