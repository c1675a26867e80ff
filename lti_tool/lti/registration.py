"""LTI Dynamic Registration 1.0, tool side: read the platform's configuration and register Pathways.

Spec: 1EdTech LTI Dynamic Registration 1.0, §3.3 (initiation), §3.4-3.5 (configuration and validation),
§3.6 (registration request), §3.7 (the close message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from .launch import LaunchError

PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
MAX_CONFIG_BYTES = 128 * 1024
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


class RegistrationError(LaunchError):
    """Registration could not be completed; the message is shown to the LMS administrator."""

    title = "Pathways could not be registered"


@dataclass(frozen=True)
class RegisteredPlatform:
    """What the platform told us about itself and the client id it gave us."""

    issuer: str
    client_id: str
    deployment_id: str | None
    auth_login_url: str
    token_url: str
    jwks_url: str
    name: str


def _get_json(http: requests.Session, url: str, timeout: float, **kwargs: Any) -> dict:
    try:
        resp = http.get(url, timeout=timeout, **kwargs)
        resp.raise_for_status()
        if len(resp.content) > MAX_CONFIG_BYTES:
            raise RegistrationError("The platform's configuration is too large.", 502)
        body = resp.json()
    except (requests.RequestException, ValueError) as exc:
        raise RegistrationError(f"The platform's configuration could not be read from {url}.", 502) from exc
    if not isinstance(body, dict):
        raise RegistrationError("The platform's configuration is not a JSON object.", 502)
    return body


def read_platform_configuration(
    http: requests.Session, config_url: str, *, registration_token: str | None, allow_http: bool, timeout: float
) -> dict:
    """Fetch and validate the platform's openid-configuration (§3.4, §3.5.1)."""
    parts = urlsplit(config_url or "")
    if parts.scheme not in (("https", "http") if allow_http else ("https",)) or not parts.netloc:
        raise RegistrationError("The registration request must name the platform's configuration URL (https).")
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    config = _get_json(http, config_url, timeout, headers=headers)
    issuer = config.get("issuer")
    # §3.5.1: the configuration URL must live under the issuer it states, or anyone could claim any issuer.
    if not isinstance(issuer, str) or not config_url.startswith(issuer.rstrip("/")):
        raise RegistrationError("The platform's issuer does not match the address its configuration came from.")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"):
        if not isinstance(config.get(field), str) or not config[field].startswith(("https://", "http://")):
            raise RegistrationError(f"The platform's configuration has no valid {field}.")
    algs = config.get("id_token_signing_alg_values_supported") or []
    if "RS256" not in algs:
        raise RegistrationError("The platform does not sign launches with RS256, which LTI 1.3 requires.")
    return config


def registration_request(base_url: str, platform_config: dict, *, store_email: bool) -> dict:
    """Return the tool registration Pathways sends (§3.6.1)."""
    offered = set(platform_config.get("scopes_supported") or [])
    claims = ["iss", "sub", "name", "given_name", "family_name"] + (["email"] if store_email else [])
    messages_supported = {
        m.get("type") for m in (platform_config.get(PLATFORM_CONFIG) or {}).get("messages_supported", [])
        if isinstance(m, dict)
    }
    launch_url = base_url + "/lti/launch"
    messages = [{"type": "LtiResourceLinkRequest", "target_link_uri": launch_url, "label": "Pathways"}]
    if not messages_supported or "LtiDeepLinkingRequest" in messages_supported:
        messages.append({"type": "LtiDeepLinkingRequest", "target_link_uri": launch_url, "label": "Pathways"})
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": base_url + "/lti/login",
        "redirect_uris": [launch_url],
        "client_name": "Pathways",
        "jwks_uri": base_url + "/lti/jwks",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(s for s in SCOPES if not offered or s in offered),
        TOOL_CONFIG: {
            "domain": urlsplit(base_url).netloc,
            "target_link_uri": launch_url,
            "description": "Personalized, mastery-based learning plans with grade passback.",
            "claims": claims,
            "messages": messages,
        },
    }


def register_with_platform(
    http: requests.Session, platform_config: dict, request_body: dict, *, registration_token: str | None, timeout: float
) -> RegisteredPlatform:
    """POST the registration and return what the platform granted (§3.6)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        resp = http.post(platform_config["registration_endpoint"], json=request_body, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise RegistrationError("The platform could not be reached to register Pathways.", 502) from exc
    if not resp.ok:
        raise RegistrationError(f"The platform refused the registration ({resp.status_code}): {resp.text[:300]}", 502)
    try:
        granted = resp.json()
    except ValueError as exc:
        raise RegistrationError("The platform's registration answer is not JSON.", 502) from exc
    client_id = granted.get("client_id") if isinstance(granted, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("The platform's registration answer has no client_id.", 502)
    tool_config = granted.get(TOOL_CONFIG) if isinstance(granted.get(TOOL_CONFIG), dict) else {}
    deployment_id = tool_config.get("deployment_id")
    family = (platform_config.get(PLATFORM_CONFIG) or {}).get("product_family_code") or ""
    return RegisteredPlatform(
        issuer=platform_config["issuer"],
        client_id=client_id,
        deployment_id=deployment_id if isinstance(deployment_id, str) and deployment_id else None,
        auth_login_url=platform_config["authorization_endpoint"],
        token_url=platform_config["token_endpoint"],
        jwks_url=platform_config["jwks_uri"],
        name=f"{family or 'LMS'} ({urlsplit(platform_config['issuer']).netloc})",
    )
