"""Placements: where a teacher put Pathways in the LMS (a Deep Linking result or a plain resource link)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow


class Placement(db.Model):
    """One link to Pathways inside a course, with the gradebook column (AGS line item) it reports to."""

    __tablename__ = "placement"
    __table_args__ = (sa.UniqueConstraint("course_id", "resource_id", name="uq_placement_course_resource"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    # Our own id for the placement, sent to the LMS as the line item's resourceId and as a custom parameter.
    resource_id: so.Mapped[str] = so.mapped_column(sa.String(64))
    # The LMS's resource link id, learned at the first launch of the placed link.
    resource_link_id: so.Mapped[str | None] = so.mapped_column(sa.String(255), index=True)
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    # "plan" (the whole course) or "unit" (skill_ids lists the unit's skills).
    kind: so.Mapped[str] = so.mapped_column(sa.String(20), default="plan")
    skill_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    score_maximum: so.Mapped[float] = so.mapped_column(sa.Float, default=100.0)
    # The AGS line item URL, once known (from the launch's AGS claim or created with find_or_create).
    lineitem_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
