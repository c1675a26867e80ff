"""Redis answers but refuses writes (full, a replica after a failover, unable to save): an outage, not a 500.

A cache down altogether is tests/faults/test_redis_outage.py. Here the server is up and reads work, but every write
gets an error reply: "OOM command not allowed" once `maxmemory` is reached with nothing left to evict (the
operations guide advises a `maxmemory` limit), "READONLY" from a replica that a failover left in the primary's
place ("MASTERDOWN", reads too, when it serves no stale data), "NOREPLICAS" from a primary that must reach a
replica to write, or "MISCONF" when its last snapshot could not be written (its disk full, gone or read-only) and
`stop-writes-on-bgsave-error` is on, as it is by default. Open pages go on; new logins get the plain "try again in a
minute" page; writes coming back need no restart. A private redis-server is started for each test, because a test
must not turn the shared one read-only.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator

import pytest
import redis
import requests

from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, submit_form

from .conftest import free_port, own_redis_server
from .test_redis_outage import practise_once


def _snapshot(client: redis.Redis, outcome: str) -> None:
    """Start a background save and wait until Redis reports its outcome ("ok" or "err")."""
    client.bgsave()
    deadline = time.monotonic() + 10
    while True:
        persistence = client.info("persistence")
        if not persistence["rdb_bgsave_in_progress"] and persistence["rdb_last_bgsave_status"] == outcome:
            return
        assert time.monotonic() < deadline, f"the snapshot did not end {outcome}: {persistence}"
        time.sleep(0.05)


def _refuse_writes(client: redis.Redis, how: str, folder: str) -> None:
    if how == "full":
        client.config_set("maxmemory-policy", "noeviction")
        client.config_set("maxmemory", "1")
    elif how == "replica":
        client.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))  # a primary that never answers
    elif how == "replica_without_stale_reads":
        client.config_set("replica-serve-stale-data", "no")  # reads too are refused (MASTERDOWN)
        client.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))
    elif how == "too_few_replicas":
        client.config_set("min-replicas-to-write", "1")  # a primary that must reach a replica to write (NOREPLICAS)
    else:
        # Its data folder removed (a volume unmounted or lost): the snapshot fails, and writes stop (MISCONF).
        shutil.rmtree(folder)
        _snapshot(client, "err")


def _accept_writes(client: redis.Redis, how: str, folder: str) -> None:
    if how == "full":
        client.config_set("maxmemory", "0")
    elif how in ("replica", "replica_without_stale_reads"):
        client.execute_command("REPLICAOF", "NO", "ONE")
    elif how == "too_few_replicas":
        client.config_set("min-replicas-to-write", "0")
    else:
        # The operator gives it a folder it can write again; the next snapshot works, and so do writes.
        os.mkdir(folder + "-again")
        client.config_set("dir", folder + "-again")
        _snapshot(client, "ok")


# The code of an error reply. redis-py keeps it on the exception (status_code) from 7.2 on; pyproject allows 5.0,
# which leaves it at the start of the message, except for the codes it raises a class of its own for.
_CODED_CLASSES = ((redis.exceptions.OutOfMemoryError, "OOM"), (redis.exceptions.ReadOnlyError, "READONLY"),
                  (redis.exceptions.MasterDownError, "MASTERDOWN"))


def _reply_code(refusal: redis.ResponseError) -> str:
    code = getattr(refusal, "status_code", None)
    if code:
        return code
    return next((code for kind, code in _CODED_CLASSES if isinstance(refusal, kind)), str(refusal).split(" ", 1)[0])


REFUSALS = {"full": "OOM", "replica": "READONLY", "replica_without_stale_reads": "MASTERDOWN",
            "too_few_replicas": "NOREPLICAS", "cannot_persist": "MISCONF"}


@pytest.mark.parametrize("how", REFUSALS)
def test_a_cache_refusing_writes_keeps_open_pages_going_turns_new_logins_away_plainly_and_recovers(
        make_tool, private_redis, how):
    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    sandbox = SandboxActions(tool)
    teacher = sandbox.launch("teacher")
    assert submit_form(teacher, "/content/demo").status_code == 200
    student = sandbox.launch("student")

    folder = private_redis.config_get("dir")["dir"]  # the data folder it was started with
    _refuse_writes(private_redis, how, folder)
    with pytest.raises(redis.ResponseError) as refused:
        # The server really refuses writes now (and reads too, when it serves no stale data).
        private_redis.get("probe") if how == "replica_without_stale_reads" else private_redis.set("probe", "x")
    assert _reply_code(refused.value) == REFUSALS[how]

    # The student who already launched goes on: the page and the answer need the database, not the cache.
    answered = practise_once(tool, student)
    assert answered.status_code == 200, answered.text[:300]
    # A new login cannot keep its state and nonce: a plain 503 to come back shortly, not a server error.
    login = requests.get(tool.platform.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=10)
    assert login.status_code == 503, login.text[:300]
    assert login.headers["Retry-After"] and "try again in a minute" in login.text

    _accept_writes(private_redis, how, folder)

    again = sandbox.launch("student")
    assert again.status_code == 200 and "Your next steps" in again.text


@pytest.mark.parametrize("protocol", [2, 3])
def test_only_an_unsaved_snapshot_counts_as_an_outage_other_error_replies_still_surface(
        make_tool, private_redis, protocol):
    """MISCONF is an outage; an error reply to a command Pathways got wrong is a bug to see, not a 503 to hide.

    Also the guard of the reply parser Pathways derives from redis-py's private ones (extensions.redis_options): a
    redis-py that renames them leaves the tool running without the mapping, and this test fails on it. In both
    protocols: `?protocol=3` in the URL has redis-py parse RESP3 replies, with another parser."""
    from lti_tool.extensions import CACHE_OUTAGES, CacheCannotPersist, cache

    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0" + ("?protocol=3" if protocol == 3 else ""))
    private_redis.set("pathways:a-string", "x")
    with tool.app.app_context():
        client = cache.cache._write_client  # the tool's own connections, with its reply parser
        assert client.connection_pool.connection_kwargs["protocol"] == protocol
        with pytest.raises(redis.ResponseError) as wrong:
            client.lpush("pathways:a-string", "y")  # WRONGTYPE
        assert not isinstance(wrong.value, CACHE_OUTAGES)
        _refuse_writes(private_redis, "cannot_persist", private_redis.config_get("dir")["dir"])
        with pytest.raises(CACHE_OUTAGES) as refused:
            cache.set("probe", "x")
        # The snapshot's refusal (MISCONF), which the tool's parser raises as its own class, in every redis-py.
        assert isinstance(refused.value, CacheCannotPersist) and "unable to persist" in str(refused.value)
        assert cache.get("probe") is None  # reads still work


@pytest.mark.parametrize("how", REFUSALS)
def test_a_cache_refusing_writes_leaves_the_worker_posting_grades_without_a_failed_pass(make_tool, private_redis, how):
    """The worker keeps no state in the cache that grades need: the token is asked again, housekeeping waits."""
    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(**FAST_RETRIES, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()
    private_redis.flushdb()  # no access token kept, no housekeeping marker set
    _refuse_writes(private_redis, how, private_redis.config_get("dir")["dir"])

    book.queue("student-3", 70.0)
    stats = book.drain()

    assert book.lms_scores()["student-3"]["scoreGiven"] == 70.0
    assert book.rows()[-1].status == "synced"
    assert stats.errors == {}  # not a failed pass ("an unexpected error"), which would back off the next ones


@pytest.mark.parametrize("how", REFUSALS)
def test_a_login_from_a_counted_address_gets_the_plain_503_while_the_cache_refuses_writes(
    make_tool, private_redis, how
):
    """The login budget (login_budget.py) counts a client's logins in the cache before its state is kept: a refusal
    there is the same outage, a 503, not a server error. (Logins from loopback, as above, are not counted.)"""
    port = private_redis.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0", LOGINS_PER_CLIENT_PER_MINUTE=10)
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))
    counted = {"X-Forwarded-For": "198.51.100.7"}
    assert requests.get(login, headers=counted, allow_redirects=False, timeout=10).status_code == 302

    folder = private_redis.config_get("dir")["dir"]
    _refuse_writes(private_redis, how, folder)
    refused = requests.get(login, headers=counted, allow_redirects=False, timeout=10)
    assert refused.status_code == 503, refused.text[:300]
    assert refused.headers["Retry-After"] and "try again in a minute" in refused.text

    _accept_writes(private_redis, how, folder)
    assert requests.get(login, headers=counted, allow_redirects=False, timeout=10).status_code == 302


@pytest.fixture
def redis_without_resp3(tmp_path) -> Iterator[redis.Redis]:
    """A redis-server that answers HELLO as Redis 5 or a proxy speaking only RESP2 does: an unknown command."""
    with own_redis_server("--save", "", "--dir", str(tmp_path), "--rename-command", "HELLO", "", protocol=2) as client:
        yield client


def test_a_redis_without_resp3_refusing_writes_is_an_outage_too(make_tool, redis_without_resp3):
    """redis-py falls back to RESP2 when the server does not know HELLO, with its own parser in place of Pathways'
    (whose reply classes it no longer reads): NOREPLICAS and MISCONF were plain errors again, and a login a 500."""
    port = redis_without_resp3.connection_pool.connection_kwargs["port"]
    tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    sandbox = SandboxActions(tool)
    assert sandbox.launch("student").status_code == 200
    _refuse_writes(redis_without_resp3, "too_few_replicas", "")
    login = requests.get(tool.platform.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=10)
    assert login.status_code == 503, login.text[:300]
    assert login.headers["Retry-After"] and "try again in a minute" in login.text
    _accept_writes(redis_without_resp3, "too_few_replicas", "")
    assert sandbox.launch("student").status_code == 200


def test_a_redis_py_that_renames_its_reply_parsers_still_lets_the_tool_start_with_one_warning(
        make_tool, private_redis, monkeypatch):
    """redis is not bounded above, and the parser Pathways derives is built on redis-py's private names: a release
    renaming them crashed the tool's start wherever Redis was configured. Without them redis-py's own parser reads
    the replies (MISCONF is a plain error again, as before the mapping; the test above fails), and a warning says so.
    """
    import logging

    import redis._parsers

    from tests.conftest import _Records

    monkeypatch.delattr(redis._parsers, "_RESP2Parser")
    records = _Records()
    logger = logging.getLogger("lti_tool.extensions")
    logger.addHandler(records)
    try:
        port = private_redis.connection_pool.connection_kwargs["port"]
        tool = make_tool(REDIS_URL=f"redis://127.0.0.1:{port}/0")
        launched = SandboxActions(tool).launch("student")
    finally:
        logger.removeHandler(records)
    assert launched.status_code == 200 and 'class="sign-out"' in launched.text
    assert len(records.lines("names its reply parsers otherwise")) == 1, records.lines()
    assert private_redis.dbsize() > 0  # the launch kept its state in this Redis, not elsewhere
