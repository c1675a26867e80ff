"""One client floods /lti/login: its logins past a minute's budget keep nothing, and everyone else's go on.

A login needs only a registered issuer and client id (no secret: an LMS's pages show them), and each kept its state
in the cache for PATHWAYS_LOGIN_STATE_SECONDS: unlimited, one client filled Redis to its maxmemory (then every login
got the outage page) or the disk under the file cache. The tool runs behind a proxy it trusts (the tests' loopback
is in the default PATHWAYS_FORWARDED_ALLOW_IPS), which appends the address it was reached from to X-Forwarded-For.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import redis
import requests

from tests.support import SandboxActions, parse_form, submit_form

LIMIT = 10
FLOODER = "203.0.113.9"


def _login_states(tool) -> int:
    """Count the login states the tool keeps (each holds its nonce)."""
    url = tool.app.config.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url)
        try:
            return sum(1 for _ in client.scan_iter("pathways:lti1p3-*"))
        finally:
            client.close()
    folder = Path(tool.app.instance_path) / "cache"
    return sum(1 for entry in folder.iterdir() if entry.is_file() and b'"nonce":' in entry.read_bytes())


@pytest.fixture(params=["file cache", "redis"])
def flooded_tool(request, make_tool):
    if request.param == "file cache":
        return make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT)
    url = os.environ.get("PATHWAYS_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set PATHWAYS_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
    redis.Redis.from_url(url).flushdb()
    return make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, REDIS_URL=url)


def test_a_flood_of_logins_from_one_address_keeps_only_its_budget_and_a_student_elsewhere_still_launches(
    flooded_tool,
):
    tool = flooded_tool
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))  # a real login request, replayed by the flooder
    endpoint, query = login.split("?", 1)
    params = {name: values[-1] for name, values in parse_qs(query).items()}
    before = _login_states(tool)

    answers = []
    for i in range(4 * LIMIT):
        # What the flooder writes into X-Forwarded-For itself changes each time; the proxy appends its real address.
        forwarded = {"X-Forwarded-For": f"10.{i}.0.1, {FLOODER}"}
        if i % 2:
            answers.append(requests.post(endpoint, data=params, headers=forwarded, allow_redirects=False, timeout=10))
        else:
            answers.append(requests.get(login, headers=forwarded, allow_redirects=False, timeout=10))

    assert [a.status_code for a in answers] == [302] * LIMIT + [429] * (3 * LIMIT)
    refused = answers[-1]
    assert refused.headers["Retry-After"] == "60" and "Too many requests" in refused.text
    assert "set-cookie" not in {name.lower() for name in refused.headers}
    assert _login_states(tool) - before == LIMIT  # the refused logins kept nothing

    # A teacher and a student at another address (a school behind another NAT) launch during the flood as always.
    school = requests.Session()
    school.headers["X-Forwarded-For"] = "198.51.100.7"
    teacher = sandbox.launch("teacher", http=school)
    assert submit_form(teacher, "/content/demo").status_code == 200
    page = sandbox.launch("student", http=school)
    assert page.status_code == 200 and "Your next steps" in page.text
    # Another host of the flooder's IPv6 /64 shares its budget; another /64 has its own.
    same_net = requests.get(login, headers={"X-Forwarded-For": "2001:db8:0:1::5"}, allow_redirects=False, timeout=10)
    assert same_net.status_code == 302
    for _ in range(LIMIT):
        requests.get(login, headers={"X-Forwarded-For": "2001:db8:0:1::7"}, allow_redirects=False, timeout=10)
    next_host = requests.get(login, headers={"X-Forwarded-For": "2001:db8:0:1::9"}, allow_redirects=False, timeout=10)
    other_net = requests.get(login, headers={"X-Forwarded-For": "2001:db8:0:2::9"}, allow_redirects=False, timeout=10)
    assert (next_host.status_code, other_net.status_code) == (429, 302)


def test_a_peer_the_tool_does_not_trust_as_a_proxy_cannot_choose_its_address(make_tool):
    """Without a trusted proxy in front, X-Forwarded-For is the client's own word: the peer's address counts."""
    tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, FORWARDED_ALLOW_IPS="192.0.2.1")
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))
    # Here the peer is loopback (the machine itself, not limited) whatever address the header claims.
    answers = [
        requests.get(login, headers={"X-Forwarded-For": FLOODER}, allow_redirects=False, timeout=10)
        for _ in range(2 * LIMIT)
    ]
    assert {a.status_code for a in answers} == {302}
    assert urlsplit(answers[0].headers["Location"]).query  # on to the platform, state and all


def test_replaying_a_cookieless_launch_keeps_no_more_storage_tickets_than_the_budget_and_the_learner_still_gets_in(
    make_tool,
):
    """A cookie-less launch keeps a storage-check ticket before the token's signature is checked: budgeted too."""
    from tests.lti.test_platform_storage import StorageLaunch, _cookieless, _page_config

    tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, DEFAULT_COURSE_PACK="demo")
    sandbox = SandboxActions(tool)
    learner = _cookieless()  # third-party cookies blocked in the LMS frame; the LMS offers platform storage
    learner.headers["X-Forwarded-For"] = "198.51.100.7"
    login = learner.get(
        tool.platform.start_launch(sandbox.sub("student")) + "&lti_storage_target=_parent",
        allow_redirects=False,
        timeout=30,
    )
    assert login.status_code == 200, login.text[:300]
    config = _page_config(login.text)
    auth = learner.get(config["auth_url"], timeout=30)
    action, fields = parse_form(auth.text, auth.url)

    # Someone who got hold of the posted form posts it again and again from elsewhere: a ticket each, then 429s.
    replays = [
        requests.post(action, data=fields, headers={"X-Forwarded-For": FLOODER}, timeout=10).status_code
        for _ in range(2 * LIMIT)
    ]
    assert replays == [200] * LIMIT + [429] * LIMIT

    # The learner's own browser goes on: the check page, then the launch confirmed with what storage holds.
    check_page = learner.post(action, data=fields, timeout=30)
    assert check_page.status_code == 200, check_page.text[:300]
    check = _page_config(check_page.text)
    confirm_action, confirm_fields = parse_form(check_page.text, check_page.url)
    stored = {config["state_key"]: config["state"], config["nonce_key"]: config["nonce"]}  # what the login put there
    home = learner.post(
        confirm_action,
        timeout=30,
        data={
            **confirm_fields,
            "stored_state": stored[check["state_key"]],
            "stored_nonce": stored[check["nonce_key"]],
            "tab_secret": StorageLaunch.tab_secret,
        },
    )
    assert home.status_code == 200 and "Your next steps" in home.text, home.text[:300]


def test_behind_a_proxy_on_a_unix_socket_the_address_it_forwarded_counts(make_tool):
    """gunicorn bound to a Unix socket sees no peer address: the local proxy's X-Forwarded-For names the client."""
    from lti_tool.login_budget import client_address

    tool = make_tool()
    app = tool.app
    with app.test_request_context(
        "/lti/login", environ_base={"REMOTE_ADDR": ""}, headers={"X-Forwarded-For": f"10.0.0.1, {FLOODER}"}
    ):
        assert str(client_address()) == FLOODER
    with app.test_request_context("/lti/login", environ_base={"REMOTE_ADDR": ""}):
        assert client_address().is_loopback  # the machine itself: not limited


def test_with_every_peer_trusted_as_a_proxy_a_client_still_cannot_choose_its_address(make_tool):
    """PATHWAYS_FORWARDED_ALLOW_IPS="*" trusts the peer (gunicorn's meaning), not what the client wrote before it.

    Read as trusting every hop, the leftmost entry (the client's own) named the client: a flooder that changed it
    each time was never limited, and one that wrote loopback there was never counted at all.
    """
    tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, FORWARDED_ALLOW_IPS="*")
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))
    claimed = [f"10.{i}.0.1" for i in range(LIMIT)] + ["127.0.0.1"] * LIMIT
    answers = [
        requests.get(login, headers={"X-Forwarded-For": f"{own}, {FLOODER}"}, allow_redirects=False, timeout=10)
        for own in claimed
    ]
    assert [a.status_code for a in answers] == [302] * LIMIT + [429] * LIMIT
    other = requests.get(login, headers={"X-Forwarded-For": "198.51.100.7"}, allow_redirects=False, timeout=10)
    assert other.status_code == 302


def test_a_proxy_seen_as_an_ipv4_mapped_address_or_forwarding_ports_still_names_each_client(make_tool):
    """A dual-stack server sees an IPv4 proxy as ::ffff:a.b.c.d; some load balancers forward the client's port.

    Untrusted as mapped, the proxy's own address counted for every client behind it (one flood turned everyone
    away); with a port, each client counted as one shared unknown address.
    """
    from lti_tool.login_budget import client_address

    app = make_tool(FORWARDED_ALLOW_IPS="192.0.2.1").app
    for peer, forwarded, client in (
        ("::ffff:192.0.2.1", FLOODER, FLOODER),
        ("192.0.2.1", f"{FLOODER}:4711", FLOODER),
        ("192.0.2.1", "[2001:db8:0:1::5]:4711", "2001:db8:0:1::5"),
        ("192.0.2.1", "::ffff:198.51.100.7", "198.51.100.7"),
    ):
        with app.test_request_context(
            "/lti/login", environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": forwarded}
        ):
            assert str(client_address()) == client, (peer, forwarded)


def test_a_counter_left_without_its_expiry_runs_out_all_the_same(make_tool):
    """cachelib's add is SETNX then EXPIRE: a worker killed between the two left a counter that never ran out, and
    its address (a school's) was turned away for good. The counter is made with its expiry at once, and one found
    without (left so before) gets it back."""
    url = os.environ.get("PATHWAYS_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set PATHWAYS_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
    client = redis.Redis.from_url(url)
    client.flushdb()
    tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, REDIS_URL=url)
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))

    fresh = requests.get(login, headers={"X-Forwarded-For": "198.51.100.7"}, allow_redirects=False, timeout=10)
    assert fresh.status_code == 302
    assert 0 < client.ttl("pathways:login-budget:login:198.51.100.7") <= 60

    stuck = f"pathways:login-budget:login:{FLOODER}"
    client.set(stuck, LIMIT)  # as a worker killed after SETNX, before EXPIRE, left it
    refused = requests.get(login, headers={"X-Forwarded-For": FLOODER}, allow_redirects=False, timeout=10)
    assert refused.status_code == 429
    assert 0 < client.ttl(stuck) <= 60  # the window runs out: the address may log in again after it
    client.close()


@pytest.fixture
def budget_log():
    """What the login budget logs (caplog would lose it: migrations reconfigure the root logger)."""
    import logging

    from tests.conftest import _Records

    logger = logging.getLogger("lti_tool.login_budget")
    handler = _Records()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_a_trusted_proxy_that_forwards_unknown_is_its_clients_address_not_one_unknown_for_everyone(
    make_tool, budget_log
):
    """A trusted proxy that writes `unknown` (RFC 7239 allows it; some proxies write it into X-Forwarded-For), or
    another entry that is no address, names no client: it is the client, as a proxy that forwards nothing is.

    Counted as one "unknown" client, one abuser behind any such proxy turned away the clients of every other one
    (a whole school), and those of a proxy on this very machine, which is never limited.
    """
    first, second = "192.0.2.31", "192.0.2.32"  # two schools' proxies, each forwarding no address, both trusted
    tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=LIMIT, FORWARDED_ALLOW_IPS=f"127.0.0.1 {first} {second}")
    sandbox = SandboxActions(tool)
    login = tool.platform.start_launch(sandbox.sub("student"))

    def through(entries: str) -> int:
        headers = {"X-Forwarded-For": entries}
        return requests.get(login, headers=headers, allow_redirects=False, timeout=10).status_code

    # Behind the first proxy one client floods (what it writes itself is never read: the proxy wrote `unknown`).
    assert [through(f"10.0.0.{i}, unknown, {first}") for i in range(2 * LIMIT)] == [302] * LIMIT + [429] * LIMIT
    # The other school's proxy, writing RFC 7239's obfuscated identifier, still logs its clients in (before: 429).
    assert {through(f"_hidden, {second}") for _ in range(LIMIT)} == {302}
    # The proxy on this machine writing `unknown`: the machine itself, never limited (before: 429).
    assert {through("unknown") for _ in range(2 * LIMIT)} == {302}
    # A proxy that forwards its clients' addresses counts each as before.
    assert through("198.51.100.7") == 302

    # A warning for the admin, once for each proxy rather than once a login.
    warned = budget_log.lines("not its client's address")
    assert [line for line in warned if first in line] == [
        f"the trusted proxy {first} forwards 'unknown', not its client's address, in X-Forwarded-For: all its "
        "clients share one login budget, its own. Have it forward the address it was reached from "
        "(PATHWAYS_LOGINS_PER_CLIENT_PER_MINUTE)."]
    assert len([line for line in warned if second in line and "'_hidden'" in line]) == 1



def test_against_redis_the_budget_counts_in_one_transaction(make_tool, tmp_path):
    """The budget's atomic count (SET NX EX and INCR in one MULTI/EXEC) reaches Redis through cachelib's private
    _write_client; a cachelib without it falls back to add and inc (SETNX, EXPIRE, INCR), which still limit logins but
    may leave a counter without its expiry. This fails on a cachelib that makes the tool take that fallback.
    A redis-server of the test's own, so that its command counts are this tool's alone."""
    from tests.faults.conftest import own_redis_server

    with own_redis_server("--save", "", "--dir", str(tmp_path)) as server:
        port = server.connection_pool.connection_kwargs["port"]
        tool = make_tool(LOGINS_PER_CLIENT_PER_MINUTE=2, REDIS_URL=f"redis://127.0.0.1:{port}/0")
        login = tool.platform.start_launch(SandboxActions(tool).sub("student"))
        counted = {"X-Forwarded-For": "198.51.100.7"}
        server.config_resetstat()
        statuses = [requests.get(login, headers=counted, allow_redirects=False, timeout=10).status_code
                    for _ in range(3)]
        calls = {name: stats["calls"] for name, stats in server.info("commandstats").items()}
    assert statuses == [302, 302, 429]
    # One transaction a login; no SETNX (cachelib's add, which keeps the login's state with SET: only the fallback).
    assert calls.get("cmdstat_exec") == 3 and calls.get("cmdstat_multi") == 3, calls
    assert "cmdstat_setnx" not in calls and "cmdstat_expire" not in calls, calls
