"""An LMS admin registers Pathways with LTI Dynamic Registration, then people launch it."""

from __future__ import annotations

from datetime import timedelta

import requests

from tests.support import SandboxActions, submit_form


def invite(tool, *, approved: bool = True, **options) -> str:
    """Return a one-time registration link, as `pathways platform invite` prints it."""
    from lti_tool.services.registry import create_invite

    with tool.app.app_context():
        token = create_invite(expires_in=options.pop("expires_in", timedelta(hours=1)), approve=approved, **options)
    return tool.url("/lti/register?invite=" + token)


def _register(tool, token: str | None = None, config_url: str | None = None, link: str | None = None,
              ) -> requests.Response:
    """The LMS admin pastes the tool's registration link; the LMS opens it with its configuration and a token."""
    platform = tool.platform
    link = link or invite(tool)
    params = {"openid_configuration": config_url or platform.openid_configuration_url}
    token = token if token is not None else platform.new_registration_token()
    if token:
        params["registration_token"] = token
    return requests.get(link, params=params, timeout=30)


CLOSES_AT_ONCE = 'data-complete="true"'
DONE_BUTTON = 'id="registration-done"'


def closes_at_once(page: requests.Response) -> bool:
    """Tell whether the page asks the LMS to close its dialog as it loads (js/registration.js), not on "Done"."""
    assert "js/registration.js" in page.text
    return CLOSES_AT_ONCE in page.text and DONE_BUTTON not in page.text


def test_dynamic_registration_registers_the_platform_and_closes_the_window(tool):
    page = _register(tool)
    assert page.status_code == 200, page.text[:500]
    assert closes_at_once(page)
    (sent,) = tool.platform.registrations
    assert sent["initiate_login_uri"] == tool.url("/lti/login")
    assert sent["redirect_uris"] == [tool.url("/lti/launch")]
    assert sent["jwks_uri"] == tool.url("/lti/jwks")
    assert sent["token_endpoint_auth_method"] == "private_key_jwt"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]
    messages = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]
    # The data privacy launch too, since this platform lists it among the messages it supports.
    assert {m["type"] for m in messages} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest",
                                             "DataPrivacyLaunchRequest"}
    assert tool.platform.tool.client_id in page.text


def test_the_lms_may_show_the_registration_page_in_its_frame_success_or_not(tool):
    # Canvas and Moodle open the registration URL in an iframe, from a host we cannot know beforehand.
    assert "frame-ancestors *" in _register(tool).headers["Content-Security-Policy"]
    refused = _register(tool, token="not-a-token")
    assert refused.status_code == 502 and "frame-ancestors *" in refused.headers["Content-Security-Policy"]
    assert "frame-ancestors *" not in requests.get(tool.url("/lti/jwks"), timeout=10).headers.get(
        "Content-Security-Policy", "")


def test_a_registration_that_names_no_deployment_says_what_the_admin_must_add(tool):
    # Canvas's registration answer carries no deployment id: say so, rather than "can now launch".
    tool.platform.registration_names_deployment = False
    page = _register(tool)
    assert page.status_code == 200, page.text[:500]
    assert "can now launch" not in page.text and "did not say which" in page.text
    assert "pathways platform add" in page.text and tool.platform.tool.client_id in page.text
    assert "also approves" not in page.text  # this invite approved the platform already
    # Canvas and Moodle close the dialog on the close message: it waits for "Done", so the admin reads this first.
    assert not closes_at_once(page) and DONE_BUTTON in page.text


def test_an_unapproved_registration_without_a_deployment_says_adding_it_approves_it(tool):
    tool.platform.registration_names_deployment = False
    page = _register(tool, link=invite(tool, approved=False))
    assert page.status_code == 200, page.text[:500]
    assert "did not say which" in page.text and "also approves" in page.text
    assert not closes_at_once(page) and DONE_BUTTON in page.text


def test_an_unapproved_registration_keeps_its_page_open_until_done(tool):
    page = _register(tool, link=invite(tool, approved=False))
    assert page.status_code == 200, page.text[:500]
    assert "pathways platform approve" in page.text
    assert not closes_at_once(page) and DONE_BUTTON in page.text


def test_a_canvas_is_sent_its_own_privacy_level_and_the_placements_it_lists(tool):
    # Without them Canvas gives a dynamically registered tool no placements and anonymous launches (no names).
    platform = tool.platform
    platform.product_family_code = "canvas"
    platform.registration_names_deployment = False
    platform.messages_supported = [
        {"type": "LtiResourceLinkRequest", "placements": ["account_navigation", "course_navigation"]},
        # This Canvas has no assignment_selection: it is not asked for.
        {"type": "LtiDeepLinkingRequest", "placements": ["link_selection", "editor_button"]},
    ]
    assert _register(tool).status_code == 200
    (sent,) = platform.registrations
    config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert config["https://canvas.instructure.com/lti/privacy_level"] == "name_only"  # emails are not kept
    assert {m["type"]: m.get("placements") for m in config["messages"]} == {
        "LtiResourceLinkRequest": ["course_navigation"], "LtiDeepLinkingRequest": ["link_selection"]}


def test_another_lms_is_sent_no_canvas_settings(make_tool):
    tool = make_tool(STORE_EMAIL=True)
    assert _register(tool).status_code == 200
    (sent,) = tool.platform.registrations
    config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert "email" in config["claims"]
    assert not [key for key in config if "canvas.instructure.com" in key]
    assert not [m for m in config["messages"] if "placements" in m]


def test_a_canvas_is_asked_for_emails_only_where_they_are_kept(make_tool):
    tool = make_tool(STORE_EMAIL=True)
    tool.platform.product_family_code = "canvas"
    tool.platform.messages_supported = [{"type": "LtiResourceLinkRequest"}, {"type": "LtiDeepLinkingRequest"}]
    assert _register(tool).status_code == 200
    (sent,) = tool.platform.registrations
    config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert config["https://canvas.instructure.com/lti/privacy_level"] == "public"
    # A Canvas that lists no placements for a message type gets the developer key's ones.
    assert {m["type"]: m.get("placements") for m in config["messages"]}["LtiDeepLinkingRequest"] == [
        "link_selection", "assignment_selection"]


def test_after_dynamic_registration_launches_use_the_new_client_id(tool):
    assert _register(tool).status_code == 200
    page = SandboxActions(tool).launch("teacher")
    assert page.status_code == 200
    assert "Class roster" in page.text
    assert tool.platform.tool.client_id.startswith("dyn-")


def test_registration_with_an_issuer_that_does_not_match_its_configuration_url_is_refused(tool):
    forged = tool.platform.openid_configuration_url.replace("/sandbox/", "/sandbox/../evil/")
    page = _register(tool, config_url=forged)
    assert 400 <= page.status_code < 600 and page.status_code != 500
    assert tool.platform.registrations == []


def test_registration_without_a_valid_token_is_refused_by_the_platform_and_reported(tool):
    page = _register(tool, token="not-a-token")
    assert page.status_code == 502
    assert "refused the registration" in page.text


def test_the_sandbox_opens_the_registration_link_as_the_spec_says_and_keeps_the_invite(tool):
    page = requests.get(tool.platform.registration_launch_url(invite(tool)), timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert closes_at_once(page)


def test_registration_can_be_limited_to_known_issuers(make_tool):
    tool = make_tool(REGISTRATION_ALLOWED_ISSUERS="https://moodle.myschool.edu")
    page = _register(tool)
    assert page.status_code == 403
    assert tool.platform.registrations == []


def test_registration_needs_a_configuration_url(tool):
    page = requests.get(invite(tool), timeout=10)
    assert page.status_code == 400
    assert "configuration URL" in page.text


def test_the_data_privacy_launch_is_offered_only_to_a_platform_that_lists_it():
    from lti_tool.lti.registration import PLATFORM_CONFIG, registration_request

    def offered(*types):
        config = {PLATFORM_CONFIG: {"messages_supported": [{"type": t} for t in types]}}
        body = registration_request("https://pathways.example", config, store_email=False)
        return [m["type"] for m in body["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]]

    assert offered("LtiResourceLinkRequest", "LtiDeepLinkingRequest") == ["LtiResourceLinkRequest",
                                                                          "LtiDeepLinkingRequest"]
    assert offered("LtiResourceLinkRequest", "DataPrivacyLaunchRequest") == ["LtiResourceLinkRequest",
                                                                             "DataPrivacyLaunchRequest"]


def test_the_token_request_uses_the_authorization_server_the_configuration_names(tool):
    # A platform may name an authorization server identifier other than its token endpoint (D2L Brightspace
    # does) and refuse an assertion whose aud is the token endpoint: the roster could then never be read.
    platform = tool.platform
    platform.authorization_server = platform.url("/authorization-server")
    assert _register(tool).status_code == 200
    page = SandboxActions(tool).launch("teacher")
    assert page.status_code == 200
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    granted = [r for r in platform.token_requests if r["ok"]]
    assert granted and not [r for r in platform.token_requests if not r["ok"]]


def test_a_configuration_without_an_authorization_server_keeps_the_token_endpoint_as_aud(tool):
    assert _register(tool).status_code == 200
    from lti_tool.models import Platform

    with tool.app.app_context():
        from lti_tool.extensions import db

        (row,) = db.session.scalars(db.select(Platform).where(Platform.client_id.like("dyn-%"))).all()
        assert row.auth_audience is None


def test_the_registration_and_the_canvas_json_ask_the_lms_for_the_persons_time_zone(tool):
    # Core Appendix C's substitution: the LMS fills it in at each launch, and a course's dates can follow it.
    assert _register(tool).status_code == 200
    (sent,) = tool.platform.registrations
    config = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert config["custom_parameters"] == {"person_time_zone": "$Person.address.timezone"}
    canvas = requests.get(tool.url("/lti/canvas.json"), timeout=30).json()
    assert canvas["custom_fields"]["person_time_zone"] == "$Person.address.timezone"
