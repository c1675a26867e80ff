"""The sandbox LMS alone: the platform object and its Flask app via the test client, no tool needed."""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.sandbox import SandboxPlatform, create_sandbox_app
from lti_tool.sandbox import vocab as v
from lti_tool.sandbox.platform import DEMO_STUDENTS, DEMO_TA, DEMO_TEACHER

BASE = "http://sandbox.test/sandbox"
TOOL = "http://tool.test"
CLIENT_ID = "pathways"
DEPLOYMENT_ID = "dep-1"
ALL_SCOPES = " ".join(sorted(v.SUPPORTED_SCOPES))


@pytest.fixture(scope="session")
def platform_key_pem() -> bytes:
    # One key for every test platform: RSA generation is the slowest thing these tests would do.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def tool_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def platform(platform_key_pem, tool_key, monkeypatch) -> SandboxPlatform:
    platform = SandboxPlatform(BASE, key_pem=platform_key_pem)
    platform.seed_demo()
    platform.register_tool(
        client_id=CLIENT_ID,
        deployment_id=DEPLOYMENT_ID,
        login_url=TOOL + "/lti/login",
        redirect_uris=[TOOL + "/lti/launch"],
        jwks_url=TOOL + "/lti/jwks",
        target_link_uri=TOOL + "/lti/launch",
    )
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(tool_key.public_key()))
    tool_jwks = {"keys": [{**jwk, "kid": "tool-1", "alg": "RS256", "use": "sig"}]}
    # Only these unit tests stand in for the tool's JWKS endpoint; the suite elsewhere fetches it over HTTP.
    monkeypatch.setattr(platform, "_fetch_tool_jwks", lambda: tool_jwks)
    return platform


@pytest.fixture
def client(platform):
    return create_sandbox_app(platform).test_client()


def path_of(url: str) -> str:
    """Turn an absolute sandbox URL into the path the test client serves (the app is mounted at /)."""
    assert url.startswith(BASE), url
    return url[len(BASE) :]


def tool_jwt(tool_key, claims: dict, kid: str = "tool-1", alg: str = "RS256") -> str:
    return jwt.encode(claims, tool_key, algorithm=alg, headers={"kid": kid})


def assertion(tool_key, **changes) -> str:
    now = int(time.time())
    claims = {
        "iss": CLIENT_ID,
        "sub": CLIENT_ID,
        "aud": BASE + "/token",
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    claims.update(changes)
    return tool_jwt(tool_key, {k: val for k, val in claims.items() if val is not None})


def token_form(client_assertion: str, scope: str = ALL_SCOPES) -> dict:
    return {
        "grant_type": "client_credentials",
        "client_assertion_type": v.JWT_BEARER,
        "client_assertion": client_assertion,
        "scope": scope,
    }


def bearer(client, tool_key, scope: str = ALL_SCOPES) -> dict:
    response = client.post("/token", data=token_form(assertion(tool_key), scope))
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": "Bearer " + response.json["access_token"]}


def auth_params(platform, sub: str = DEMO_STUDENTS[0], **launch) -> dict:
    """Do what a tool's login initiation does: turn the platform's login URL into an auth request."""
    login = parse_qs(urlsplit(platform.start_launch(sub, **launch)).query)
    return {
        "scope": "openid",
        "response_type": "id_token",
        "response_mode": "form_post",
        "prompt": "none",
        "client_id": login["client_id"][0],
        "redirect_uri": TOOL + "/lti/launch",
        "login_hint": login["login_hint"][0],
        "lti_message_hint": login["lti_message_hint"][0],
        "nonce": "nonce-123",
        "state": "state-abc",
    }


def verify_platform_jwt(platform, token: str) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(jwt.PyJWK(k).key for k in platform.public_jwks()["keys"] if k["kid"] == kid)
    return jwt.decode(token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=BASE)


def launch_id_token(client, platform, **launch) -> str:
    response = client.get("/auth", query_string=auth_params(platform, **launch))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    return html.split('name="id_token" value="')[1].split('"')[0]


# ---- keys ----
def test_jwks_publishes_each_rsa_key_with_kid_alg_and_use(client, platform):
    keys = client.get("/jwks").json["keys"]
    assert [k["kid"] for k in keys] == [platform.kid]
    assert set(keys[0]) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (keys[0]["kty"], keys[0]["alg"], keys[0]["use"]) == ("RSA", "RS256", "sig")


def test_signed_claims_verify_with_the_published_key(platform):
    token = platform.sign({"iss": BASE, "aud": CLIENT_ID, "sub": "x", "exp": int(time.time()) + 60})
    assert verify_platform_jwt(platform, token)["sub"] == "x"


def test_rotated_key_signs_new_tokens_while_the_old_key_stays_published_until_retired(platform):
    old = platform.kid
    new = platform.rotate_key()
    assert jwt.get_unverified_header(platform.sign({}))["kid"] == new
    assert {k["kid"] for k in platform.public_jwks()["keys"]} == {old, new}
    platform.retire_key(old)
    assert {k["kid"] for k in platform.public_jwks()["keys"]} == {new}
    with pytest.raises(ValueError):
        platform.retire_key(new)


def test_forged_tokens_for_attacks_alg_none_and_hs256_with_the_public_key(platform):
    unsigned = platform.sign({"sub": "x"}, alg="none")
    assert unsigned.endswith(".") and jwt.get_unverified_header(unsigned)["alg"] == "none"
    public_pem = platform.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged = platform.sign({"sub": "x"}, alg="HS256", key=public_pem, headers={"typ": None})
    header = jwt.get_unverified_header(forged)
    assert header == {"alg": "HS256", "kid": platform.kid}


# ---- OIDC authorization and launch claims ----
def test_auth_answers_a_correct_request_with_an_autoposting_form_carrying_a_verifiable_id_token(
    client, platform
):
    response = client.get("/auth", query_string=auth_params(platform))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'action="{TOOL}/lti/launch"' in html and 'name="state" value="state-abc"' in html
    assert "<button" in html and "Continue" in html
    claims = verify_platform_jwt(platform, html.split('name="id_token" value="')[1].split('"')[0])
    assert claims["nonce"] == "nonce-123"
    assert claims["sub"] == DEMO_STUDENTS[0]
    assert claims[v.MESSAGE_TYPE] == "LtiResourceLinkRequest"
    assert claims[v.VERSION] == "1.3.0"
    assert claims[v.DEPLOYMENT_ID] == DEPLOYMENT_ID
    assert claims[v.ROLES] == [v.LEARNER]
    assert claims[v.RESOURCE_LINK]["id"] == "pathways-home"
    assert claims[v.CONTEXT]["id"] == "math-7"
    assert claims[v.NRPS_CLAIM]["context_memberships_url"] == BASE + "/courses/math-7/memberships"
    assert claims[v.AGS_CLAIM]["lineitems"] == BASE + "/courses/math-7/lineitems"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"redirect_uri": TOOL + "/evil"}, "redirect_uri"),
        ({"client_id": "someone-else"}, "client_id"),
        ({"nonce": None}, "nonce"),
        ({"state": None}, "state"),
        ({"prompt": None}, "prompt"),
        ({"response_mode": "query"}, "response_mode"),
        ({"login_hint": "forged"}, "login_hint"),
        ({"lti_message_hint": "forged"}, "lti_message_hint"),
    ],
)
def test_auth_refuses_a_request_a_real_platform_would_refuse(client, platform, change, message):
    params = {**auth_params(platform), **change}
    response = client.get("/auth", query_string={k: val for k, val in params.items() if val is not None})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_pending_launch_can_be_used_only_once(client, platform):
    params = auth_params(platform)
    assert client.post("/auth", data=params).status_code == 200
    assert client.post("/auth", data=params).status_code == 400


def test_a_pending_launch_belongs_to_the_user_it_was_started_for(client, platform):
    theirs = auth_params(platform, DEMO_TEACHER)
    mine = auth_params(platform, DEMO_STUDENTS[0])
    response = client.get("/auth", query_string={**mine, "lti_message_hint": theirs["lti_message_hint"]})
    assert response.status_code == 400


def test_claim_overrides_and_removals_reach_the_id_token(client, platform):
    token = launch_id_token(
        client, platform, claim_overrides={v.VERSION: "1.1", "email": None}, remove_claims=[v.DEPLOYMENT_ID]
    )
    claims = verify_platform_jwt(platform, token)
    assert claims[v.VERSION] == "1.1"
    assert "email" not in claims and v.DEPLOYMENT_ID not in claims


def test_teaching_assistant_carries_the_instructor_role_and_its_sub_role(platform):
    roles = platform.launch_claims(DEMO_TA, "n")[v.ROLES]
    assert roles == [v.INSTRUCTOR, v.TEACHING_ASSISTANT]


def test_deep_linking_request_has_settings_and_no_resource_link(platform):
    claims = platform.launch_claims(DEMO_TEACHER, "n", message_type="LtiDeepLinkingRequest")
    settings = claims[v.DL_SETTINGS]
    assert v.RESOURCE_LINK not in claims
    assert settings["deep_link_return_url"] == BASE + "/deep_link_return"
    assert settings["accept_types"] == ["ltiResourceLink"]
    assert settings["data"]


def test_launch_redirects_to_the_tools_login_initiation_with_the_third_party_parameters(client):
    response = client.get(f"/launch/{DEMO_TEACHER}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(TOOL + "/lti/login?")
    query = parse_qs(urlsplit(location).query)
    assert set(query) == {
        "iss",
        "login_hint",
        "target_link_uri",
        "lti_message_hint",
        "client_id",
        "lti_deployment_id",
    }
    assert query["iss"] == [BASE] and query["login_hint"] != [DEMO_TEACHER]


# ---- token endpoint ----
def test_token_endpoint_grants_supported_scopes_for_a_valid_client_assertion(client, platform, tool_key):
    requested = f"{v.SCOPE_SCORE} https://example.com/scope/unknown"
    response = client.post("/token", data=token_form(assertion(tool_key), requested))
    assert response.status_code == 200
    assert response.json["token_type"] == "Bearer" and response.json["expires_in"] == 3600
    assert response.json["scope"] == v.SCOPE_SCORE
    assert platform.token_requests[-1]["ok"] is True


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"aud": "http://elsewhere.test/token"}, "invalid_client"),
        ({"iss": "intruder", "sub": "intruder"}, "invalid_client"),
        # Times are made when the test runs, not when the suite is collected (a long run outlives them).
        ({"exp": lambda: int(time.time()) - 10}, "invalid_client"),
        ({"iat": lambda: int(time.time()) + 600}, "invalid_client"),
        ({"jti": None}, "invalid_client"),
    ],
)
def test_token_endpoint_rejects_a_bad_client_assertion(client, platform, tool_key, changes, error):
    changes = {key: value() if callable(value) else value for key, value in changes.items()}
    response = client.post("/token", data=token_form(assertion(tool_key, **changes)))
    assert response.status_code == 400
    assert response.json["error"] == error
    assert platform.token_requests[-1]["ok"] is False


def test_token_endpoint_rejects_an_assertion_signed_by_another_key(client):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = client.post("/token", data=token_form(assertion(stranger)))
    assert response.status_code == 400 and response.json["error"] == "invalid_client"


def test_token_endpoint_rejects_hs256_and_replayed_assertions(client, tool_key):
    now = int(time.time())
    hs = jwt.encode(
        {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": BASE + "/token", "iat": now, "exp": now + 60, "jti": "j"},
        "a-shared-secret-of-enough-length-32b",
        algorithm="HS256",
        headers={"kid": "tool-1"},
    )
    assert client.post("/token", data=token_form(hs)).json["error"] == "invalid_client"
    once = assertion(tool_key)
    assert client.post("/token", data=token_form(once)).status_code == 200
    replay = client.post("/token", data=token_form(once))
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"


def test_token_endpoint_rejects_wrong_grant_type_and_unsupported_scopes(client, tool_key):
    form = {**token_form(assertion(tool_key)), "grant_type": "password"}
    assert client.post("/token", data=form).json["error"] == "unsupported_grant_type"
    form = token_form(assertion(tool_key), "https://example.com/scope/unknown")
    assert client.post("/token", data=form).json["error"] == "invalid_scope"


def test_token_endpoint_refuses_or_narrows_scopes_the_tool_may_not_have(client, platform, tool_key):
    platform.grantable_scopes = {v.SCOPE_SCORE, v.SCOPE_LINEITEM_READONLY}
    asked = " ".join((v.SCOPE_LINEITEM, v.SCOPE_LINEITEM_READONLY, v.SCOPE_SCORE))
    # Canvas: a scope the developer key lacks refuses the whole request.
    assert client.post("/token", data=token_form(assertion(tool_key), asked)).json["error"] == "invalid_scope"
    # Moodle's token.php: what the tool may have of what it asked for, named in the answer (RFC 6749 §5.1).
    platform.narrowing_grants = True
    answer = client.post("/token", data=token_form(assertion(tool_key), asked))
    assert answer.status_code == 200
    assert sorted(answer.json["scope"].split()) == sorted([v.SCOPE_LINEITEM_READONLY, v.SCOPE_SCORE])
    refused = client.post("/token", data=token_form(assertion(tool_key), v.SCOPE_NRPS))
    assert refused.status_code == 400 and refused.json["error"] == "invalid_scope"


# ---- NRPS ----
def test_memberships_need_a_token_with_the_nrps_scope(client, tool_key):
    assert client.get("/courses/math-7/memberships").status_code == 401
    headers = bearer(client, tool_key, v.SCOPE_SCORE)
    assert client.get("/courses/math-7/memberships", headers=headers).status_code == 403


def test_membership_pages_list_every_member_once_through_mixed_case_next_links(client, platform, tool_key):
    for n in range(6):
        platform.add_user(f"extra-{n}", roles=["Learner"], name=f"Extra {n}")
    headers = bearer(client, tool_key, v.SCOPE_NRPS)
    seen, url, pages = [], BASE + "/courses/math-7/memberships?limit=4", 0
    while url:
        response = client.get(path_of(url), headers=headers)
        assert response.status_code == 200
        assert response.mimetype == v.MEDIA_MEMBERSHIPS
        body = response.json
        assert body["context"] == {"id": "math-7", "label": "MATH7", "title": "Grade 7 Mathematics"}
        seen += [m["user_id"] for m in body["members"]]
        pages += 1
        link = response.headers.get("Link") or ""
        url = link.split(">")[0].lstrip("<") if 'rel="next"' in link else None
        if url:
            assert url != url.lower()
            lowered = client.get(path_of(url.lower()), headers=headers)
            assert lowered.status_code == 400  # a client that lower-cases paging URLs must notice
    assert pages == 4
    assert sorted(seen) == sorted(platform.course.members) and len(seen) == len(set(seen))
    assert 'rel="differences"' in link  # the last page offers the changes-since URL (NRPS 2.0 §2.4.2)


def test_memberships_filter_by_role(client, tool_key):
    headers = bearer(client, tool_key, v.SCOPE_NRPS)
    body = client.get(
        "/courses/math-7/memberships", query_string={"role": v.INSTRUCTOR}, headers=headers
    ).json
    assert {m["user_id"] for m in body["members"]} == {DEMO_TEACHER, DEMO_TA}
    body = client.get("/courses/math-7/memberships?role=Learner", headers=headers).json
    assert {m["user_id"] for m in body["members"]} == set(DEMO_STUDENTS)


def test_injected_failures_answer_the_next_service_requests_in_order(client, platform, tool_key):
    headers = bearer(client, tool_key, v.SCOPE_NRPS)
    platform.fail_next = [500, 429, "timeout"]
    platform.timeout_seconds = 0
    assert client.get("/courses/math-7/memberships", headers=headers).status_code == 500
    throttled = client.get("/courses/math-7/memberships", headers=headers)
    assert throttled.status_code == 429 and throttled.headers["Retry-After"]
    assert client.get("/courses/math-7/memberships", headers=headers).status_code == 504
    assert client.get("/courses/math-7/memberships", headers=headers).status_code == 200


# ---- AGS ----
def create_line_item(client, headers, **fields) -> dict:
    body = {"label": "Fractions", "scoreMaximum": 10, "resourceId": "fractions", **fields}
    response = client.post(
        "/courses/math-7/lineitems", data=json.dumps(body), headers=headers, content_type=v.MEDIA_LINEITEM
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def post_score(client, headers, item: dict, stamp: str, given: float = 7, **fields):
    body = {
        "userId": DEMO_STUDENTS[0],
        "scoreGiven": given,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": stamp,
        **fields,
    }
    return client.post(
        path_of(item["id"]) + "/scores", data=json.dumps(body), headers=headers, content_type=v.MEDIA_SCORE
    )


def test_line_items_are_created_listed_filtered_updated_and_deleted(client, platform, tool_key):
    headers = bearer(client, tool_key)
    item = create_line_item(client, headers)
    create_line_item(client, headers, label="Ratios", resourceId="ratios", tag="quiz")
    assert item["id"].startswith(BASE + "/courses/math-7/lineitems/")
    listed = client.get("/courses/math-7/lineitems?resource_id=fractions", headers=headers)
    assert listed.mimetype == v.MEDIA_LINEITEMS and [i["id"] for i in listed.json] == [item["id"]]
    page = client.get("/courses/math-7/lineitems?limit=1", headers=headers)
    assert len(page.json) == 1 and 'rel="next"' in page.headers["Link"]
    updated = client.put(
        path_of(item["id"]),
        data=json.dumps({**item, "label": "Fractions I"}),
        headers=headers,
        content_type=v.MEDIA_LINEITEM,
    )
    assert updated.json["label"] == "Fractions I"
    assert platform.line_items[item["id"]]["label"] == "Fractions I"
    assert client.delete(path_of(item["id"]), headers=headers).status_code == 204
    assert client.get(path_of(item["id"]), headers=headers).status_code == 404


def test_scores_out_of_order_or_repeated_get_409_and_results_show_the_latest(client, platform, tool_key):
    headers = bearer(client, tool_key)
    item = create_line_item(client, headers)
    assert post_score(client, headers, item, "2030-01-01T10:00:02.000+00:00", 8).status_code == 204
    assert post_score(client, headers, item, "2030-01-01T10:00:01.000+00:00", 3).status_code == 409
    assert post_score(client, headers, item, "2030-01-01T10:00:02.000+00:00", 3).status_code == 409
    assert (
        post_score(client, headers, item, "2030-01-01T11:00:00Z", 9, comment="Well done").status_code == 204
    )
    results = client.get(path_of(item["id"]) + "/results", headers=headers)
    assert results.mimetype == v.MEDIA_RESULTS
    assert results.json == [
        {
            "id": f"{item['id']}/results/{DEMO_STUDENTS[0]}",
            "scoreOf": item["id"],
            "userId": DEMO_STUDENTS[0],
            "resultScore": 9,
            "resultMaximum": 10,
            "comment": "Well done",
        }
    ]
    assert [s["scoreGiven"] for s in platform.scores[item["id"]]] == [8, 9]


@pytest.mark.parametrize(
    "change",
    [
        {"activityProgress": "Done"},
        {"gradingProgress": "Graded"},
        {"userId": "stranger"},
        {"scoreMaximum": 0},
        {"timestamp": "yesterday"},
        {"scoreGiven": "7"},
    ],
)
def test_invalid_scores_are_refused(client, tool_key, change):
    headers = bearer(client, tool_key)
    item = create_line_item(client, headers)
    assert post_score(client, headers, item, "2030-01-01T10:00:00+00:00", **change).status_code == 400


def test_score_needs_the_score_media_type_and_the_score_scope(client, tool_key):
    headers = bearer(client, tool_key)
    item = create_line_item(client, headers)
    wrong_type = client.post(
        path_of(item["id"]) + "/scores", json={"userId": DEMO_STUDENTS[0]}, headers=headers
    )
    assert wrong_type.status_code == 415
    read_only = bearer(client, tool_key, v.SCOPE_LINEITEM_READONLY)
    assert post_score(client, read_only, item, "2030-01-01T10:00:00+00:00").status_code == 403


# ---- Deep Linking ----
def test_deep_linking_response_places_links_and_creates_their_line_items(client, platform, tool_key):
    request_claims = platform.launch_claims(DEMO_TEACHER, "n", message_type="LtiDeepLinkingRequest")
    now = int(time.time())
    response_claims = {
        "iss": CLIENT_ID,
        "aud": BASE,
        "iat": now,
        "exp": now + 60,
        "nonce": "dl-nonce",
        v.MESSAGE_TYPE: "LtiDeepLinkingResponse",
        v.VERSION: "1.3.0",
        v.DEPLOYMENT_ID: DEPLOYMENT_ID,
        v.DL_DATA: request_claims[v.DL_SETTINGS]["data"],
        v.DL_CONTENT_ITEMS: [
            {
                "type": "ltiResourceLink",
                "title": "Fractions <practice>",
                "url": TOOL + "/lti/launch",
                "lineItem": {"scoreMaximum": 10, "label": "Fractions"},
            }
        ],
    }
    token = tool_jwt(tool_key, response_claims)
    response = client.post("/deep_link_return", data={"JWT": token})
    assert response.status_code == 200
    assert "Fractions &lt;practice&gt;" in response.get_data(as_text=True)
    (item,) = platform.line_items.values()
    link = platform.course.resource_links[item["resourceLinkId"]]
    assert link.title == "Fractions <practice>"
    assert (
        platform.launch_claims(DEMO_STUDENTS[0], "n", resource_link_id=link.id)[v.AGS_CLAIM]["lineitem"]
        == item["id"]
    )
    assert platform.deep_link_responses[-1]["nonce"] == "dl-nonce"
    replay = client.post("/deep_link_return", data={"JWT": token})
    assert replay.status_code == 400


def test_deep_linking_response_for_another_deployment_is_refused(client, platform, tool_key):
    data = platform.launch_claims(DEMO_TEACHER, "n", message_type="LtiDeepLinkingRequest")[v.DL_SETTINGS][
        "data"
    ]
    now = int(time.time())
    token = tool_jwt(
        tool_key,
        {
            "iss": CLIENT_ID,
            "aud": BASE,
            "iat": now,
            "exp": now + 60,
            "nonce": "x",
            v.MESSAGE_TYPE: "LtiDeepLinkingResponse",
            v.VERSION: "1.3.0",
            v.DEPLOYMENT_ID: "other",
            v.DL_DATA: data,
        },
    )
    response = client.post("/deep_link_return", data={"JWT": token})
    assert response.status_code == 400 and "deployment_id" in response.get_data(as_text=True)


# ---- pages ----
def test_course_page_lists_members_with_launch_buttons_from_the_base_url(client):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in html and "Grade 7 Mathematics" in html and "sandbox" in html.lower()
    assert "Liam O&#39;Connor" in html
    assert f'href="{BASE}/launch/{DEMO_TEACHER}?context_id=math-7"' in html
    assert "message_type=LtiDeepLinkingRequest" in html
    assert html.count("Add Pathways to a module (Deep Linking)") == 2  # teacher and TA only


def test_course_page_says_when_no_tool_is_registered(platform_key_pem):
    bare = SandboxPlatform(BASE, key_pem=platform_key_pem)
    bare.seed_demo()
    html = create_sandbox_app(bare).test_client().get("/").get_data(as_text=True)
    assert "No tool is registered" in html


def test_gradebook_shows_latest_scores(client, tool_key):
    headers = bearer(client, tool_key)
    item = create_line_item(client, headers)
    post_score(client, headers, item, "2030-01-01T10:00:00+00:00", 6, comment="Keep going")
    html = client.get("/gradebook").get_data(as_text=True)
    assert "Fractions" in html and "6 / 10" in html and "Keep going" in html


def test_only_members_of_a_course_can_be_launched_into_it(platform):
    platform.add_course("art-7", "Grade 7 Art", "ART7")
    platform.add_user("artist", roles=["Learner"], name="Ada Artist", context_id="art-7")
    with pytest.raises(LookupError):
        platform.start_launch("artist", context_id="math-7")
    claims = platform.launch_claims("artist", "n", context_id="art-7")
    assert claims[v.CONTEXT]["id"] == "art-7"
    assert claims[v.NRPS_CLAIM]["context_memberships_url"] == BASE + "/courses/art-7/memberships"


def test_mounted_under_a_prefix_it_serves_there_and_links_from_base_url(platform):
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.test import Client

    outer = Flask("outer")
    http = Client(DispatcherMiddleware(outer.wsgi_app, {"/sandbox": create_sandbox_app(platform)}))
    assert http.get("/sandbox/jwks").status_code == 200
    launch = http.get(f"/sandbox/launch/{DEMO_STUDENTS[0]}")
    assert launch.status_code == 302 and launch.headers["Location"].startswith(TOOL + "/lti/login?")
    assert f'href="{BASE}/gradebook"' in http.get("/sandbox/").get_data(as_text=True)
    assert "Set-Cookie" not in launch.headers
