"""A course's time zone: the calendar its goal dates, due dates and "today" are read in."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

from ..extensions import db
from ..learning.local_days import local_date, zone_named
from ..models import Course
from .content import write_course_row
from .errors import N_, ServiceError


def course_zone(course_id: int) -> tzinfo:
    """Return the course's time zone: the one a teacher set or a teacher's launch brought, else UTC.

    The launch has the course row in the session already, so this is no query on a page.
    """
    course = db.session.get(Course, course_id)
    return (zone_named(course.time_zone) if course is not None else None) or UTC


def course_today(course_id: int, now: datetime) -> date:
    """Return the date it is in the course's time zone at `now` (naive UTC)."""
    return local_date(now, course_zone(course_id))


def course_zone_name(course_id: int) -> str:
    """Return the name of the time zone the course's dates are read in ("UTC" when none is set)."""
    return getattr(course_zone(course_id), "key", "UTC")  # a ZoneInfo's IANA name; UTC is datetime's own


def set_course_zone(course_id: int, name: str) -> str:
    """Set the course's time zone to an IANA name ("America/Chicago"); commits and returns the name."""
    name = name.strip()
    course = db.session.get(Course, course_id)
    if course is None or zone_named(name) is None:
        raise ServiceError(N_("Choose a time zone from the list."), form_field="time_zone")
    write_course_row(Course, course_id, time_zone=name)
    db.session.commit()
    return name
