"""Random tokens and forms thrown at the LTI endpoints never cause a server error."""

from __future__ import annotations

import base64
import json

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _segment(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@FUZZ
@given(header=json_values, body=json_values, signature=st.text(max_size=40), state=st.text(max_size=60))
def test_random_jwt_shaped_tokens_never_cause_a_500(pending_launch, header, body, signature, state):
    token = f"{_segment(header)}.{_segment(body)}.{signature}"
    response = pending_launch.post(token, state=state or None)
    assert response.status_code < 500, response.text[:300]


@FUZZ
@given(claims=st.dictionaries(st.sampled_from([
    "iss", "aud", "azp", "sub", "exp", "iat", "nonce",
    "https://purl.imsglobal.org/spec/lti/claim/roles",
    "https://purl.imsglobal.org/spec/lti/claim/message_type",
    "https://purl.imsglobal.org/spec/lti/claim/version",
    "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
    "https://purl.imsglobal.org/spec/lti/claim/context",
    "https://purl.imsglobal.org/spec/lti/claim/resource_link",
    "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
    "https://purl.imsglobal.org/spec/lti/claim/custom",
]), json_values, max_size=6))
def test_properly_signed_tokens_with_random_claim_values_never_cause_a_500(pending_launch, claims):
    token = pending_launch.platform.sign({**pending_launch.claims, **claims})
    response = pending_launch.post(token)
    assert response.status_code < 500, response.text[:300]


@FUZZ
@given(form=st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=8),
       method=st.sampled_from(["GET", "POST"]))
def test_random_login_requests_never_cause_a_500(tool, form, method):
    if method == "GET":
        response = requests.get(tool.url("/lti/login"), params=form, allow_redirects=False, timeout=10)
    else:
        response = requests.post(tool.url("/lti/login"), data=form, allow_redirects=False, timeout=10)
    assert response.status_code < 500, response.text[:300]


@FUZZ
@given(form=st.dictionaries(st.sampled_from(["id_token", "state", "x", "utf8"]), st.text(max_size=300), max_size=4))
def test_random_launch_forms_never_cause_a_500(tool, form):
    response = requests.post(tool.url("/lti/launch"), data=form, timeout=10)
    assert 400 <= response.status_code < 500, response.text[:300]
