"""What anyone can reach without a launch answers plainly while the database or the cache is away: never a 500.

The login, the launch (and its storage check), the tool's key set, the Canvas configuration, dynamic registration
and the health check, each asked as an LMS or a stranger would, during a PostgreSQL outage, a Redis outage and a
Redis that refuses writes because it cannot save its snapshot (MISCONF).
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
import requests

from tests.support import SandboxActions

from .test_redis_refusing_writes import _refuse_writes


def _anonymous_requests(tool, sandbox) -> dict[str, requests.Response]:
    login = tool.platform.start_launch(sandbox.sub("student"))
    endpoint, query = login.split("?", 1)
    params = {name: values[-1] for name, values in parse_qs(query).items()}
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.eyJpc3MiOiJ4In0.c2ln"  # JWT-shaped, signed by no one
    ask = {
        "GET /lti/login": lambda: requests.get(login, allow_redirects=False, timeout=15),
        "POST /lti/login": lambda: requests.post(endpoint, data=params, allow_redirects=False, timeout=15),
        "GET /lti/login (storage)": lambda: requests.get(login + "&lti_storage_target=_parent", timeout=15),
        "POST /lti/launch": lambda: requests.post(
            tool.url("/lti/launch"), data={"id_token": token, "state": "s"}, timeout=15
        ),
        "POST /lti/launch/verified": lambda: requests.post(
            tool.url("/lti/launch/verified"), data={"id_token": token, "state": "s", "ticket": "t"}, timeout=15
        ),
        "GET /lti/jwks": lambda: requests.get(tool.url("/lti/jwks"), timeout=15),
        "GET /.well-known/jwks.json": lambda: requests.get(tool.url("/.well-known/jwks.json"), timeout=15),
        "GET /lti/canvas.json": lambda: requests.get(tool.url("/lti/canvas.json"), timeout=15),
        "GET /lti/register": lambda: requests.get(
            tool.url("/lti/register"),
            params={"openid_configuration": "http://127.0.0.1:9/x", "registration_token": "t"},
            timeout=15,
        ),
        "GET /healthz": lambda: requests.get(tool.url("/healthz"), timeout=15),
    }
    return {name: call() for name, call in ask.items()}


def _no_server_error(answers: dict[str, requests.Response]) -> None:
    errors = {
        name: (a.status_code, a.text[:200])
        for name, a in answers.items()
        if a.status_code >= 500 and a.status_code not in (502, 503)
    }
    assert not errors, errors
    for name, answer in answers.items():
        if answer.status_code == 503 and name != "GET /healthz":
            assert answer.headers.get("Retry-After"), name


def test_the_anonymous_surface_in_a_database_outage(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    sandbox.launch("student")  # the keys, the registration and the pools are warm
    postgres.proxy.cut()
    try:
        _no_server_error(_anonymous_requests(tool, sandbox))
    finally:
        postgres.proxy.restore()


def test_the_anonymous_surface_in_a_redis_outage(make_tool, redis_server):
    tool = make_tool(REDIS_URL=redis_server.url)
    sandbox = SandboxActions(tool)
    sandbox.launch("student")
    redis_server.proxy.cut()
    try:
        _no_server_error(_anonymous_requests(tool, sandbox))
    finally:
        redis_server.proxy.restore()


@pytest.mark.parametrize("how", ["cannot_persist", "replica_without_stale_reads"])
def test_the_anonymous_surface_with_redis_refusing(make_tool, private_redis, how):
    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    sandbox = SandboxActions(tool)
    sandbox.launch("student")
    _refuse_writes(private_redis, how, private_redis.config_get("dir")["dir"])
    _no_server_error(_anonymous_requests(tool, sandbox))
