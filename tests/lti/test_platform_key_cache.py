"""Platform public keys are parsed once per process, by the key's content; rotation and withdrawal still count.

A process keeps the platform's key set it read for a few seconds (`PROCESS_KEY_SET_SECONDS`); an unknown kid reads the
shared cache (where another process's refetch is), then refetches (1EdTech Security Framework §6). Turning a JWK
into a key object is kept per process too.
"""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.kept_map import KeptMap
from lti_tool.lti import launch as lti_launch

from .test_launch_security import assert_refused


@pytest.fixture
def parses(monkeypatch) -> list[str]:
    """Count the JWKs parsed into keys, starting from an empty per-process store."""
    monkeypatch.setattr(lti_launch, "_PARSED_KEYS", KeptMap(lti_launch.MAX_PARSED_KEYS))
    seen: list[str] = []
    original = jwt.algorithms.RSAAlgorithm.from_jwk

    def counting(jwk):
        seen.append(jwk)
        return original(jwk)

    monkeypatch.setattr(jwt.algorithms.RSAAlgorithm, "from_jwk", staticmethod(counting))
    return seen


def test_launches_parse_the_platform_key_once_and_a_rotated_key_once_more(sandbox, parses):
    for _ in range(3):
        assert sandbox.launch("student").status_code == 200
    assert len(parses) == 1
    sandbox.platform.rotate_key()  # a new kid: the cached key set lacks it, so it is refetched
    for _ in range(2):
        page = sandbox.launch("student")
        assert page.status_code == 200 and "My learning plan" in page.text
    assert len(parses) == 2


def test_a_key_the_platform_withdrew_is_refused_though_it_was_parsed_before(sandbox, parses):
    platform = sandbox.platform
    old_kid = platform._current_kid
    old_key = platform._keys[old_kid]
    assert sandbox.launch("student").status_code == 200  # the old key is parsed and kept
    platform.rotate_key()
    platform.retire_key(old_kid)
    assert sandbox.launch("student").status_code == 200  # unknown kid: the key set is refetched, without old_kid
    pending = sandbox.begin("student")
    assert_refused(pending.post(platform.sign(pending.claims, key=old_key, kid=old_kid)),
                   "key the platform does not publish")


def test_only_the_public_half_of_a_published_key_is_used_and_junk_is_no_key(parses):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    published = {**jwt.algorithms.RSAAlgorithm.to_jwk(private, as_dict=True), "kid": "k", "alg": "RS256"}
    key = lti_launch.parsed_public_key(published)
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.public_numbers() == private.public_key().public_numbers()
    assert lti_launch.parsed_public_key(dict(published)) is key  # same content, same parsed key
    changed = {**jwt.algorithms.RSAAlgorithm.to_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048)
                                                   .public_key(), as_dict=True), "kid": "k", "alg": "RS256"}
    assert lti_launch.parsed_public_key(changed) is not key  # same kid, new key material: parsed anew
    assert lti_launch.parsed_public_key({"kty": "EC", "kid": "k"}) is None
    assert lti_launch.parsed_public_key({"kty": "RSA", "kid": "k", "n": "!!", "e": "AQAB"}) is None


def test_a_key_set_checked_before_is_taken_again_only_when_equal_and_under_the_same_secret(monkeypatch):
    """_unseal keeps the key sets whose MAC it checked; a planted or re-keyed entry is still checked in full."""
    import copy

    from flask import Flask

    monkeypatch.setattr(lti_launch, "_CHECKED_KEY_SETS", KeptMap(lti_launch.MAX_CHECKED_KEY_SETS))
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "the first secret key"
    url = "https://lms.example/jwks"
    keyset = {"keys": [{"kty": "RSA", "kid": "k", "alg": "RS256", "n": "sXch", "e": "AQAB"}]}
    with app.app_context():
        sealed = lti_launch._seal(keyset, url)
        checked = lti_launch._unseal(sealed, url)
        assert checked == keyset
        # The same entry read again is compared, and the copy whose MAC was checked is the one used.
        assert lti_launch._unseal({"jwks": copy.deepcopy(keyset), "mac": sealed["mac"]}, url) is checked
        # Another key set under a MAC seen before, and the same entry for another URL: refused.
        planted = {"keys": [{**keyset["keys"][0], "n": "AAAA"}]}
        assert lti_launch._unseal({"jwks": planted, "mac": sealed["mac"]}, url) is None
        assert lti_launch._unseal(sealed, "https://other.example/jwks") is None
        app.config["SECRET_KEY"] = "the second secret key"
        assert lti_launch._unseal(sealed, url) is None  # sealed under the old secret key


def _shared_key_set_reads(monkeypatch) -> list[str]:
    """Count the launches' reads of a platform key set from the shared cache."""
    from lti_tool.extensions import cache

    reads: list[str] = []
    original = cache.get

    def counting(key):
        if key.startswith("platform-jwks") and not key.endswith(":failed"):
            reads.append(key)
        return original(key)

    monkeypatch.setattr(cache, "get", counting)
    return reads


def test_a_process_reads_the_shared_key_set_once_and_not_on_every_launch(sandbox, monkeypatch):
    monkeypatch.setattr(lti_launch, "PROCESS_KEY_SET_SECONDS", 3600.0)  # a slow machine's launches stay within it
    reads = _shared_key_set_reads(monkeypatch)
    for _ in range(4):
        assert sandbox.launch("student").status_code == 200
    # The first launch found no key set in the shared cache, fetched it over HTTP and kept it; the others use this
    # process's copy, not a round trip to the shared cache (Redis in production) each.
    assert len(reads) == 1, reads


def test_a_rotation_another_process_already_fetched_is_found_in_the_shared_cache(sandbox, tool, monkeypatch):
    # Another process met the new kid first: it refetched the key set into the shared cache and used the platform's
    # refetch for a while. This process's copy lacks the kid; it reads the shared cache before refusing, and finds it.
    from lti_tool.extensions import cache

    assert sandbox.launch("student").status_code == 200
    platform = tool.platform
    platform.rotate_key()
    url = platform.jwks_url
    with tool.app.app_context():
        cache.set(lti_launch._jwks_key(url), lti_launch._seal(platform.public_jwks(), url))
        cache.add(lti_launch._jwks_key(url) + ":refetched", 1, timeout=60)
    fetched = platform.jwks_requests
    page = sandbox.launch("student")
    assert page.status_code == 200, page.text[:300]
    assert platform.jwks_requests == fetched  # found in the shared cache, not fetched again
