"""Times Pathways stores in UTC: each page gives them as <time datetime="…Z"> with the UTC text for a browser
without script, and loads the script that shows them in the reader's own time only where there is one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.support import submit_form
from tests.web.test_agency import _open, _setup_course

SCRIPT = "/static/js/local-time.js"


def _moments(page) -> list[tuple[datetime, str, str]]:
    """Return each (moment, style, text) a page shows through the local_time filter."""
    found = re.findall(r'<time datetime="([^"]+)Z" data-local="(\w+)">([^<]+)</time>', page.text)
    return [(datetime.fromisoformat(iso).replace(tzinfo=UTC), style, text) for iso, style, text in found]


def _recent(moment: datetime) -> bool:
    return abs(datetime.now(UTC) - moment) < timedelta(minutes=5)


def test_teacher_reads_the_roster_sync_time_and_a_reflection_time_in_utc_without_script(sandbox, tool):
    home = submit_form(_setup_course(sandbox), "/roster/sync")
    (synced, style, text), = _moments(home)
    assert _recent(synced) and style == "datetime"
    assert text == f"{synced:%Y-%m-%d %H:%M} UTC" and re.search(r"Last updated <time[^>]*>" + text, home.text)
    assert SCRIPT in home.text

    student = sandbox.launch("student")
    written = submit_form(_open(student, tool, "/reflect"), "/reflect", answer_0="Common denominators")
    (moment, style, text), = _moments(written)
    # A student is shown the day (their own day, with script), not a clock time.
    assert _recent(moment) and style == "date" and text == f"{moment.day} {moment:%B %Y}"

    reflections = _open(sandbox.launch("teacher"), tool, "teacher/reflections")
    (read, style, text), = _moments(reflections)
    assert read == moment.replace(microsecond=0) and text == f"{read:%Y-%m-%d %H:%M} UTC"
    assert SCRIPT in reflections.text


def test_a_page_without_times_loads_no_time_script(sandbox, tool):
    settings = _open(_setup_course(sandbox), tool, "teacher/settings")
    assert settings.status_code == 200 and not _moments(settings) and SCRIPT not in settings.text
