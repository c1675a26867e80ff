"""Prometheus metrics: launches, refused launches by reason, grade post latency, roster syncs, outbox depth.

Production runs several gunicorn workers and separate `pathways worker` processes, so a counter kept in one
process's memory would show a different number on every scrape. When PROMETHEUS_MULTIPROC_DIR is set (before
the processes start; one empty folder shared by the web and worker processes of a host), prometheus_client
writes every process's values to files there and a scrape adds them up. Without it, the default in-process
registry is used, which is right for `pathways demo` and single-process deployments.

Labels are a small fixed vocabulary: a refusal's message is mapped to a reason code here, and nothing a
person or a platform sent ever becomes a label value.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric

OUTCOMES = ("accepted", "refused")
# Why a login or launch was refused; "other" keeps the set closed whatever a future message says.
REASONS = (
    "expired",
    "bad_signature",
    "replayed",
    "state_mismatch",
    "unknown_platform",
    "platform_keys",
    "login",
    "malformed",
    "other",
)
# First match wins: the launch messages of lti_tool.lti.launch, lower-cased, to a reason code.
_REASON_RULES: tuple[tuple[str, str], ...] = (
    ("already been used", "replayed"),
    ("nonce does not match", "replayed"),
    ("not started in this browser", "state_mismatch"),
    # Platform storage (no cookies): the LMS did not confirm the state and nonce the login stored there.
    ("could not be confirmed with your lms", "state_mismatch"),
    # The login's state was for another registration (issuer, client id) than the token's.
    ("different lms or tool registration", "state_mismatch"),
    ("issued in the future", "expired"),
    ("has expired", "expired"),
    ("not registered", "unknown_platform"),
    ("key the platform does not publish", "bad_signature"),
    ("signed with rs256", "bad_signature"),
    ("name its signing key", "bad_signature"),
    ("token is not valid", "bad_signature"),
    ("public keys could not be fetched", "platform_keys"),
    ("key set", "platform_keys"),
    ("login request", "login"),
    ("malformed", "malformed"),
    ("not a valid json web token", "malformed"),
    ("no id_token", "malformed"),
    ("too large", "malformed"),
    ("has no state", "malformed"),
    ("has no nonce", "malformed"),
    ("(aud)", "malformed"),
    ("(azp)", "malformed"),
    ("different deployment", "malformed"),
    ("(deployment_id)", "malformed"),
    ("link that does not belong", "malformed"),
    ("different link", "malformed"),
    ("restored launch", "malformed"),
    ("does not accept links", "malformed"),
    # pylti1p3's own complaints (missing or odd claims), passed on after "The launch could not be accepted:".
    ("could not be accepted", "malformed"),
)

LAUNCHES = Counter("pathways_launches", "LTI logins and launches handled, by outcome.", ["outcome"])
LAUNCH_FAILURES = Counter(
    "pathways_launch_failures", "Logins and launches refused, by reason (a fixed set of codes).", ["reason"]
)
GRADE_POST_SECONDS = Histogram(
    "pathways_grade_post_seconds",
    "Seconds one AGS score post to a platform took (the worker's HTTP call, successful or not).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
ROSTER_SYNCS = Counter("pathways_roster_syncs", "Roster (NRPS) syncs run, by outcome.", ["outcome"])

# Zero-valued series from the start, so rates and alerts work before the first event of each kind.
for _outcome in OUTCOMES:
    LAUNCHES.labels(_outcome)
for _reason in REASONS:
    LAUNCH_FAILURES.labels(_reason)
for _outcome in ("ok", "failed"):
    ROSTER_SYNCS.labels(_outcome)

T = TypeVar("T")


def launch_failure_reason(message: str) -> str:
    """Return the reason code for a refused launch's message (one of REASONS)."""
    lowered = (message or "").lower()
    for fragment, reason in _REASON_RULES:
        if fragment in lowered:
            return reason
    return "other"


def record_launch(outcome: str, reason: str | None = None) -> None:
    """Count a login or launch; for a refusal, reason is a code of REASONS or the refusal's message."""
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown launch outcome {outcome!r}")
    LAUNCHES.labels(outcome).inc()
    if outcome == "refused":
        code = reason if reason in REASONS else launch_failure_reason(reason or "")
        LAUNCH_FAILURES.labels(code).inc()


def observe_grade_post(seconds: float) -> None:
    """Record how long one grade post to a platform took."""
    GRADE_POST_SECONDS.observe(max(0.0, seconds))


def timed_grade_post(post: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call post(*args, **kwargs) and record its duration, whether it succeeds or raises."""
    started = time.perf_counter()
    try:
        return post(*args, **kwargs)
    finally:
        observe_grade_post(time.perf_counter() - started)


def record_roster_sync(ok: bool = True) -> None:
    """Count one roster sync (ok=False for a sync that failed)."""
    ROSTER_SYNCS.labels("ok" if ok else "failed").inc()


def multiprocess_dir() -> str | None:
    """Return the shared metrics folder when multiprocess mode is on, else None."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


class _Snapshot:
    """A collector that yields metrics computed at scrape time (from the database, by the caller)."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterable[Metric]:
        return iter(self._metrics)


class _Forward:
    """A collector that forwards the default registry (this process's metrics in single-process mode)."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def outbox_metrics(by_status: Mapping[str, int], oldest_pending_seconds: float) -> list[Metric]:
    """Return the outbox gauges: rows by status, and the age of the oldest pending row."""
    depth = GaugeMetricFamily("pathways_outbox_rows", "Grade outbox rows by status, read at scrape time.",
                              labels=["status"])
    for status, count in sorted(by_status.items()):
        depth.add_metric([status], float(count))
    oldest = GaugeMetricFamily(
        "pathways_outbox_oldest_pending_seconds", "Age of the oldest grade waiting to be posted (0 when none)."
    )
    oldest.add_metric([], float(oldest_pending_seconds))
    return [depth, oldest]


def render(extra: Iterable[Metric] = ()) -> tuple[bytes, str]:
    """Return the exposition text of every process's metrics plus `extra`, and its content type."""
    registry = CollectorRegistry()
    folder = multiprocess_dir()
    if folder:
        multiprocess.MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_Forward())
    registry.register(_Snapshot(extra))
    return generate_latest(registry), CONTENT_TYPE_LATEST
