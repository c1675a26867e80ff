"""Tool keys: the JWKS, rotation and retirement, and service calls that sign with the newest key."""

from __future__ import annotations

import jwt
import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner

from lti_tool.cli import main
from lti_tool.extensions import db
from lti_tool.lti.services import ServiceCallError
from lti_tool.models import Platform
from lti_tool.services.registry import add_platform
from lti_tool.services.roster import platform_connector
from tests.support import submit_form


def _cli(tool, *args):
    runner = CliRunner()
    obj_app = tool.app
    from flask.cli import ScriptInfo

    return runner.invoke(main, list(args), obj=ScriptInfo(create_app=lambda: obj_app), catch_exceptions=False)


def test_jwks_serves_the_tool_key_with_kid_and_no_private_parts(tool):
    body = requests.get(tool.url("/lti/jwks")).json()
    assert len(body["keys"]) == 1
    key = body["keys"][0]
    assert key["kid"] and key["alg"] == "RS256" and key["use"] == "sig" and key["kty"] == "RSA"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys()
    assert requests.get(tool.url("/.well-known/jwks.json")).json() == body


def test_rotating_keeps_the_old_key_published_until_retired(tool):
    first = requests.get(tool.url("/lti/jwks")).json()["keys"][0]["kid"]
    result = _cli(tool, "keys", "rotate")
    assert result.exit_code == 0, result.output
    kids = [k["kid"] for k in requests.get(tool.url("/lti/jwks")).json()["keys"]]
    assert len(kids) == 2 and first in kids and kids[0] != first  # newest first
    result = _cli(tool, "keys", "rotate", "--retire")
    assert first in result.output
    assert [k["kid"] for k in requests.get(tool.url("/lti/jwks")).json()["keys"]] == [kids[0]]


def test_a_new_key_signs_only_once_platforms_can_have_fetched_it(tool):
    # Our JWKS may be cached for max-age seconds: a platform that has not fetched the new key would refuse it.
    from datetime import timedelta

    from lti_tool.lti.keys import JWKS_MAX_AGE_SECONDS, current_signing_key
    from lti_tool.models.base import utcnow

    secret = tool.app.config["SECRET_KEY"]
    with tool.app.app_context():
        first = current_signing_key(secret).kid
    _cli(tool, "keys", "rotate")
    newest = requests.get(tool.url("/lti/jwks")).json()["keys"][0]["kid"]
    assert newest != first
    with tool.app.app_context():
        assert current_signing_key(secret).kid == first  # published, not yet signing
        later = utcnow() + timedelta(seconds=JWKS_MAX_AGE_SECONDS + 1)
        assert current_signing_key(secret, now=later).kid == newest
    retired = _cli(tool, "keys", "rotate", "--retire")  # the admin retires the old key: the new one signs at once
    assert "Warning: the newest key is less than 5 minutes old" in retired.output and first in retired.output
    with tool.app.app_context():
        assert current_signing_key(secret).kid == newest


def test_private_keys_never_appear_in_cli_output_or_pages(tool):
    listing = _cli(tool, "keys", "list").output
    assert "PRIVATE" not in listing
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ToolKey

        stored = db.session.scalars(db.select(ToolKey)).first()
        assert b"PRIVATE KEY" not in stored.private_key_encrypted  # encrypted at rest
        assert "PRIVATE" not in repr(stored)


def test_roster_sync_gets_a_token_signed_with_the_newest_key(sandbox, tool):
    page = sandbox.launch("teacher")
    _cli(tool, "keys", "rotate")
    _cli(tool, "keys", "rotate", "--retire")  # the platform can now only verify the newest key
    synced = submit_form(page, "roster/sync")
    assert synced.status_code == 200
    assert "Roster updated: 7 members" in synced.text
    granted = [r for r in tool.platform.token_requests if r["ok"]]
    assert len(granted) == 1
    for name in ("Zainab Hassan", "Noah Kim", "Daniel Reyes"):
        assert name in synced.text


def test_access_tokens_are_reused_until_they_expire(sandbox, tool):
    page = sandbox.launch("teacher")
    for _ in range(3):
        assert "Roster updated" in submit_form(page, "roster/sync").text
    assert len([r for r in tool.platform.token_requests if r["ok"]]) == 1


def test_roster_paging_follows_mixed_case_next_links_to_the_end(sandbox, tool):
    """pylti1p3 gap: it lower-cases the next-page URL, which breaks case-sensitive cursors."""
    tool.platform.page_size = 2
    page = sandbox.launch("teacher")
    synced = submit_form(page, "roster/sync")
    assert "Roster updated: 7 members" in synced.text


def test_relative_paging_and_differences_links_are_followed_on_the_platform(sandbox, tool):
    # RFC 8288 §3.2: a Link may be relative to the URL that answered; the roster must not stop at page one.
    tool.platform.page_size = 2
    tool.platform.relative_links = True
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    tool.platform.add_user("student-6", roles=["Learner"], name="Ava Novak", context_id="math-7")
    page = submit_form(page, "roster/sync")  # through the differences link: only the newcomer comes back
    assert "Roster updated: 8 members, 1 new" in page.text and "Ava Novak" in page.text


def test_service_calls_identify_pathways_with_a_user_agent(tool):
    from lti_tool.lti.outbound import USER_AGENT

    assert tool.app.extensions["pathways_http"].headers["User-Agent"] == USER_AGENT
    assert "Pathways" in USER_AGENT


def test_jwt_library_is_pyjwt_2():
    assert jwt.__version__.startswith("2.")


def test_two_registrations_on_one_issuer_never_share_an_access_token(tool):
    # Canvas Cloud's tenants share one issuer and tell clients apart by id, which may hold any character: the
    # token cached for client X and scopes lineitem + score must not be handed to client "X|lineitem" asking
    # for score (joined with "|", their cache keys were the same).
    lineitem = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"
    score = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    http, secret = tool.app.extensions["pathways_http"], tool.app.config["SECRET_KEY"]
    with tool.app.app_context():
        sandbox = db.session.scalars(sa.select(Platform).where(Platform.client_id == tool.platform.tool.client_id)).one()
        assert platform_connector(sandbox, secret_key=secret, http=http, timeout=10).get_access_token([lineitem, score])
        other = add_platform(issuer=sandbox.issuer, client_id=f"{sandbox.client_id}|{lineitem}", deployment_ids=["d"],
                             login_url=sandbox.auth_login_url, token_url=sandbox.auth_token_url,
                             jwks_url=sandbox.key_set_url)
        # The platform does not know that client: it asks, and is refused, rather than reusing the other's token.
        with pytest.raises(ServiceCallError):
            platform_connector(other, secret_key=secret, http=http, timeout=10).get_access_token([score])
    assert tool.platform.token_requests[-1]["client_id"] == f"{tool.platform.tool.client_id}|{lineitem}"
