"""Outage fixtures: PostgreSQL and Redis behind a proxy the test cuts and restores.

Tests that need a real server skip with one line when it is not configured:
PATHWAYS_TEST_DATABASE_URL=postgresql+psycopg://… for PostgreSQL, PATHWAYS_TEST_REDIS_URL=redis://…/N for Redis.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import redis
import sqlalchemy as sa

from .proxy import FaultProxy

TEST_DATABASE_URL = os.environ.get("PATHWAYS_TEST_DATABASE_URL") or ""
TEST_REDIS_URL = os.environ.get("PATHWAYS_TEST_REDIS_URL") or ""


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "tests/faults/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.faults)


@dataclass
class Proxied:
    """A server reachable through a proxy: the URL the tool should use, and the proxy to cut."""

    url: str
    proxy: FaultProxy


@pytest.fixture
def postgres() -> Iterator[Proxied]:
    """PostgreSQL (PATHWAYS_TEST_DATABASE_URL) behind a cuttable proxy."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        pytest.skip("needs PostgreSQL: set PATHWAYS_TEST_DATABASE_URL=postgresql+psycopg://…")
    url = sa.engine.make_url(TEST_DATABASE_URL)
    proxy = FaultProxy(url.host or "127.0.0.1", url.port or 5432)
    yield Proxied(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy)
    proxy.close()


@pytest.fixture
def redis_server() -> Iterator[Proxied]:
    """Redis (PATHWAYS_TEST_REDIS_URL, its database emptied first) behind a cuttable proxy."""
    if not TEST_REDIS_URL:
        pytest.skip("needs Redis: set PATHWAYS_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        pytest.skip(f"needs Redis at PATHWAYS_TEST_REDIS_URL ({exc.__class__.__name__})")
    finally:
        client.close()
    kwargs = client.connection_pool.connection_kwargs
    proxy = FaultProxy(kwargs.get("host", "127.0.0.1"), int(kwargs.get("port", 6379)))
    yield Proxied(f"redis://127.0.0.1:{proxy.port}/{kwargs.get('db', 0)}", proxy)
    proxy.close()


@pytest.fixture
def failed_passes(monkeypatch) -> list[str]:
    """The reasons of the worker's failed passes so far, one per pass (its own handler, called through): a test
    waits for passes to meet an outage instead of sleeping and hoping they did."""
    from lti_tool.jobs import worker

    failed: list[str] = []
    original = worker._Health.failed

    def counted(self, exc, *args, **kwargs):
        try:
            return original(self, exc, *args, **kwargs)
        finally:
            failed.append(worker.describe_failure(exc))

    monkeypatch.setattr(worker._Health, "failed", counted)
    return failed


def free_port() -> int:
    """Return a loopback port no one listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path) -> Iterator[redis.Redis]:
    """A redis-server of the test's own (one the test may turn read-only or break), snapshots on."""
    data = tmp_path / "redis-data"
    data.mkdir()
    # Snapshots on (an hour apart: none is due during a test), so a failed one stops writes as in production; the
    # folder may be changed over CONFIG SET (a protected setting), from this host only, to let writes come back.
    with own_redis_server("--save", "3600 1", "--dir", str(data), "--enable-protected-configs", "local") as client:
        yield client


@contextmanager
def own_redis_server(*options: str, protocol: int | None = None) -> Iterator[redis.Redis]:
    """Start a redis-server with these options on a free port; yield a client of it (skip without the program)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs the redis-server program (Debian package redis-server)")
    port = free_port()
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--appendonly", "no", *options],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port, protocol=protocol)
    try:
        wait_until_answering(client)
        yield client
    finally:
        client.close()
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:  # a Redis whose shutdown save fails stays up on SIGTERM
            server.kill()
            server.wait(10)


def wait_until_answering(client: redis.Redis) -> None:
    """Wait until a redis-server just started answers (at most 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
