"""Forged, expired, replayed or malformed launches get a 4xx with a plain message and never a session.

1EdTech Security Framework 1.0 §5.1.3 (authentication response validation) and LTI 1.3 Core §5.1.
Tests marked "pylti1p3 gap" fail on bare pylti1p3 2.0.0 and pass only because of lti_tool/lti/launch.py.
"""

from __future__ import annotations

import base64
import logging
import time
import urllib.parse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support import CLAIM, PendingLaunch, SandboxActions, parse_form, start_registered_lms


def assert_refused(response: requests.Response, *fragments: str, status: int | None = None) -> None:
    """The launch was refused politely: 4xx, a readable message, no stack trace, no session."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    if status is not None:
        assert response.status_code == status
    assert "Traceback" not in response.text
    assert "This launch could not be completed" in response.text or "could not" in response.text
    for fragment in fragments:
        assert fragment.lower() in response.text.lower(), response.text[:1000]
    for r in [*response.history, response]:
        assert "pathways_session" not in r.headers.get("Set-Cookie", "")


@pytest.fixture
def pending(sandbox):
    return sandbox.begin("student")


def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_id_token_with_a_bad_signature_is_refused(pending):
    forged = pending.platform.sign(pending.claims, key=_other_key(), kid=pending.header["kid"])
    assert_refused(pending.post(forged), "not valid")


def test_id_token_whose_kid_is_not_in_the_platform_jwks_is_refused_after_one_refresh(pending):
    forged = pending.platform.sign(pending.claims, key=_other_key(), kid="no-such-key")
    assert_refused(pending.post(forged), "key the platform does not publish")


@pytest.mark.parametrize("kid", [None, ""])
def test_id_token_without_a_kid_is_refused_saying_so(pending, kid):
    # The 1EdTech tool certification's "No KID sent in JWT header". An empty kid was refused with pylti1p3's
    # "JWT KID not found", words an LMS administrator does not map to the platform's key setup.
    forged = pending.platform.sign(pending.claims, headers={"kid": kid})
    assert_refused(pending.post(forged), "does not name its signing key (kid)", status=400)


def test_platform_key_rotation_is_picked_up_by_refreshing_the_jwks(sandbox):
    """pylti1p3 gap: it never refetches a cached JWKS when the kid is unknown."""
    assert sandbox.launch("student").status_code == 200  # caches the JWKS with the first key
    sandbox.platform.rotate_key()
    page = sandbox.launch("student")
    assert page.status_code == 200
    assert "My learning plan" in page.text


def test_unsigned_alg_none_token_is_refused(pending):
    forged = pending.platform.sign(pending.claims, alg="none")
    assert_refused(pending.post(forged), "RS256")


def test_hs256_token_signed_with_the_platforms_public_key_is_refused(pending):
    public_pem = pending.platform.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = pending.platform.sign(pending.claims, alg="HS256", key=public_pem, kid=pending.header["kid"])
    assert_refused(pending.post(forged), "RS256")


def test_wrong_issuer_is_refused(pending):
    assert_refused(pending.post(pending.resign(iss="https://evil.example.com")), "not registered")


@pytest.mark.parametrize("aud", ["someone-else", ["someone-else"], ["someone-else", "another-tool"], None])
def test_an_id_token_whose_audience_does_not_list_our_client_id_is_refused_with_401(pending, aud):
    """Security Framework §5.1.3 step 3: "MUST reject the ID Token if it does not list the client_id as a valid
    audience … The request message will be rejected with a HTTP code of 401" (it was a 400)."""
    azp = aud[0] if isinstance(aud, list) and len(aud) > 1 else None
    response = pending.post(pending.resign(aud=aud, azp=azp))
    assert_refused(response, "(aud)", status=401)


def test_several_audiences_without_azp_are_refused(pending):
    """pylti1p3 gap: it takes aud[0] and never asks for azp."""
    aud = [pending.claims["aud"], "another-tool"]
    assert_refused(pending.post(pending.resign(aud=aud, azp=None)), "authorized party")


def test_azp_naming_another_client_is_refused(pending):
    """pylti1p3 gap: azp is never compared with the client id."""
    aud = [pending.claims["aud"], "another-tool"]
    assert_refused(pending.post(pending.resign(aud=aud, azp="another-tool")), "not registered")


def test_an_audience_the_tool_does_not_trust_besides_ours_is_refused_with_401(pending):
    """pylti1p3 gap: Security Framework §5.1.3 step 3, "additional audiences not trusted by the Tool" (HTTP 401)."""
    aud = [pending.claims["aud"], "another-tool"]
    assert_refused(pending.post(pending.resign(aud=aud, azp=pending.claims["aud"])), "another tool", status=401)


def test_several_audiences_that_are_all_our_clients_on_the_issuer_are_accepted(pending, tool):
    from lti_tool.services.registry import add_platform

    platform = pending.platform
    with tool.app.app_context():
        add_platform(issuer=platform.issuer, client_id="pathways-second-client", deployment_ids=["d-second"],
                     login_url=platform.auth_url, token_url=platform.token_url, jwks_url=platform.jwks_url)
    aud = [pending.claims["aud"], "pathways-second-client"]
    page = pending.post(pending.resign(aud=aud, azp=pending.claims["aud"]))
    assert page.status_code == 200 and "My learning plan" in page.text


def test_expired_token_is_refused(pending):
    now = int(time.time())
    assert_refused(pending.post(pending.resign(exp=now - 3600, iat=now - 7200)), "expired")


def test_token_issued_in_the_future_is_refused(pending):
    now = int(time.time())
    assert_refused(pending.post(pending.resign(iat=now + 3600, exp=now + 7200)), "future")


def test_small_clock_skew_is_tolerated(pending):
    now = int(time.time())
    page = pending.post(pending.resign(iat=now + 20))
    assert page.status_code == 200


def test_missing_nonce_is_refused(pending):
    assert_refused(pending.post(pending.resign(nonce=None)), "nonce")


def test_nonce_from_another_login_is_refused(sandbox, pending):
    other = sandbox.begin("student")
    forged = pending.resign(nonce=other.claims["nonce"])
    assert_refused(pending.post(forged), "nonce")


def test_replayed_id_token_and_state_are_refused(pending):
    """pylti1p3 gap: it never consumes the nonce, and remembers state + id_token to allow reposting."""
    first = pending.post()
    assert first.status_code == 200
    assert_refused(pending.post(), "already been used")


def test_replay_from_another_browser_is_refused(sandbox, pending):
    assert pending.post().status_code == 200
    attacker = requests.Session()
    response = attacker.post(pending.action, data={"id_token": pending.id_token, "state": pending.state})
    assert_refused(response, "not started in this browser")


def test_missing_state_is_refused(pending):
    response = pending.http.post(pending.action, data={"id_token": pending.id_token})
    assert_refused(response, "no state")


def test_wrong_state_is_refused(pending):
    assert_refused(pending.post(state="state-made-up"), "not started in this browser")


def test_state_cookie_from_another_login_does_not_validate_this_one(sandbox):
    first = sandbox.begin("student")
    second = sandbox.begin("student", http=first.http)
    # Same browser, two logins: each state only goes with its own nonce.
    assert_refused(first.post(id_token=second.id_token), "nonce")


def test_unknown_deployment_id_is_refused(pending):
    assert_refused(pending.post(pending.resign(**{CLAIM + "deployment_id": "rogue-deployment"})), "deployment")


def test_login_with_unknown_deployment_id_is_refused(sandbox, tool):
    url = sandbox.platform.start_launch("student-1").replace("lti_deployment_id=sandbox-deployment-1",
                                                              "lti_deployment_id=rogue")
    response = requests.get(url, allow_redirects=False)
    assert_refused(response, "deployment", status=403)


def test_canvas_deployment_id_login_parameter_is_accepted_and_checked(sandbox):
    url = sandbox.platform.start_launch("student-1").replace("lti_deployment_id=", "deployment_id=")
    http = requests.Session()
    to_platform = http.get(url, allow_redirects=False)
    assert to_platform.status_code == 302
    bad = url.replace("deployment_id=sandbox-deployment-1", "deployment_id=rogue")
    assert_refused(http.get(bad, allow_redirects=False), "deployment")


def _refusal_lines(caplog) -> list[str]:
    """The log lines about refused logins and launches (lti_tool.errors and lti_tool.lti.launch)."""
    return [r.getMessage() for r in caplog.records
            if r.name.startswith("lti_tool") and ("refused" in r.getMessage() or "not registered" in r.getMessage())]


def test_login_from_unregistered_platform_is_refused(tool, caplog):
    caplog.set_level(logging.INFO, logger="lti_tool")
    response = requests.get(tool.url("/lti/login"), params={
        "iss": "https://unknown.example.com\nforged line", "login_hint": "x", "client_id": "c",
        "lti_deployment_id": "d-1", "target_link_uri": tool.url("/lti/launch")}, allow_redirects=False)
    assert_refused(response, "not registered")
    # The admin learns from the log what to register (the page shows nobody's values), in one line per refusal
    # (anyone may send these); a line break stays quoted.
    assert _refusal_lines(caplog) == [
        "launch refused: This platform and client id are not registered with Pathways. "
        "iss='https://unknown.example.com\\nforged line' client_id='c' deployment_id='d-1'"]


def test_login_from_unregistered_platform_logs_a_long_issuer_cut_short(tool, caplog):
    # Anyone may post a login, before any budget is spent: the log quotes what an LMS sends, not a whole form
    # field (up to 20,000 characters) per parameter.
    caplog.set_level(logging.INFO, logger="lti_tool")
    response = requests.post(tool.url("/lti/login"), data={
        "iss": "https://unknown.example.com/" + "x" * 19_000, "login_hint": "x", "client_id": "c" * 19_000,
        "target_link_uri": tool.url("/lti/launch")}, allow_redirects=False)
    assert_refused(response, "not registered")
    logged = _refusal_lines(caplog)
    assert len(logged) == 1 and len(logged[0]) < 1000, len(logged[0])
    assert "deployment_id=None" in logged[0]
    assert "'https://unknown.example.com/xxx" in logged[0] and "(19028 characters)" in logged[0]
    assert "(19000 characters)" in logged[0]


def test_login_with_unknown_deployment_id_logs_a_long_one_cut_short(sandbox, tool, caplog):
    caplog.set_level(logging.INFO, logger="lti_tool")
    url = sandbox.platform.start_launch("student-1").replace("lti_deployment_id=sandbox-deployment-1",
                                                              "lti_deployment_id=" + "r" * 5_000)
    assert_refused(requests.get(url, allow_redirects=False), "deployment", status=403)
    logged = _refusal_lines(caplog)
    assert len(logged) == 1 and len(logged[0]) < 1000, len(logged[0])
    assert logged[0].startswith("launch refused: This deployment of the tool is not registered with Pathways. iss=")
    assert "deployment_id='rrr" in logged[0] and "(5000 characters)" in logged[0]


def test_login_missing_parameters_is_refused(tool):
    assert_refused(requests.get(tool.url("/lti/login")), "missing")


@pytest.mark.parametrize("claim", ["message_type", "version", "roles"])
def test_missing_required_lti_claims_are_refused(pending, claim):
    assert_refused(pending.post(pending.resign(**{CLAIM + claim: None})))


@pytest.mark.parametrize("deployment_id", [None, "", 7])
def test_a_launch_without_a_deployment_id_is_refused_naming_the_claim(pending, deployment_id):
    # Core §5.3.3: deployment_id is required, a string. A launch without one was told "This deployment of the tool is
    # not registered with Pathways", which sent the LMS administrator looking for a registration.
    refused = pending.post(pending.resign(**{CLAIM + "deployment_id": deployment_id}))
    assert_refused(refused, "does not name its deployment (deployment_id)", status=400)
    assert "not registered" not in refused.text


def test_a_launch_of_a_message_type_lti_does_not_define_is_refused(pending):
    assert_refused(pending.post(pending.resign(**{CLAIM + "message_type": "LtiMadeUpRequest"})), "message type",
                   status=400)


def test_a_resource_link_launch_without_the_resource_link_claim_is_refused(pending):
    assert_refused(pending.post(pending.resign(**{CLAIM + "resource_link": None})), "resource link", status=400)


def test_wrong_lti_version_is_refused(pending):
    assert_refused(pending.post(pending.resign(**{CLAIM + "version": "1.1"})), "1.3.0")


def test_missing_resource_link_id_is_refused(pending):
    assert_refused(pending.post(pending.resign(**{CLAIM + "resource_link": {"title": "x"}})), "resource link")


def test_target_link_uri_that_is_not_ours_is_refused(pending):
    """pylti1p3 gap: target_link_uri is never checked."""
    forged = pending.resign(**{CLAIM + "target_link_uri": "https://evil.example.com/phish"})
    assert_refused(pending.post(forged), "does not belong to this tool")


def test_target_link_uri_different_from_the_login_is_refused(pending, tool):
    forged = pending.resign(**{CLAIM + "target_link_uri": tool.url("/lti/launch?other=1")})
    assert_refused(pending.post(forged), "different link")


def test_login_for_a_target_link_uri_that_is_not_ours_is_refused(sandbox):
    url = sandbox.platform.start_launch("student-1", target_link_uri="https://evil.example.com/x")
    assert_refused(requests.get(url, allow_redirects=False), "does not belong")


@pytest.mark.parametrize("token", ["", "garbage", "a.b", "a.b.c", "e30.e30.", "W10.W10.sig", "x" * 70000])
def test_malformed_tokens_are_refused(pending, token):
    response = pending.post(token)
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _assert_plain_refusal_with_headers(response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and "Internal Server Error" not in response.text
    assert "frame-ancestors" in response.headers.get("Content-Security-Policy", "")
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Cache-Control") == "no-store"


# A few thousand "[" exhaust the JSON decoder's recursion (RecursionError, not a ValueError): 3,000 fit in a
# form field and reach the launch validator, 40,000 are refused as a field too long but were still decoded for
# the response's Content-Security-Policy; 500 levels decode, yet nest far deeper than any id_token.
@pytest.mark.parametrize("header, payload", [
    (b'{"alg":"RS256","kid":"k"}', b"[" * 3000),
    (b"[" * 3000, b'{"iss":"x"}'),
    (b'{"alg":"RS256","kid":"k"}', b"[" * 40000),
    (b'{"alg":"RS256","kid":"k"}', b'{"iss":' * 500 + b'"x"' + b"}" * 500),
    (b'{"alg":"RS256","kid":"k"}', b"[" * 100000),
])
@pytest.mark.parametrize("path", ["/lti/launch", "/lti/launch/verified"])
def test_a_deeply_nested_token_is_refused_plainly_with_the_security_headers(tool, path, header, payload):
    token = f"{_b64url(header)}.{_b64url(payload)}.sig"
    response = requests.post(tool.url(path), data={"id_token": token, "state": "x", "tab_secret": "x" * 43},
                             timeout=20)
    _assert_plain_refusal_with_headers(response)


def test_oversized_body_is_refused_with_413(tool):
    response = requests.post(tool.url("/lti/launch"), data={"id_token": "x" * 400_000, "state": "s"})
    assert response.status_code == 413
    assert "too large" in response.text


def test_launch_with_get_is_refused(tool):
    assert requests.get(tool.url("/lti/launch")).status_code == 405


def test_token_for_a_different_registered_deployment_of_another_platform_is_refused(sandbox, pending, tool):
    with tool.app.app_context():
        from lti_tool.services.registry import add_platform

        add_platform(issuer="https://other-lms.example.com", client_id="other", deployment_ids=["d-2"],
                     login_url="https://other-lms.example.com/auth", token_url="https://other-lms.example.com/t",
                     jwks_url=tool.platform.jwks_url)
    # Signed with a key the other platform's JWKS URL serves, but claiming our deployment under it.
    forged = pending.resign(iss="https://other-lms.example.com", aud="other", azp="other")
    assert_refused(pending.post(forged), "different LMS or tool registration than its login")


def test_a_token_another_registered_lms_signed_with_this_logins_nonce_is_refused(sandbox, tool):
    """pylti1p3 gap: the login's state named no registration, so a login started for one platform accepted a token
    from another carrying its nonce (Security Framework §5.1.3 step 2; OIDC mix-up)."""
    other, server = start_registered_lms(tool, "Other LMS", "other-client", "other-dep")
    try:
        # A login that names no deployment: nothing else ties it to its platform.
        login = sandbox.platform.start_launch("student-1")
        parts = urllib.parse.urlsplit(login)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "lti_deployment_id"]
        http = requests.Session()
        to_platform = http.get(parts._replace(query=urllib.parse.urlencode(query)).geturl(), allow_redirects=False)
        auth = http.get(to_platform.headers["Location"], allow_redirects=False, timeout=30)
        action, fields = parse_form(auth.text, auth.url)
        pending = PendingLaunch(http, action, fields["id_token"], fields["state"], sandbox.platform)
        claims = dict(pending.claims, iss=other.issuer, aud="other-client", **{CLAIM + "deployment_id": "other-dep"})
        claims.pop("azp", None)
        assert_refused(pending.post(other.sign(claims)), "different LMS or tool registration than its login")
        # Nor for another client id of the same issuer (Canvas tenants share one).
        with tool.app.app_context():
            from lti_tool.services.registry import add_platform

            add_platform(issuer=sandbox.platform.issuer, client_id="second-tenant", deployment_ids=["d2"],
                         login_url=sandbox.platform.auth_url, token_url=sandbox.platform.token_url,
                         jwks_url=sandbox.platform.jwks_url, name="Second tenant")
        tenant = pending.resign(aud="second-tenant", azp=None, **{CLAIM + "deployment_id": "d2"})
        # Its aud does not list the client id the login was for: Security Framework §5.1.3 step 3, HTTP 401.
        assert_refused(pending.post(tenant), "addressed to another tool (aud)", status=401)
        # The login's own token is still accepted: the refusals used nothing up.
        assert pending.post().status_code == 200
    finally:
        server.shutdown()


def test_a_signed_token_longer_than_any_typed_field_is_validated(pending):
    """A real id_token may pass 20,000 characters (large custom claims); only MAX_ID_TOKEN_CHARS caps it."""
    big = pending.resign(**{CLAIM + "custom": {"blob": "x" * 30_000}})
    assert len(big) > 40_000
    page = pending.post(big)
    assert page.status_code == 200 and "/c/" in page.url, page.text[:500]


def _login_params(sandbox) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(sandbox.platform.start_launch("student-1")).query))


@pytest.mark.parametrize("name, longest", [("login_hint", 2048), ("lti_message_hint", 4096),
                                           ("target_link_uri", 2048)])
def test_a_login_parameter_longer_than_lmss_send_is_refused_and_nothing_is_kept(sandbox, tool, name, longest):
    """An anonymous login kept every byte it sent (up to 20,000 for the target) in the launch-state cache for
    LOGIN_STATE_SECONDS; past a cap well above what LMSs send it is refused before anything is stored."""
    params = _login_params(sandbox)
    padding = "x" * (longest + 1 - len(params[name])) if name != "target_link_uri" else "?" + "t" * longest
    refused = requests.post(tool.url("/lti/login"), data={**params, name: params[name] + padding},
                            allow_redirects=False, timeout=30)
    assert_refused(refused, name, status=400)
    assert "lti1p3-" not in refused.headers.get("Set-Cookie", "")


def test_a_logins_state_keeps_each_value_once_and_stays_small_at_the_caps(sandbox, tool):
    import json

    from lti_tool.extensions import cache
    from lti_tool.lti.launch import LaunchStateStorage

    params = _login_params(sandbox)
    target = params["target_link_uri"] + "?" + "t" * (2047 - len(params["target_link_uri"]))
    big = {**params, "login_hint": "h" * 2048, "lti_message_hint": "m" * 4096, "target_link_uri": target}
    to_platform = requests.post(tool.url("/lti/login"), data=big, allow_redirects=False, timeout=30)
    assert to_platform.status_code == 302
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_platform.headers["Location"]).query))["state"]
    with tool.app.app_context():
        entry = LaunchStateStorage(cache).get_value("lti1p3-" + state)
    kept = json.dumps(entry)
    assert entry["iss"] == params["iss"] and entry["client_id"] == params["client_id"]
    assert kept.count(target) == 1  # the target once, not again among the values that restart the login
    assert len(kept) < 2048 + 4096 + 2048 + 1000


def test_error_page_is_json_for_api_clients(pending):
    response = pending.http.post(pending.action, data={"id_token": "garbage", "state": pending.state},
                                 headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert "error" in response.json()


def test_decoded_claims_are_never_echoed_in_errors(pending):
    forged = pending.platform.sign({**pending.claims, "exp": 1}, kid=pending.header["kid"])
    response = pending.post(forged)
    assert pending.claims["sub"] not in response.text
    assert jwt.get_unverified_header(forged)["kid"]  # sanity: a real token was sent


def test_state_cookie_is_secure_and_samesite_none_when_the_tool_is_served_over_https(make_tool):
    from tests.support import SandboxActions

    tool = make_tool()
    tool.app.config["BASE_URL"] = tool.base_url  # unchanged; now claim HTTPS as a TLS proxy would present us
    with tool.app.test_client() as client:
        tool.app.config["BASE_URL"] = "https://pathways.example.edu"
        url = SandboxActions(tool).platform.start_launch("student-1", target_link_uri="https://pathways.example.edu/lti/launch")
        query = url.split("?", 1)[1]
        response = client.get("/lti/login?" + query)
        tool.app.config["BASE_URL"] = tool.base_url
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "lti1p3-state-" in cookie and "Secure" in cookie and "SameSite=None" in cookie


def test_login_without_client_id_uses_the_issuers_only_registration(sandbox, tool):
    # client_id is optional in a login (LTI Core 1.3 §4.1; older Sakai and some custom LMSs leave it out).
    url = sandbox.platform.start_launch("student-1")
    named = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    query = [(k, v) for k, v in named.items() if k != "client_id"]
    to_platform = requests.get(url.split("?", 1)[0], params=query, allow_redirects=False, timeout=10)
    assert to_platform.status_code == 302, to_platform.text[:300]
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_platform.headers["Location"]).query))
    assert sent["client_id"] == named["client_id"]

    # A registration awaiting approval under the same issuer (anyone with an open invite can make one) neither
    # blocks the approved one nor is named to a visitor.
    from lti_tool.extensions import db
    from lti_tool.models import Platform
    from lti_tool.services.registry import add_platform

    with tool.app.app_context():
        db.session.add(Platform(issuer=named["iss"], client_id="pending-tenant", name="Pending", approved=False,
                                auth_login_url=sandbox.platform.auth_url, auth_token_url=sandbox.platform.token_url,
                                key_set_url=sandbox.platform.jwks_url))
        db.session.commit()
    again = requests.get(url.split("?", 1)[0], params=query, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and "pending-tenant" not in again.headers["Location"]

    # A second approved registration under the same issuer (Canvas tenants share one): the issuer alone names
    # neither.
    with tool.app.app_context():
        add_platform(issuer=sandbox.platform.issuer, client_id="second-tenant", deployment_ids=["d2"],
                     login_url=sandbox.platform.auth_url, token_url=sandbox.platform.token_url,
                     jwks_url=sandbox.platform.jwks_url, name="Second tenant")
    refused = requests.get(url.split("?", 1)[0], params=query, allow_redirects=False, timeout=10)
    assert_refused(refused, "client_id")
    assert requests.get(url, allow_redirects=False, timeout=10).status_code == 302  # named, it still works


def test_a_valid_launch_of_a_message_type_we_do_not_handle_is_refused_without_a_session(sandbox, tool):
    pending = sandbox.begin("teacher")
    ags = dict(pending.claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"])
    ags.setdefault("lineitem", ags.get("lineitems", tool.url("/")) + "/1")
    response = pending.post(pending.resign(**{
        CLAIM + "message_type": "LtiSubmissionReviewRequest", CLAIM + "for_user": {"user_id": "student-1"},
        "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": ags}))
    assert response.status_code == 400, response.text[:300]
    assert "LtiSubmissionReviewRequest" in response.text and "Traceback" not in response.text
    for r in [*response.history, response]:
        assert "pathways_session" not in r.headers.get("Set-Cookie", "")


def test_a_platform_login_url_with_a_query_of_its_own_keeps_it_beside_ours(sandbox, tool):
    # A hosted LMS may name its tenant in the authorization URL; our parameters must not end up inside it.
    from lti_tool.services.registry import add_platform

    platform = sandbox.platform
    url = platform.start_launch("student-1")
    named = dict(urllib.parse.parse_qsl(url.split("?", 1)[1]))
    with tool.app.app_context():
        add_platform(issuer=named["iss"], client_id=named["client_id"], deployment_ids=[],
                     login_url=platform.auth_url + "?tenant=school-7", token_url=platform.token_url,
                     jwks_url=platform.jwks_url)
    to_platform = requests.get(url, allow_redirects=False, timeout=10)
    assert to_platform.status_code == 302, to_platform.text[:300]
    sent = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(to_platform.headers["Location"]).query))
    assert sent["tenant"] == "school-7"
    assert {"state", "nonce", "client_id", "redirect_uri", "login_hint"} <= set(sent)
    assert sandbox.launch("student-1").status_code == 200  # the platform reads them and the launch completes


@pytest.mark.parametrize("as_, message_type", [("student", "LtiResourceLinkRequest"),
                                               ("teacher", "LtiDeepLinkingRequest")])
def test_an_anonymous_launch_asks_the_lms_to_share_who_the_user_is(sandbox, as_, message_type):
    # LTI Core §5.3.6: a platform leaves out `sub` for an anonymous user. Pathways keeps a plan per person, so it
    # refuses (403: the launch is genuine) and says what the LMS administrator must turn on, not pylti1p3's text.
    pending = sandbox.begin(as_, message_type=message_type)
    anonymous = {claim: None for claim in ("sub", "name", "given_name", "family_name", "email", "picture")}
    refused = pending.post(pending.resign(**anonymous))
    assert_refused(refused, "Pathways needs to know who you are", "identity (name and id) with this tool",
                   status=403)
    assert "Must have a user" not in refused.text and "(sub)" not in refused.text
    refused = pending.post(pending.resign(sub=""))
    assert_refused(refused, "Pathways needs to know who you are", status=403)


def test_the_state_cookie_lasts_as_long_as_the_logins_state(make_tool):
    # pylti1p3 gave it five minutes whatever PATHWAYS_LOGIN_STATE_SECONDS said: a launch after that, with its state
    # still good, was refused as one from another browser (or sent to a new window inside the LMS).
    tool = make_tool(LOGIN_STATE_SECONDS=900)
    url = SandboxActions(tool).platform.start_launch("student-1")
    response = requests.get(url, allow_redirects=False, timeout=30)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "lti1p3-state-" in cookie and "Max-Age=900;" in cookie
