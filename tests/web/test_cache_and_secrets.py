"""What Pathways keeps in its cache is plain JSON with tokens sealed; its keys come from a strong secret."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import pickle
import secrets

import pytest
import redis

from lti_tool import create_app
from tests.support import SandboxActions, submit_form

REDIS_URL = os.environ.get("PATHWAYS_TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


@pytest.fixture
def redis_tool(make_tool):
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield make_tool(REDIS_URL=REDIS_URL), client
    client.flushdb()


def _is_plain_json(raw: bytes) -> bool:
    try:
        json.loads(raw)
    except ValueError:
        return False
    return True


def test_after_launches_and_a_roster_sync_every_redis_entry_is_json_and_no_access_token_is_readable(redis_tool):
    tool, client = redis_tool
    page = submit_form(SandboxActions(tool).launch("teacher"), "roster/sync")
    assert page.status_code == 200 and tool.platform.token_requests
    keys = client.keys("pathways:*")
    assert any(k.startswith(b"pathways:lti-token:") for k in keys)
    assert any(k.startswith(b"pathways:platform-jwks:") for k in keys)
    issued = [t for t in tool.platform._access_tokens]
    for key in keys:
        raw = client.get(key)
        assert _is_plain_json(raw), (key, raw[:40])
        assert not any(token.encode() in raw for token in issued), key
        if key.startswith(b"pathways:lti-token:"):
            assert 0 < client.ttl(key) <= 3600


def test_a_pickle_planted_in_redis_is_never_unpickled_and_the_launch_still_works(redis_tool, tmp_path):
    tool, client = redis_tool
    marker = tmp_path / "pickle-ran"

    class Payload:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    jwks_key = "pathways:platform-jwks:" + hashlib.sha256(tool.platform.jwks_url.encode()).hexdigest()
    client.set(jwks_key, b"!" + pickle.dumps(Payload()))
    page = SandboxActions(tool).launch("student")
    assert page.status_code == 200 and "/c/" in page.url
    assert not marker.exists()


def test_the_filesystem_cache_holds_json_too(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "roster/sync")
    folder = pathlib.Path(tool.app.instance_path) / "cache"
    entries = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith("__wz_cache")]
    assert entries
    for entry in entries:
        assert _is_plain_json(entry.read_bytes()[4:]), entry.name  # 4 bytes of expiry, then the value


def test_a_tool_key_stored_with_the_old_sha256_derivation_still_signs_and_is_re_encrypted(sandbox, tool):
    from lti_tool.extensions import db
    from lti_tool.lti.keys import _fernet
    from lti_tool.lti.sealing import legacy_tool_key_fernet
    from lti_tool.models import ToolKey

    secret = tool.app.config["SECRET_KEY"]
    with tool.app.app_context():
        key = db.session.scalars(db.select(ToolKey)).one()
        pem = _fernet(secret).decrypt(key.private_key_encrypted)
        key.private_key_encrypted = legacy_tool_key_fernet(secret).encrypt(pem)  # as a database from before HKDF
        db.session.commit()
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    assert page.status_code == 200 and len(tool.platform.token_requests) == 1
    with tool.app.app_context():
        stored = db.session.scalars(db.select(ToolKey)).one().private_key_encrypted
        assert _fernet(secret).decrypt(stored) == pem
        from cryptography.fernet import InvalidToken

        with pytest.raises(InvalidToken):
            legacy_tool_key_fernet(secret).decrypt(stored)


@pytest.mark.parametrize("weak", ["change-me", "x" * 64, "0123456789abcdef0123456789abcdef",
                                  "correct horse battery staple"])
def test_production_refuses_a_secret_key_with_less_than_32_bytes_of_entropy(tmp_path, weak):
    with pytest.raises(RuntimeError, match=r"PATHWAYS_SECRET_KEY .*32 bytes"):
        create_app({"SECRET_KEY": weak, "INSTANCE_PATH": str(tmp_path)})


@pytest.mark.parametrize("strong", [secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_hex(32)])
def test_production_accepts_a_random_secret_key(tmp_path, strong):
    create_app({"SECRET_KEY": strong, "INSTANCE_PATH": str(tmp_path)})


def test_demo_and_tests_accept_short_secret_keys(tmp_path):
    create_app({"SECRET_KEY": "k", "TESTING": True, "INSTANCE_PATH": str(tmp_path)})
    create_app({"SECRET_KEY": "k", "SANDBOX_ENABLED": True, "INSTANCE_PATH": str(tmp_path / "demo")})
