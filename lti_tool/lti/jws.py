"""PyJWT's verifying decode, with its base64url character check done by one regular expression.

PyJWT 2.15 refuses a segment with a character outside the base64url alphabet (GHSA-hxm8-2xgr-2p9m) by testing
the characters one by one in a Python generator: about 0.1 ms for a 3 kB launch token, half of the whole
verifying decode (the RSA check itself is 0.03 ms). `decode` here is PyJWT's own decode and claim checks; only
that segment check is replaced, by one that accepts and refuses exactly the same segments
(tests/lti/test_jws.py compares the two on hostile input).
"""

from __future__ import annotations

import binascii
import re

from jwt.api_jws import PyJWS
from jwt.api_jwt import PyJWT
from jwt.exceptions import DecodeError
from jwt.utils import base64url_decode, base64url_encode

_ALPHABET_ONLY = re.compile(rb"[A-Za-z0-9_-]*")


def decode_segment(segment: bytes, name: str) -> bytes:
    """Decode one base64url segment as PyJWT does: at most two '=' of padding, alphabet only, canonical."""
    stripped = segment.rstrip(b"=")
    padding = len(segment) - len(stripped)
    if padding > 2 or (padding and len(segment) % 4 != 0):
        raise DecodeError(f"Invalid {name} padding")
    if len(stripped) % 4 == 1 or _ALPHABET_ONLY.fullmatch(stripped) is None:
        raise DecodeError(f"Invalid {name} padding")
    try:
        decoded = base64url_decode(stripped)
    except (TypeError, binascii.Error) as err:
        raise DecodeError(f"Invalid {name} padding") from err
    if base64url_encode(decoded) != stripped:
        raise DecodeError(f"Invalid {name} padding")
    return decoded


class _JWS(PyJWS):
    _decode_base64url_segment = staticmethod(decode_segment)


_decoder = PyJWT()
_decoder._jws = _JWS(options=_decoder._get_sig_options())  # PyJWT keeps its JWS layer here (api_jwt.PyJWT.__init__)

#: jwt.decode with the same arguments, options and errors.
decode = _decoder.decode
