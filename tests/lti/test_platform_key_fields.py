"""A platform key set whose optional JWK members are left out or null (RFC 7517 §4: `alg` and `use` are OPTIONAL).

Key sets written from Java or .NET models often carry an unset member as null. pylti1p3's rule reads a key without
`alg` as RS256; one with `"alg": null` was not found at all, and every launch failed with "no key".
"""

from __future__ import annotations

import pytest

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
