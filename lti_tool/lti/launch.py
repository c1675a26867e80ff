"""OIDC login and launch validation: pylti1p3 with the gaps of 2.0.0 closed.

Spec: 1EdTech Security Framework 1.0 §5.1 (OIDC third-party initiated login, id_token validation) and
LTI 1.3 Core §5. pylti1p3 does the bulk; this module adds what it leaves open:
- the nonce is bound to the login's state and consumed, so an id_token + state cannot be replayed;
- `aud` with several audiences requires `azp`, and `azp` must be our client id (OIDC Core §3.1.3.7);
- the login's state names its registration (issuer, client id), and a token for another one is refused (mix-up);
- `target_link_uri` must be ours and equal the one the login was started for;
- the login parameters kept with the state are capped (MAX_LOGIN_PARAM_CHARS), and each is kept once;
- an unknown `kid` refreshes the platform JWKS once before failing;
- only RS256 is accepted, and exp/iat are checked with a small leeway;
- Canvas's `deployment_id` login parameter is accepted beside `lti_deployment_id`;
- a login that offers platform storage (`lti_storage_target`) keeps state and nonce there too, so a browser
  that blocks third-party cookies can still launch (platform_storage.py);
- the state cookie is Partitioned (CHIPS) when it is SameSite=None; Secure, so Chromium keeps it in an LMS frame
  even with third-party cookies blocked;
- a framed launch whose state cookie did not come back, from a platform without storage, is offered a new window
  (OIDC login restarted there, first-party) instead of a refusal (NewWindowNeeded).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app, make_response
from pylti1p3.contrib.flask import FlaskCacheDataStorage, FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.contrib.flask.session import FlaskSessionService
from pylti1p3.exception import LtiException, OIDCException

from .. import login_budget, process_copy
from ..extensions import cache
from ..kept_map import KeptMap
from ..security import MAX_ID_TOKEN_CHARS, note_decoded_token
from .blocked_cookies import RELOGIN_PARAMS, PartitionedCookieService, open_relogin, seal_relogin
from .claims import DL_SETTINGS_CLAIM
from .outbound import answer_json, origin
from .platform_storage import StorageCheckNeeded, issue_check, origin_of, redeem_check, storage_target
from .toolconf import find_deployment, find_platform, sole_client_id

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MAX_JWKS_BYTES = 256 * 1024
log = logging.getLogger(__name__)
_UNKNOWN = object()  # a lookup not made yet (None is a lookup's answer)


def N_(text: str) -> str:  # noqa: N802 - pybabel's default marker: the message goes into the translation catalog
    """Mark a message for translation; error pages show it in the reader's language."""
    return text


class LaunchError(Exception):
    """A login or launch we refuse; the message is shown to the person, so it is plain and safe."""

    title = "This launch could not be completed"

    def __init__(self, message: str, status: int = 400, *, logged: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: Facts for the log's one line about this refusal (errors.py), never shown on the page.
        self.logged = logged


class NewWindowNeeded(Exception):
    """The state cookie did not come back and the platform offers no storage: restart the login in a new window.

    Only a framed launch is offered this (the browser blocked the cookie as third-party); a top-level launch
    without its cookie really came from another browser, and the web layer refuses it (refusal()).
    """

    message = N_("This launch was not started in this browser, or it has expired. Start again from your course.")

    def __init__(self, login_params: Mapping[str, str]) -> None:
        super().__init__("new window needed")
        self.login_params = dict(login_params)

    def refusal(self) -> LaunchError:
        """Return the refusal for a launch that really came back to another browser."""
        return LaunchError(self.message)


_STATE_PREFIX = "lti1p3-state-"
_STATE_ENTRY_PREFIX = "lti1p3-login-"


class LaunchStateStorage(FlaskCacheDataStorage):
    """Keep login state and nonces in the shared cache, keyed by the unguessable state itself.

    pylti1p3 adds a `session-id` cookie on HTTPS; browsers that block third-party cookies drop it, and
    the state cookie (or platform storage) already binds the launch to the browser, so we do without it.
    """

    def get_session_cookie_name(self) -> None:
        return None

    def _prepare_key(self, key: str) -> str:
        # A login's state entry is kept under a digest of the state, not the state itself: the state is the key that
        # opens its sealed hints (seal_relogin), so whoever reads the cache's keys cannot open them.
        key = super()._prepare_key(key)
        if key.startswith(_STATE_PREFIX):
            return _STATE_ENTRY_PREFIX + hashlib.sha256(key.encode()).hexdigest()
        return key

    def _kept_before_sealing(self, key: str) -> str | None:
        """Return the key a release before the digest kept this login's state entry under (the state itself).

        Logins pending when such a release was replaced still launch: their entries stay in the cache for up to
        LOGIN_STATE_SECONDS after the upgrade (their hints in clear, as they were kept, until they expire).
        """
        key = super()._prepare_key(key)
        return key if key.startswith(_STATE_PREFIX) else None

    def get_value(self, key: str) -> Any:
        value = super().get_value(key)
        if value is None and (before := self._kept_before_sealing(key)) is not None:
            value = self._get_cache().get(before)
        return value

    def pop_value(self, key: str) -> bool:
        """Delete a key; True only for the caller that actually removed it (single use)."""
        if self._get_cache().delete(self._prepare_key(key)):
            return True
        before = self._kept_before_sealing(key)
        return before is not None and bool(self._get_cache().delete(before))


class StateBoundNonces(FlaskSessionService):
    """Keep a login's nonce only inside its state entry, not also as an entry of its own.

    PathwaysLogin binds the nonce to the state it makes; a launch must carry that state, whose entry it uses up
    (consume), and a nonce equal to the one in it (validate_nonce). So a nonce is good for one launch, of one
    login, before that login expires: a second entry per nonce (pylti1p3's) added a cache write at every login
    and a read and a delete at every launch, and no check.
    """

    def save_nonce(self, nonce: str) -> None:
        return None  # already in the state entry (PathwaysLogin._generate_nonce)

    def save_state_params(self, state: str, params: dict[str, Any]) -> None:
        # The hints that restart the login elsewhere are sealed with the state (blocked_cookies.seal_relogin).
        params = dict(params)
        relogin = params.pop("relogin", None)
        if relogin:
            params["relogin_sealed"] = seal_relogin(relogin, state)
        super().save_state_params(state, params)

    def check_nonce(self, nonce: str) -> bool:
        return False  # never asked (PathwaysLaunch.validate_nonce compares with the state's); fail closed if it is


def _state_key(state: str) -> str:
    return "lti1p3-" + state


#: The longest login parameters accepted (Security Framework §5.1.1.1). A login is anonymous, and its state is kept
#: in the shared cache for LOGIN_STATE_SECONDS with these values in it, so each is capped well above what LMSs send:
#: Canvas's lti_message_hint is a signed JWT of about 1 KB (Blackboard's and Brightspace's opaque hints are shorter,
#: Moodle's a small JSON object), a login_hint is a user id or a short opaque string, and target_link_uri is one of
#: our own URLs. Longer is refused (400) before anything is kept.
MAX_LOGIN_PARAM_CHARS = {"login_hint": 2048, "lti_message_hint": 4096, "target_link_uri": 2048}


def relogin_params(login: Mapping[str, Any], state: str) -> dict[str, str]:
    """Return the OIDC login parameters that start a login's state entry again (in a new window)."""
    # A login kept before the hints were sealed (pending across an upgrade) has them in clear.
    before = login.get("relogin")
    hints = open_relogin(login.get("relogin_sealed"), state) or (
        {name: before.get(name) for name in RELOGIN_PARAMS} if isinstance(before, dict) else {})
    params = {"iss": login.get("iss"), "client_id": login.get("client_id"),
              "target_link_uri": login.get("target_link_uri"), "lti_deployment_id": login.get("deployment_id"),
              **hints}
    return {name: value for name, value in params.items() if isinstance(value, str) and value}


def _is_ours(url: object) -> bool:
    base = current_app.config["BASE_URL"]
    return isinstance(url, str) and (url == base or url.startswith(base + "/"))


class PathwaysLogin(FlaskOIDCLogin):
    """OIDC third-party initiated login (Security Framework §5.1.1.1)."""

    def __init__(
        self, request: FlaskRequest, tool_config: Any, storage: LaunchStateStorage, *, state_seconds: int
    ) -> None:
        super().__init__(request, tool_config, session_service=StateBoundNonces(request),
                         launch_data_storage=storage,
                         cookie_service=PartitionedCookieService(request, lifetime=state_seconds))
        self.set_launch_data_storage(storage)
        self.set_launch_data_lifetime(state_seconds)
        self._platform_redirect: Any = None
        self._sole_client_id: Any = _UNKNOWN

    def _generate_nonce(self) -> str:
        # Called after the state is made and before its params are saved: bind the nonce to this state.
        nonce = super()._generate_nonce()
        self._state_params = {**self._state_params, "nonce": nonce}
        return nonce

    def _get_request_param(self, key: str) -> Any:
        value = super()._get_request_param(key)
        if key == "client_id" and not value:
            # Optional in a login (LTI Core 1.3 §4.1): the issuer's only registration, if it has exactly one.
            if self._sole_client_id is _UNKNOWN:
                self._sole_client_id = sole_client_id(super()._get_request_param("iss"))
            value = self._sole_client_id
        return value

    def deployment_param(self) -> str | None:
        # Canvas sends deployment_id; the spec names it lti_deployment_id.
        return self._get_request_param("lti_deployment_id") or self._get_request_param("deployment_id")

    def validate_oidc_login(self):
        for name in ("iss", "login_hint", "target_link_uri", "client_id"):
            if not self._get_request_param(name):
                raise LaunchError(f"The login request is missing '{name}'.")
        for name, longest in MAX_LOGIN_PARAM_CHARS.items():
            value = self._get_request_param(name)
            if isinstance(value, str) and len(value) > longest:
                raise LaunchError(f"The login request's '{name}' is longer than Pathways accepts.")
        registration = super().validate_oidc_login()
        target = self._get_request_param("target_link_uri")
        if not _is_ours(target):
            raise LaunchError(N_("The login asks to open a link that does not belong to this tool."))
        platform = find_platform(registration.get_issuer(), registration.get_client_id())
        _require_approved(platform)
        deployment_id = self.deployment_param()
        if deployment_id:
            if platform is None or find_deployment(platform.id, deployment_id) is None:
                raise LaunchError(N_("This deployment of the tool is not registered with Pathways."), 403,
                                  logged=self._login_facts())
        self._state_params = {
            # The registration this login is for: its launch must be signed by that issuer for that client id
            # (Security Framework §5.1.3; an id_token from another platform carrying this nonce is a mix-up).
            "iss": registration.get_issuer(),
            "client_id": registration.get_client_id(),
            "target_link_uri": target,
            "deployment_id": deployment_id,
            "issued_at": int(time.time()),
            # With the values above, what restarts this login in a new window if the state cookie does not come
            # back (NewWindowNeeded, relogin_params); each value is kept once, sealed with the state
            # (StateBoundNonces.save_state_params), and not at all for a login that uses platform storage.
            "relogin": {name: value for name in RELOGIN_PARAMS
                        if isinstance(value := self._get_request_param(name), str) and value},
        }
        # Everything checked, state about to be kept: this client's budget pays for it (a 429 past it).
        login_budget.spend("login")
        target_frame = self.storage_target()
        origin = origin_of(registration.get_auth_login_url())
        if target_frame and origin:
            # The launch may come back without the state cookie; then the launch page reads these from storage.
            self._state_params.update(platform_storage=True, storage_target=target_frame, storage_origin=origin)
            # Such a launch is never offered a new window (validate_state): its hints are not kept at all.
            self._state_params.pop("relogin", None)
        return registration

    def _login_facts(self) -> str:
        """Name the registration a refused login asked for, quoted and cut short (_logged): anyone may send one
        before any budget is spent."""
        return "iss={} client_id={} deployment_id={}".format(
            _logged(self._get_request_param("iss")), _logged(self._get_request_param("client_id")),
            _logged(self.deployment_param()))

    def storage_target(self) -> str | None:
        """Return the frame offering platform storage, unless this login was reopened in a new window."""
        if self._is_new_window_request():
            return None  # top-level now: first-party cookies work, and there is no LMS frame to talk to
        return storage_target(self._get_request_param("lti_storage_target"))

    def _prepare_redirect_url(self, launch_url: str) -> str:
        url = super()._prepare_redirect_url(launch_url)
        base = self._registration.get_auth_login_url()
        if "?" in base and url.startswith(base + "?"):
            # pylti1p3 adds "?" + the parameters even to a login URL with a query of its own (a tenant's, say),
            # which would hide state, nonce and client_id inside that query's last value.
            url = base + "&" + url[len(base) + 1:]
        return url

    def _redirect_object(self, launch_url: str):
        # Made once per login: each call would otherwise start a new state and nonce.
        if self._platform_redirect is None:
            try:
                self._platform_redirect = self.get_redirect_object(launch_url)
            except OIDCException as exc:
                message = _plain_oidc_message(str(exc))
                # What the LMS sent, for the admin to register (the page names nobody's values), in the one log
                # line about this refusal (errors.py).
                facts = self._login_facts() if message == NOT_REGISTERED else ""
                raise LaunchError(message, logged=facts) from exc
        return self._platform_redirect

    def redirect_to_platform(self, launch_url: str):
        """Return the redirect to the platform's authorization endpoint, with the state cookie set."""
        return make_response(self._redirect_object(launch_url).do_redirect())

    def storage_login(self, launch_url: str) -> dict[str, Any] | None:
        """Prepare a platform-storage login: return what the login page needs, with cookies still to be set.

        Returns None when the login offers no platform storage; then use redirect_to_platform.
        """
        if not self.storage_target():
            return None
        redirect = self._redirect_object(launch_url)
        if not self._state_params.get("platform_storage"):
            return None  # no usable platform origin: the plain redirect (cookie flow) it is
        query = parse_qs(urlsplit(redirect.get_redirect_url()).query)
        return {
            "auth_url": redirect.get_redirect_url(),
            # Ours are the last: a platform's login URL may carry parameters of its own before them.
            "state": query["state"][-1],
            "nonce": query["nonce"][-1],
            "target": self._state_params["storage_target"],
            "origin": self._state_params["storage_origin"],
        }

    def framed_login(self, launch_url: str) -> dict[str, Any]:
        """Prepare a login inside a frame with no platform storage: the page checks cookies before going on.

        If the browser blocks the state cookie there, the page offers the same login in a new window before the
        platform has used up its one-time lti_message_hint (Moodle's is single use).
        """
        return {"auth_url": self._redirect_object(launch_url).get_redirect_url(), "origin": None, "target": None,
                "state": "", "nonce": ""}

    def platform_login_url(self) -> str | None:
        """Return the validated registration's OIDC authorization endpoint (where this login goes next)."""
        return self._registration.get_auth_login_url() if self._registration is not None else None

    def add_cookies(self, response: Any) -> Any:
        """Set the state cookie on a response (it still works where the browser allows cookies)."""
        self._cookie_service.update_response(response)
        return response


NOT_APPROVED = (
    "This LMS has registered Pathways, but a Pathways administrator has not approved it yet "
    "(pathways platform approve). Ask your LMS administrator."
)


ANONYMOUS = N_(
    "Pathways needs to know who you are, but your LMS did not share it with this launch. Ask your LMS "
    "administrator to turn on sharing the user's identity (name and id) with this tool."
)


ROLES_NOT_A_LIST = N_(
    "Your LMS sent your roles in a form Pathways cannot read: the launch's roles claim must be a list of roles "
    "(LTI 1.3 Core §5.3.7). Ask your LMS administrator to check how the tool is set up."
)

UNTRUSTED_AUDIENCE = N_("The launch is also addressed to another tool (aud), which Pathways does not accept.")
NOT_OUR_AUDIENCE = N_("The launch is addressed to another tool (aud), not to Pathways.")

NO_RETURN_URL = N_(
    "The LMS did not say where to send the chosen links (deep_link_return_url). Ask your LMS administrator to check "
    "how the tool is set up."
)


def _is_web_address(url: object) -> bool:
    """Tell whether a claim is an http(s) URL with a host (whose host it is, is checked where it is used)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced "[" in the host
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _require_approved(platform: Any) -> None:
    """Refuse a platform that registered itself until an admin approved it (admin-facing words)."""
    if platform is not None and not platform.approved:
        raise LaunchError(NOT_APPROVED, 403)


NOT_REGISTERED = N_("This platform and client id are not registered with Pathways.")

#: The most of a login parameter the log quotes: an issuer, client id or deployment id is far shorter (LTI Core 1.3
#: §3.1.3 caps a deployment id at 255 characters), while an anonymous login's form may carry MAX_CONTENT_LENGTH.
LOGGED_PARAM_CHARS = 255


def _logged(value: Any) -> str:
    """Quote a login parameter for the log: repr keeps a forged line break out, and a long value is cut short."""
    if isinstance(value, str) and len(value) > LOGGED_PARAM_CHARS:
        return f"{value[:LOGGED_PARAM_CHARS]!r}... ({len(value)} characters)"
    return repr(value)


def _plain_oidc_message(detail: str) -> str:
    if "registration" in detail.lower():
        return NOT_REGISTERED
    return "The login request could not be accepted: " + detail


class PathwaysLaunch(FlaskMessageLaunch):
    """Validate an id_token POSTed to the launch URL (Security Framework §5.1.3)."""

    def __init__(
        self,
        request: FlaskRequest,
        tool_config: Any,
        storage: LaunchStateStorage,
        *,
        leeway: int,
        jwks_ttl: int,
        jwks_refetches_per_minute: int,
        jwks_failure_ttl: int,
        timeout: float,
        http: requests.Session,
        storage_proof: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(request, tool_config, session_service=StateBoundNonces(request),
                         launch_data_storage=storage, requests_session=http)
        self._storage = storage
        self._storage_proof = storage_proof
        self._leeway = leeway
        self._jwks_ttl = jwks_ttl
        self._jwks_refetches_per_minute = jwks_refetches_per_minute
        self._jwks_failure_ttl = jwks_failure_ttl
        self._timeout = timeout
        self._fetched_now = False
        self._key_set_held = False  # the key set came from this process's copy, not the shared cache
        self._login: Mapping[str, Any] = {}

    # --- pieces pylti1p3 lacks ------------------------------------------------------------------
    def get_client_id(self) -> str:
        """Return the client id this token was issued to, per OIDC Core §3.1.3.7 (aud and azp)."""
        body = self._jwt.get("body", {})
        aud = body.get("aud")
        azp = body.get("azp")
        audiences = aud if isinstance(aud, list) else [aud]
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            # Security Framework 1.0 §5.1.3 step 3: a token that lists no client id is rejected with HTTP 401.
            raise LaunchError(N_("The launch does not say which tool it is for (aud)."), 401)
        if azp is not None and (not isinstance(azp, str) or azp not in audiences):
            raise LaunchError(N_("The launch names an authorized party (azp) that is not among its audiences."))
        if len(audiences) > 1 and azp is None:
            raise LaunchError(N_("The launch is addressed to several tools but names no authorized party (azp)."))
        return azp or audiences[0]

    def validate_jwt_format(self):
        token = self._get_request_param("id_token")
        if not token or not isinstance(token, str):
            raise LaunchError(N_("The launch has no id_token. Start again from your course."))
        if len(token) > MAX_ID_TOKEN_CHARS:
            raise LaunchError(N_("The launch token is too large."), 413)
        super().validate_jwt_format()
        header, body = self._jwt.get("header"), self._jwt.get("body")
        note_decoded_token(token, body)  # the response's Content-Security-Policy reads the issuer from it
        if not isinstance(header, dict) or not isinstance(body, dict):
            raise LaunchError(N_("The launch token is not a valid JSON Web Token."))
        if header.get("alg") != "RS256":
            raise LaunchError(N_("The launch token must be signed with RS256."))
        if not isinstance(header.get("kid"), str) or not header["kid"]:
            raise LaunchError(N_("The launch token does not name its signing key (kid)."))
        return self

    def validate_state(self):
        state = self._get_request_param("state")
        if not state or not isinstance(state, str) or len(state) > 200:
            raise LaunchError(N_("The launch has no state. Start again from your course."))
        cookie_state = self._cookie_service.get_cookie(state)
        params = self._session_service.get_state_params(state)
        uses_storage = isinstance(params, dict) and bool(params.get("platform_storage"))
        if cookie_state != state and not uses_storage and self._storage_proof is None and isinstance(params, dict):
            # The login is ours and unused, but its cookie did not come back: blocked in a frame, or another browser.
            raise NewWindowNeeded(relogin_params(params, state))
        if cookie_state != state and not uses_storage:
            raise LaunchError(
                N_("This launch was not started in this browser, or it has expired. Start again from your course.")
            )
        if not isinstance(params, dict):
            raise LaunchError(N_("This launch has already been used or has expired. Start again from your course."))
        if self._storage_proof is not None:
            if not uses_storage or not redeem_check(
                self._storage_proof.get("ticket"),
                id_token=self._get_id_token(),
                state=state,
                login=params,
                stored_state=self._storage_proof.get("stored_state"),
                stored_nonce=self._storage_proof.get("stored_nonce"),
            ):
                raise LaunchError(
                    N_(
                        "This launch could not be confirmed with your LMS, or the confirmation was already used. "
                        "Start again from your course."
                    )
                )
        elif cookie_state != state:
            # No cookie came back, but the login kept state and nonce in the platform: check them there first. The
            # ticket is kept before the token's signature is checked, so the client's budget pays for it too.
            login_budget.spend("storage-check")
            raise StorageCheckNeeded(issue_check(self._get_id_token(), state, params))
        self._login = params
        return self

    def validate_nonce(self):
        nonce = self._get_jwt_body().get("nonce")
        if not nonce or not isinstance(nonce, str):
            raise LaunchError(N_("The launch has no nonce."))
        # The login's state entry (read by validate_state, used up by consume) holds the nonce it was issued with.
        if nonce != self._login.get("nonce"):
            raise LaunchError(N_("The launch's nonce does not match the login. Start again from your course."))
        return self

    def validate_jwt_signature(self):
        public_key, _alg = self.get_public_key()
        body = self._get_jwt_body()
        try:
            jwt.decode(
                self._get_id_token(),
                public_key,
                algorithms=["RS256"],
                audience=self.get_client_id(),
                issuer=body.get("iss"),
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise LaunchError(N_("The launch has expired. Start again from your course.")) from exc
        except jwt.ImmatureSignatureError as exc:
            raise LaunchError(N_("The launch token was issued in the future; check the platform's clock.")) from exc
        except jwt.InvalidTokenError as exc:
            raise LaunchError(f"The launch token is not valid ({exc}).") from exc
        return self

    def validate_registration(self):
        self._refuse_audience_without_our_client()
        super().validate_registration()
        assert self._registration is not None
        issuer, client_id = self._registration.get_issuer(), self._registration.get_client_id()
        # Before any key is fetched: the token (its iss, and its azp or one aud) must be for the registration its
        # login was started for, or a token another platform signed with this login's nonce would pass (Security
        # Framework §5.1.3 step 2, OIDC mix-up). A login's state always names both (PathwaysLogin.validate_oidc_login).
        if (issuer, client_id) != (self._login.get("iss"), self._login.get("client_id")):
            raise LaunchError(N_("The launch comes from a different LMS or tool registration than its login did. "
                                 "Start again from your course."))
        _require_approved(find_platform(issuer, client_id))
        self._refuse_untrusted_audiences(issuer, client_id)
        return self

    def _refuse_audience_without_our_client(self) -> None:
        """Refuse a token from the login's issuer whose aud does not list the client id the login was for.

        Security Framework 1.0 §5.1.3 step 3: the tool MUST reject an ID token that "does not list the client_id as a
        valid audience", with HTTP 401 (it was a 400 saying the client id is not registered). A token from another
        issuer is refused as a mix-up after this (validate_registration), as before.
        """
        body = self._get_jwt_body()
        aud = body.get("aud")
        audiences = aud if isinstance(aud, list) else [aud]
        if body.get("iss") == self._login.get("iss") and self._login.get("client_id") not in audiences:
            raise LaunchError(NOT_OUR_AUDIENCE, 401)

    def _refuse_untrusted_audiences(self, issuer: str, client_id: str) -> None:
        """Refuse a token also addressed to an audience that is not one of our approved clients on this issuer.

        Security Framework 1.0 §5.1.3 step 3: the tool MUST reject an ID token that "contains additional audiences
        not trusted by the Tool", with HTTP 401. A token meant for another tool as well may be replayed to it.
        """
        aud = self._get_jwt_body().get("aud")
        others = {a for a in aud if a != client_id} if isinstance(aud, list) else set()
        for other in sorted(others):
            platform = find_platform(issuer, other)
            if platform is None or not platform.approved:
                raise LaunchError(UNTRUSTED_AUDIENCE, 401)

    def validate_deployment(self):
        deployment_id = self._get_jwt_body().get(CLAIM + "deployment_id")
        if not isinstance(deployment_id, str) or not deployment_id:
            # Core §5.3.3: required, a string. Without one, "this deployment is not registered" sent the LMS
            # administrator looking for a registration that was never the fault.
            raise LaunchError(N_("The launch does not name its deployment (deployment_id)."))
        super().validate_deployment()
        login_deployment = self._login.get("deployment_id")
        if login_deployment and login_deployment != self._get_deployment_id():
            raise LaunchError(N_("The launch names a different deployment than its login did."))
        return self

    def validate_message(self):
        # LTI Core §5.3.6: a platform leaves out `sub` for an anonymous user. Pathways keeps a plan per person, so it
        # cannot serve one; say what the LMS must share rather than pylti1p3's "Must have a user (sub)".
        if self._get_jwt_body().get("sub") in (None, ""):
            raise LaunchError(ANONYMOUS, 403)
        roles = self._get_jwt_body().get(CLAIM + "roles")
        if roles is not None and not isinstance(roles, list):
            # Core §5.3.7: an array of URIs. Read as no role, the person was told the LMS sent none; read as one
            # role, an LTI 1.1-style "Instructor,Learner" could grant the wrong one. The platform's setup is at fault.
            raise LaunchError(ROLES_NOT_A_LIST)
        super().validate_message()
        body = self._get_jwt_body()
        if body.get(CLAIM + "message_type") == "LtiDeepLinkingRequest" \
                and not _is_web_address(body[DL_SETTINGS_CLAIM].get("deep_link_return_url")):
            # Deep Linking 2.0 §4.4.1: deep_link_return_url is required. Without one nowhere could take the chosen
            # links, so no session opens for a picker that could only fail. Whether the address is the platform's own
            # is checked when the links are sent (services/placements.py), which names the origin to register.
            raise LaunchError(NO_RETURN_URL)
        return self

    def validate_target_link_uri(self):
        target = self._get_jwt_body().get(CLAIM + "target_link_uri")
        if not _is_ours(target):
            raise LaunchError(N_("The launch is for a link that does not belong to this tool."))
        if target != self._login.get("target_link_uri"):
            raise LaunchError(N_("The launch is for a different link than its login asked for."))
        return self

    def consume(self):
        """Use up the state, and with it the nonce bound to it: the same id_token and state are refused from now on."""
        state = self._get_request_param("state")
        if not self._storage.pop_value(_state_key(state)):
            raise LaunchError(N_("This launch has already been used. Start again from your course."))
        # (Logins made before StateBoundNonces also left a nonce entry; nothing reads it now, and it expires.)
        return self

    def save_launch_data(self):
        # We never keep the raw id_token or its full body beyond the request (privacy); the view records
        # the few values Pathways needs.
        return self

    def validate(self):
        if self._restored:
            raise LaunchError(N_("A restored launch cannot be validated again."))
        self._validated = True
        try:
            return (
                self.validate_jwt_format()
                .validate_state()
                .validate_registration()
                .validate_jwt_signature()
                .validate_nonce()
                .validate_deployment()
                .validate_message()
                .validate_target_link_uri()
                .consume()
            )
        except (LaunchError, StorageCheckNeeded):
            self._validated = False
            raise
        except LtiException as exc:
            self._validated = False
            raise LaunchError(_plain_launch_message(str(exc))) from exc
        except (ValueError, TypeError, KeyError, AttributeError, AssertionError) as exc:
            # Malformed claims make pylti1p3 trip over types; that is the sender's fault, not ours.
            self._validated = False
            raise LaunchError(N_("The launch token is malformed.")) from exc

    # --- platform keys --------------------------------------------------------------------------
    def fetch_public_key(self, key_set_url: str, *, force: bool = False, shared_only: bool = False) -> dict:
        """Return the platform's JWKS from the cache or over HTTP (through the outbound client); force refetches.

        This process keeps a key set it read for PROCESS_KEY_SET_SECONDS (`process_copy`); `shared_only` skips
        that copy and reads the shared cache, where another process's refetch after a key rotation is.

        A failed fetch is remembered for JWKS_FAILURE_CACHE_SECONDS: while a platform is slow or down, launches
        fail at once instead of each waiting out the deadline.
        """
        cache_key = _jwks_key(key_set_url)
        if not force:
            held = None if shared_only else process_copy.held(_KEY_SETS, cache_key, PROCESS_KEY_SET_SECONDS)
            if held is not None:
                self._key_set_held = True
                return held
            cached = _unseal(cache.get(cache_key), key_set_url)
            if cached:
                process_copy.hold(_KEY_SETS, cache_key, cached)
                return cached
        if cache.get(cache_key + ":failed"):
            raise LaunchError(N_("The platform's public keys could not be fetched; try again shortly."), 502)
        try:
            resp = self._requests_session.get(key_set_url, timeout=self._timeout, max_bytes=MAX_JWKS_BYTES)
            resp.raise_for_status()
            keyset = answer_json(resp)
        except (requests.RequestException, ValueError) as exc:
            reason = getattr(exc, "reason", None) or ("http_error" if isinstance(exc, requests.HTTPError) else "bad")
            log.warning("platform JWKS fetch failed (%s) for %s", reason, origin(key_set_url))
            cache.set(cache_key + ":failed", reason, timeout=self._jwks_failure_ttl)
            raise LaunchError(N_("The platform's public keys could not be fetched; try again shortly."), 502) from exc
        if not isinstance(keyset, dict) or not isinstance(keyset.get("keys"), list):
            cache.set(cache_key + ":failed", "not_jwks", timeout=self._jwks_failure_ttl)
            raise LaunchError(N_("The platform's key set is not a JWKS document."), 502)
        cache.set(cache_key, _seal(keyset, key_set_url), timeout=self._jwks_ttl)
        process_copy.hold(_KEY_SETS, cache_key, keyset)
        self._fetched_now = True
        return keyset

    def _may_refetch(self, key_set_url: str) -> bool:
        """Allow a refetch for a kid the cached key set lacks once per 60 / JWKS_REFETCHES_PER_MINUTE seconds per
        platform, whichever kid asks.

        A kid reaches here before any signature can be checked, so a forged token's kid tells nothing and is not
        remembered: remembering kids as tried, under a budget a visitor reusing a state cookie could keep spent, let
        a real rotation's new kid be refused once and then for as long as the key set stayed cached (an hour). A
        rotating platform publishes its new key before signing with it, so any refetch after the rotation, whoever's
        launch causes it, brings the new key in for every launch: a rotation is picked up within one gap (10 s by
        default) however many forged kids arrive, and the platform sees at most the configured refetches a minute.
        """
        if self._fetched_now or self._jwks_refetches_per_minute <= 0:
            return False  # the key set we hold is seconds old (a refetch would say the same), or refetches are off
        gap = math.ceil(60 / self._jwks_refetches_per_minute)
        return bool(cache.add(_jwks_key(key_set_url) + ":refetched", 1, timeout=gap))

    def get_public_key(self):
        """Return the platform's public key for this token's kid (a parsed key object) and its algorithm.

        As pylti1p3 does, the key must carry the token's kid and algorithm (RS256 when it names none); unlike it, an
        unknown kid may refetch the key set (the platform may have rotated its key since we cached it; _may_refetch).
        """
        assert self._registration is not None
        url = self._registration.get_key_set_url()
        header = self._jwt.get("header", {})
        kid, alg = header.get("kid"), header.get("alg")
        if not kid:
            raise LtiException("JWT KID not found")
        if not alg:
            raise LtiException("JWT ALG not found")
        keyset = self.fetch_public_key(url)
        self._registration.set_key_set(keyset)
        jwk = _matching_key(keyset, kid, alg)
        if jwk is None and self._key_set_held:
            # This process's copy may predate another process's refetch after a rotation: the shared cache has it.
            keyset = self.fetch_public_key(url, shared_only=True)
            self._registration.set_key_set(keyset)
            jwk = _matching_key(keyset, kid, alg)
        if jwk is None:
            if not self._may_refetch(url):
                raise LaunchError(N_("The launch was signed with a key the platform does not publish."))
            keyset = self.fetch_public_key(url, force=True)
            self._registration.set_key_set(keyset)
            jwk = _matching_key(keyset, kid, alg)
        key = parsed_public_key(jwk) if jwk is not None else None
        if key is None:
            raise LaunchError(N_("The launch was signed with a key the platform does not publish."))
        return key, alg


#: How long a process keeps a platform's key set before reading the shared cache again. Every launch needs it, and
#: the shared cache (Redis in production) costs a round trip and a third of a millisecond of client CPU; an unknown
#: kid still reads the shared cache, then refetches (`get_public_key`), so a rotation is seen at once. Short, because
#: a key the platform withdrew stays usable in the other processes until their copy goes, after one of them refetched.
PROCESS_KEY_SET_SECONDS = 10.0
_KEY_SETS = "pathways.platform_key_sets"


def _matching_key(keyset: Mapping[str, Any], kid: object, alg: object) -> dict | None:
    """Return the key set's JWK with this kid and algorithm (pylti1p3's rule), or None.

    A key naming no algorithm is RS256, as in pylti1p3; `"alg": null` names none either (RFC 7517 §4.4: optional), as
    key sets written from Java or .NET models send an unset member. Only an RSA key published for signing (`"use"`
    "sig", left out or null) is one: a key for encryption (`"use": "enc"`, RFC 7517 §4.2) or of another type verifies
    nothing, and does not hide the signing key that shares its kid (RFC 7517 §4.5 allows keys of two types one kid).
    """
    for jwk in keyset.get("keys") or ():
        if (isinstance(jwk, dict) and jwk.get("kid") and jwk.get("kid") == kid and (jwk.get("alg") or "RS256") == alg
                and jwk.get("kty") == "RSA" and jwk.get("use") in (None, "sig")):
            return jwk
    return None


# Platform public keys parsed from their JWK, by the JWK's whole content: a rotated or changed key is another
# entry, so nothing kept here outlives the key set it came from (read from this process's copy for a few seconds,
# else from the shared cache, where a refetch replaces it). Parsing a JWK (pylti1p3 went through jwcrypto and PEM, then
# PyJWT read the PEM back) cost about 0.25 ms per launch. Bounded (forged key sets cannot grow it).
MAX_PARSED_KEYS = 64
_PARSED_KEYS: KeptMap[str, Any] = KeptMap(MAX_PARSED_KEYS)


def parsed_public_key(jwk: Mapping[str, Any]) -> Any | None:
    """Return the public RSA key a JWK describes (only its public half), or None if it is not a usable RSA key."""
    try:
        canonical = json.dumps(jwk, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    key = _PARSED_KEYS.get(canonical)
    if key is None:
        try:
            key = jwt.algorithms.RSAAlgorithm.from_jwk(canonical)
        except (jwt.InvalidKeyError, ValueError, TypeError, KeyError):
            return None
        if isinstance(key, rsa.RSAPrivateKey):  # a key set that (wrongly) publishes a private key
            key = key.public_key()
        _PARSED_KEYS.put(canonical, key)
    return key


def _jwks_key(key_set_url: str) -> str:
    return "platform-jwks:" + hashlib.sha256(key_set_url.encode()).hexdigest()


def _mac_secret() -> bytes:
    return hashlib.sha256(b"pathways-jwks-cache|" + str(current_app.config["SECRET_KEY"]).encode()).digest()


def _mac(keyset: dict, key_set_url: str, secret: bytes | None = None) -> str:
    secret = _mac_secret() if secret is None else secret
    material = key_set_url.encode() + b"|" + json.dumps(keyset, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(secret, material, hashlib.sha256).hexdigest()


# Key sets whose MAC this process has checked, by key set URL and MAC, with the secret they were checked under.
# A launch reads its platform's key set from the shared cache when its process's copy is older than
# PROCESS_KEY_SET_SECONDS (or lacks the token's kid), and checking its MAC (the key set serialised
# canonically, then an HMAC) took about 0.1 million instructions: the same entry read again is now compared, as
# values, with the one already checked, and the checked one is what the launch uses. A key set, MAC or secret key
# not seen before is checked in full, as before. Bounded (an entry whose MAC fails never gets in).
MAX_CHECKED_KEY_SETS = 64
_CHECKED_KEY_SETS: KeptMap[tuple[str, str], tuple[bytes, dict]] = KeptMap(MAX_CHECKED_KEY_SETS)


def _seal(keyset: dict, key_set_url: str) -> dict:
    """Wrap a key set for the shared cache with a MAC: whoever can write to Redis cannot plant keys."""
    return {"jwks": keyset, "mac": _mac(keyset, key_set_url)}


def _unseal(entry: Any, key_set_url: str) -> dict | None:
    """Return a cached key set whose MAC checks out, or None (then it is fetched again)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("jwks"), dict) or not isinstance(entry.get("mac"), str):
        return None
    secret = _mac_secret()
    checked = _CHECKED_KEY_SETS.get((key_set_url, entry["mac"]))
    if checked is not None and hmac.compare_digest(checked[0], secret) and checked[1] == entry["jwks"]:
        return checked[1]
    if not hmac.compare_digest(entry["mac"], _mac(entry["jwks"], key_set_url, secret)):
        log.warning("ignored a cached platform key set whose MAC does not match (%s)", origin(key_set_url))
        return None
    _CHECKED_KEY_SETS.put((key_set_url, entry["mac"]), (secret, entry["jwks"]))
    return entry["jwks"]


def _plain_launch_message(detail: str) -> str:
    lowered = detail.lower()
    if "registration not found" in lowered or "client id not registered" in lowered:
        return NOT_REGISTERED
    if "deployment" in lowered:
        return N_("This deployment of the tool is not registered with Pathways.")
    if "resource link placement" in lowered:
        return N_("This place in the LMS does not accept links to tools, so Pathways cannot be added here.")
    return "The launch could not be accepted: " + detail


def make_launch(
    tool_conf: Any,
    request: FlaskRequest,
    settings: Mapping[str, Any],
    http: requests.Session,
    storage_proof: Mapping[str, str] | None = None,
) -> PathwaysLaunch:
    """Build a launch validator for the current request."""
    return PathwaysLaunch(
        request,
        tool_conf,
        LaunchStateStorage(cache),
        leeway=settings["JWT_LEEWAY_SECONDS"],
        jwks_ttl=settings["JWKS_CACHE_SECONDS"],
        jwks_refetches_per_minute=settings["JWKS_REFETCHES_PER_MINUTE"],
        jwks_failure_ttl=settings["JWKS_FAILURE_CACHE_SECONDS"],
        timeout=float(settings["SERVICE_TIMEOUT_SECONDS"]),
        http=http,
        storage_proof=storage_proof,
    )


def make_login(tool_conf: Any, request: FlaskRequest, settings: Mapping[str, Any]) -> PathwaysLogin:
    """Build an OIDC login handler for the current request."""
    return PathwaysLogin(
        request, tool_conf, LaunchStateStorage(cache), state_seconds=settings["LOGIN_STATE_SECONDS"]
    )


def validate_launch(
    tool_conf: Any,
    *,
    form: Mapping[str, str],
    cookies: Mapping[str, str],
    is_secure: bool,
    settings: Mapping[str, Any],
    http: requests.Session,
    storage_proof: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], str]:
    """Validate a posted launch and return (its claims, the client id it was issued to).

    Raises StorageCheckNeeded when the state cookie is missing but the login used platform storage; the
    launch is then posted again with storage_proof (ticket, stored_state, stored_nonce) from the check page.
    """
    request = FlaskRequest(cookies=cookies, request_data=dict(form) or {"id_token": None}, request_is_secure=is_secure)
    message = make_launch(tool_conf, request, settings, http, storage_proof)
    message.validate()
    return dict(message.get_launch_data()), message.get_client_id()
