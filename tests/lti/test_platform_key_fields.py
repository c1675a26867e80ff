"""A platform key set whose optional JWK members are left out or null (RFC 7517 §4: `alg` and `use` are OPTIONAL).

Key sets written from Java or .NET models often carry an unset member as null. pylti1p3's rule reads a key without
`alg` as RS256; one with `"alg": null` was not found at all, and every launch failed with "no key".
"""

from __future__ import annotations

import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

ABSENT = object()


@pytest.mark.parametrize("alg", [None, ABSENT], ids=["alg-null", "alg-absent"])
def test_a_key_with_no_algorithm_named_verifies_launches(sandbox, monkeypatch, alg):
    platform = sandbox.platform
    published = platform.public_jwks

    def without_alg() -> dict:
        keys = []
        for jwk in published()["keys"]:
            jwk = {name: value for name, value in jwk.items() if name != "alg"}
            if alg is None:
                jwk.update(alg=None, use=None)
            keys.append(jwk)
        return {"keys": keys}

    monkeypatch.setattr(platform, "public_jwks", without_alg)
    page = sandbox.launch("student")
    assert page.status_code == 200 and "My learning plan" in page.text


def _as_published(jwk: dict, **fields) -> dict:
    return {**jwk, **fields}


def test_a_key_published_for_encryption_does_not_verify_launches(sandbox, monkeypatch):
    # RFC 7517 §4.2: "use": "enc" is a key to encrypt to the platform, not one it signs with. The platform's own
    # signing key, published only for encryption, verifies nothing (with "alg" null, read as RS256, as well).
    platform = sandbox.platform
    published = platform.public_jwks
    monkeypatch.setattr(platform, "public_jwks", lambda: {"keys": [
        _as_published(jwk, use="enc", alg=None) for jwk in published()["keys"]]})
    page = sandbox.launch("student")
    assert page.status_code == 400 and "key the platform does not publish" in page.text
    assert "My learning plan" not in page.text


def _encryption_key(kid: str) -> dict:
    other = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()))
    return {"kty": "RSA", "n": other["n"], "e": other["e"], "kid": kid, "alg": None, "use": "enc"}


def _elliptic_key(kid: str) -> dict:
    other = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    return {**other, "kid": kid, "alg": None, "use": None}


@pytest.mark.parametrize("beside", [_encryption_key, _elliptic_key], ids=["rsa-for-encryption", "ec"])
def test_another_key_under_the_same_kid_does_not_hide_the_signing_key(sandbox, monkeypatch, beside):
    # A key set may hold another key beside the signing key under one kid (RFC 7517 §4.5: keys of two types, say);
    # written from a model with unset members as null, it says "alg": null. The RSA signing key verifies.
    platform = sandbox.platform
    published = platform.public_jwks

    def with_another_key_first() -> dict:
        return {"keys": [key for jwk in published()["keys"] for key in (beside(jwk["kid"]), jwk)]}

    monkeypatch.setattr(platform, "public_jwks", with_another_key_first)
    page = sandbox.launch("student")
    assert page.status_code == 200 and "My learning plan" in page.text
