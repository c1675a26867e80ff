"""Calendar days in the course's time zone: "today" and "yesterday" are the school's days, not UTC's."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from lti_tool.learning.alerts import StudentSummary, alerts_for
from lti_tool.learning.local_days import days_between, local_date, zone_named

CHICAGO = ZoneInfo("America/Chicago")


def test_only_real_zone_names_are_read_and_an_unexpanded_variable_or_moodles_99_is_none():
    assert zone_named("America/Chicago") == CHICAGO
    for odd in ("$Person.address.timezone", "99", "", "Mars/Olympus", "../../etc/passwd", None, 5, "x" * 200):
        assert zone_named(odd) is None


def test_a_late_evening_in_chicago_is_still_that_day_there():
    eleven_pm = datetime(2026, 12, 4, 5, 0)  # naive UTC, as stored: 23:00 on 3 December in Chicago
    assert local_date(eleven_pm, CHICAGO).isoformat() == "2026-12-03"
    assert days_between(datetime(2026, 12, 3, 15, 0), eleven_pm, CHICAGO) == 0


def test_a_help_request_from_yesterday_afternoon_in_chicago_says_yesterday_though_under_24_hours_ago():
    asked = datetime(2026, 12, 3, 20, 0)  # 14:00 on 3 December in Chicago
    now = datetime(2026, 12, 4, 15, 0)  # 09:00 on 4 December there, 19 hours later
    summary = StudentSummary("1", "Ana", asked=(("ratios", "Ratios", asked),))
    assert alerts_for(summary, now, zone=CHICAGO)[0].reason == "Asked for help with Ratios yesterday."
    late = datetime(2026, 12, 4, 5, 0)  # 23:00 on 3 December in Chicago: the same day there, the next in UTC
    assert alerts_for(summary, late, zone=CHICAGO)[0].reason == "Asked for help with Ratios today."
