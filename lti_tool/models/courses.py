"""Courses (LTI contexts), the people in them, and their enrolments; always scoped to one deployment."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow


class Course(db.Model):
    """An LTI context as seen through one deployment of one platform."""

    __tablename__ = "course"
    __table_args__ = (sa.UniqueConstraint("deployment_id", "context_id", name="uq_course_deployment_context"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    deployment_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("deployment.id", ondelete="CASCADE"))
    # The platform's context id; launches without a context claim use "\x1flink:<resource link id>" (lti/claims.py
    # LINK_CONTEXT: a control character, so no platform's context id is one; migration 0025), and a Data
    # Privacy Launch or a Deep Linking request without one gets a placeholder of its own (services/launches.py
    # PLACEHOLDER); the one course such launches shared in older versions is LEGACY_SHARED_CONTEXT there
    # (migration 0023).
    context_id: so.Mapped[str] = so.mapped_column(sa.String(255))
    title: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    label: so.Mapped[str] = so.mapped_column(sa.String(255), default="")
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    last_launch_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # Service endpoints the platform announced in the latest launch (NRPS and AGS), if any.
    memberships_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    lineitems_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    # The roster URL came from a custom parameter (a teacher may set one), not the platform's signed NRPS claim:
    # a sync then reads it only when the platform's answer names this course (services/roster.py).
    memberships_url_custom: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False,
                                                               server_default=sa.false())
    roster_synced_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # Set by a teacher launch when the roster is stale; the worker syncs the course and clears it.
    roster_sync_due_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime, index=True)
    # NRPS `differences` URL from the last full or partial read: the next sync asks only for changes.
    roster_differences_url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    # The AGS scopes the platform announced in the latest launch; tokens never ask for more (Moodle refuses).
    ags_scopes: so.Mapped[list | None] = so.mapped_column(sa.JSON)
    # The course's IANA time zone ("America/Chicago"), which decides its calendar days: when a goal is past its
    # date, what is due so far, "today" on the teacher's pages. Set by a teacher on the settings page, or first
    # from a teacher's launch that carried the LMS's zone (custom parameter person_time_zone); None is UTC.
    # Not deferred: the launch reads the course row with every page, and this rides along at no extra statement.
    time_zone: so.Mapped[str | None] = so.mapped_column(sa.String(64))


class Person(db.Model):
    """A platform user, known by the platform's stable `sub`; only the minimum about them is kept."""

    __tablename__ = "person"
    __table_args__ = (sa.UniqueConstraint("platform_id", "sub", name="uq_person_platform_sub"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("platform.id", ondelete="CASCADE"), index=True)
    sub: so.Mapped[str] = so.mapped_column(sa.String(255))
    name: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    # Stored only when the admin turns PATHWAYS_STORE_EMAIL on.
    email: so.Mapped[str | None] = so.mapped_column(sa.String(320))


class Enrollment(db.Model):
    """A person's role in a course, as the latest launch or roster sync reported it."""

    __tablename__ = "enrollment"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", name="uq_enrollment_course_person"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # "teacher" or "student": what Pathways lets them do.
    role: so.Mapped[str] = so.mapped_column(sa.String(20))
    # The platform's role names, short form, for display ("Instructor, TeachingAssistant").
    lti_roles: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    active: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    last_launch_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)

    course: so.Mapped[Course] = so.relationship()
    person: so.Mapped[Person] = so.relationship()
