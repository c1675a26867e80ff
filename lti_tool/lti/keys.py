"""The tool's RSA signing keys: generation, encryption at rest, and the public JWKS.

Private keys are stored encrypted with a key derived from PATHWAYS_SECRET_KEY (HKDF, see sealing.py), so a
database dump alone does not let anyone sign as the tool. Nothing here logs or renders key material.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app

from ..extensions import db
from ..models import ToolKey
from ..models.base import utcnow
from .sealing import TOOL_KEYS, fernet_for, legacy_tool_key_fernet

KEY_BITS = 2048
# How long platforms may keep our JWKS, as its Cache-Control max-age asks. LMSs keep a tool's key set longer than
# they are asked to (for hours), so a new key waits KEY_SIGNS_AFTER_SECONDS (signing_delay), never less than this.
JWKS_MAX_AGE_SECONDS = 300


class SecretKeyMismatch(Exception):
    """The signing key was encrypted with another PATHWAYS_SECRET_KEY: the secret was changed since."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        super().__init__(
            f"PATHWAYS_SECRET_KEY does not match the secret the tool's signing key {kid} was encrypted with. "
            "Set PATHWAYS_SECRET_KEY back to its previous value, or run `pathways keys rotate` to make a new key "
            "with the new secret."
        )


@dataclass(frozen=True)
class SigningKey:
    """The private key to sign with, and the kid platforms find it under."""

    kid: str
    private_pem: str

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def _fernet(secret_key: str) -> Fernet:
    return fernet_for(secret_key, TOOL_KEYS)


def _decrypt(key: ToolKey, secret_key: str) -> bytes:
    """Decrypt a stored private key; a row from before HKDF is read with the old key and re-encrypted.

    The re-encrypted row is flushed into the caller's transaction (services commit), so it is saved with
    the work that needed the key; until then the old encryption keeps working.
    """
    try:
        return _fernet(secret_key).decrypt(key.private_key_encrypted)
    except InvalidToken:
        pem = legacy_tool_key_fernet(secret_key).decrypt(key.private_key_encrypted)
    db.session.execute(
        sa.update(ToolKey).where(ToolKey.id == key.id, ToolKey.private_key_encrypted == key.private_key_encrypted)
        .values(private_key_encrypted=_fernet(secret_key).encrypt(pem))
    )
    return pem


def new_tool_key(secret_key: str) -> ToolKey:
    """Generate an RSA key pair and return an unsaved row holding it (private half encrypted)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    kid = secrets.token_urlsafe(12)
    public_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    public_jwk.update({"kid": kid, "alg": "RS256", "use": "sig"})
    return ToolKey(kid=kid, public_jwk=public_jwk, private_key_encrypted=_fernet(secret_key).encrypt(pem))


def active_keys() -> list[ToolKey]:
    """Return the keys not yet retired, newest first."""
    return list(
        db.session.scalars(
            sa.select(ToolKey).where(ToolKey.retired_at.is_(None)).order_by(ToolKey.id.desc())
        )
    )


def public_jwks() -> dict:
    """Return the JWKS document platforms fetch to verify our signatures."""
    return {"keys": [key.public_jwk for key in active_keys()]}


def signing_delay() -> timedelta:
    """How long a new key is published before it signs: KEY_SIGNS_AFTER_SECONDS, never under the JWKS's max-age."""
    configured = int(current_app.config.get("KEY_SIGNS_AFTER_SECONDS") or 0)
    return timedelta(seconds=max(configured, JWKS_MAX_AGE_SECONDS))


def signs_from(key: ToolKey) -> datetime:
    """When a key starts to sign: once it has been published for the signing delay (LMSs have fetched it)."""
    return key.created_at + signing_delay()


def published_long_enough(key: ToolKey, now: datetime | None = None) -> bool:
    """Whether LMSs can have fetched this key: it has been in our JWKS for the signing delay."""
    return signs_from(key) <= (now or utcnow())


def _signer_by_age(keys: list[ToolKey], now: datetime) -> ToolKey:
    """The newest of the keys (newest first) published long enough; when none is, the one published longest."""
    return next((key for key in keys if published_long_enough(key, now)), keys[-1])


def current_signing_key(secret_key: str, now: datetime | None = None) -> SigningKey | None:
    """Return the key to sign with, decrypted, or None when the tool has no key yet.

    That is the newest active key published for the signing delay (signing_delay): an LMS that still holds our
    key set from before a newer key was made would refuse what that key signs, and with it a grade. A key newer
    than that one signs only when this SECRET_KEY cannot read the older one (the secret was changed, and the new
    key made for it): nothing else can sign then.
    """
    keys = active_keys()
    if not keys:
        return None
    chosen = _signer_by_age(keys, now or utcnow())
    for key in [chosen, *(newer for newer in keys if newer.id > chosen.id)]:
        try:
            return SigningKey(kid=key.kid, private_pem=_decrypt(key, secret_key).decode())
        except InvalidToken:
            continue  # Fernet says nothing more; we know what it means here
    raise SecretKeyMismatch(keys[0].kid)
