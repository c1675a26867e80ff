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


def _kids(tool) -> list[str]:
    return [k["kid"] for k in requests.get(tool.url("/lti/jwks")).json()["keys"]]


def _published_ago(tool, kid: str, seconds: int) -> None:
    """Make the key look published `seconds` earlier than it was (the tool's clock is not ours to move)."""
    from datetime import timedelta

    from lti_tool.models import ToolKey

    with tool.app.app_context():
        key = db.session.scalars(sa.select(ToolKey).where(ToolKey.kid == kid)).one()
        key.created_at -= timedelta(seconds=seconds)
        db.session.commit()


def _signs_after(tool) -> int:
    return tool.app.config["KEY_SIGNS_AFTER_SECONDS"]


def test_rotating_publishes_the_new_key_at_once_and_retires_the_old_one_only_once_the_new_one_signs(tool):
    first = _kids(tool)[0]
    rotated = _cli(tool, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    kids = _kids(tool)
    assert len(kids) == 2 and first in kids and kids[0] != first  # newest first, published at once
    assert f"New key {kids[0]} is published in /lti/jwks now. It signs from " in rotated.output
    assert f"until then key {first} signs" in rotated.output and "--retire" in rotated.output
    # Retiring now would leave only a key the LMSs may not have fetched: the key that signs stays.
    early = _cli(tool, "keys", "rotate", "--retire")
    assert early.exit_code == 0, early.output
    assert "Retired: nothing" in early.output and f"Signing key: {first}." in early.output
    assert f"Key {kids[0]} signs from " in early.output
    assert _kids(tool) == kids
    _published_ago(tool, kids[0], _signs_after(tool))
    retired = _cli(tool, "keys", "rotate", "--retire")
    assert f"Retired: {first}" in retired.output and f"Signing key: {kids[0]}." in retired.output
    assert _kids(tool) == [kids[0]]


def test_a_leaked_key_is_replaced_at_once_by_rotating_with_compromised(tool):
    from lti_tool.lti.keys import current_signing_key

    first = _kids(tool)[0]
    _cli(tool, "keys", "rotate")  # a rotation under way: its key waits to sign
    waiting = _kids(tool)[0]
    replaced = _cli(tool, "keys", "rotate", "--compromised")
    assert replaced.exit_code == 0, replaced.output
    newest = _kids(tool)
    assert len(newest) == 1 and newest[0] not in (first, waiting)  # neither old key is published any more
    assert f"New key {newest[0]} signs now; retired: " in replaced.output
    assert first in replaced.output and waiting in replaced.output
    with tool.app.app_context():
        assert current_signing_key(tool.app.config["SECRET_KEY"]).kid == newest[0]
    both = _cli(tool, "keys", "rotate", "--compromised", "--retire")
    assert both.exit_code != 0 and "not both" in both.output and _kids(tool) == newest


def test_a_new_key_signs_only_after_lms_caches_of_the_key_set_have_run_out(tool):
    # LMSs keep a tool's key set for hours whatever its max-age says; one that has not fetched the new key refuses
    # what it signs, grades included.
    from datetime import timedelta

    from lti_tool.lti.keys import current_signing_key
    from lti_tool.models.base import utcnow

    secret = tool.app.config["SECRET_KEY"]
    assert _signs_after(tool) >= 3600
    max_age = int(requests.get(tool.url("/lti/jwks")).headers["Cache-Control"].split("max-age=")[1])
    assert max_age <= _signs_after(tool)
    with tool.app.app_context():
        first = current_signing_key(secret).kid
    _cli(tool, "keys", "rotate")
    newest = _kids(tool)[0]
    with tool.app.app_context():
        assert current_signing_key(secret).kid == first  # published, not yet signing
        assert current_signing_key(secret, now=utcnow() + timedelta(minutes=10)).kid == first
        later = utcnow() + timedelta(seconds=_signs_after(tool) + 1)
        assert current_signing_key(secret, now=later).kid == newest
    # A second rotation before the first key signs: the key published longest keeps signing.
    _cli(tool, "keys", "rotate")
    with tool.app.app_context():
        assert current_signing_key(secret, now=utcnow() + timedelta(minutes=10)).kid == first
    listing = _cli(tool, "keys", "list").output
    assert f"{first}\t" in listing and "active, signs\n" in listing and "active, signs from " in listing


def test_grades_and_roster_calls_keep_working_for_an_lms_that_cached_the_old_key_set(sandbox, tool):
    page = sandbox.launch("teacher")
    assert "Roster updated" in submit_form(page, "roster/sync").text  # the LMS fetched our key set
    cached = tool.platform._tool_jwks
    tool.platform._fetch_tool_jwks = lambda: cached  # an LMS that keeps its copy for hours, unknown kid or not
    _cli(tool, "keys", "rotate")
    _published_ago(tool, _kids(tool)[0], 600)  # ten minutes later: past our max-age, not past the LMS's cache
    with tool.app.app_context():
        from lti_tool.extensions import cache

        cache.clear()  # the access token ran out: the next call signs a new client assertion
    synced = submit_form(page, "roster/sync")
    assert "Roster updated" in synced.text, synced.text[:500]
    assert [r["ok"] for r in tool.platform.token_requests] == [True, True], tool.platform.token_requests


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
    _published_ago(tool, _kids(tool)[0], _signs_after(tool))  # a day on: the new key signs
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


def test_paging_links_in_capitals_or_with_several_relation_types_are_followed_to_the_end(sandbox, tool):
    # RFC 8288: relation types compare case-insensitively (§2.1.1) and one rel may hold several (§3.3). Read as
    # exact strings, "Next" on page one ended the roster there, and its other members were marked as leavers.
    tool.platform.page_size = 2
    tool.platform.rich_link_relations = True
    page = sandbox.launch("teacher")
    synced = submit_form(page, "roster/sync")
    assert "Roster updated: 7 members" in synced.text
    assert len([r for r in tool.platform.service_requests if "/memberships" in r["url"]]) == 4  # 2 + 2 + 2 + 1


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


def test_a_token_kept_for_a_registration_is_not_reused_once_it_names_other_hosts_or_another_token_endpoint(tool):
    # A platform removed and registered again under the same issuer and client id (or changed by `platform add`)
    # may name other hosts: the token the old registration got must not be sent there, nor one from another
    # token endpoint be used with it. Each registration as it stands asks for its own.
    score = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
    http, secret = tool.app.extensions["pathways_http"], tool.app.config["SECRET_KEY"]
    with tool.app.app_context():
        row = db.session.scalars(sa.select(Platform).where(Platform.client_id == tool.platform.tool.client_id)).one()
        first = platform_connector(row, secret_key=secret, http=http, timeout=10).get_access_token([score])
        assert platform_connector(row, secret_key=secret, http=http, timeout=10).get_access_token([score]) == first
        asked = len(tool.platform.token_requests)
        changed = add_platform(issuer=row.issuer, client_id=row.client_id, deployment_ids=["d"],
                               login_url=row.auth_login_url, token_url=row.auth_token_url, jwks_url=row.key_set_url,
                               service_origins=["https://stranger.example"])
        again = platform_connector(changed, secret_key=secret, http=http, timeout=10).get_access_token([score])
        assert len(tool.platform.token_requests) == asked + 1 and again != first
        moved = add_platform(issuer=row.issuer, client_id=row.client_id, deployment_ids=["d"],
                             login_url=row.auth_login_url, token_url=row.auth_token_url + "?moved=1",
                             jwks_url=row.key_set_url, service_origins=["https://stranger.example"])
        # Asked of the endpoint as it is now (which refuses an assertion made out to another URL), not taken kept.
        with pytest.raises(ServiceCallError):
            platform_connector(moved, secret_key=secret, http=http, timeout=10).get_access_token([score])
        assert len(tool.platform.token_requests) == asked + 2
