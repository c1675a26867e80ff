"""An attacker tries to take over a registered platform through Dynamic Registration, and cannot.

The "evil" LMS is a plain http.server on loopback (tests/evil.py). Its configuration repeats a registered
issuer and its registration endpoint hands back that platform's real client id, so that a registration which
overwrote the stored endpoints would let it sign launches as that platform.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import AuditEntry, Platform
from lti_tool.services.registry import add_platform
from tests.evil import EvilServer
from tests.lti.test_dynamic_registration import _register, invite
from tests.support import SandboxActions

REAL_CLIENT = "campus-client"


def _campus_platform(tool, issuer: str) -> None:
    """An admin registered the campus LMS by hand (`pathways platform add`)."""
    with tool.app.app_context():
        add_platform(issuer=issuer, client_id=REAL_CLIENT, deployment_ids=["campus-dep"],
                     login_url=issuer + "/auth", token_url=issuer + "/token", jwks_url=issuer + "/jwks",
                     name="Campus LMS")


def _stored(tool, issuer: str) -> tuple[str, str, str]:
    with tool.app.app_context():
        row = db.session.scalars(sa.select(Platform).where(Platform.issuer == issuer,
                                                           Platform.client_id == REAL_CLIENT)).one()
        return row.auth_login_url, row.auth_token_url, row.key_set_url


def _impersonate(evil: EvilServer, issuer: str) -> None:
    """The evil LMS repeats the real issuer and answers registration with the real client id."""
    evil.json("/.well-known/openid-configuration", {
        "issuer": issuer,
        "authorization_endpoint": evil.url("/auth"), "token_endpoint": evil.url("/token"),
        "jwks_uri": evil.url("/jwks"), "registration_endpoint": evil.url("/register"),
        "id_token_signing_alg_values_supported": ["RS256"],
    })
    evil.json("/register", {"client_id": REAL_CLIENT,
                            "https://purl.imsglobal.org/spec/lti-tool-configuration": {"deployment_id": "campus-dep"}})


def _assert_untouched(tool, issuer: str) -> None:
    assert _stored(tool, issuer) == (issuer + "/auth", issuer + "/token", issuer + "/jwks")


def test_registration_without_an_admins_one_time_link_is_refused_before_anything_is_fetched(tool, evil):
    _impersonate(evil, evil.origin)
    page = requests.get(tool.url("/lti/register"), params={
        "openid_configuration": evil.url("/.well-known/openid-configuration"), "registration_token": "t"}, timeout=30)
    assert page.status_code == 403
    assert "one-time registration link" in page.text
    assert evil.hits == []


def test_a_configuration_url_with_the_real_issuer_as_userinfo_cannot_take_the_platform_over(tool, evil):
    issuer = tool.base_url  # http://127.0.0.1:PORT, registered by the admin
    _campus_platform(tool, issuer)
    _impersonate(evil, issuer)
    forged = f"{issuer}@{evil.host}:{evil.port}/.well-known/openid-configuration"
    page = _register(tool, config_url=forged, token="t")
    assert 400 <= page.status_code < 500
    assert evil.hits == []
    _assert_untouched(tool, issuer)


def test_a_configuration_url_that_merely_starts_with_the_issuer_cannot_take_the_platform_over(tool, evil):
    # The issuer's port is a prefix of the evil server's (the IP-address form of issuer.evil.example).
    issuer = f"http://{evil.host}:{str(evil.port)[:-1]}"
    _campus_platform(tool, issuer)
    _impersonate(evil, issuer)
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"), token="t")
    assert 400 <= page.status_code < 600 and page.status_code != 500
    assert "same origin" in page.text
    assert [hit[1] for hit in evil.hits] == ["/.well-known/openid-configuration"]  # never registered
    _assert_untouched(tool, issuer)


def test_a_registration_never_changes_an_existing_issuer_and_client_id(tool, evil):
    # The evil LMS is the registered issuer's own origin this time (a link leaked to it): still no overwrite.
    issuer = evil.origin
    _campus_platform(tool, issuer)
    _impersonate(evil, issuer)
    evil.json("/.well-known/openid-configuration", {
        "issuer": issuer, "authorization_endpoint": issuer + "/evil-auth", "token_endpoint": issuer + "/evil-token",
        "jwks_uri": issuer + "/evil-jwks", "registration_endpoint": issuer + "/register",
        "id_token_signing_alg_values_supported": ["RS256"]})
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"), token="t")
    assert page.status_code == 409
    assert "pathways platform add" in page.text
    _assert_untouched(tool, issuer)


def test_the_allow_list_is_matched_on_the_configuration_urls_origin(make_tool, evil):
    tool = make_tool()
    tool.app.config["REGISTRATION_ALLOWED_ISSUERS"] = tool.base_url
    issuer = tool.base_url
    _impersonate(evil, issuer)
    # The evil LMS declares the allowed issuer; only where its configuration comes from counts.
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"), token="t")
    assert page.status_code == 403
    assert evil.hits == []


def test_a_new_platform_launches_only_after_an_admin_approves_it(tool):
    registered = _register(tool, link=invite(tool, approved=False))
    assert registered.status_code == 200
    client_id = tool.platform.tool.client_id
    assert "pathways platform approve" in registered.text
    refused = requests.get(tool.platform.start_launch(SandboxActions(tool).sub("teacher")), timeout=30)
    assert refused.status_code == 403
    assert "not approved" in refused.text

    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from lti_tool.cli import main

    listed = CliRunner().invoke(main, ["platform", "list"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert "AWAITING APPROVAL" in listed.output
    approved = CliRunner().invoke(main, ["platform", "approve", tool.platform.issuer, client_id],
                                  obj=ScriptInfo(create_app=lambda: tool.app))
    assert approved.exit_code == 0, approved.output
    page = SandboxActions(tool).launch("teacher")
    assert page.status_code == 200, page.text[:500]
    with tool.app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"platform_registered", "platform_approved"} <= actions


def test_an_admin_prints_an_invite_that_works_once(tool):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from lti_tool.cli import main

    result = CliRunner().invoke(main, ["platform", "invite", "--expires", "2h", "--approved"],
                                obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[0]
    assert link.startswith(tool.url("/lti/register?invite="))
    assert _register(tool, link=link).status_code == 200
    again = _register(tool, link=link)
    assert again.status_code == 403
    assert "unknown, used or expired" in again.text
    assert SandboxActions(tool).launch("teacher").status_code == 200  # --approved: no separate approval


def test_an_expired_invite_or_one_for_another_lms_is_refused(tool):
    from lti_tool.models.base import utcnow

    expired = invite(tool, expires_in=timedelta(hours=1), now=utcnow() - timedelta(hours=2))
    assert _register(tool, link=expired).status_code == 403
    other = invite(tool, issuer_prefix="https://moodle.other-school.edu")
    page = _register(tool, link=other)
    assert page.status_code == 403
    assert tool.platform.registrations == []


def test_a_failed_registration_leaves_the_invite_usable(tool):
    link = invite(tool)
    assert _register(tool, link=link, token="not-a-token").status_code == 502
    assert _register(tool, link=link).status_code == 200


def test_the_lms_answer_is_never_shown_on_the_page(tool, evil):
    _impersonate(evil, evil.origin)
    evil.routes["/register"] = lambda h: h.send_json({"error": "<script>SECRET-BODY-MARKER</script>"}, 400)
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"), token="t")
    assert page.status_code == 502
    assert "refused the registration" in page.text
    assert "SECRET-BODY-MARKER" not in page.text


def test_plain_http_registration_is_refused_with_words_for_the_admin_unless_the_setting_allows_it(make_tool):
    tool = make_tool(REGISTRATION_ALLOW_HTTP=False)
    page = _register(tool)
    assert page.status_code == 400
    assert "PATHWAYS_REGISTRATION_ALLOW_HTTP" in page.text
    assert "tell your teacher" not in page.text
    assert "LMS administrator adding Pathways" in page.text
    assert tool.platform.registrations == []


def test_the_development_server_does_not_log_registration_tokens_or_invites(tool, caplog):
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        link = invite(tool)
        _register(tool, link=link, token="SECRET-REGISTRATION-TOKEN")
    assert "/lti/register" in caplog.text
    assert "SECRET-REGISTRATION-TOKEN" not in caplog.text
    assert link.split("invite=")[1] not in caplog.text


def test_platforms_that_existed_before_the_upgrade_stay_approved(tool):
    from flask_migrate import downgrade, upgrade

    with tool.app.app_context():
        downgrade(revision="0007")
        db.session.execute(sa.text(
            "INSERT INTO platform (name, issuer, client_id, auth_login_url, auth_token_url, key_set_url, created_at) "
            "VALUES ('Old LMS', 'https://old.example', 'c1', 'https://old.example/a', 'https://old.example/t', "
            "'https://old.example/j', CURRENT_TIMESTAMP)"))
        db.session.commit()
        upgrade()
        approved = db.session.scalars(sa.select(Platform.approved).where(Platform.issuer == "https://old.example"))
        assert approved.one() is True


def test_an_admin_changes_a_platforms_endpoints_on_the_command_line_and_the_audit_log_says_so(tool):
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from lti_tool.cli import main

    issuer = "https://moodle.school.example"
    _campus_platform(tool, issuer)
    with tool.app.app_context():
        before = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
        assert before == ["platform_added", "deployment_added"]
    result = CliRunner().invoke(main, [
        "platform", "add", "--issuer", issuer, "--client-id", REAL_CLIENT, "--deployment-id", "campus-dep",
        "--login-url", issuer + "/auth", "--token-url", issuer + "/token2", "--jwks-url", issuer + "/jwks",
        "--service-origin", "https://*.school.example"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert result.exit_code == 0, result.output
    with tool.app.app_context():
        actions = list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == [*before, "platform_endpoints_changed"]
        row = db.session.scalars(sa.select(Platform).where(Platform.issuer == issuer)).one()
        assert row.auth_token_url == issuer + "/token2" and row.service_origins == "https://*.school.example"


def test_two_lms_windows_racing_on_one_link_register_only_once(tool):
    from concurrent.futures import ThreadPoolExecutor

    link = invite(tool)
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: _register(tool, link=link).status_code, range(4)))
    assert statuses[0] == 200 and all(s in (403, 409) for s in statuses[1:]), statuses
    assert len(tool.platform.registrations) == 1
