"""Calls from the tool to a platform's LTI Advantage services, through pylti1p3's ServiceConnector.

Closes two gaps of pylti1p3 2.0.0: it caches access tokens per connector object forever (we cache per
platform and scope set in the shared cache until shortly before they expire), and it lower-cases the
NRPS `Link: rel="next"` URL (we keep it exactly as sent). Every call goes through the outbound client
(outbound.py), and every URL that would receive our bearer token (token endpoint, NRPS, AGS, paging links)
must be on one of the registered platform's origins: a URL from a course's custom parameters or a platform's
answer cannot send the platform-wide token anywhere else. Error messages carry a status and a reason code,
never the platform's answer.
Spec: 1EdTech Security Framework §4.1 (client credentials with a JWT bearer assertion).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, TypeVar
from urllib.parse import urljoin

import jwt
import requests
from flask import current_app, has_app_context
from pylti1p3.service_connector import ServiceConnector

from ..extensions import CACHE_OUTAGES, cache
from .outbound import (
    REDIRECT_REFUSED,
    TIMEOUT,
    UNREACHABLE,
    UNRESOLVABLE,
    OutboundError,
    OutboundSession,
    answer_json,
    origin,
)
from .sealing import ACCESS_TOKEN_MAX_SECONDS, open_token, seal_token
from .toolconf import ToolRegistration

NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPE_PREFIX = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS_SCOPE_PREFIX + "lineitem"
SCOPE_LINEITEM_READONLY = AGS_SCOPE_PREFIX + "lineitem.readonly"
SCOPE_RESULT_READONLY = AGS_SCOPE_PREFIX + "result.readonly"
SCOPE_SCORE = AGS_SCOPE_PREFIX + "score"
#: The token endpoint's answer to scopes it will not grant (RFC 6749 §5.2).
INVALID_SCOPE = "invalid_scope"
#: Our reason code for a call not made because the platform's token answer left its scope out (RFC 6749 §5.1).
SCOPE_NOT_GRANTED = "scope_not_granted"
#: What each service scope lets Pathways do, in the words an LMS administrator's tool settings use.
SCOPE_PERMISSIONS = {
    SCOPE_LINEITEM: "create and manage gradebook columns",
    SCOPE_LINEITEM_READONLY: "see gradebook columns",
    SCOPE_RESULT_READONLY: "read grades from the gradebook",
    SCOPE_SCORE: "send grades to the gradebook",
    NRPS_SCOPE: "read the course roster (Names and Role Provisioning Services)",
}
# Refresh a token this long before the platform says it expires, so a call never carries a stale one.
TOKEN_EXPIRY_MARGIN_SECONDS = 60
# Seconds a connector leaves the token cache alone after it did not answer (PlatformConnector._cache_call).
CACHE_REST_SECONDS = 15.0


class ServiceCallError(Exception):
    """A platform service answered with an error or could not be reached."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None, *,
                 unreachable: bool = False, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retry_after = retry_after
        #: The error code the platform answered with (RFC 6749 §5.2 "invalid_scope"), when it gave one.
        self.reason = reason
        #: The platform did not answer (timed out, refused the connection, unknown host): it may answer later.
        self.unreachable = unreachable

    @property
    def transient(self) -> bool:
        """Tell whether the same call may succeed later unchanged: no answer, 408, 429 or a 5xx."""
        return self.unreachable or self.status in (408, 429) or (self.status or 0) >= 500


def _no_answer(exc: Exception) -> bool:
    # Our own refusals (a private address, a redirect elsewhere, too large, a bad URL) will not change by waiting.
    if isinstance(exc, OutboundError):
        return exc.reason in (TIMEOUT, UNREACHABLE, UNRESOLVABLE)
    return isinstance(exc, (requests.ConnectionError, requests.Timeout))


class PlatformConnector(ServiceConnector):
    """A ServiceConnector with shared token caching, exact paging URLs, a timeout and our User-Agent."""

    def __init__(
        self,
        registration: ToolRegistration,
        http: requests.Session,
        *,
        timeout: float = 10,
        ags_scopes: Sequence[str] | None = None,
    ) -> None:
        if not isinstance(http, OutboundSession):
            # Whatever session a caller had at hand, platform calls obey the outbound rules.
            if not has_app_context():
                raise RuntimeError("platform calls need the app's outbound client (lti/outbound.py)")
            http = current_app.extensions["pathways_http"]
        super().__init__(registration, http)
        self._timeout = timeout
        self.token_requests = 0
        # The AGS scopes the platform announced for the course, if known: we never ask for more, because
        # some platforms (Moodle with "can create line items" off) refuse the whole token request then.
        self.ags_scopes = set(ags_scopes) if ags_scopes else None
        # Tokens are sealed in the shared cache with a key from the secret (lti/sealing.py); read it here, in the
        # app thread, because the worker posts scores from a thread pool without an app context.
        self._cache_secret = current_app.config["SECRET_KEY"] if has_app_context() else None
        # When (time.monotonic) this connector last found the cache unreachable: see _cache_call.
        self._cache_failed_at: float | None = None
        # The platform refused the whole AGS scope set as invalid_scope: ask each call's needed scope first.
        self._wide_refused = False

    def _cache_call(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call the shared cache; an outage, or one this connector met in the last CACHE_REST_SECONDS, is a miss.

        A Redis that hangs costs every call its whole PATHWAYS_REDIS_TIMEOUT_SECONDS, twice per grade (read the
        token, keep the new one): a worker's batch would wait out the cache again for each grade instead of
        posting them with tokens fresh from the platform.
        """
        if self._cache_failed_at is not None and time.monotonic() - self._cache_failed_at < CACHE_REST_SECONDS:
            return None
        try:
            return call(*args, **kwargs)
        except CACHE_OUTAGES:
            self._cache_failed_at = time.monotonic()
            return None

    def _allowed(self, scopes: Sequence[str]) -> list[str]:
        if self.ags_scopes is None:
            return list(scopes)
        narrowed = [s for s in scopes if not s.startswith(AGS_SCOPE_PREFIX) or s in self.ags_scopes]
        return narrowed or list(scopes)

    def _token_cache_key(self, scopes: Sequence[str]) -> str:
        reg = self._registration
        # JSON, not a joined string: a client id may hold any separator, and two registrations must never share a
        # token (joined with "|", client "c|S1" asking for scope S2 was client "c" asking for S1 and S2).
        # The token endpoint and the origins the token may be sent to are part of the registration too: a platform
        # removed and registered again under the same issuer and client id (or changed with `platform add`) naming
        # other hosts must not be handed the token the old registration got, to send to them.
        material = json.dumps([reg.get_issuer() or "", reg.get_client_id() or "", reg.get_auth_token_url() or "",
                               reg.get_auth_audience() or "", sorted(reg.origins), sorted(scopes)])
        return "lti-token:" + hashlib.sha256(material.encode()).hexdigest()

    def check_service_url(self, url: str) -> None:
        """Refuse a URL that is not on the registered platform's origins: our bearer token never goes there."""
        if not self._registration.owns(url):
            # The URL may come from the platform's answers (paging links, line items), never signed, or from a
            # course's settings: the refusal names the origin but no ready command, so nobody is led into
            # registering a host someone else chose. The command is named only for addresses the LMS signed in a
            # verified launch (the teacher's course page, the Deep Linking picker, the log).
            raise ServiceCallError(
                f"Pathways did not call {origin(url) or 'an invalid address'}: it is not one of the platform's "
                "registered origins (reason: foreign_origin). If a Pathways administrator confirms that it is the "
                "LMS's own host, they can add it with `pathways platform add-origin`."
            )

    def get_access_token(self, scopes: Sequence[str], needed: Sequence[str] = ()) -> str:
        """Return a cached access token for these scopes (narrowed to what the platform offers) or a new one."""
        return self._access(scopes, needed)[0]

    def grants(self, scopes: Sequence[str], scope: str) -> bool:
        """Tell whether the platform grants `scope` to a token asked for with `scopes` (one is fetched if none is kept).

        False when its token answer leaves the scope out (RFC 6749 §5.1) or it refuses the scope (invalid_scope).
        """
        try:
            _, granted = self._access(scopes, [scope])
        except ServiceCallError as exc:
            if exc.reason == INVALID_SCOPE:
                return False
            raise
        return scope in granted

    def _access(self, scopes: Sequence[str], needed: Sequence[str] = ()) -> tuple[str, frozenset[str]]:
        """Return an access token for these scopes and the scopes the platform granted it.

        `needed`: the scopes this call can do with, any one of them (ags_operation_scopes). A platform that will not
        grant the whole set answers invalid_scope (RFC 6749 §5.2; Canvas does when the developer key lacks one)
        where others grant part of it and say which in the answer's `scope` (§3.3, §5.1; Moodle's token.php): then
        each needed scope is asked for alone, and this connector asks for the needed scope first from then on.
        """
        wide = self._allowed(scopes)
        alone = [[scope] for scope in needed if [scope] != wide]
        refused: ServiceCallError | None = None
        if not (alone and self._wide_refused):
            try:
                return self._token(wide)
            except ServiceCallError as exc:
                if not alone or exc.reason != INVALID_SCOPE:
                    named = _named_refusal(exc, needed or wide)
                    if named is exc:
                        raise
                    raise named from exc
                self._wide_refused, refused = True, exc
        for asked in alone:
            try:
                return self._token(asked)
            except ServiceCallError as exc:
                if exc.reason != INVALID_SCOPE:
                    raise
                refused = refused or exc
        assert refused is not None  # alone is not empty here
        raise _named_refusal(refused, needed) from refused

    def _token(self, scopes: list[str]) -> tuple[str, frozenset[str]]:
        """Return a cached access token for exactly these scopes and what it was granted, or ask the platform."""
        self.check_service_url(self._registration.get_auth_token_url())
        key = self._token_cache_key(scopes)
        # Sealed, so a Redis dump does not hand out gradebook access.
        cached = open_token(self._cache_call(cache.get, key), self._cache_secret) if self._cache_secret else None
        if cached:
            return _kept_token(cached, scopes)
        reg = self._registration
        private_key = reg.get_tool_private_key()
        if not private_key:
            raise ServiceCallError("Pathways has no signing key yet; run `pathways keys rotate`.")
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": reg.get_client_id(),
                "sub": reg.get_client_id(),
                "aud": reg.get_auth_audience() or reg.get_auth_token_url(),
                "iat": now - 5,
                "exp": now + 300,
                "jti": str(uuid.uuid4()),
            },
            private_key,
            algorithm="RS256",
            headers={"kid": reg.get_kid()},
        )
        try:
            resp = self._requests_session.post(
                reg.get_auth_token_url(),
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    "client_assertion": assertion,
                    "scope": " ".join(scopes),
                },
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise ServiceCallError(f"The platform's token endpoint could not be reached ({_reason(exc)}).",
                                   unreachable=_no_answer(exc)) from exc
        self.token_requests += 1
        if not resp.ok:
            raise _refusal("an access token", resp)
        try:
            body = answer_json(resp)
            token = body["access_token"]
            expires_in = int(body.get("expires_in") or 3600)
            if not isinstance(token, str) or not token:
                raise ValueError("no token")
        except (ValueError, TypeError, KeyError) as exc:
            raise ServiceCallError("The platform's token answer could not be read (reason: bad_token_answer).") \
                from exc
        granted = granted_scopes(scopes, body.get("scope"))
        lifetime = max(expires_in - TOKEN_EXPIRY_MARGIN_SECONDS, 1)
        if self._cache_secret:  # not kept when the cache is down: the next call asks the platform again
            kept = json.dumps({"token": token, "scope": sorted(granted)})
            self._cache_call(cache.set, key, seal_token(kept, self._cache_secret),
                             timeout=min(lifetime, ACCESS_TOKEN_MAX_SECONDS))
        return token, granted

    def forget_token(self, scopes: Sequence[str], needed: Sequence[str] = ()) -> None:
        """Drop a cached token the platform no longer accepts (401): whichever get_access_token may have used."""
        # With the cache unreachable, the token could not have come from it: the retry asks the platform.
        for asked in [self._allowed(scopes), *([scope] for scope in needed)]:
            self._cache_call(cache.delete, self._token_cache_key(asked))

    def make_service_request(
        self,
        scopes: Sequence[str],
        url: str,
        is_post: bool = False,
        data: str | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        case_insensitive_headers: bool = False,
    ) -> dict[str, Any]:
        """Call a service URL on the platform's origins with a bearer token; on 401 fetch a fresh token once."""
        self.check_service_url(url)
        score = is_post and content_type == MEDIA_SCORE
        needed = ags_operation_scopes(scopes, is_post=is_post, content_type=content_type, accept=accept)
        required = needed or (tuple(scopes) if list(scopes) == [NRPS_SCOPE] else ())
        for attempt in (1, 2):
            token, granted = self._access(scopes, needed)
            if required and not granted.intersection(required):
                # The platform said it left this call's scope out: calling anyway only earns a 403 whose reason
                # nobody can act on. Refused here with the permission the LMS administrator has to give.
                raise not_granted(required)
            headers = {"Authorization": "Bearer " + token, "Accept": accept}
            try:
                if is_post:
                    headers["Content-Type"] = content_type
                    # A score post follows no redirect: a 301 or 302 is re-sent as a GET (RFC 9110 §15.4), so what
                    # answered 200 at the end (a sign-in page) never received the score, which then counted as sent.
                    resp = self._requests_session.post(url, data=data or None, headers=headers, timeout=self._timeout,
                                                       allow_redirects=not score)
                else:
                    resp = self._requests_session.get(url, headers=headers, timeout=self._timeout)
            except requests.RequestException as exc:
                raise _not_answered(exc, score=score) from exc
            if resp.status_code == 401 and attempt == 1:
                self.forget_token(scopes, needed)
                continue
            break
        if not resp.ok:
            raise _refusal("the request", resp)
        if not 200 <= resp.status_code < 300:
            raise _not_taken(resp, score=score)
        if score and _is_page(resp):
            raise ServiceCallError(SCORE_ANSWERED_WITH_PAGE)
        try:
            body = answer_json(resp) if resp.content else None
        except ValueError as exc:
            if not score:
                raise ServiceCallError("The platform's answer is not JSON (reason: not_json).") from exc
            # AGS 2.0 defines no answer to a score post: a 2xx is the score taken, whatever it says (but a page,
            # above). Read as a failure, the score would be posted again and again and end "failed" though the LMS
            # holds it.
            body = None
        return {
            "headers": resp.headers if case_insensitive_headers else dict(resp.headers),
            "body": body,
            "next_page_url": _link(resp, "next"),
            "differences_url": _link(resp, "differences"),
        }


def granted_scopes(asked: Sequence[str], answered: object) -> frozenset[str]:
    """Return the scopes a token answer granted: its `scope` (RFC 6749 §5.1), or all asked for when it names none.

    §5.1 lets the answer leave `scope` out only when it is what was asked. An answer naming none of the scopes asked
    for (an empty string, or names of the platform's own) says nothing usable: the platform decides on each call.
    """
    asked_set = frozenset(asked)
    if not isinstance(answered, str):
        return asked_set
    named = asked_set.intersection(answered.split())
    return named or asked_set


def _kept_token(kept: str, asked: Sequence[str]) -> tuple[str, frozenset[str]]:
    """Read a cached token: {"token", "scope"} as _token keeps it, or a bare token kept by an earlier release."""
    try:
        entry = json.loads(kept)
    except ValueError:
        entry = None
    if isinstance(entry, dict) and isinstance(entry.get("token"), str) and isinstance(entry.get("scope"), list):
        return entry["token"], granted_scopes(asked, " ".join(s for s in entry["scope"] if isinstance(s, str)))
    return kept, frozenset(asked)


def _permission(scopes: Sequence[str]) -> tuple[str, str]:
    """Return what the first known scope of these lets Pathways do, and that scope."""
    scope = next((s for s in scopes if s in SCOPE_PERMISSIONS), scopes[0] if scopes else "")
    return SCOPE_PERMISSIONS.get(scope, "use this LMS service"), scope


def not_granted(scopes: Sequence[str]) -> ServiceCallError:
    """Describe a call not made because the platform's token leaves out its scope, naming the permission to give.

    Status 403: what the platform answers a token without the scope (RFC 6750 §3.1 insufficient_scope), and a
    refusal the same call will meet again until an administrator changes the tool's settings.
    """
    what, scope = _permission(scopes)
    return ServiceCallError(
        f"The LMS did not give Pathways permission to {what} (reason: {SCOPE_NOT_GRANTED}). An LMS administrator "
        f"can allow it in Pathways' tool settings in the LMS (LTI Advantage scope {scope}).",
        403, reason=SCOPE_NOT_GRANTED)


def _named_refusal(exc: ServiceCallError, scopes: Sequence[str]) -> ServiceCallError:
    """Return a token refusal for scopes the platform will not grant (invalid_scope) worded with the permission."""
    if exc.reason != INVALID_SCOPE or not scopes:
        return exc
    what, scope = _permission(scopes)
    return ServiceCallError(
        f"The LMS refused Pathways permission to {what} (HTTP {exc.status}, reason: {INVALID_SCOPE}). An LMS "
        f"administrator can allow it in Pathways' tool settings in the LMS (LTI Advantage scope {scope}).",
        exc.status, exc.retry_after, reason=INVALID_SCOPE)


MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"
#: The AGS scopes a call may be made with, any one of them, by what it sends (a POST's media type) or reads:
#: scores need `score` (AGS 2.0 §3.4), results `result.readonly` (§3.3), reading line items either lineitem scope
#: and changing them `lineitem` (§3.2). AGS defines each call by its media type.
_SENDING = {MEDIA_SCORE: (SCOPE_SCORE,), MEDIA_LINEITEM: (SCOPE_LINEITEM,)}
_READING = {MEDIA_RESULTS: (SCOPE_RESULT_READONLY,), MEDIA_LINEITEM: (SCOPE_LINEITEM_READONLY, SCOPE_LINEITEM),
            MEDIA_LINEITEMS: (SCOPE_LINEITEM_READONLY, SCOPE_LINEITEM)}


def ags_operation_scopes(scopes: Sequence[str], *, is_post: bool, content_type: str, accept: str) -> tuple[str, ...]:
    """Return the AGS scopes, any one of them, a call needs; () for a call that is not an AGS one."""
    if not any(scope.startswith(AGS_SCOPE_PREFIX) for scope in scopes):
        return ()
    return _SENDING.get(content_type, ()) if is_post else _READING.get(accept, ())


def _link(resp: requests.Response, rel: str) -> str | None:
    """Return a Link header's URL for rel, exactly as sent (a cursor may be case-sensitive) and made absolute
    against the URL that answered (RFC 8288 §3.2 allows a relative one). Its origin is checked when used.

    RFC 8288 compares relation types case-insensitively (§2.1.1) and lets one rel name several (§3.3, e.g.
    rel="next last"); requests' `links` keys each link by its rel as written, which missed both: paging stopped
    early, and a full roster read then took the members of the pages after it for leavers.
    """
    for target, params in _LINK_VALUE.findall(resp.headers.get("Link") or ""):
        relations = next((value for name, value in _LINK_PARAM.findall(params) if name.lower() == "rel"), "")
        if rel in relations.strip('"').lower().split():
            return urljoin(resp.url, target) if target else None
    return None


# RFC 8288 §3: link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param ), link-param = token BWS [ "=" BWS
# ( token / quoted-string ) ]. Read by this grammar, a ";" or "," inside the <…> or in a quoted title stays where it
# is (requests' parse_header_links cut the URL at the first ";").
_LINK_PARAM_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_PARAM_VALUE = r'"(?:[^"\\]|\\.)*"|[^\s;,]*'
_LINK_PARAM = re.compile(rf"\s*;\s*({_LINK_PARAM_NAME})\s*(?:=\s*({_PARAM_VALUE}))?")
_LINK_VALUE = re.compile(rf"<([^>]*)>((?:\s*;\s*{_LINK_PARAM_NAME}\s*(?:=\s*(?:{_PARAM_VALUE}))?)*)")


_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


#: A score post answered 2xx with a web page. No gradebook answers a score so (Moodle sends "[]" as JSON, Canvas its
#: JSON, others nothing); a page is meant for a person: a sign-in page, a proxy's or a maintenance page in front of a
#: lost LMS. Not counted as delivered: retried with backoff, then failed for the teacher to see (jobs/worker.py).
SCORE_ANSWERED_WITH_PAGE = ("The platform answered the score with a web page, not as a gradebook does: it may not "
                            "have been received (reason: html_answer).")
_PAGE_TYPES = ("text/html", "application/xhtml+xml")


def _is_page(resp: requests.Response) -> bool:
    """Tell whether an answer is a web page: an HTML content type and a body (an empty one says nothing)."""
    content_type = resp.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return content_type in _PAGE_TYPES and bool(resp.content.strip())


def _not_taken(resp: requests.Response, *, score: bool) -> ServiceCallError:
    """Describe a 3xx that was no redirect to refuse (no Location: a 300, a 304, a 302 without one).

    requests calls it `ok` (below 400), but nothing was done with the call: a score so answered was counted as sent
    though the LMS never had it. No status: retried with backoff, then failed for the teacher to see (jobs/worker.py).
    """
    what = "the score" if score else "the request"
    return ServiceCallError(f"The platform answered {what} with HTTP {resp.status_code} and no redirect to follow: "
                            f"it was not delivered (reason: http_{resp.status_code}).")


def _not_answered(exc: requests.RequestException, *, score: bool) -> ServiceCallError:
    """Describe a call the service did not answer itself: unreachable, refused by our rules, or redirected."""
    if isinstance(exc, OutboundError) and exc.reason == REDIRECT_REFUSED:
        # Not "could not be reached": the platform answered, with a redirect (to a sign-in page, a moved service).
        what = "the score" if score else "the request"
        return ServiceCallError(f"The platform answered {what} with a redirect, which Pathways does not follow: "
                                f"it was not delivered (reason: redirect_refused).")
    return ServiceCallError(f"The platform could not be reached ({_reason(exc)}).", unreachable=_no_answer(exc))


def _reason(exc: Exception) -> str:
    return "reason: " + str(getattr(exc, "reason", None) or "unreachable")


def _refusal(what: str, resp: requests.Response) -> ServiceCallError:
    """Describe a refused call by status and a reason code: an OAuth/AGS error code if it is one, never text."""
    code = f"http_{resp.status_code}"
    try:
        body = answer_json(resp)
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str) and _CODE.match(body["error"]):
        code = body["error"]
    status = _status_of(resp)
    if status != resp.status_code and status == 409:
        code = SCORE_NOT_LATER
    return ServiceCallError(f"The platform refused {what} (HTTP {resp.status_code}, reason: {code}).",
                            status, _retry_after(resp), reason=code)


#: Our reason code for a score refused because the platform holds a later one (Canvas's 400, read as a 409).
SCORE_NOT_LATER = "score_not_later"
#: The words Canvas's 400 for such a score carries (scores_controller.rb verify_valid_timestamp).
_CANVAS_NOT_LATER = "before last updated timestamp"


def _status_of(resp: requests.Response) -> int:
    """Return the response status, reading Canvas's throttling 403 as the 429 it means, and its 400 for a score older
    than the result it holds as the 409 other AGS platforms send for it."""
    # AGS 2.0 §3.4.1: the platform keeps the latest score and refuses an older one. Canvas says so with 400 and
    # "Provided timestamp of … before last updated timestamp of …", comparing with the time by its own clock it stored
    # the last score. Read as a plain 400, the student's newer grade failed for good whenever it had been stamped
    # before the previous one reached Canvas (two answers a second apart) or Canvas's clock ran ahead of ours; as a
    # 409 it is sent again with a later time (jobs/worker.py).
    if resp.status_code == 400 and _CANVAS_NOT_LATER in _error_text(resp):
        return 409
    # Canvas answers throttled API calls with 403 "Rate Limit Exceeded" and X-Rate-Limit-Remaining near 0;
    # that is "come back later", not "forbidden", and must be retried rather than fail the grade.
    if resp.status_code == 403:
        remaining = resp.headers.get("X-Rate-Limit-Remaining")
        try:
            exhausted = remaining is not None and float(remaining) <= 0
        except ValueError:
            exhausted = False
        if exhausted or "rate limit exceeded" in resp.text[:500].lower():
            return 429
    return resp.status_code


def _error_text(resp: requests.Response) -> str:
    """Return the message of Canvas's `{"errors": {"message": …}}` answer, "" for any other: read, never shown."""
    try:
        body = answer_json(resp)
    except ValueError:
        return ""
    errors = body.get("errors") if isinstance(body, dict) else None
    message = errors.get("message") if isinstance(errors, dict) else None
    return message[:500] if isinstance(message, str) else ""


#: The longest wait a platform's Retry-After can impose: a clock far off or a typo must not park a grade for days.
MAX_RETRY_AFTER_SECONDS = 3600.0


def _retry_after(resp: requests.Response, now: float | None = None) -> float | None:
    """Return the platform's Retry-After in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP-date), capped."""
    value = (resp.headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # "-0000" in place of GMT: RFC 5322 says UTC
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


NRPS_MEDIA_TYPE = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
# A roster of 100,000 members at 10 per page; beyond that a platform is looping, not paging.
MAX_PAGES = 10_000


@dataclass(frozen=True)
class MembershipPage:
    """One page of a membership listing, as the platform sent it."""

    members: list[dict]
    #: The platform's `differences` URL for next time, when this page carries one (the last page usually does).
    differences_url: str | None
    #: The course the platform says this listing is for (the container's context.id), when it says.
    context_id: str | None = None


def membership_pages(connector: PlatformConnector, memberships_url: str) -> Iterator[MembershipPage]:
    """Yield a context's members (or its changes, for a differences URL) page by page, following paging to the end.

    A page is read only when the caller asks for it, so a roster of any size is never held whole: memory is
    bounded by the platform's page size. NRPS 2.0 §2.4: pages are linked with `Link: <…>; rel="next"`; the
    last page may carry rel="differences".
    """
    def read(url: str) -> tuple[MembershipPage, str | None]:
        page = connector.make_service_request([NRPS_SCOPE], url, accept=NRPS_MEDIA_TYPE)
        body = page["body"]
        members = body.get("members") if isinstance(body, dict) else None
        # NRPS 2.0 §2.3: a membership container carries a `members` array of membership objects. Anything else (an
        # empty body, {}, {"error": …}, "members": null, an entry that is not an object) is not an empty course:
        # read as one, a full sync would mark every member a leaver, the teacher too. An entry that is not an
        # object refuses the whole page rather than being skipped: it may be a current member, and a member a
        # full read does not see is marked inactive. Refused, the roster stays as it was and the sync runs again.
        if not isinstance(members, list) or not all(isinstance(member, dict) for member in members):
            raise ServiceCallError("The platform's roster answer is not a membership list "
                                   "(reason: not_membership_container).")
        context = body.get("context")
        context_id = context.get("id") if isinstance(context, dict) else None
        return MembershipPage(
            members,
            page.get("differences_url"),
            str(context_id) if context_id is not None else None,
        ), page["next_page_url"]

    return walk_pages(memberships_url, read, "roster")


T = TypeVar("T")


def walk_pages(first_url: str | None, read: Callable[[str], tuple[T, str | None]], what: str) -> Iterator[T]:
    """Yield each page `read` returns, following its next-page URL to the end, one page at a time.

    A page URL seen before in this walk, or more than MAX_PAGES of them, means the platform is looping rather than
    paging (a relative self-link is easy to send by mistake): stop with an error rather than hold a worker forever.
    """
    next_url, seen = first_url, set()
    while next_url:
        if next_url in seen or len(seen) >= MAX_PAGES:
            raise ServiceCallError(f"The platform's {what} pages link back to themselves; stopped reading.")
        seen.add(next_url)
        page, next_url = read(next_url)
        yield page
