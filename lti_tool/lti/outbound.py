"""The only way Pathways makes an HTTP request to a platform or a registration URL (DESIGN.md "Seams").

Every URL we fetch is chosen by someone outside: a platform's configuration, a launch's claims, a course's
custom parameters. So each request here
- resolves the host once, refuses loopback, private, link-local, metadata and other non-public addresses
  (unless PATHWAYS_OUTBOUND_ALLOWED_NETWORKS lists them) and connects to exactly the address it checked, so a
  DNS answer that changes between check and connect (rebinding) cannot slip through; TLS still verifies the
  host name (SNI and certificate) because only the socket's peer is pinned;
- checks every redirect hop the same way (redirects are handled here, not by requests), drops the
  Authorization header when a redirect leaves the origin, and follows none when the caller says so;
- has one total deadline for the whole call (connect, headers, body, redirects): a watchdog shuts the socket
  down when it passes, so a server dripping a byte every few seconds cannot hold a worker thread;
- reads the body while counting, and stops at a size cap;
- ignores proxy settings from the environment (a proxy would connect somewhere we did not check).
Errors carry a reason code and a plain message; never the remote body.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urljoin, urlsplit

import idna
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util import parse_url

from ..bounded_json import decode_json

USER_AGENT = "Pathways-LTI/0.1 (+pylti1p3)"
DEFAULT_MAX_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Reason codes (shown to admins and written to logs instead of anything the remote server said).
ADDRESS_REFUSED = "address_refused"
BAD_URL = "bad_url"
UNRESOLVABLE = "unresolvable"
UNREACHABLE = "unreachable"
TIMEOUT = "timeout"
TOO_LARGE = "too_large"
REDIRECT_REFUSED = "redirect_refused"
TOO_MANY_REDIRECTS = "too_many_redirects"

_MESSAGES = {
    ADDRESS_REFUSED: "the address is on a private, loopback or link-local network that Pathways may not call",
    BAD_URL: "the URL is not a plain http(s) URL",
    UNRESOLVABLE: "the host name could not be resolved",
    UNREACHABLE: "the server could not be reached",
    TIMEOUT: "the server did not answer in time",
    TOO_LARGE: "the answer was larger than Pathways accepts",
    REDIRECT_REFUSED: "the server answered with a redirect, which is not followed here",
    TOO_MANY_REDIRECTS: "the server redirected too many times",
}


class OutboundError(requests.RequestException):
    """An outbound call was refused or failed; `reason` is a stable code, `message` plain words."""

    def __init__(self, reason: str, url: str = "") -> None:
        self.reason = reason
        self.message = _MESSAGES.get(reason, reason)
        self.origin = origin(url) or ""
        super().__init__(f"{self.message} ({reason})")


class _Refused(Exception):
    """Raised inside urllib3 (deliberately not an OSError, so urllib3 neither retries nor rewraps it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---- origins ---------------------------------------------------------------------------------------------

def origin(url: str | None) -> str | None:
    """Return the normalised origin scheme://host[:port] of an http(s) URL, or None.

    The host is the one a request to the URL connects to: lowercase, an internationalised name in punycode
    (as requests sends it). None for anything two parsers could read differently (see _origin_parts).
    """
    if not isinstance(url, str):
        return None
    parts = _origin_parts(url)
    if parts is None:
        return None
    scheme, host, port = parts
    return f"{scheme}://{host}" if port == _DEFAULT_PORTS[scheme] else f"{scheme}://{host}:{port}"


#: scheme "://" authority, then path, query or fragment; the authority ends where urllib.parse ends it.
_URL_HEAD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)(?:[/?#].*)?", re.DOTALL)
#: A host name as it goes on the wire (after IDNA): non-empty labels, no trailing dot (label lengths are DNS's
#: business, and csp_origin's).
_HOST_NAME = re.compile(r"(?:[a-z0-9_-]+\.)*[a-z0-9_-]+")
#: Characters no authority of ours may hold: "\\" ends it for urllib3 (and browsers) but not for urllib.parse;
#: "%" would be decoded by one parser and not another (and starts an IPv6 zone id); "@" introduces userinfo,
#: which must never carry credentials or hide the real host (https://lms.example@evil.example).
_AUTHORITY_REFUSED = frozenset("\\%@")


# A launch asks for the same few URLs' origins (its platform's, its roster's) every time: parsed once per process.
# Bounded, so URLs from claims cannot grow it.
@lru_cache(maxsize=1024)
def _origin_parts(url: str) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) of an http(s) URL, or None when Pathways must not call it.

    Every check that lets a URL through (a platform's origins, a wildcard service origin, the registration
    allow-list) compares this host, and the outbound client connects to it: so it is refused unless urllib3
    (which opens the connection) reads the same scheme, host and port. A backslash, whitespace or a control
    character anywhere (urllib.parse silently drops tabs and newlines), "%", userinfo, a trailing dot, an empty
    label or an IPv6 zone id are refused outright rather than normalised: none is in a platform's real URLs.
    """
    if not url.isprintable() or " " in url:
        return None
    found = _URL_HEAD.fullmatch(url)
    if found is None:
        return None
    scheme, authority = found["scheme"].lower(), found["authority"]
    if scheme not in _DEFAULT_PORTS or not authority or not _AUTHORITY_REFUSED.isdisjoint(authority):
        return None
    if authority.startswith("["):
        literal, bracket, port_text = authority[1:].partition("]")
        host = _ipv6_host(literal) if bracket else None
        if port_text and not port_text.startswith(":"):
            return None
        port_text = port_text[1:] if port_text else None
    else:
        name, colon, port_text = authority.partition(":")
        host = _host_name(name)
        port_text = port_text if colon else None
    port = _DEFAULT_PORTS[scheme] if port_text is None else _port(port_text)
    if host is None or port is None:
        return None
    return (scheme, host, port) if _connection_parts(url) == (scheme, host, port) else None


def _ipv6_host(literal: str) -> str | None:
    try:
        return f"[{ipaddress.IPv6Address(literal).compressed}]"
    except ValueError:
        return None


def _host_name(name: str) -> str | None:
    host = name.lower()
    if not host.isascii():
        try:  # as requests encodes it before connecting (and browsers name it)
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    return host if len(host) <= MAX_HOST_CHARS and _HOST_NAME.fullmatch(host) else None


def _port(text: str) -> int | None:
    if not (text.isascii() and text.isdigit() and len(text) <= 5):
        return None
    return int(text) if 0 < int(text) <= 65535 else None


def _connection_parts(url: str) -> tuple[str, str, int] | None:
    """Return (scheme, host, port) as urllib3 reads the URL to open its connection, or None if it cannot."""
    try:
        parsed = parse_url(url)
    except (LocationParseError, ValueError):
        return None
    if parsed.auth is not None or not parsed.scheme or not parsed.host or parsed.scheme not in _DEFAULT_PORTS:
        return None
    host = parsed.host.lower()
    if host.startswith("["):
        host = _ipv6_host(host[1:-1]) or ""
    return parsed.scheme, host, parsed.port or _DEFAULT_PORTS[parsed.scheme]


#: What may stand in a CSP frame-ancestors list as one host's origin: scheme://host[:port] in ASCII lowercase
#: (labels of at most 63 characters, hosts of at most 253, checked in csp_origin), or an IPv6 literal. Nothing that
#: could end the directive or add another (";", ",", spaces, quotes). An admin's "*." wildcard is checked as its
#: host below it (service_csp_origin).
_CSP_ORIGIN = re.compile(r"https?://(?P<host>(?:[a-z0-9-]{1,63}\.)*[a-z0-9-]{1,63}|\[[0-9a-f:.]{2,45}\])"
                         r"(?::[0-9]{1,5})?")
MAX_HOST_CHARS = 253


def is_csp_origin(value: object) -> bool:
    """Tell whether a value may be written into the frame-ancestors directive as it is, as one host's origin."""
    found = _CSP_ORIGIN.fullmatch(value) if isinstance(value, str) else None
    return found is not None and len(found["host"]) <= MAX_HOST_CHARS


def csp_origin(url: object) -> str | None:
    """Return a URL's origin as a browser names it in frame-ancestors, or None when it cannot stand there.

    `origin`'s normalising (lowercase, default port dropped), an internationalised host in punycode (UTS #46, as
    browsers do: https://bücher.de is https://xn--bcher-kva.de), then `is_csp_origin`: a per-launch or suggested
    origin is one host, never a pattern (an admin's may be one: service_csp_origin).
    """
    where = origin(url)
    return where if where is not None and is_csp_origin(where) else None


#: Why service_csp_origin refused a value (registry.service_origin words each for the admin).
ORIGIN_HAS_SPACE = "space"
ORIGIN_NOT_BARE = "not_bare"
ORIGIN_BAD_WILDCARD = "bad_wildcard"
ORIGIN_BAD_HOST = "bad_host"


class OriginRefused(ValueError):
    """An admin's service origin that cannot frame anything; `reason` is one of the ORIGIN_* codes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def service_csp_origin(value: object) -> str:
    """Return an admin-configured origin as frame-ancestors names it, or raise OriginRefused.

    The one normaliser of service origins: `pathways platform add` and add-origin store its answer, and every
    stored one is read through it again (security._platform_origins), so a value stored before a rule existed (a
    host with capitals, an internationalised host) frames as its browser form, and one that never could frames
    nothing. scheme://host[:port] (a trailing "/" allowed), as `csp_origin` normalises it; one "*." first label
    covers a domain's subdomains (https://*.instructure.com). Only for an admin's word: an origin taken from a
    launch is one host (csp_origin), never a pattern.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text or any(c.isspace() for c in text):
        raise OriginRefused(ORIGIN_HAS_SPACE)
    wildcard = "://*." in text
    check = text.replace("://*.", "://x.", 1) if wildcard else text
    try:
        parts = urlsplit(check)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise OriginRefused(ORIGIN_NOT_BARE) from exc
    if "*" in check:  # before origin(), which refuses any "*"
        raise OriginRefused(ORIGIN_BAD_WILDCARD)
    if origin(check) is None or parts.path not in ("", "/") or parts.query or parts.fragment or "?" in check \
            or "#" in check:
        raise OriginRefused(ORIGIN_NOT_BARE)
    where = csp_origin(check)
    if where is None:
        raise OriginRefused(ORIGIN_BAD_HOST)
    # csp_origin lowercased the stand-in label and left it one ASCII "x": put the admin's "*" back.
    return where.replace("://x.", "://*.", 1) if wildcard else where


def origin_matches(url_origin: str | None, patterns: Iterable[str]) -> bool:
    """Tell whether an origin equals one of the patterns ("https://*.example.com" matches subdomains).

    Host names are compared as origin() reads them (the host a request connects to), whole labels at a time.
    """
    if not url_origin or origin(url_origin) != url_origin:
        return False
    scheme, host, port = _origin_parts(url_origin)  # type: ignore[misc]  # not None: origin() read it
    for pattern in patterns:
        if "://*." in pattern:
            wanted = _origin_parts(pattern.replace("://*.", "://x.", 1))
            if wanted is not None and not host.startswith("[") and (scheme, port) == (wanted[0], wanted[2]) \
                    and host.endswith(wanted[1][1:]) and len(host) > len(wanted[1]) - 1:
                return True
        elif origin(pattern) == url_origin:
            return True
    return False


# ---- address policy --------------------------------------------------------------------------------------

# IPv6 forms that carry an IPv4 address. An IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 address on a
# dual-stack socket, so it is judged exactly as the IPv4 address, allow-list included. NAT64 (64:ff9b::/96) and 6to4
# (2002::/16) reach their IPv4 address through a gateway or relay, and are defined for public IPv4 addresses only
# (RFC 6052 §3.1, RFC 3056 §2): judged by the IPv4 address as a public one, never through the allow-list, so
# 64:ff9b::10.0.0.1 is refused even where 10.0.0.0/8 is listed (an LMS on a listed network is called by its own
# address). 64:ff9b::169.254.169.254 is cloud metadata on an IPv6-only host with NAT64.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# IPv6 ranges never a platform's, which Python's is_global does not (or, by version, may not) exclude: local-use
# NAT64, the deprecated IPv4-compatible form (::127.0.0.1), IPv4-translated (SIIT, ::ffff:0:10.0.0.1, "global" to
# Python 3.11), site-local and Teredo tunnels (2001::/32, whose server and client are IPv4 addresses).
_NEVER_V6 = tuple(ipaddress.ip_network(n) for n in (
    "64:ff9b:1::/48", "::/96", "::ffff:0:0:0/96", "fec0::/10", "2001::/32"))
# Cloud metadata and host agents: refused whatever PATHWAYS_OUTBOUND_ALLOWED_NETWORKS lists, since a listed
# network may contain one (100.64.0.0/10 holds Alibaba's, fc00::/7 AWS's and Google's IPv6 ones) and what they
# answer is the server's own credentials. Link-local: 169.254.169.254 (AWS, Google, Azure, OpenStack, Oracle),
# 169.254.170.2 (AWS ECS), 169.254.0.23 (Tencent) and fe80::/10. Azure's 168.63.129.16 is a public address.
_METADATA = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "100.100.100.200/32", "168.63.129.16/32",
    "fe80::/10", "fd00:ec2::254/128", "fd20:ce::254/128"))


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address a NAT64 or 6to4 address reaches through its gateway, or None."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_metadata(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return any(ip in network for network in _METADATA if network.version == ip.version)


#: The blocks a listed network must lie in: private, shared (CGNAT), loopback and unique-local. A public address
#: needs no listing, so a network reaching past these is a mistake, never a campus LMS: "10.20.0.0/1" (for /16)
#: opened 0.0.0.0-127.255.255.255, loopback, CGNAT metadata and half the internet's hosts, and "0.0.0.0/0" opened
#: link-local, where cloud metadata (169.254.169.254) is; neither was refused.
_LISTABLE = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8", "fc00::/7", "::1/128"))


@dataclass(frozen=True)
class AddressPolicy:
    """Which IP addresses Pathways may connect to: public ones, plus networks an admin listed."""

    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_setting(cls, value: str | None) -> AddressPolicy:
        """Parse PATHWAYS_OUTBOUND_ALLOWED_NETWORKS: CIDRs separated by spaces or commas.

        Raise ValueError, in words for the admin, for anything but a network inside a private, shared, loopback or
        unique-local block (_LISTABLE).
        """
        networks = []
        for item in (value or "").replace(",", " ").split():
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not a network in CIDR notation, e.g. 10.20.0.0/16") from None
            if not any(network.version == block.version and network.subnet_of(block)  # type: ignore[arg-type]
                       for block in _LISTABLE):
                raise ValueError(
                    f"{item} is not inside a private, shared or loopback network (10.0.0.0/8, 172.16.0.0/12, "
                    "192.168.0.0/16, 100.64.0.0/10, 127.0.0.0/8, fc00::/7, ::1): list only the LMS's own "
                    "network; public addresses need no listing")
            if any(network.version == block.version and network.subnet_of(block)  # type: ignore[arg-type]
                   for block in _METADATA):
                raise ValueError(f"{item} is a cloud metadata address, which Pathways never calls")
            networks.append(network)
        return cls(tuple(networks))

    def allows(self, address: str) -> bool:
        """Tell whether a resolved address may be connected to (every DNS answer, every redirect hop's)."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if _is_metadata(ip):
            return False
        gateway_to = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        if gateway_to is not None:
            return not _is_metadata(gateway_to) and _is_public(gateway_to)
        if any(ip in network for network in self.allowed_networks if network.version == ip.version):
            return True  # listed networks lie in _LISTABLE: none holds a _NEVER_V6 form but ::1 (in ::/96)
        if isinstance(ip, ipaddress.IPv6Address) and any(ip in network for network in _NEVER_V6):
            return False
        return _is_public(ip)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    # is_global is False for loopback, RFC 1918, link-local, CGNAT, unique-local IPv6, documentation and reserved.
    return ip.is_global and not ip.is_multicast


# ---- per-call context: the sockets a call uses, so its deadline can shut them down -----------------------

@dataclass
class _Call:
    deadline: float = float("inf")  # time.monotonic() when the call's time is up
    sockets: list[socket.socket] = field(default_factory=list)
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def track(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self.lock:
            if self.expired:
                _shutdown(sock)
            self.sockets.append(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for sock in self.sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


_current = threading.local()


def _track(sock: socket.socket | None) -> None:
    call = getattr(_current, "call", None)
    if call is not None:
        call.track(sock)


# Lookups under way at once in this process, each in a thread of its own that outlives a call whose deadline came
# first (the resolver's retries): a name server that stopped answering must not pile up threads without end. Past
# this many, a call fails as timed out instead of starting one more.
MAX_LOOKUPS = 8
_lookups = threading.BoundedSemaphore(MAX_LOOKUPS)


def _resolve(host: str, port: int) -> list:
    """Resolve a host within the call's deadline: getaddrinfo cannot be interrupted, so it runs in its own thread.

    A name whose DNS server is slow to answer (the resolver's own retries can take 30 s and more) held the caller
    that long, past the deadline the watchdog keeps for the connection and the body. The lookup left behind ends
    with the resolver's own timeout; at most MAX_LOOKUPS are under way. An address needs no lookup (no thread).
    """
    call = getattr(_current, "call", None)
    answer: list = []

    def lookup() -> None:
        try:
            answer.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except (OSError, UnicodeError) as exc:
            answer.append(exc)

    def lookup_then_free() -> None:
        try:
            lookup()
        finally:
            _lookups.release()

    if call is None or _is_address(host):
        lookup()
    else:
        remaining = call.deadline - time.monotonic()
        if remaining <= 0 or not _lookups.acquire(blocking=False):
            raise _Refused(TIMEOUT)
        resolver = threading.Thread(target=lookup_then_free, name="pathways-resolve", daemon=True)
        resolver.start()
        resolver.join(remaining)
    if not answer:
        raise _Refused(TIMEOUT)
    if isinstance(answer[0], BaseException):
        raise _Refused(UNRESOLVABLE) from answer[0]
    return answer[0]


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])  # an IPv6 address may name its interface (fe80::1%eth0)
    except ValueError:
        return False
    return True


class _PinnedMixin:
    """Resolve, check every address, then connect to a checked address (never resolve twice)."""

    policy: AddressPolicy

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port  # type: ignore[attr-defined]
        infos = _resolve(host, port)
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        # Refuse when any answer is forbidden: a name that resolves partly inside is not a public name.
        if not addresses or not all(self.policy.allows(a) for a in addresses):
            raise _Refused(ADDRESS_REFUSED)
        last: Exception | None = None
        for address in addresses:
            try:
                sock = urllib3_connection.create_connection(
                    (address, port), self.timeout,  # type: ignore[attr-defined]
                    source_address=self.source_address,  # type: ignore[attr-defined]
                    socket_options=self.socket_options,  # type: ignore[attr-defined]
                )
            except TimeoutError as exc:
                last = ConnectTimeoutError(self, f"Connection to {self.host} timed out.")  # type: ignore
                last.__cause__ = exc
                continue
            except OSError as exc:
                last = NewConnectionError(self, f"Failed to establish a new connection: {exc}")  # type: ignore
                continue
            _track(sock)
            return sock
        assert last is not None
        raise last

    def request(self, *args: Any, **kwargs: Any) -> None:
        _track(getattr(self, "sock", None))  # a kept-alive connection: its deadline is this call's
        super().request(*args, **kwargs)  # type: ignore[misc]
        _track(getattr(self, "sock", None))


def _pool_classes(policy: AddressPolicy) -> dict[str, type]:
    http_conn = type("PinnedHTTPConnection", (_PinnedMixin, HTTPConnection), {"policy": policy})
    https_conn = type("PinnedHTTPSConnection", (_PinnedMixin, HTTPSConnection), {"policy": policy})
    return {
        "http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections obey an AddressPolicy and connect to the address they checked."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        self._pool_classes = _pool_classes(policy)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise _Refused(ADDRESS_REFUSED)  # a proxy would connect to an address we never checked


# ---- the session -----------------------------------------------------------------------------------------

class OutboundSession(requests.Session):
    """A requests Session with Pathways' outbound rules; use it for every call to a platform."""

    def __init__(
        self, policy: AddressPolicy, *, deadline: float = 10.0, max_bytes: int = DEFAULT_MAX_BYTES,
        user_agent: str = USER_AGENT,
    ) -> None:
        super().__init__()
        self.trust_env = False  # no proxies or .netrc credentials from the environment
        # No cookie jar: one platform's answer must never change what Pathways sends to another (a tenant could
        # set a cookie for a parent domain it shares with other tenants), and a jar would grow for ever.
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.policy = policy
        self.deadline = float(deadline)
        self.max_bytes = int(max_bytes)
        self.headers["User-Agent"] = user_agent
        adapter = PinnedAdapter(policy)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def request(  # type: ignore[override]
        self, method: str, url: str, *args: Any, timeout: Any = None, allow_redirects: bool = True,
        max_bytes: int | None = None, **kwargs: Any,
    ) -> requests.Response:
        """Make one call within a total deadline (timeout, or the session's), reading at most max_bytes."""
        if args:
            raise TypeError("pass request arguments by keyword")
        budget = _total(timeout, self.deadline)
        cap = self.max_bytes if max_bytes is None else max_bytes
        kwargs.pop("stream", None)
        deadline = time.monotonic() + budget
        call = _Call(deadline)
        outer = getattr(_current, "call", None)
        _current.call = call
        watchdog = threading.Timer(budget, call.expire)
        watchdog.daemon = True
        watchdog.start()
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                response = self._one(method, url, call, deadline, kwargs)
                if not response.is_redirect:
                    _read_body(response, call, deadline, cap, url)
                    return response
                response.close()
                if not allow_redirects:
                    raise OutboundError(REDIRECT_REFUSED, url)
                target = urljoin(url, response.headers.get("Location", ""))
                if origin(target) is None:
                    raise OutboundError(BAD_URL, target)
                if response.status_code == 303 or (response.status_code in (301, 302) and method.upper() == "POST"):
                    method = "GET"
                    for body in ("data", "json", "files"):
                        kwargs.pop(body, None)
                if origin(target) != origin(url):
                    # A 307/308 would resend the body elsewhere: a token request's signed client assertion.
                    if any(kwargs.get(body) is not None for body in ("data", "json", "files")):
                        raise OutboundError(REDIRECT_REFUSED, url)
                    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"}
                    kwargs["headers"] = headers
                    kwargs.pop("auth", None)
                url = target
            raise OutboundError(TOO_MANY_REDIRECTS, url)
        finally:
            watchdog.cancel()
            _current.call = outer

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """Prepare as requests does, then refuse unless the prepared URL still has the origin that was checked.

        Callers approve a URL by its origin; requests re-encodes it (IDNA, quoting) before urllib3 connects. The
        URL sent must be on the origin approved, so a parser difference anywhere refuses the call instead.
        """
        prepared = super().prepare_request(request)
        asked = origin(request.url) if isinstance(request.url, str) else None
        if asked is None or origin(prepared.url) != asked:
            raise OutboundError(BAD_URL, request.url if isinstance(request.url, str) else "")
        return prepared

    def _one(self, method: str, url: str, call: _Call, deadline: float, kwargs: dict) -> requests.Response:
        if origin(url) is None:
            raise OutboundError(BAD_URL, url)
        remaining = deadline - time.monotonic()
        if remaining <= 0 or call.expired:
            raise OutboundError(TIMEOUT, url)
        try:
            return super().request(method, url, timeout=(remaining, remaining), allow_redirects=False, stream=True,
                                   **kwargs)
        except _Refused as exc:
            raise OutboundError(exc.reason, url) from None
        except OutboundError:
            raise
        except requests.RequestException as exc:
            refused = _refusal_in(exc)
            if refused:
                raise OutboundError(refused, url) from None
            if call.expired or isinstance(exc, requests.Timeout):
                raise OutboundError(TIMEOUT, url) from None
            raise OutboundError(UNREACHABLE, url) from None


def _refusal_in(exc: BaseException) -> str | None:
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 10:
        if isinstance(current, _Refused):
            return current.reason
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _total(timeout: Any, default: float) -> float:
    if timeout is None:
        return default
    if isinstance(timeout, tuple):
        return float(sum(t for t in timeout if t))
    return float(timeout)


def _read_body(response: requests.Response, call: _Call, deadline: float, cap: int, url: str) -> None:
    """Read the whole body now, within the deadline and the size cap; the response then behaves as usual."""
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > cap:
        response.close()
        raise OutboundError(TOO_LARGE, url)
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(16 * 1024):
            size += len(chunk)
            if size > cap:
                raise OutboundError(TOO_LARGE, url)
            if time.monotonic() > deadline or call.expired:
                raise OutboundError(TIMEOUT, url)
            chunks.append(chunk)
    except OutboundError:
        response.raw.close()
        raise
    except Exception as exc:  # noqa: BLE001 - urllib3 and requests raise many kinds mid-body
        response.raw.close()
        raise OutboundError(TIMEOUT if call.expired else UNREACHABLE, url) from exc
    response._content = b"".join(chunks)
    response._content_consumed = True
    response.close()


def answer_json(response: requests.Response) -> Any:
    """Decode a JSON answer (as response.json() would), refusing one nested too deep: every refusal a ValueError.

    Whoever answers chose the body: a deeply nested one would raise RecursionError out of response.json(), which
    callers catching ValueError let through as a 500.
    """
    return decode_json(response.content)


def session_from_settings(settings: Any) -> OutboundSession:
    """Build the app's outbound session from PATHWAYS_OUTBOUND_* and SERVICE_TIMEOUT_SECONDS."""
    return OutboundSession(
        AddressPolicy.from_setting(settings["OUTBOUND_ALLOWED_NETWORKS"]),
        deadline=float(settings["SERVICE_TIMEOUT_SECONDS"]),
        max_bytes=int(settings["OUTBOUND_MAX_BYTES"]),
    )
