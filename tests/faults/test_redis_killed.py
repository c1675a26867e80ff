"""Redis killed outright (kill -9, its data gone) and started again: 503s while it is away, and recovery without a
restart of the tool, even though everything it held (a login's state and nonce, login budgets) is lost.

The proxy tests (test_redis_outage.py) keep the server and its data; here the process itself dies and a new,
empty one takes its port, as after a crash or an out-of-memory kill of a cache without persistence.
"""

from __future__ import annotations

import shutil
import signal
import subprocess

import pytest
import redis
import requests

from tests.support import SandboxActions, teacher_with_demo_pack

from .conftest import free_port, wait_until_answering
from .test_redis_outage import healthz, practise_once, wait_for


class RedisProcess:
    """A redis-server of the test's own on a fixed loopback port, to kill and start again."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            pytest.skip("needs the redis-server program (Debian package redis-server)")
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port)
        try:
            wait_until_answering(client)
        finally:
            client.close()

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None


@pytest.fixture
def killable_redis():
    server = RedisProcess()
    server.start()
    yield server
    if server.process is not None:
        server.kill()


def assert_plain_503(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Retry-After"] == "30"
    assert "try again in a minute" in response.text and "Traceback" not in response.text


def test_redis_killed_mid_login_gives_plain_503s_and_a_new_empty_redis_serves_the_next_login(make_tool, killable_redis):
    tool = make_tool(REDIS_URL=killable_redis.url)
    sandbox = SandboxActions(tool)
    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    halfway = sandbox.begin("student")  # the login's state and nonce are in Redis; its id_token not yet posted

    killable_redis.kill()

    assert_plain_503(halfway.post())
    assert_plain_503(
        requests.get(tool.platform.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=10)
    )
    assert healthz(tool).status_code == 503
    answered = practise_once(tool, student)  # a launch already open needs only its cookie and the database
    assert answered.status_code == 200, answered.text[:300]

    killable_redis.start()  # the same port, nothing in it

    assert wait_for(lambda: healthz(tool).status_code == 200, 10) < 5
    # The login begun before the crash lost its state with Redis: a plain page saying to open it again, not a 500.
    lost = halfway.post()
    assert lost.status_code < 500, (lost.status_code, lost.text[:300])
    assert "Traceback" not in lost.text
    again = sandbox.launch("student")
    assert again.status_code == 200 and "Your next steps" in again.text


def test_login_budget_counters_lost_with_a_killed_redis_give_503s_while_it_is_away_then_count_afresh(
    make_tool, killable_redis
):
    """The login budget (login_budget.py) counts a client's logins in Redis: while it is gone a counted login is the
    plain 503 (not a 500, nor let through uncounted), and a new empty Redis starts the window again."""
    tool = make_tool(REDIS_URL=killable_redis.url, LOGINS_PER_CLIENT_PER_MINUTE=2)
    login = tool.platform.start_launch(SandboxActions(tool).sub("student"))
    counted = {"X-Forwarded-For": "198.51.100.7"}

    def start() -> requests.Response:
        return requests.get(login, headers=counted, allow_redirects=False, timeout=10)

    assert [start().status_code for _ in range(3)] == [302, 302, 429]

    killable_redis.kill()
    assert_plain_503(start())

    killable_redis.start()
    assert wait_for(lambda: start().status_code != 503, 10) < 5  # the first login counted in the new Redis
    assert [start().status_code for _ in range(2)] == [302, 429]  # the budget is counted again there
