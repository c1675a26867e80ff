"""Launch sessions: what a validated launch lets this browser do, and for how long."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow
from .courses import Course, Person


class LaunchSession(db.Model):
    """One validated launch. Pages under /c/<id>/ act within exactly this platform, deployment and course."""

    __tablename__ = "launch_session"

    # Random and unguessable; the browser must also hold it in its signed session cookie.
    id: so.Mapped[str] = so.mapped_column(sa.String(64), primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("platform.id", ondelete="CASCADE"))
    deployment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("deployment.id", ondelete="CASCADE"))
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    access: so.Mapped[str] = so.mapped_column(sa.String(20))
    message_type: so.Mapped[str] = so.mapped_column(sa.String(60))
    resource_link_id: so.Mapped[str | None] = so.mapped_column(sa.String(255))
    # Only what later requests need (deep-linking settings, custom params); never the id_token.
    details: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    expires_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, index=True)
    # When the Deep Linking response was signed: set by a conditional UPDATE, so a request is answered once.
    deep_link_answered_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)

    course: so.Mapped[Course] = so.relationship()
    person: so.Mapped[Person] = so.relationship()
