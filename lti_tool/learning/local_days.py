"""Calendar days in a course's time zone: "today", "yesterday" and "past its date" are the school's, not UTC's.

Moments are kept as naive UTC (the database's way); dates a person reads ("due 4 December") are calendar days
where the course is. Nothing here reads a clock: the moment and the zone are passed in.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

#: The longest time zone name kept (course.time_zone); IANA names are at most about 30 characters.
ZONE_NAME_MAX = 64


@cache
def zone_names() -> tuple[str, ...]:
    """Return the IANA time zone names this server's time zone database knows, sorted (read once)."""
    return tuple(sorted(available_timezones()))


@cache
def _zone_name_set() -> frozenset[str]:
    # zone_named runs on every goal, pacing and grading read: a set lookup, not a scan of ~600 names.
    return frozenset(zone_names())


def zone_named(name: object) -> ZoneInfo | None:
    """Return the IANA time zone with this name ("America/Chicago"), or None for anything else.

    An LMS that cannot fill in a substitution variable sends the variable itself ("$Person.address.timezone"), and
    Moodle sends "99" for "the server's zone": neither is a zone name, and neither is any name the server's time zone
    database lacks. Only listed names are read, so no text ever becomes a path to a file.
    """
    if not isinstance(name, str) or not name or len(name) > ZONE_NAME_MAX or name not in _zone_name_set():
        return None
    return ZoneInfo(name)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """Return the calendar day `moment` falls on in `zone`; a naive moment is UTC, as the database keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def days_between(earlier: datetime, later: datetime, zone: tzinfo) -> int:
    """Return how many calendar days in `zone` separate two moments: 0 the same day, 1 the day before, …"""
    return (local_date(later, zone) - local_date(earlier, zone)).days
