"""LTI Dynamic Registration 1.0, tool side: read the platform's configuration and register Pathways.

Spec: 1EdTech LTI Dynamic Registration 1.0, §3.3 (initiation), §3.4-3.5 (configuration and validation),
§3.6 (registration request), §3.7 (the close message).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from ..text import is_token, one_line
from .claims import TIME_ZONE_PARAM, TIME_ZONE_VARIABLE
from .launch import LaunchError
from .outbound import OutboundError, OutboundSession, answer_json, origin

PLATFORM_CONFIG = "https://purl.imsglobal.org/spec/lti-platform-configuration"
TOOL_CONFIG = "https://purl.imsglobal.org/spec/lti-tool-configuration"
MAX_CONFIG_BYTES = 128 * 1024
#: The longest client or deployment id Pathways keeps (their columns' size); real ones are far shorter.
MAX_ID_CHARS = 255
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]
# Canvas's own registration settings (Canvas docs, "Registering an LTI Tool"). Without them Canvas gives the tool
# no placements and anonymous launches (no names), so a teacher would find no link and an unnamed roster.
CANVAS_PRIVACY_LEVEL = "https://canvas.instructure.com/lti/privacy_level"
CANVAS_TOOL_ID = "https://canvas.instructure.com/lti/tool_id"
# Where the links go, the same as the developer key's JSON (/lti/canvas.json): the plan in the course menu, and
# Deep Linking where a teacher adds a link to a module or an assignment.
CANVAS_PLACEMENTS = {
    "LtiResourceLinkRequest": ["course_navigation"],
    "LtiDeepLinkingRequest": ["link_selection", "assignment_selection"],
}


class RegistrationError(LaunchError):
    """Registration could not be completed; the message speaks to the LMS administrator registering Pathways."""

    title = "Pathways could not be registered"
    for_admin = True


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
    #: The assertion's aud for the token endpoint, where the platform names one (`authorization_server`).
    audience: str | None = None


def _get_json(http: OutboundSession, url: str, timeout: float, **kwargs: Any) -> dict:
    try:
        # No redirects: the configuration must come from the address the LMS named, not one it points to.
        resp = http.get(url, timeout=timeout, allow_redirects=False, max_bytes=MAX_CONFIG_BYTES, **kwargs)
    except OutboundError as exc:
        raise RegistrationError(
            f"Pathways could not read the LMS's configuration at {exc.origin or 'that address'}: {exc.message} "
            f"(reason: {exc.reason}).", 502) from exc
    except requests.RequestException as exc:
        raise RegistrationError("Pathways could not read the LMS's configuration (reason: unreachable).", 502) \
            from exc
    if resp.is_redirect or not resp.ok:
        raise RegistrationError(
            f"The LMS answered {resp.status_code} when Pathways read its configuration "
            f"(reason: {'redirect_refused' if resp.is_redirect else 'http_error'}).", 502)
    try:
        body = answer_json(resp)
    except ValueError as exc:
        raise RegistrationError("The LMS's configuration is not JSON (reason: not_json).", 502) from exc
    if not isinstance(body, dict):
        raise RegistrationError("The LMS's configuration is not a JSON object (reason: not_json).", 502)
    return body


def check_url(url: str | None, *, allow_http: bool, what: str) -> str:
    """Return the origin of an https (or, when allowed, http) URL without userinfo, or refuse it."""
    url_origin = origin(url)
    schemes = ("https", "http") if allow_http else ("https",)
    if url_origin is None or urlsplit(url_origin).scheme not in schemes:
        if url_origin is not None and url_origin.startswith("http://"):
            raise RegistrationError(
                f"The {what} uses plain http. Pathways registers only over https; for a local test LMS a "
                "Pathways administrator can set PATHWAYS_REGISTRATION_ALLOW_HTTP=true (never in production).")
        raise RegistrationError(f"The {what} must be an https URL without a user name or password in it.")
    return url_origin


def read_platform_configuration(
    http: OutboundSession, config_url: str, *, registration_token: str | None, allow_http: bool, timeout: float
) -> dict:
    """Fetch and validate the platform's openid-configuration (§3.4, §3.5.1)."""
    config_origin = check_url(config_url, allow_http=allow_http, what="openid_configuration URL")
    headers = {"Authorization": f"Bearer {registration_token}"} if registration_token else {}
    config = _get_json(http, config_url, timeout, headers=headers)
    issuer = config.get("issuer")
    # §3.5.1: the issuer must be served from the configuration's own origin (scheme, host and port, compared
    # exactly); a prefix test lets https://lms.example@evil.example or https://lms.example.evil.example claim it.
    if not isinstance(issuer, str) or origin(issuer) != config_origin or urlsplit(issuer).query \
            or urlsplit(issuer).fragment:
        raise RegistrationError(
            "The LMS's issuer does not have the same origin (scheme, host and port) as the address its "
            "configuration came from.")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri", "registration_endpoint"):
        check_url(config.get(field), allow_http=allow_http, what=f"LMS's {field}")
    _check_types(config)
    algs = config.get("id_token_signing_alg_values_supported") or []
    if "RS256" not in algs:
        raise RegistrationError("The LMS does not sign launches with RS256, which LTI 1.3 requires.")
    return config


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _check_types(config: dict) -> None:
    """Refuse a configuration whose optional fields Pathways reads have another JSON type than §3.4 gives them.

    Read as they are, a list where an object belongs or a number where a list belongs would fail deep in the
    registration with an error page that says nothing to the LMS administrator.
    """
    platform = config.get(PLATFORM_CONFIG)
    fields: list[tuple[str, object, Callable[[object], bool]]] = [
        ("scopes_supported", config.get("scopes_supported"), _strings),
        ("id_token_signing_alg_values_supported", config.get("id_token_signing_alg_values_supported"), _strings),
        (PLATFORM_CONFIG, platform, lambda value: isinstance(value, dict)),
    ]
    if isinstance(platform, dict):
        fields += [
            ("product_family_code", platform.get("product_family_code"), lambda value: isinstance(value, str)),
            ("messages_supported", platform.get("messages_supported"), lambda value: isinstance(value, list)),
        ]
    for name, value, fits in fields:
        if value is not None and not fits(value):
            raise RegistrationError(
                f"The LMS's configuration gives {name} the wrong JSON type (reason: bad_configuration).", 502)


def _offered_placements(platform_config: dict) -> dict[str, set[str] | None]:
    """Map each message type the platform lists to the placements it lists for it (None: it names none)."""
    offered: dict[str, set[str] | None] = {}
    for message in (platform_config.get(PLATFORM_CONFIG) or {}).get("messages_supported") or []:
        if isinstance(message, dict) and isinstance(message.get("type"), str):
            placements = message.get("placements")
            offered[message["type"]] = (
                {p for p in placements if isinstance(p, str)} if isinstance(placements, list) else None)
    return offered


def registration_request(base_url: str, platform_config: dict, *, store_email: bool) -> dict:
    """Return the tool registration Pathways sends (§3.6.1), with Canvas's own settings for a Canvas."""
    offered = set(platform_config.get("scopes_supported") or [])
    claims = ["iss", "sub", "name", "given_name", "family_name"] + (["email"] if store_email else [])
    messages_supported = _offered_placements(platform_config)
    launch_url = base_url + "/lti/launch"
    messages = [{"type": "LtiResourceLinkRequest", "target_link_uri": launch_url, "label": "Pathways"}]
    if not messages_supported or "LtiDeepLinkingRequest" in messages_supported:
        messages.append({"type": "LtiDeepLinkingRequest", "target_link_uri": launch_url, "label": "Pathways"})
    # Only to a platform that names it: the data privacy launch opens a person's data pages (services/privacy.py).
    if "DataPrivacyLaunchRequest" in messages_supported:
        messages.append({"type": "DataPrivacyLaunchRequest", "target_link_uri": launch_url,
                         "label": "Pathways: data and privacy"})
    tool_config: dict[str, Any] = {
        "domain": urlsplit(base_url).netloc,
        "target_link_uri": launch_url,
        "description": "Personalized, mastery-based learning plans with grade passback.",
        "claims": claims,
        "messages": messages,
        # The person's time zone in the LMS (Core Appendix C substitution), which a course's dates can follow.
        "custom_parameters": {TIME_ZONE_PARAM: TIME_ZONE_VARIABLE},
    }
    family = (platform_config.get(PLATFORM_CONFIG) or {}).get("product_family_code")
    if family == "canvas":
        # Names, and emails only when this installation keeps them: the same as the developer key's JSON.
        tool_config[CANVAS_PRIVACY_LEVEL] = "public" if store_email else "name_only"
        tool_config[CANVAS_TOOL_ID] = "pathways"
        for message in messages:
            wanted = CANVAS_PLACEMENTS.get(message["type"], [])
            listed = messages_supported.get(message["type"])
            # Only placements this Canvas lists for the message type (it lists them in its configuration).
            placements = [p for p in wanted if listed is None or p in listed]
            if placements:
                message["placements"] = placements
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
        TOOL_CONFIG: tool_config,
    }


def register_with_platform(
    http: OutboundSession, platform_config: dict, request_body: dict, *, registration_token: str | None, timeout: float
) -> RegisteredPlatform:
    """POST the registration and return what the platform granted (§3.6)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        resp = http.post(platform_config["registration_endpoint"], json=request_body, headers=headers,
                         timeout=timeout, allow_redirects=False, max_bytes=MAX_CONFIG_BYTES)
    except requests.RequestException as exc:
        reason = exc.reason if isinstance(exc, OutboundError) else "unreachable"
        raise RegistrationError(f"Pathways could not reach the LMS's registration endpoint (reason: {reason}).",
                                502) from exc
    if not resp.ok or resp.is_redirect:
        # The LMS's own words stay out of the page: they may echo anything. The status says enough.
        raise RegistrationError(
            f"The LMS refused the registration (HTTP {resp.status_code}, reason: registration_refused). Start the "
            "registration again from the LMS; its registration token may have expired or been used.", 502)
    try:
        granted = answer_json(resp)
    except ValueError as exc:
        raise RegistrationError("The LMS's registration answer is not JSON (reason: not_json).", 502) from exc
    client_id = granted.get("client_id") if isinstance(granted, dict) else None
    if not isinstance(client_id, str) or not client_id:
        raise RegistrationError("The LMS's registration answer has no client_id (reason: no_client_id).", 502)
    if not _usable_id(client_id):
        raise RegistrationError(
            f"The LMS's registration answer has a client_id Pathways cannot keep: it must be at most {MAX_ID_CHARS} "
            "characters, without spaces or control characters (reason: bad_client_id). Nothing was registered.",
            502)
    tool_config = granted.get(TOOL_CONFIG) if isinstance(granted.get(TOOL_CONFIG), dict) else {}
    deployment_id = tool_config.get("deployment_id")
    if isinstance(deployment_id, str) and deployment_id and not _usable_id(deployment_id):
        raise RegistrationError(
            f"The LMS's registration answer has a deployment_id Pathways cannot keep: it must be at most "
            f"{MAX_ID_CHARS} characters, without spaces or control characters (reason: bad_deployment_id). Nothing "
            "was registered.", 502)
    # The name is only shown (pages, `pathways platform list`): cleaned rather than refused.
    family = one_line((platform_config.get(PLATFORM_CONFIG) or {}).get("product_family_code") or "")[:100]
    return RegisteredPlatform(
        issuer=platform_config["issuer"],
        client_id=client_id,
        deployment_id=deployment_id if isinstance(deployment_id, str) and deployment_id else None,
        auth_login_url=platform_config["authorization_endpoint"],
        token_url=platform_config["token_endpoint"],
        jwks_url=platform_config["jwks_uri"],
        name=f"{family or 'LMS'} ({urlsplit(platform_config['issuer']).netloc})",
        audience=_authorization_server(platform_config),
    )


def _usable_id(value: str) -> bool:
    # Ids are kept as given and shown to the admin in `pathways platform list` and in commands to run: one with a
    # control character (NUL, which PostgreSQL refuses; a terminal escape; a line break forging a listing line) or
    # a space cannot be a real platform's, and is refused rather than changed into an id the LMS never gave.
    return len(value) <= MAX_ID_CHARS and is_token(value)


def _authorization_server(platform_config: dict) -> str | None:
    """Return the configuration's `authorization_server`, the aud its token endpoint wants (None: the endpoint).

    A platform's OpenID configuration may name an authorization server identifier other than its token endpoint
    (D2L Brightspace does); without it every token request there would be refused. It is never fetched, only
    signed into our assertion, so it needs no address check, only a sane size.
    """
    value = platform_config.get("authorization_server")
    if isinstance(value, str) and value.strip() and len(value) <= 1000:
        return value.strip()
    return None
