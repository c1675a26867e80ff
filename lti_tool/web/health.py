"""Health check for load balancers and monitors."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint

from ..extensions import cache, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the database and the cache answer."""
    checks = {}
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
    return {"status": "ok" if healthy else "degraded", "checks": checks}, 200 if healthy else 503
