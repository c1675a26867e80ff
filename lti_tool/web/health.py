"""Health check for load balancers and monitors."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Blueprint, current_app

from ..extensions import cache, db
from ..models import ScoreOutbox, WorkerHeartbeat
from .metrics import presents_metrics_token

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the database and the cache answer and whether grades wait too long (the status code says it);
    the figures behind it (grades waiting, the worker's last pass and error) only to a caller with the metrics token.

    Anyone can reach this address: the figures tell a stranger how busy the schools are and what failed.
    """
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
        outbox = _outbox_age()
        limit = current_app.config["OUTBOX_MAX_AGE_SECONDS"]
        if limit and outbox["oldest_pending_seconds"] > limit:
            # Grades waiting too long usually mean no worker is running.
            body["status"] = "degraded"
            healthy = False
        if presents_metrics_token():
            body["outbox"] = outbox
            body["worker"] = _worker_status()
    return body, 200 if healthy else 503, {"Cache-Control": "no-store"}


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


def _worker_status() -> dict[str, object]:
    """Return when a worker last finished a pass (any worker), and the newest worker's last error if any."""
    try:
        last_pass = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_pass_at)))
        error = db.session.execute(
            sa.select(WorkerHeartbeat.last_error, WorkerHeartbeat.last_error_at)
            .where(WorkerHeartbeat.last_error.is_not(None))
            .order_by(WorkerHeartbeat.last_error_at.desc())
            .limit(1)
        ).first()
        db.session.rollback()  # end the read transaction
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        return {"last_pass_seconds_ago": None}
    now = datetime.now(UTC).replace(tzinfo=None)
    status: dict[str, object] = {
        "last_pass_seconds_ago": round((now - last_pass).total_seconds(), 1) if last_pass else None
    }
    if error is not None and (last_pass is None or error.last_error_at > last_pass):
        status["last_error"] = error.last_error
    return status
