"""Every URL Pathways fetches goes through one outbound client: address policy, deadline, size cap, origins.

The platforms here are real servers on loopback: the sandbox LMS, and a hostile http.server (tests/evil.py).
For "private address refused" stories the tool is started with an allow-list that does NOT cover the evil
server's address, as a production deployment would be.
"""

from __future__ import annotations

import secrets
import threading
import time

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.lti import outbound
from lti_tool.lti.outbound import MAX_LOOKUPS, TIMEOUT, AddressPolicy, OutboundError, OutboundSession
from lti_tool.models import Course
from lti_tool.sandbox.vocab import DL_SETTINGS, NRPS_CLAIM
from lti_tool.sandbox_mount import SANDBOX_CLIENT_ID, SANDBOX_DEPLOYMENT_ID
from lti_tool.services.registry import add_platform
from tests.evil import EvilServer
from tests.lti.test_dynamic_registration import _register
from tests.support import SandboxActions, submit_form


def _move_platform_keys(tool, jwks_url: str) -> None:
    """The admin points the sandbox platform's key set URL somewhere else (`pathways platform add`)."""
    platform = tool.platform
    with tool.app.app_context():
        add_platform(issuer=platform.issuer, client_id=SANDBOX_CLIENT_ID, deployment_ids=[SANDBOX_DEPLOYMENT_ID],
                     login_url=platform.auth_url, token_url=platform.token_url, jwks_url=jwks_url)


# ---- address policy --------------------------------------------------------------------------------------

def test_a_configuration_url_on_a_private_address_is_never_fetched(make_tool, evil):
    tool = make_tool(OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32")  # the sandbox yes, 127.0.0.2 no
    evil.json("/.well-known/openid-configuration", {"issuer": evil.origin})
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"), token="t")
    assert page.status_code == 502
    assert "address_refused" in page.text
    assert evil.hits == []


def test_a_platform_key_set_that_redirects_to_a_private_address_is_not_followed(make_tool, evil):
    tool = make_tool(OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32")
    # The real keys sit on 127.0.0.2 (not allowed); a server on an allowed address redirects there.
    evil.json("/jwks", tool.platform.public_jwks())
    front = EvilServer("127.0.0.1")
    try:
        front.redirect("/jwks", evil.url("/jwks"))
        _move_platform_keys(tool, front.url("/jwks"))
        page = SandboxActions(tool).launch("student")
        assert page.status_code == 502
        assert "public keys could not be fetched" in page.text
        assert [hit[1] for hit in front.hits] == ["/jwks"]
        assert evil.hits == []
    finally:
        front.close()


def test_registration_follows_no_redirect(tool, evil):
    evil.redirect("/.well-known/openid-configuration", tool.platform.openid_configuration_url)
    page = _register(tool, config_url=evil.url("/.well-known/openid-configuration"))
    assert page.status_code == 502
    assert "redirect" in page.text
    assert tool.platform.registrations == []


# ---- deadline, failure cache and size cap ----------------------------------------------------------------

def test_a_platform_dripping_its_keys_fails_a_launch_within_the_deadline_and_later_launches_at_once(make_tool, evil):
    tool = make_tool(SERVICE_TIMEOUT_SECONDS=1)
    evil.drip("/jwks", every=0.4, count=60)  # 24 s of one byte at a time: a per-read timeout never fires
    _move_platform_keys(tool, evil.url("/jwks"))

    started = time.monotonic()
    first = SandboxActions(tool).launch("student")
    assert first.status_code == 502
    assert time.monotonic() - started < 10  # not the 24 s of the drip (a loaded machine needs more than 1 s)

    started = time.monotonic()
    second = SandboxActions(tool).launch("student")
    assert second.status_code == 502
    assert time.monotonic() - started < 5  # not another drip
    assert len(evil.hits) == 1  # the failure is remembered: no second wait (a count, not a tight clock)


def test_a_platform_host_whose_dns_answers_slowly_fails_a_launch_within_the_deadline(make_tool, monkeypatch):
    import socket

    tool = make_tool(SERVICE_TIMEOUT_SECONDS=1)
    real_getaddrinfo = socket.getaddrinfo

    def slow_dns(host, port, *args, **kwargs):
        if host == "slow-dns.test":
            time.sleep(6)  # a resolver retrying a name server that does not answer
            host = "127.0.0.1"
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_dns)
    _move_platform_keys(tool, "http://slow-dns.test:9/jwks")
    started = time.monotonic()
    page = SandboxActions(tool).launch("student")
    assert page.status_code == 502
    assert time.monotonic() - started < 4  # the deadline covers the lookup too, not only connect and body


@pytest.fixture
def hanging_dns(monkeypatch):
    """A resolver whose name server stopped answering: a lookup of a *.test name waits until the test ends."""
    import socket

    real_getaddrinfo, stop = socket.getaddrinfo, threading.Event()

    def hang(host, port, *args, **kwargs):
        if host.endswith(".test"):
            stop.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, port, *args, **kwargs)

    _join_lookups()  # an earlier test's slow lookup would hold one of the threads this test counts
    monkeypatch.setattr(socket, "getaddrinfo", hang)
    yield
    stop.set()
    _join_lookups()  # the next test has every thread free


def _join_lookups() -> None:
    for thread in threading.enumerate():
        if thread.name == "pathways-resolve":
            thread.join(10)


def _lookups_alive() -> int:
    """Count the lookup threads still waiting for the resolver."""
    return len([t for t in threading.enumerate() if t.name == "pathways-resolve"])


def test_lookups_that_hang_keep_only_a_few_threads_and_an_address_needs_none(hanging_dns, evil):
    http = OutboundSession(AddressPolicy.from_setting("127.0.0.0/8"))
    evil.json("/jwks", {"keys": []})
    for n in range(MAX_LOOKUPS + 3):
        with pytest.raises(OutboundError) as failed:
            http.get(f"http://lms-{n}.test:9/jwks", timeout=0.2)
        assert failed.value.reason == TIMEOUT

    assert _lookups_alive() == MAX_LOOKUPS  # before, one more thread for every call, for the resolver's retries
    started = time.monotonic()
    with pytest.raises(OutboundError):
        http.get("http://lms-more.test:9/jwks", timeout=5)
    assert time.monotonic() - started < 3  # all busy: failed at once, not after its 5 s queued behind them
    assert http.get(evil.url("/jwks"), timeout=1).json() == {"keys": []}  # 127.0.0.2: nothing to look up
    assert _lookups_alive() == MAX_LOOKUPS


def test_a_lookup_with_no_time_left_starts_no_thread(hanging_dns):
    # The call's time ran out between its last check and the connection's lookup (a pause of the process).
    outbound._current.call = outbound._Call(deadline=time.monotonic() - 0.01)
    try:
        with pytest.raises(outbound._Refused) as refused:
            outbound._resolve("lms.test", 443)
    finally:
        del outbound._current.call
    assert refused.value.reason == TIMEOUT
    assert _lookups_alive() == 0


def test_a_huge_key_set_is_cut_off_while_it_streams(tool, evil):
    evil.flood("/jwks", total_bytes=256 * 1024 * 1024)
    _move_platform_keys(tool, evil.url("/jwks"))
    page = SandboxActions(tool).launch("student")
    assert page.status_code == 502
    assert evil.bytes_sent < 64 * 1024 * 1024  # stopped long before the end, not read whole then refused


# ---- service URLs stay on the platform's origins ---------------------------------------------------------

def test_a_roster_url_from_a_custom_parameter_on_another_origin_never_receives_the_token(sandbox, tool, evil):
    evil.json("/memberships", {"id": "x", "context": {"id": "math-7"}, "members": []})
    page = sandbox.launch("teacher", remove_claims=[NRPS_CLAIM],
                          custom={"context_memberships_url": evil.url("/memberships")})
    assert page.status_code == 200, page.text[:500]
    synced = submit_form(page, "roster/sync")
    assert "Roster updated" not in synced.text
    assert evil.hits == []
    with tool.app.app_context():
        assert db.session.scalars(sa.select(Course.memberships_url)).one() is None


def test_a_roster_url_from_a_custom_parameter_on_the_platforms_origin_still_works(sandbox, tool):
    page = sandbox.launch("teacher", remove_claims=[NRPS_CLAIM],
                          custom={"context_memberships_url": tool.platform.memberships_url("math-7")})
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text


def test_a_stored_service_url_on_another_origin_is_refused_before_any_token_is_sent(sandbox, tool, evil):
    page = sandbox.launch("teacher")
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course)).one()
        course.memberships_url = evil.url("/memberships")  # e.g. written by someone with database access
        db.session.commit()
    synced = submit_form(page, "roster/sync")
    assert "foreign_origin" in synced.text
    assert evil.hits == []
    # The address was not signed by the LMS (a stored, paging or line-item URL, a custom parameter): the refusal
    # names it but proposes no ready command that would register it.
    assert "pathways platform add-origin" in synced.text
    assert f"add-origin {tool.platform.issuer}" not in synced.text.replace("&#39;", "'")


@pytest.mark.parametrize("return_url", ["javascript:alert(document.domain)", "http://127.0.0.2:9/steal"])
def test_a_deep_link_return_url_that_is_not_the_platforms_own_is_refused(sandbox, return_url):
    settings = {"deep_link_return_url": return_url, "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe"], "accept_multiple": True}
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest", claim_overrides={DL_SETTINGS: settings})
    assert picker.status_code == 400
    assert return_url not in picker.text
    if return_url.startswith("javascript:"):  # not a web address at all: refused at launch
        assert "did not say where to send the chosen links" in picker.text
    else:  # an http(s) address the platform signed: its origin, and the command that would let the platform use it
        assert "http://127.0.0.2:9, an address not registered for this LMS" in picker.text
        assert "pathways platform add-origin" in picker.text


# ---- platform keys ---------------------------------------------------------------------------------------

def test_a_platform_that_rotates_its_key_right_after_a_launch_keeps_launching(sandbox, tool):
    assert sandbox.launch("student").status_code == 200
    tool.platform.rotate_key()
    page = sandbox.launch("student")  # seconds later, with default (production) settings
    assert page.status_code == 200, page.text[:500]


def test_forged_kids_refetch_the_platform_keys_only_within_a_budget(make_tool):
    tool = make_tool(JWKS_REFETCHES_PER_MINUTE=2)  # one refetch per 30 s, whichever kid asks
    sandbox = SandboxActions(tool)
    assert sandbox.launch("student").status_code == 200
    fetched = tool.platform.jwks_requests
    for n in range(5):
        pending = sandbox.begin("student")
        forged = pending.platform.sign(pending.claims, kid=f"forged-{n}")
        assert pending.post(forged).status_code == 400
    pending = sandbox.begin("student")
    assert pending.post(pending.platform.sign(pending.claims, kid="forged-0")).status_code == 400
    assert tool.platform.jwks_requests - fetched == 1


@pytest.fixture
def cache_clock(monkeypatch):
    """Move the tool's cache (cachelib's file cache) forward in time: move(seconds). Tokens keep the real clock."""
    import cachelib.file

    ahead = [0.0]
    real = cachelib.file.time
    monkeypatch.setattr(cachelib.file, "time", lambda: real() + ahead[0])

    def move(seconds: float) -> None:
        ahead[0] += seconds

    return move


def test_forged_kids_posted_on_a_reused_state_cannot_hold_off_a_real_key_rotation(make_tool, cache_clock):
    """Security review: a visitor kept the refetch budget spent with forged kids (a failed launch leaves its state
    usable); the rotated key's real kid was refused once, remembered as tried, and refused until the cached key
    set expired an hour later. A refetch for an unknown kid is now allowed once per 60/N seconds whichever kid
    asks, and no kid is remembered: the real kid gets its refetch within that gap."""
    tool = make_tool(JWKS_REFETCHES_PER_MINUTE=2)  # one refetch per 30 s
    sandbox = SandboxActions(tool)
    platform = tool.platform
    assert sandbox.launch("student").status_code == 200  # the key set is cached (for an hour)
    attacker = sandbox.begin("student")  # one real login, its state posted again and again

    def attack(count: int) -> None:
        for _ in range(count):
            forged = platform.sign(attacker.claims, kid="forged-" + secrets.token_hex(4))
            assert attacker.post(forged).status_code == 400

    attack(4)  # the refetch budget is spent
    platform.rotate_key()  # the platform publishes a new key and signs with it from now on
    refused = sandbox.launch("student")
    assert refused.status_code == 400 and "key the platform does not publish" in refused.text
    attack(2)
    cache_clock(31)  # one gap later, the attack still under way
    fetched = platform.jwks_requests
    page = sandbox.launch("student")
    assert page.status_code == 200, page.text[:300]
    assert platform.jwks_requests == fetched + 1  # the real kid's refetch brought the new key in
    attack(3)
    assert sandbox.launch("student").status_code == 200  # kept: forged kids do not evict the real key
    assert platform.jwks_requests == fetched + 1  # and the attack got no refetch within the gap


def test_outbound_client_refuses_userinfo_and_non_http_urls(tool):
    from lti_tool.lti.outbound import OutboundError

    http = tool.app.extensions["pathways_http"]
    for url in ("file:///etc/passwd", f"http://u:p@127.0.0.1:{tool.server.server_port}/lti/jwks", "gopher://x"):
        with pytest.raises(OutboundError) as refused:
            http.get(url)
        assert refused.value.reason == "bad_url"
    assert requests.get(tool.url("/lti/jwks"), timeout=10).ok


def test_a_key_set_planted_in_the_shared_cache_does_not_let_anyone_sign_launches(sandbox, tool):
    """Compromised Redis: whoever writes to the cache must not be able to add a platform key."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    from lti_tool.extensions import cache
    from lti_tool.lti.launch import _jwks_key

    assert sandbox.launch("student").status_code == 200  # the real key set is cached now
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    planted = {"keys": [{**RSAAlgorithm.to_jwk(attacker_key.public_key(), as_dict=True), "kid": "planted",
                         "alg": "RS256", "use": "sig"}]}
    with tool.app.app_context():
        # Both shapes an attacker might write: a bare JWKS, and a sealed entry with a made-up MAC.
        cache.set(_jwks_key(tool.platform.jwks_url), planted)
        pending = sandbox.begin("student")
        assert pending.post(pending.platform.sign(pending.claims, key=attacker_key, kid="planted")).status_code == 400
        cache.set(_jwks_key(tool.platform.jwks_url), {"jwks": planted, "mac": "0" * 64})
    pending = sandbox.begin("student")
    assert pending.post(pending.platform.sign(pending.claims, key=attacker_key, kid="planted")).status_code == 400
    assert sandbox.launch("student").status_code == 200


def test_a_name_that_rebinds_to_a_private_address_after_the_check_is_not_followed(make_tool, monkeypatch):
    """DNS rebinding: the first answer is allowed, every later one points inside; we connect where we checked."""
    import socket

    tool = make_tool(OUTBOUND_ALLOWED_NETWORKS="127.0.0.1/32")
    inside = EvilServer("127.0.0.2")
    keys = EvilServer("127.0.0.1", port=inside.port)
    try:
        keys.json("/jwks", tool.platform.public_jwks())
        inside.json("/jwks", {"keys": []})
        real_getaddrinfo = socket.getaddrinfo
        answers = iter(["127.0.0.1"])

        def rebinding_dns(host, port, *args, **kwargs):
            if host == "rebind.test":
                host = next(answers, "127.0.0.2")
            return real_getaddrinfo(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebinding_dns)
        _move_platform_keys(tool, f"http://rebind.test:{inside.port}/jwks")
        page = SandboxActions(tool).launch("student")
        assert page.status_code == 200, page.text[:500]
        assert [hit[1] for hit in keys.hits] == ["/jwks"]
        assert inside.hits == []
    finally:
        keys.close()
        inside.close()


def test_eight_launches_against_a_dripping_platform_all_end_within_the_deadline(make_tool, evil):
    from concurrent.futures import ThreadPoolExecutor

    tool = make_tool(SERVICE_TIMEOUT_SECONDS=1)
    evil.drip("/jwks", every=0.4, count=60)
    _move_platform_keys(tool, evil.url("/jwks"))
    pendings = [SandboxActions(tool).begin("student") for _ in range(8)]
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda p: p.post().status_code, pendings))
    assert statuses == [502] * 8
    assert time.monotonic() - started < 5
    assert requests.get(tool.url("/healthz"), timeout=5).status_code in (200, 503)


def test_https_through_the_pinned_connection_still_verifies_the_host_name(tool, tmp_path):
    """Pinning the address must not weaken TLS: the certificate is checked against the name, via SNI."""
    import datetime
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    from lti_tool.lti.outbound import OutboundError

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    seen_sni: list[str | None] = []

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Length", "11")
            self.end_headers()
            self.wfile.write(b'{"keys":[]}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    context.sni_callback = lambda sock, sni, ctx: seen_sni.append(sni)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    http = tool.app.extensions["pathways_http"]
    try:
        assert http.get(f"https://localhost:{port}/jwks", verify=str(cert_file)).json() == {"keys": []}
        assert "localhost" in seen_sni
        with pytest.raises(OutboundError):  # the same server by address: the name on the certificate differs
            http.get(f"https://127.0.0.1:{port}/jwks", verify=str(cert_file))
    finally:
        server.shutdown()
        server.server_close()


# ---- the client itself: no state carried between platforms, no body resent elsewhere ---------------------

def _set_cookie(handler) -> None:
    handler.send_response(200)
    handler.send_header("Set-Cookie", "planted=from-platform-a; Path=/")
    handler.send_header("Content-Length", "2")
    handler.end_headers()
    handler.wfile.write(b"{}")


def test_a_cookie_one_platform_sets_is_never_sent_to_another(evil):
    from lti_tool.lti.outbound import AddressPolicy, OutboundSession

    other = EvilServer("127.0.0.3")
    try:
        evil.routes["/jwks"] = _set_cookie
        other.json("/token", {})
        http = OutboundSession(AddressPolicy.from_setting("127.0.0.0/8"))
        http.get(evil.url("/jwks"), timeout=5)
        http.get(other.url("/token"), timeout=5)
        http.get(evil.url("/jwks"), timeout=5)
    finally:
        other.close()
    assert [headers.get("Cookie") for _, _, headers in other.hits + evil.hits] == [None, None, None]


def test_a_token_request_redirected_to_another_origin_is_not_resent_there(evil):
    from lti_tool.lti.outbound import REDIRECT_REFUSED, AddressPolicy, OutboundError, OutboundSession

    other = EvilServer("127.0.0.3")
    try:
        other.json("/steal", {"access_token": "x"})
        evil.redirect("/token", other.url("/steal"), status=307)
        http = OutboundSession(AddressPolicy.from_setting("127.0.0.0/8"))
        with pytest.raises(OutboundError) as refused:
            http.post(evil.url("/token"), data={"client_assertion": "signed.jwt.here"}, timeout=5)
    finally:
        other.close()
    assert refused.value.reason == REDIRECT_REFUSED
    assert other.hits == []


@pytest.mark.parametrize("address", [
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254, the cloud metadata service
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "::7f00:1",  # IPv4-compatible 127.0.0.1 (deprecated)
    "fec0::1",  # site-local (deprecated)
    "2001:0:a9fe:a9fe::1",  # Teredo
    "64:ff9b:1::1",  # local-use NAT64
])
def test_ipv6_forms_of_private_addresses_are_refused(address):
    from lti_tool.lti.outbound import AddressPolicy

    assert not AddressPolicy().allows(address)
    assert AddressPolicy().allows("64:ff9b::808:808")  # NAT64 of a public address is fine


@pytest.mark.parametrize(("allowed", "address", "neighbour"), [
    ("100.64.0.0/10", "100.100.100.200", "100.100.100.201"),  # Alibaba Cloud metadata, inside shared (CGNAT)
    ("100.64.0.0/10", "::ffff:100.100.100.200", "::ffff:100.100.100.201"),  # the same, IPv4-mapped
    ("fc00::/7", "fd00:ec2::254", "fd00:ec2::255"),  # AWS instance metadata over IPv6, inside unique-local
    ("fd00::/8", "fd20:ce::254", "fd20:ce::255"),  # Google Compute Engine metadata over IPv6
    ("127.0.0.0/8 fc00::/7", "169.254.169.254", None),  # link-local is never listable, nor reachable
    ("127.0.0.0/8 fc00::/7", "fe80::a9fe:a9fe%eth0", None),
    ("10.0.0.0/8", "168.63.129.16", "168.63.129.17"),  # Azure's host agent (WireServer): a public address
])
def test_cloud_metadata_addresses_are_refused_whatever_networks_are_allowed(allowed, address, neighbour):
    policy = AddressPolicy.from_setting(allowed)

    assert not policy.allows(address)
    assert neighbour is None or policy.allows(neighbour)  # the rest of the network stays reachable


@pytest.mark.parametrize("address", [
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1: the well-known prefix is for public IPv4 addresses only (RFC 6052)
    "2002:a00:1::1",  # 6to4 of 10.0.0.1: a 6to4 site has a public IPv4 address (RFC 3056)
    "::a00:1",  # IPv4-compatible 10.0.0.1 (deprecated)
    "::ffff:0:a00:1",  # IPv4-translated (SIIT) 10.0.0.1, which Python 3.11 calls global
    "2001:0:a00:1::1",  # Teredo
    "64:ff9b:1::a00:1",  # local-use NAT64
    "64:ff9b::6464:64c8",  # NAT64 of Alibaba's metadata address
])
def test_an_allowed_ipv4_network_admits_no_ipv6_spelling_of_it_but_the_mapped_one(address):
    policy = AddressPolicy.from_setting("10.0.0.0/8 100.64.0.0/10")

    assert policy.allows("10.0.0.1") and policy.allows("::ffff:10.0.0.1")  # the same socket address, either way
    assert not policy.allows(address)


@pytest.mark.parametrize("networks", ["100.100.100.200/32", "fd00:ec2::254/128", "fd20:ce::254"])
def test_a_metadata_address_cannot_be_listed_as_an_allowed_network(networks):
    with pytest.raises(ValueError, match="cloud metadata address"):
        AddressPolicy.from_setting(networks)


@pytest.mark.parametrize("target", ["http://[2002:7f00:1::1]:{port}/jwks", "http://[64:ff9b::7f00:1]:{port}/jwks"])
def test_a_redirect_to_an_ipv6_spelling_of_an_allowed_ipv4_network_is_refused(evil, target):
    # Refused before any connection: the hop is never attempted, so nothing leaves loopback.
    evil.redirect("/keys", target.format(port=evil.port))
    http = OutboundSession(AddressPolicy.from_setting("127.0.0.0/8"))

    with pytest.raises(OutboundError) as refused:
        http.get(evil.url("/keys"), timeout=5)

    assert refused.value.reason == outbound.ADDRESS_REFUSED
    assert [path for _, path, _ in evil.hits] == ["/keys"]


# ---- one idea of the host: the one the connection goes to ------------------------------------------------

# urllib.parse reads the host of http://127.0.0.77\.localhost/x as "127.0.0.77\.localhost" (a subdomain of
# localhost, so inside http://*.localhost); urllib3, which connects, stops the authority at the backslash and calls
# 127.0.0.77 on port 80. A teacher can type such a URL into the custom parameter that names the roster.
_SPLIT_HOST = "http://127.0.0.77\\.localhost/memberships"


@pytest.fixture
def evil_on_port_80():
    server = EvilServer("127.0.0.77", 80)  # the tests run as root (CI too): the port a host without one means
    server.json("/%5C.localhost/memberships", {"id": "x", "context": {"id": "math-7"}, "members": []})
    yield server
    server.close()


def _allow_subdomains_of_localhost(tool) -> None:
    """The admin registers a wildcard service origin, as the Canvas guide says (https://*.instructure.com)."""
    from lti_tool.services.registry import add_service_origins

    with tool.app.app_context():
        add_service_origins(tool.platform.issuer, SANDBOX_CLIENT_ID, ["http://*.localhost"])


def test_a_custom_roster_url_with_a_backslash_in_its_host_never_receives_the_token(sandbox, tool, evil_on_port_80):
    _allow_subdomains_of_localhost(tool)
    page = sandbox.launch("teacher", remove_claims=[NRPS_CLAIM], custom={"context_memberships_url": _SPLIT_HOST})
    assert page.status_code == 200, page.text[:500]
    synced = submit_form(page, "roster/sync")
    assert synced.status_code < 500 and "Roster updated" not in synced.text
    assert "did not offer its roster service" in synced.text
    assert evil_on_port_80.hits == []
    with tool.app.app_context():
        assert db.session.scalars(sa.select(Course.memberships_url)).one() is None


def test_a_stored_roster_url_with_a_backslash_in_its_host_is_refused_plainly(sandbox, tool, evil_on_port_80):
    _allow_subdomains_of_localhost(tool)
    page = sandbox.launch("teacher")
    with tool.app.app_context():
        course = db.session.scalars(sa.select(Course)).one()
        course.memberships_url = _SPLIT_HOST  # stored before this release, or by someone with database access
        db.session.commit()
    synced = submit_form(page, "roster/sync")
    assert synced.status_code < 500
    assert "foreign_origin" in synced.text
    assert evil_on_port_80.hits == []


def test_the_outbound_client_itself_refuses_a_url_whose_host_parsers_read_differently(evil_on_port_80):
    from lti_tool.lti.outbound import BAD_URL, AddressPolicy, OutboundError, OutboundSession

    http = OutboundSession(AddressPolicy.from_setting("127.0.0.0/8"))
    for url in (_SPLIT_HOST, "http://127.0.0.77\t/memberships", "http://user@127.0.0.77/memberships"):
        with pytest.raises(OutboundError) as refused:
            http.get(url, headers={"Authorization": "Bearer platform-wide"})
        assert refused.value.reason == BAD_URL
    assert evil_on_port_80.hits == []


@pytest.mark.parametrize("url", [
    "https://attacker.example\\.instructure.com/x",        # urllib3 connects to attacker.example
    "https://attacker.example\\@x.instructure.com/x",
    "https:/\\attacker.example.instructure.com/x",         # a browser's host, no host for urllib.parse
    "https://attacker.example\t.instructure.com/x",        # urllib.parse drops tabs and newlines, urllib3 does not
    "https://attacker.example\n.instructure.com/x",
    "https://lms.instructure.com/x\r\nHost: evil",
    "https://attacker.example%5C.instructure.com/x",       # "%" in a host: decoded by some, not by others
    "https://attacker.example%2f.instructure.com/x",
    "https://lms.instructure.com./x",                      # a trailing dot: another name to TLS and to caches
    "https://lms..instructure.com/x",
    "https://[fe80::1%25eth0]/x",                          # an IPv6 zone id
    "https://user:pass@lms.instructure.com/x",             # userinfo, refused as before
    "https://attacker.example@lms.instructure.com/x",
    " https://lms.instructure.com/x",
    "https://lms.instructure.com:/x",
    "https://lms.instructure.com:99999/x",
    "https://attacker.b\u2100.instructure.com/x",           # IDNA maps U+2100 to "a/c": the host would end early
    "https://attacker.example\u3002instructure.com/x",     # an ideographic full stop
    "https://lms.instructure.com\u00a0/x",
])
def test_a_url_two_parsers_could_read_differently_has_no_origin_and_matches_no_wildcard(url):
    from lti_tool.lti.outbound import origin, origin_matches
    from lti_tool.lti.toolconf import on_platform

    assert origin(url) is None
    assert not on_platform(url, ["https://*.instructure.com", "https://lms.instructure.com"])
    assert not origin_matches(origin(url), ["https://*.instructure.com"])


@pytest.mark.parametrize("url, expected", [
    ("https://LMS.Instructure.COM/api/x", "https://lms.instructure.com"),
    ("HTTPS://lms.instructure.com:443/api/x", "https://lms.instructure.com"),
    ("https://lms.instructure.com:8443?x=1", "https://lms.instructure.com:8443"),
    ("https://lms.instructure.com/a\\b@c", "https://lms.instructure.com"),  # only the authority is read so
    ("https://Bücher.instructure.com/x", "https://xn--bcher-kva.instructure.com"),  # punycode, as requests sends it
    ("https://[0:0::1]:8443/x", "https://[::1]:8443"),
])
def test_a_plain_url_keeps_its_origin_as_the_connection_reads_it(url, expected):
    from lti_tool.lti.outbound import origin, origin_matches

    assert origin(url) == expected
    if expected.endswith("instructure.com"):  # a wildcard without a port covers the default port only
        assert origin_matches(origin(url), ["https://*.instructure.com"])
        assert not origin_matches(origin(url), ["https://*.lms.instructure.com", "http://*.instructure.com"])


def test_a_platform_whose_stored_urls_end_in_a_space_still_launches(sandbox, tool):
    # The outbound client reads a URL as the connection will and refuses one with a space; a platform row stored
    # before `platform add` stripped its URLs must not lose its key set (every launch refused) for a pasted space.
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Platform

    with tool.app.app_context():
        db.session.execute(sa.update(Platform).values(key_set_url=Platform.key_set_url + " ",
                                                      auth_token_url=Platform.auth_token_url + "\n"))
        db.session.commit()
    page = sandbox.launch("student")
    assert page.status_code == 200, page.text[:300]
