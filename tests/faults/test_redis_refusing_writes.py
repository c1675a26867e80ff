"""Redis answers but refuses writes (full under maxmemory, or a replica after a failover): as an outage, not a 500.

A cache down altogether is tests/faults/test_redis_outage.py. Here the server is up and reads work, but every write
gets an error reply: "OOM command not allowed" once `maxmemory` is reached with nothing left to evict (the
operations guide advises a `maxmemory` limit), or "READONLY" from a replica that a failover left in the primary's
place. Open pages go on; new logins get the plain "try again in a minute" page; writes coming back need no restart.
A private redis-server is started for each test, because a test must not turn the shared one read-only.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import requests

from tests.support import SandboxActions, submit_form

from .test_redis_outage import practise_once


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path) -> Iterator[redis.Redis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server program (Debian package redis-server)")
    port = _free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "no", "--dir", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait(10)


def _refuse_writes(client: redis.Redis, how: str) -> None:
    if how == "full":
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
    else:
        client.execute_command("REPLICAOF", "127.0.0.1", str(_free_port()))  # a primary that never answers


def _accept_writes(client: redis.Redis, how: str) -> None:
    if how == "full":
        client.config_set("maxmemory", "0")
    else:
        client.execute_command("REPLICAOF", "NO", "ONE")


@pytest.mark.parametrize("how", ["full", "replica"])
def test_a_cache_refusing_writes_keeps_open_pages_going_turns_new_logins_away_plainly_and_recovers(
        make_tool, private_redis, how):
    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    sandbox = SandboxActions(tool)
    teacher = sandbox.launch("teacher")
    assert submit_form(teacher, "/content/demo").status_code == 200
    student = sandbox.launch("student")

    _refuse_writes(private_redis, how)
    with pytest.raises(redis.ResponseError):
        private_redis.set("probe", "x")  # the server really refuses writes now

    # The student who already launched goes on: the page and the answer need the database, not the cache.
    answered = practise_once(tool, student)
    assert answered.status_code == 200, answered.text[:300]
    # A new login cannot keep its state and nonce: a plain 503 to come back shortly, not a server error.
    login = requests.get(tool.platform.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=10)
    assert login.status_code == 503, login.text[:300]
    assert login.headers["Retry-After"] and "try again in a minute" in login.text

    _accept_writes(private_redis, how)

    again = sandbox.launch("student")
    assert again.status_code == 200 and "Your next steps" in again.text
