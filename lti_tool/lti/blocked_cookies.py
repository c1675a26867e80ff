"""Launches in browsers that block third-party cookies, beside platform storage (platform_storage.py).

- The state cookie is Partitioned (CHIPS) whenever it is SameSite=None; Secure, so Chromium keeps it inside the
  LMS frame even with third-party cookies blocked (Safari does not, hence the rest).
- A framed launch whose state cookie did not come back, from a platform without storage (Moodle), is offered a
  new window where the OIDC login starts again first-party with the parameters kept here (launch.NewWindowNeeded),
  instead of being told it came from another browser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import zlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pylti1p3.contrib.flask.cookie import FlaskCookieService

# The OIDC login initiation parameters (Security Framework §5.1.1.1) kept with the state only to restart it
# elsewhere; the state keeps issuer, client id, target and deployment anyway (launch.relogin_params).
RELOGIN_PARAMS = ("login_hint", "lti_message_hint")

_RELOGIN_AAD = b"pathways:relogin:v1"


def _relogin_key(state: str) -> bytes:
    return hashlib.sha256(b"pathways-relogin-v1\0" + state.encode()).digest()


def seal_relogin(values: dict[str, str], state: str) -> str:
    """Encrypt a login's hints under a key made from its state, which the cache keeps only as a digest.

    login_hint and lti_message_hint often carry the LMS user id. Sealed so, a login state left in Redis or the
    file cache (or a snapshot of them) after the person's data was deleted names nobody: only the browser and the
    platform, which hold the state, can open it, and the launch that comes back with the state does.
    """
    nonce = os.urandom(12)
    # Compressed first: the hints are mostly base64url text, which their base64 sealing would otherwise grow by a
    # third past what the login caps (MAX_LOGIN_PARAM_CHARS) let a state entry hold.
    plain = zlib.compress(json.dumps(values, separators=(",", ":")).encode())
    sealed = AESGCM(_relogin_key(state)).encrypt(nonce, plain, _RELOGIN_AAD)
    return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def open_relogin(sealed: object, state: str) -> dict[str, str]:
    """Return the hints sealed with this state, or {} if there are none or they are not for this state."""
    if not isinstance(sealed, str) or not sealed:
        return {}
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        plain = AESGCM(_relogin_key(state)).decrypt(raw[:12], raw[12:], _RELOGIN_AAD)
        values = json.loads(zlib.decompressobj().decompress(plain, 64 * 1024))
    except (InvalidTag, ValueError, UnicodeError, binascii.Error, zlib.error):
        return {}
    if not isinstance(values, dict):
        return {}
    return {name: value for name, value in values.items() if name in RELOGIN_PARAMS and isinstance(value, str)}


class PartitionedCookieService(FlaskCookieService):
    """pylti1p3's state cookie, Partitioned (CHIPS) whenever it is SameSite=None; Secure.

    Chromium blocks unpartitioned third-party cookies in incognito and by user choice (and Safari always does);
    a partitioned cookie is kept per top-level site, which is all the login needs: it comes back to the launch
    inside the same LMS page. https://developer.mozilla.org/en-US/docs/Web/Privacy/Guides/Privacy_sandbox/Partitioned_cookies
    """

    def __init__(self, request, lifetime: int | None = None) -> None:
        super().__init__(request)
        self._lifetime = lifetime

    def set_cookie(self, name, value, exp=3600):
        # pylti1p3 gives the state cookie five minutes whatever the state's own lifetime (LOGIN_STATE_SECONDS):
        # a launch after that, its state still good, was taken for one from another browser.
        super().set_cookie(name, value, self._lifetime or exp)

    def update_response(self, response):
        secure = self._request.is_secure()
        for key, data in self._cookie_data_to_set.items():
            response.set_cookie(key=key, value=data["value"], max_age=data["exp"], path="/", httponly=True,
                                secure=secure, samesite="None" if secure else None, partitioned=secure)
