"""Health check for load balancers and monitors."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, current_app

from ..extensions import cache, db
from ..models import ScoreOutbox

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the database and the cache answer, and how old the oldest waiting grade is."""
    checks: dict[str, object] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        checks["database"] = "unreachable"
    try:
        cache.set("healthz", "1", timeout=10)
        checks["cache"] = "ok" if cache.get("healthz") == "1" else "unreachable"
    except Exception:  # noqa: BLE001 - any cache backend failure means "unreachable"
        checks["cache"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    body: dict[str, object] = {"status": "ok" if healthy else "degraded", "checks": checks}
    if checks["database"] == "ok":
        body["outbox"] = _outbox_age()
        limit = current_app.config["OUTBOX_MAX_AGE_SECONDS"]
        if limit and body["outbox"]["oldest_pending_seconds"] > limit:
            # Grades waiting too long usually mean no worker is running.
            body["status"] = "degraded"
            healthy = False
    return body, 200 if healthy else 503


def _outbox_age() -> dict[str, float | int]:
    try:
        pending, oldest = db.session.execute(
            sa.select(sa.func.count(), sa.func.min(ScoreOutbox.created_at)).where(ScoreOutbox.status == "pending")
        ).one()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"pending": 0, "oldest_pending_seconds": 0}
    now = datetime.now(UTC).replace(tzinfo=None)
    return {"pending": pending, "oldest_pending_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0}
