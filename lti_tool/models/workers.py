"""Worker heartbeats: when each `pathways worker` last finished a pass, and what last went wrong."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow


class WorkerHeartbeat(db.Model):
    """One row per worker process; /healthz shows the newest successful pass."""

    __tablename__ = "worker_heartbeat"

    # host:pid:random, so restarts and several workers per host each get their own row.
    worker_id: so.Mapped[str] = so.mapped_column(sa.String(120), primary_key=True)
    started_at: so.Mapped[datetime] = so.mapped_column(default=utcnow)
    last_pass_at: so.Mapped[datetime | None] = so.mapped_column(index=True)
    # A short, plain reason (no personal data), cleared by the next successful pass.
    last_error: so.Mapped[str | None] = so.mapped_column(sa.String(300))
    last_error_at: so.Mapped[datetime | None]
