"""lti_tool/lti/jws.py decodes id_tokens exactly as PyJWT does, its segment check included (GHSA-hxm8-2xgr-2p9m)."""

from __future__ import annotations

import base64
import random
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.api_jws import PyJWS
from jwt.exceptions import DecodeError

from lti_tool.lti import jws

ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
JUNK = b"=+/!. \n\t\x00\xff\xc3\xa9"


def _outcome(decode, segment: bytes) -> bytes | str:
    try:
        return decode(segment, "payload")
    except DecodeError as exc:
        return f"refused: {exc}"


def _segments() -> list[bytes]:
    rng = random.Random(14)
    found = [b"", b"=", b"==", b"===", b"A", b"AA", b"AA=", b"AA==", b"AAA=", b"AAB=", b"AAC", b"AA\n", b"!!!!",
             b"QUJD", b"QUJD=", b"QUI", b"QUJ", b"QUI=", b"QUI==", b"Q=UI", b"QU+/", b"QU-_"]
    for _ in range(3000):
        length = rng.randrange(0, 14)
        body = bytes(rng.choice(ALPHABET) for _ in range(length))
        if rng.random() < 0.3:
            spot = rng.randrange(0, length + 1)
            body = body[:spot] + bytes([rng.choice(JUNK)]) + body[spot:]
        found.append(body + b"=" * rng.choice((0, 0, 0, 1, 2, 3)))
    found += [base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(n))) for n in range(12)]
    return found


def test_the_segment_check_accepts_and_refuses_exactly_what_pyjwt_does():
    segments = _segments()
    assert any(isinstance(_outcome(PyJWS._decode_base64url_segment, s), bytes) for s in segments)
    assert any(isinstance(_outcome(PyJWS._decode_base64url_segment, s), str) for s in segments)
    for segment in segments:
        assert _outcome(jws.decode_segment, segment) == _outcome(PyJWS._decode_base64url_segment, segment), segment


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def test_decode_verifies_like_pyjwt_and_uses_the_faster_check(key, monkeypatch):
    now = int(time.time())
    token = jwt.encode({"iss": "i", "aud": "a", "exp": now + 60, "iat": now, "nonce": "n"}, key, algorithm="RS256")
    options = {"algorithms": ["RS256"], "audience": "a", "issuer": "i", "options": {"require": ["exp", "iat"]}}
    assert jws.decode(token, key.public_key(), **options) == jwt.decode(token, key.public_key(), **options)
    header, payload, signature = token.split(".")
    for forged in (f"{header}.{payload}!.{signature}", f"{header}.{payload}.{signature[:-2]}", f"{header}..{signature}"):
        with pytest.raises(jwt.InvalidTokenError):
            jws.decode(forged, key.public_key(), **options)
    with pytest.raises(jwt.InvalidAudienceError):
        jws.decode(token, key.public_key(), **{**options, "audience": "b"})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(jwt.InvalidSignatureError):
        jws.decode(token, other.public_key(), **options)
    # The generator PyJWT runs per character is not run (that was the cost).
    monkeypatch.setattr(PyJWS, "_decode_base64url_segment", staticmethod(lambda *_: pytest.fail("slow check ran")))
    assert jws.decode(token, key.public_key(), **options)["nonce"] == "n"
