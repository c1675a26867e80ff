"""Cookie-less launches: keep the login's state and nonce in the platform's storage, through postMessage.

Browsers that block third-party cookies drop the state cookie set inside the LMS iframe, so the launch cannot
prove it came back to the browser that started the login. 1EdTech "LTI Client Side postMessages" and
"OIDC Login with LTI Client Side postMessages" (https://www.imsglobal.org/spec/lti-cs-oidc/v0p1) let the tool
store values in the platform's window instead: the login page puts `lti_state_<state>` and `lti_nonce_<nonce>`
there (`lti.put_data`), and the launch page reads them back (`lti.get_data`) before the launch is accepted.

The check runs in the browser, so the server ties it to the page it served: the launch page carries a
short-lived, single-use ticket bound to the posted id_token and state, and the second POST must return it with
the values read from platform storage. After such a launch the browser has no session cookie either, so pages
carry a signed, expiring launch token (`lt=`) instead.

The launch token is bound to the browser tab that did the check: the check page keeps a random per-tab secret in
sessionStorage and posts it with the launch; the token carries its digest, and every POST made with the token
must bring the secret back (the page's script adds it). Someone who posts their own launch into another person's
browser (login CSRF) cannot make that browser's forms carry a secret they chose, so nothing is saved into their
account. The token lives minutes (PATHWAYS_LAUNCH_TOKEN_SECONDS); each page served renews it, and so does a tab
in use (the page's script asks /c/<launch_id>/keep-alive while the person types or clicks).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..extensions import cache

STATE_KEY_PREFIX = "lti_state_"
NONCE_KEY_PREFIX = "lti_nonce_"
TICKET_SECONDS = 120
# A frame name the platform gives (Canvas: "post_message_forwarding") or "_parent"; never markup or script.
_TARGET = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SALT = "pathways-launch-session"  # keeps these signatures apart from others made with the key


@dataclass(frozen=True)
class StorageCheck:
    """What the launch page needs to read the login's state and nonce back from platform storage."""

    ticket: str
    id_token: str
    state: str
    nonce: str
    target: str
    origin: str

    @property
    def state_key(self) -> str:
        return STATE_KEY_PREFIX + self.state

    @property
    def nonce_key(self) -> str:
        return NONCE_KEY_PREFIX + self.nonce


class StorageCheckNeeded(Exception):
    """The state cookie is missing but the login used platform storage: check it in the browser first."""

    def __init__(self, check: StorageCheck) -> None:
        super().__init__("platform storage check needed")
        self.check = check


def storage_target(value: object) -> str | None:
    """Return the login's `lti_storage_target` if it is a usable frame name, else None."""
    return value if isinstance(value, str) and _TARGET.match(value) else None


def origin_of(url: str | None) -> str | None:
    """Return scheme://host[:port] of an http(s) URL, the origin postMessage answers must come from."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _ticket_key(ticket: str) -> str:
    return "lti1p3-storage-ticket-" + ticket


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def issue_check(id_token: str, state: str, login: dict[str, Any]) -> StorageCheck:
    """Issue a single-use ticket for this id_token and state and return what the launch page needs."""
    ticket = secrets.token_urlsafe(32)
    # Only digests are kept: the raw id_token never lands in the cache.
    cache.set(_ticket_key(ticket), {"state": state, "id_token": _digest(id_token)}, timeout=TICKET_SECONDS)
    return StorageCheck(ticket, id_token, state, str(login.get("nonce", "")), str(login.get("storage_target")),
                        str(login.get("storage_origin")))


def redeem_check(ticket: object, *, id_token: str, state: str, login: dict[str, Any],
                 stored_state: object, stored_nonce: object) -> bool:
    """Use up a ticket; True only if it was issued for this id_token and state and storage held their values."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > 100:
        return False
    key = _ticket_key(ticket)
    issued = cache.get(key)
    # Delete before comparing, and trust only the caller whose delete removed it: one use, even under races.
    if not isinstance(issued, dict) or not cache.delete(key):
        return False
    return (
        hmac.compare_digest(issued.get("state", ""), state)
        and hmac.compare_digest(issued.get("id_token", ""), _digest(id_token))
        and isinstance(stored_state, str) and hmac.compare_digest(stored_state, state)
        and isinstance(stored_nonce, str) and hmac.compare_digest(stored_nonce, str(login.get("nonce", "")))
    )


_TAB_SECRET = re.compile(r"^[A-Za-z0-9_-]{22,100}$")


def tab_binding(tab_secret: object) -> str | None:
    """Return the digest a launch token keeps of a tab's secret, or None if the secret is malformed."""
    if not isinstance(tab_secret, str) or not _TAB_SECRET.match(tab_secret):
        return None
    return _digest(tab_secret)[:32]


def sign_launch_token(launch_id: str, secret_key: str, binding: str) -> str:
    """Return a signed, timestamped token naming a launch session and the tab it is bound to."""
    return URLSafeTimedSerializer(secret_key, salt=_SALT).dumps([launch_id, binding])


def read_launch_token(token: object, secret_key: str, *, max_age: int | None) -> tuple[str, str] | None:
    """Return (launch id, tab binding) of a token, or None if forged, malformed or older than max_age seconds.

    max_age None reads a token of any age (to tell one that ran out from a forged one, never to accept it).
    """
    if not isinstance(token, str) or not token or len(token) > 300:
        return None
    try:
        value = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature):
        return None
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)):
        return None
    return value[0], value[1]


def tab_matches(binding: str, tab_secret: object) -> bool:
    """Tell whether a posted tab secret is the one the launch token was bound to."""
    posted = tab_binding(tab_secret)
    return posted is not None and hmac.compare_digest(posted, binding)
