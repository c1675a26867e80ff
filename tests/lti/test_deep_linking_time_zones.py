"""The Deep Linking picker's dates mean the teacher's own time: the picker sends the browser's time zone, and the
content item's `available` and `submission` windows carry the typed moments in UTC (DL 2.0 §3.4.2, ISO 8601 with
an offset). Without script the page says UTC and reads UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from lti_tool.services.placements import picker_zone, typed_moment
from tests.support import parse_form

DL = "LtiDeepLinkingRequest"
ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


def _place_with_dates(sandbox, tool, **sent: str) -> dict:
    """Answer the picker as its form stands (no script ran), with these fields changed; return the content item."""
    picker = sandbox.launch("teacher", message_type=DL)
    form = re.search(r"<form[^>]*deep-link.*?</form>", picker.text, re.S).group(0)
    _, fields = parse_form(form, picker.url)
    returning = picker.http.post(tool.url(re.search(r"/c/[^/]+/", picker.url).group(0) + "deep-link"),
                                 data={**fields, **sent})
    assert returning.status_code == 200, returning.text[:500]
    action, back = parse_form(returning.text, returning.url)
    assert picker.http.post(action, data=back).status_code == 200
    (item,) = tool.platform.deep_link_responses[-1][ITEMS]
    return item


def test_picker_labels_each_date_with_the_zone_and_reads_utc_without_script(sandbox, tool):
    picker = sandbox.launch("teacher", message_type=DL)
    for label in ("Available from", "Available until", "Due"):
        assert re.search(re.escape(label) + r' <span class="muted">\(<span data-time-zone-name>UTC</span>\)</span>',
                         picker.text), label
    assert '<input type="hidden" name="time_zone" value="UTC" data-time-zone>' in picker.text
    assert "js/time-zone.js" in picker.text

    item = _place_with_dates(sandbox, tool, **{"available_from_plan": "2026-01-05T09:00"})
    assert item["available"] == {"startDateTime": "2026-01-05T09:00:00Z"}


def test_dates_typed_in_madrid_reach_the_lms_in_utc_winter_and_summer(sandbox, tool):
    item = _place_with_dates(sandbox, tool, time_zone="Europe/Madrid", utc_offset="60",
                             available_from_plan="2026-01-05T09:00", available_until_plan="2026-07-31T18:00",
                             due_plan="2026-07-01T23:59")
    assert item["available"] == {"startDateTime": "2026-01-05T08:00:00Z", "endDateTime": "2026-07-31T16:00:00Z"}
    assert item["submission"] == {"endDateTime": "2026-07-01T21:59:00Z"}


def test_a_zone_this_server_does_not_know_falls_back_on_the_browsers_offset(sandbox, tool):
    item = _place_with_dates(sandbox, tool, time_zone="Mars/Olympus_Mons", utc_offset="-300",
                             due_plan="2026-03-10T17:00")
    assert item["submission"] == {"endDateTime": "2026-03-10T22:00:00Z"}


@pytest.mark.parametrize(("typed", "zone", "utc"), [
    ("2026-01-05T09:00", "Europe/Madrid", datetime(2026, 1, 5, 8, 0)),  # winter: UTC+1
    ("2026-07-05T09:00", "Europe/Madrid", datetime(2026, 7, 5, 7, 0)),  # summer: UTC+2
    ("2026-03-29T02:30", "Europe/Madrid", datetime(2026, 3, 29, 1, 30)),  # skipped by summer time: the offset before
    ("2026-01-05T09:00", "America/Los_Angeles", datetime(2026, 1, 5, 17, 0)),
    ("2026-01-05T00:15", "Asia/Kolkata", datetime(2026, 1, 4, 18, 45)),  # the day before, in UTC
    ("2026-01-05T09:00+03:00", "Europe/Madrid", datetime(2026, 1, 5, 6, 0)),  # an offset sent keeps its own
    ("  2026-01-05T09:00 ", "UTC", datetime(2026, 1, 5, 9, 0)),
])
def test_typed_moment_reads_the_clock_time_in_the_zone_and_returns_utc(typed, zone, utc):
    assert typed_moment(typed, picker_zone(zone)) == utc


def test_typed_moment_leaves_empty_fields_out_and_refuses_what_is_no_date():
    assert typed_moment("  ", UTC) is None
    for bad in ("tomorrow", "2026-13-01T09:00", "9999-12-31T23:00"):  # the last is past year 9999 in UTC
        with pytest.raises(ValueError):
            typed_moment(bad, picker_zone("No/Such_Zone", "-600"))


def test_picker_zone_falls_back_on_the_offset_then_on_utc():
    assert picker_zone("Europe/Madrid") == ZoneInfo("Europe/Madrid")
    assert picker_zone(None) is UTC and picker_zone("") is UTC and picker_zone("UTC", "120") is UTC
    assert picker_zone("No/Such_Zone", "120") == timezone(timedelta(hours=2))
    assert picker_zone("../../etc/passwd", "-330") == timezone(-timedelta(hours=5, minutes=30))
    for offset in (None, "", "abc", "0", "9999", "-841"):
        assert picker_zone("No/Such_Zone", offset) is UTC, offset


def test_a_value_the_picker_cannot_read_is_refused_in_the_teachers_language_without_pythons_words(sandbox, tool):
    from tests.support import LAUNCH_PRESENTATION

    pending = sandbox.begin("teacher", message_type=DL)
    picker = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe", "locale": "es"}}))
    form = re.search(r"<form[^>]*deep-link.*?</form>", picker.text, re.S).group(0)
    _, fields = parse_form(form, picker.url)
    answer = tool.url(re.search(r"/c/[^/]+/", picker.url).group(0) + "deep-link")
    for sent, said in (({"score_maximum": "lots"}, "Los puntos deben ser un número."),
                       ({"points_plan": "ten"}, "Los puntos deben ser un número."),
                       ({"due_plan": "tomorrow"}, "«tomorrow» no es una fecha y hora."),
                       # The service's refusals too (0 points was taken for the default of 100 before).
                       ({"score_maximum": "0"}, "El máximo del libro de calificaciones debe ser un número entre 0"),
                       ({"points_plan": "0"}, "deben ser un número entre 0 y 10.000."),
                       ({"due_plan": "2026-01-01T09:00", "available_from_plan": "2026-02-01T09:00"},
                        "debe ser posterior a cuando esté disponible.")):
        refused = picker.http.post(answer, data={**fields, **sent})
        assert refused.status_code == 422 and said in refused.text.replace("&#171;", "«").replace("&#187;", "»"), sent
        assert "could not convert" not in refused.text
    assert tool.platform.deep_link_responses == []
