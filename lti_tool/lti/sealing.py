"""Keys derived from PATHWAYS_SECRET_KEY, one per purpose, and sealing of secrets kept at rest.

Each purpose gets its own key through HKDF-SHA256 (RFC 5869), so the session signer, the tool-key
encryption and the cache encryption never share key material. Version 1 of the tool-key encryption used
one SHA-256 of the secret; it is still accepted for reading so existing databases keep working, and keys
read that way are re-encrypted with the HKDF key.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

TOOL_KEYS = "tool-keys"
CACHED_TOKENS = "cached-access-tokens"
# A platform may grant tokens for a day; we keep one for at most an hour (less if the platform says so).
ACCESS_TOKEN_MAX_SECONDS = 3600


def derived_key(secret_key: str, purpose: str) -> bytes:
    """Return 32 bytes for one purpose, derived from the secret key with HKDF-SHA256."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"pathways-hkdf-v2", info=b"pathways:" + purpose.encode())
    return hkdf.derive(secret_key.encode())


def fernet_for(secret_key: str, purpose: str) -> Fernet:
    """Return the Fernet (AES-128-CBC + HMAC-SHA256) that seals values for one purpose."""
    return Fernet(base64.urlsafe_b64encode(derived_key(secret_key, purpose)))


def legacy_tool_key_fernet(secret_key: str) -> Fernet:
    """Return the version 1 tool-key Fernet (one SHA-256 of the secret), for reading old rows only."""
    digest = hashlib.sha256(("pathways-tool-keys:" + secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_token(token: str, secret_key: str) -> str:
    """Encrypt an access token before it goes into the shared cache."""
    return fernet_for(secret_key, CACHED_TOKENS).encrypt(token.encode()).decode("ascii")


def open_token(sealed: object, secret_key: str) -> str | None:
    """Return the cached access token, or None if the entry is not one we sealed with this secret."""
    if not isinstance(sealed, str):
        return None
    try:
        return fernet_for(secret_key, CACHED_TOKENS).decrypt(sealed.encode("ascii"),
                                                             ttl=ACCESS_TOKEN_MAX_SECONDS).decode()
    except (InvalidToken, UnicodeError):
        return None
