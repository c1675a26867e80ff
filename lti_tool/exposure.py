"""Refuse to serve /metrics without a token where anyone but this host can reach it.

Two places know where Pathways listens: gunicorn (its final bind list, checked in config/gunicorn.conf.py's
on_starting hook before any socket opens) and the app itself (PATHWAYS_BASE_URL, checked by create_app).
Either refuses with one line naming the fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .settings import InvalidSetting

OPEN_METRICS = (
    "Refusing to start: /metrics is on (PATHWAYS_METRICS_ENABLED) without PATHWAYS_METRICS_TOKEN and Pathways "
    "listens on {where}, which is not loopback. Set PATHWAYS_METRICS_TOKEN to a long random value, or turn "
    "metrics off, or bind to 127.0.0.1."
)


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1); a hostname is assumed public."""
    host = host.strip().strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_bind(bind: str) -> bool:
    """True when a gunicorn bind ("HOST:PORT", "[::1]:PORT", "unix:PATH", "fd://N") is reachable only locally."""
    if bind.startswith("unix:"):
        return True  # a socket file: reachable only through the file system (the proxy beside us)
    if bind.startswith("fd://"):
        return False  # inherited from systemd: we cannot tell, so be strict
    host = bind.rsplit(":", 1)[0] if ":" in bind and not bind.endswith("]") else bind
    return is_loopback_host(host)


def metrics_open(config: Mapping[str, Any]) -> bool:
    return bool(config.get("METRICS_ENABLED")) and not config.get("METRICS_TOKEN")


def refuse_open_metrics(config: Mapping[str, Any], binds: Iterable[str]) -> None:
    """Raise SystemExit with one line if /metrics is open and any bind is not loopback."""
    if not metrics_open(config):
        return
    public = [b for b in binds if not is_loopback_bind(b)]
    if public:
        raise SystemExit(OPEN_METRICS.format(where=", ".join(public)))


def check_base_url(config: Mapping[str, Any]) -> None:
    """Refuse open /metrics when PATHWAYS_BASE_URL names a host other than this one."""
    host = urlsplit(str(config.get("BASE_URL") or "")).hostname or ""
    if metrics_open(config) and not is_loopback_host(host):
        # InvalidSetting: the CLI prints it as one line, no traceback (docs/security-controls.md).
        raise InvalidSetting(OPEN_METRICS.format(where=f"PATHWAYS_BASE_URL {config['BASE_URL']}"))
