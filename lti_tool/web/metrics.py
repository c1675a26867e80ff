"""Prometheus scrape endpoint, off unless METRICS_ENABLED; with METRICS_TOKEN it wants a bearer token."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request

from .. import metrics
from ..extensions import db
from ..models import ScoreOutbox
from ..models.outbox import OUTBOX_STATES, PENDING

bp = Blueprint("metrics", __name__)


def _authorized() -> bool:
    return not current_app.config.get("METRICS_TOKEN") or presents_metrics_token()


def presents_metrics_token() -> bool:
    """True when a metrics token is set and the request carries it as its bearer token (the operators' key)."""
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return False
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    # Constant-time comparison: the token is the only thing between the internet and these numbers.
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), str(token).encode())


@bp.get("/metrics")
def scrape():
    """Expose the metrics of every process, plus the outbox depth read from the database now."""
    if not current_app.config.get("METRICS_ENABLED"):
        abort(404)
    if not _authorized():
        return Response("A valid bearer token is required.\n", status=401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    body, content_type = metrics.render(metrics.outbox_metrics(*_outbox_depth()))
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _outbox_depth() -> tuple[dict[str, int], float]:
    """Count outbox rows by status (every known status, zeros included) and age the oldest pending row."""
    counts = dict.fromkeys(OUTBOX_STATES, 0)
    rows = db.session.execute(sa.select(ScoreOutbox.status, sa.func.count()).group_by(ScoreOutbox.status))
    for status, count in rows:
        counts[status] = count
    oldest = db.session.scalar(sa.select(sa.func.min(ScoreOutbox.created_at)).where(ScoreOutbox.status == PENDING))
    db.session.rollback()  # end the read transaction; a scrape must not hold a snapshot open
    now = datetime.now(UTC).replace(tzinfo=None)
    return counts, round((now - oldest).total_seconds(), 1) if oldest else 0.0
