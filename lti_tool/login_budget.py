"""How many logins one client address may start a minute: a flood from one address cannot fill the cache.

Anyone may start a login (`/lti/login`): it names a registered issuer and client id, which are no secret (an LMS's
pages show them), and each login keeps its state (up to about 7 KB with the largest hints) in the shared cache for
LOGIN_STATE_SECONDS. Unlimited, one client filled Redis up to its `maxmemory` (then every login got the outage page,
or Redis evicted real logins' state) or the disk under the file cache. Each address may now keep state for
LOGINS_PER_CLIENT_PER_MINUTE logins a minute, and as many storage-check tickets (the second write of a cookie-less
launch); past that its logins get a 429 with Retry-After and nothing is kept, while everyone else's go on.

The address is the peer's, or behind a proxy PATHWAYS_FORWARDED_ALLOW_IPS trusts the last one that proxy forwarded
(X-Forwarded-For from the right, past the trusted proxies): what the client wrote there itself is never read first.
"*" trusts any peer as the proxy (gunicorn's meaning), not the hops before it: then the address it appended counts.
A trusted proxy that forwards no address for its client (no header; `unknown`, as RFC 7239 allows and some proxies
write into X-Forwarded-For; an obfuscated `_name`; anything else that is no address) is the client itself: its own
address counts, as when it is not trusted, and a warning says so once an hour per proxy. Counted as one "unknown"
client, one abuser behind any such proxy turned away every client behind every other.
IPv6 addresses count by /64 (one host commonly holds a whole /64). Loopback is not limited: the machine itself (the
demo, a probe on the host, a proxy on the same host that forwards no address); a peer on a Unix socket counts as
loopback.

There is one reader of X-Forwarded-For in Pathways, this one: no werkzeug ProxyFix rewrites the request's address
(gunicorn reads only X-Forwarded-Proto from the proxies it trusts), and ProxyFix could not stand in for it: it
trusts a number of hops from any peer rather than the proxies' addresses, and reads neither ports, IPv4-mapped
addresses nor "*" as meaning the peer only.
"""

from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import TooManyRequests

from .extensions import cache
from .noted import NotedOnce

log = logging.getLogger(__name__)
WINDOW_SECONDS = 60
#: The trusted proxies this process warned of forwarding no address for their clients (once an hour each).
_NOTED_ADDRESSLESS = NotedOnce(per_scope=64)


@lru_cache(maxsize=8)
def _trusted_proxies(setting: str) -> tuple[bool, tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    """Parse PATHWAYS_FORWARDED_ALLOW_IPS as gunicorn does: "*" trusts every peer, else addresses or networks."""
    entries = setting.replace(",", " ").split()
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue  # gunicorn refuses to start with it; nothing to trust here
    return "*" in entries, tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Read an address (an IPv4-mapped IPv6 one as the IPv4 address it is: a dual-stack server's IPv4 peers).

    With its port, as some load balancers (Azure's Application Gateway) forward it: "203.0.113.9:4711",
    "[2001:db8::1]:4711". Unread, every client behind them counted as one unknown address.
    """
    text = text.strip()
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_address() -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """Return the address of the client this request came from: at the least, the nearest proxy's."""
    trust_all, trusted = _trusted_proxies(str(current_app.config.get("FORWARDED_ALLOW_IPS") or ""))

    def is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(address in network for network in trusted)

    client = _address(request.remote_addr or "")
    if client is None:
        # No peer address: a Unix socket (gunicorn behind a proxy on the same host). That proxy is local, as
        # loopback is: what it forwarded names the client, or else the machine itself does.
        client = ipaddress.ip_address("127.0.0.1")
        trusted = (*trusted, ipaddress.ip_network("127.0.0.1/32"))
    elif not (trust_all or is_trusted(client)):
        return client
    # Each proxy appends the address it was reached from: the last hop a trusted proxy wrote that is not a trusted
    # proxy itself is the client. Entries left of it are the client's own words. "*" trusts the peer whatever its
    # address (gunicorn's meaning: it disables the peer's check), not the hops: trusting every hop would read the
    # leftmost entry, the client's own, and a client would choose its address (another's, or loopback's).
    hops = ",".join(request.headers.getlist("X-Forwarded-For")).split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            # The trusted proxy `client` names none for whoever reached it: that proxy is the client.
            if hop.strip():
                _warn_addressless(client, hop.strip())
            return client
        client = address
        if not is_trusted(address):
            break
    return client


def _warn_addressless(proxy: ipaddress.IPv4Address | ipaddress.IPv6Address, entry: str) -> None:
    if _NOTED_ADDRESSLESS.first_time("proxies", str(proxy)):
        # The entry is shown as repr, cut short: a proxy that passes a client's words on could not forge a log line.
        log.warning("the trusted proxy %s forwards %r, not its client's address, in X-Forwarded-For: %s. Have it "
                    "forward the address it was reached from (PATHWAYS_LOGINS_PER_CLIENT_PER_MINUTE).", proxy,
                    entry[:40], "logins through it are not limited (it is this machine)" if proxy.is_loopback
                    else "all its clients share one login budget, its own")


def _budget_key(kind: str) -> str | None:
    """Return the cache key of this request's client's budget, or None when that client is not limited."""
    address = client_address()
    if address.is_loopback:
        return None
    if address.version == 6:
        return f"login-budget:{kind}:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"login-budget:{kind}:{address}"


def spend(kind: str = "login") -> None:
    """Count one more cache entry this request's client is about to keep; raise a 429 (TooManyRequests) past its
    budget, before anything is kept. Cache outages propagate: the entry could not be kept either (a 503)."""
    limit = int(current_app.config["LOGINS_PER_CLIENT_PER_MINUTE"])
    key = _budget_key(kind) if limit > 0 else None
    if key is None:
        return
    backend = cache.cache
    # cachelib's RedisCache offers no public way to its client (nor to SET NX EX): its private one, read so that a
    # cachelib without it falls back to add and inc below, which work on Redis too, only without the one
    # transaction (tests/hostile/test_login_flood.py's counter left without its expiry then fails).
    client = getattr(backend, "_write_client", None)
    if client is not None:
        # The prefix as configured (public), rather than cachelib's private _get_prefix(): a string of ours.
        spent = _counted_in_redis(client, f"{current_app.config.get('CACHE_KEY_PREFIX') or ''}{key}")
    elif cache.add(key, 1, timeout=WINDOW_SECONDS):
        return
    else:
        spent = backend.inc(key)  # the file cache's: keeps the entry's expiry (file_cache.py)
        if spent == 1:
            # The window ended between add and inc, and inc made a new counter: give it the window's expiry.
            cache.set(key, 1, timeout=WINDOW_SECONDS)
    if spent is not None and spent > limit:
        raise TooManyRequests(retry_after=WINDOW_SECONDS)


def _counted_in_redis(client: Any, name: str) -> int:
    """Count one more in a window's counter and return the count: made with its expiry and counted at once.

    cachelib's add is SETNX then EXPIRE: a worker killed (or a Redis timing out) between the two left a counter that
    never ran out, and its address turned away for good once it reached the budget. Here SET NX EX and INCR run in
    one transaction (INCR keeps the expiry). A counter already without one (from a release that made it so) gets it
    on the first refusal.
    """
    pipe = client.pipeline(transaction=True)
    pipe.set(name, 0, ex=WINDOW_SECONDS, nx=True)
    pipe.incr(name)
    spent = int(pipe.execute()[1])
    if spent > int(current_app.config["LOGINS_PER_CLIENT_PER_MINUTE"]) and client.ttl(name) < 0:
        client.expire(name, WINDOW_SECONDS)
    return spent
