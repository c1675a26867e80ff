"""A launch whose time ran out (WCAG 2.1 2.2.1 Timing Adjustable, 3.3.3 Error Suggestion).

A session in use slides forward up to an absolute maximum; one that ran out is told apart from a launch the browser
never made, links back to the LMS, gives back what the form carried (saving nothing) and starts no session.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import requests
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lti_tool.lti.platform_storage import tab_binding
from lti_tool.models.base import utcnow
from tests.lti.test_platform_storage import StorageLaunch, _cookieless, _launch_id_and_token
from tests.support import SandboxActions, launch_with_presentation, open_in_launch, submit_form

TYPED = 'Fractions <b>were</b> hard & "tricky"'


def _launch_row(tool):
    from lti_tool.extensions import db
    from lti_tool.models import LaunchSession

    with tool.app.app_context():
        row = db.session.scalars(db.select(LaunchSession)).one()
        db.session.expunge(row)
        return row


def _set_launch(tool, **values) -> None:
    from lti_tool.extensions import db
    from lti_tool.models import LaunchSession

    with tool.app.app_context():
        db.session.execute(db.update(LaunchSession).values(**values))
        db.session.commit()


def _time_passes(tool, seconds: float) -> None:
    """Move the launch session's clock on by `seconds`: its start and its end are that much further in the past.

    The launch pages read the time from the wall clock, so this stands in for waiting: a wait races the machine
    (under load a two-second session ran out before its first page loaded) and this does not.
    """
    row = _launch_row(tool)
    _set_launch(tool, created_at=row.created_at - timedelta(seconds=seconds),
                expires_at=row.expires_at - timedelta(seconds=seconds))


def _reflections(tool) -> int:
    from lti_tool.extensions import db
    from lti_tool.models import Reflection

    with tool.app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(Reflection))


def _shown_back(page) -> str:
    match = re.search(r'<textarea id="typed-text" readonly[^>]*>(.*?)</textarea>', page.text, re.S)
    assert match, page.text[:3000]
    return match.group(1)


def _assert_ran_out(page, tool) -> None:
    assert page.status_code == 403, (page.status_code, page.text[:2000])
    assert "Your time in Pathways ran out" in page.text
    assert "did not make" not in page.text and "Error 404" not in page.text
    assert "Set-Cookie" not in page.headers  # no session is started by it
    # Back to the LMS: the sandbox's launch_presentation.return_url.
    back = re.search(r'<a class="button" href="([^"]+)" data-testid="expired-back"', page.text)
    assert back and back.group(1).startswith(tool.base_url + "/"), page.text[:3000]
    # Shown inside its LMS: the launch's platform (the sandbox, on the tool's origin) may frame it.
    ancestors = page.headers["Content-Security-Policy"].split("frame-ancestors", 1)[1].split(";")[0]
    assert tool.base_url in ancestors


def test_a_reflection_posted_after_the_session_ran_out_is_given_back_not_lost(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    student = SandboxActions(tool).launch("student")
    reflect = open_in_launch(student, tool, "/reflect")
    assert reflect.status_code == 200
    # The student types for longer than the session lasts unused.
    _time_passes(tool, tool.app.config["LAUNCH_SESSION_SECONDS"] + 1)

    late = submit_form(reflect, "/reflect", answer_0=TYPED, answer_1="Draw it first")

    _assert_ran_out(late, tool)
    shown = _shown_back(late)
    assert "<b>" not in shown and "&lt;b&gt;" in shown  # escaped, shown as typed
    assert unescape(shown) == TYPED + "\n\nDraw it first"
    assert "has not been saved" in late.text and "Copy it" in late.text
    assert _reflections(tool) == 0
    # A page opened by a GET says the same, without a box.
    again = late.http.get(student.url, timeout=30)
    assert again.status_code == 403 and "typed-text" not in again.text and "Set-Cookie" not in again.headers


def test_a_launch_the_browser_never_made_is_still_refused_as_such(sandbox, tool):
    page = sandbox.launch("student")
    refused = requests.get(page.url, timeout=30)
    assert refused.status_code == 404 and "did not make" in refused.text and "ran out" not in refused.text


def test_a_session_in_use_slides_forward_but_never_past_its_maximum_nor_back_to_life(sandbox, tool):
    page = sandbox.launch("student")
    first = _launch_row(tool)
    # A fresh session is not written to by its pages (no statement added to a page).
    assert open_in_launch(page, tool, "/").status_code == 200
    assert _launch_row(tool).expires_at == first.expires_at

    # Less than half its two hours left: a page moves the end to two hours from now.
    _set_launch(tool, expires_at=utcnow() + timedelta(minutes=10))
    assert open_in_launch(page, tool, "/").status_code == 200
    moved = _launch_row(tool).expires_at - utcnow()
    assert timedelta(minutes=119) < moved <= timedelta(hours=2)

    # Near its twelve hours since the launch: no further than that.
    created = utcnow() - timedelta(hours=11, minutes=50)
    _set_launch(tool, created_at=created, expires_at=utcnow() + timedelta(minutes=5))
    assert open_in_launch(page, tool, "/").status_code == 200
    assert _launch_row(tool).expires_at == created + timedelta(hours=12)

    # Past the twelve hours the launch ends, whatever its row says.
    _set_launch(tool, created_at=utcnow() - timedelta(hours=12, seconds=1), expires_at=utcnow() + timedelta(hours=1))
    _assert_ran_out(open_in_launch(page, tool, "/"), tool)

    # A session that ran out is never revived by a request.
    ended = utcnow() - timedelta(seconds=1)
    _set_launch(tool, created_at=utcnow() - timedelta(hours=1), expires_at=ended)
    _assert_ran_out(open_in_launch(page, tool, "/"), tool)
    assert _launch_row(tool).expires_at == ended


def test_the_absolute_maximum_is_a_setting(make_tool):
    tool = make_tool(LAUNCH_SESSION_SECONDS=3600, LAUNCH_SESSION_MAX_SECONDS=1800)
    SandboxActions(tool).launch("student")
    row = _launch_row(tool)
    assert row.expires_at - row.created_at == timedelta(seconds=1800)


def test_a_teachers_course_map_edit_after_the_session_ran_out_is_given_back(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    teacher = SandboxActions(tool).launch("teacher")
    form = open_in_launch(teacher, tool, "/teacher/map/course")
    assert form.status_code == 200, form.text[:500]
    _set_launch(tool, expires_at=utcnow() - timedelta(seconds=1))

    late = submit_form(form, "/teacher/map/course", description="A year of number sense\nand proportion")

    _assert_ran_out(late, tool)
    assert "A year of number sense\nand proportion" in unescape(_shown_back(late))


def test_a_form_whose_csrf_token_ran_out_lands_on_the_same_page(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    reflect = open_in_launch(SandboxActions(tool).launch("student"), tool, "/reflect")
    tool.app.config["WTF_CSRF_TIME_LIMIT"] = 1  # read when a form is checked
    time.sleep(2)

    late = submit_form(reflect, "/reflect", answer_0=TYPED)

    _assert_ran_out(late, tool)
    assert unescape(_shown_back(late)) == TYPED
    assert _reflections(tool) == 0


def test_a_cookieless_tab_left_idle_past_its_token_gives_back_what_was_typed(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    launch_id, _ = _launch_id_and_token(StorageLaunch(SandboxActions(tool)).confirm())

    class Idle(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - tool.app.config["LAUNCH_TOKEN_SECONDS"] - 60

    stale = URLSafeTimedSerializer(tool.app.config["SECRET_KEY"], salt="pathways-launch-session",
                                   signer=Idle).dumps([launch_id, tab_binding(StorageLaunch.tab_secret)])
    late = _cookieless().post(tool.url(f"/c/{launch_id}/reflect"), params={"lt": stale},
                              data={"answer_0": TYPED, "ts": StorageLaunch.tab_secret}, timeout=30)

    _assert_ran_out(late, tool)
    assert unescape(_shown_back(late)) == TYPED
    assert _reflections(tool) == 0


def test_every_kind_of_typed_form_is_given_back_and_nothing_else(make_tool):
    """Goals, evidence, the teacher's override notes and evidence comments: the words come back, ids and choices
    (the skill, the level, a hint count) do not."""
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    sandbox = SandboxActions(tool)
    student, teacher = sandbox.launch("student"), sandbox.launch("teacher")
    _set_launch(tool, expires_at=utcnow() - timedelta(seconds=1))
    forms = [
        (student, "/goals", {"title": "Finish unit 2", "why": "So I can help my sister", "by_date": "2027-01-10",
                             "skill_ids": "s1"}, "Finish unit 2\n\nSo I can help my sister"),
        (student, "/evidence", {"skill_id": "s1", "kind": "text", "url": "", "text": "I built a ramp < 30°"},
         "I built a ramp < 30°"),
        (student, "/practice/s1/ask", {"served": "7", "hints": "2", "answer": "3/4", "show_hint": "1"}, "3/4"),
        (teacher, "/class/override", {"person_id": "3", "skill_id": "s1", "level": "Proficient",
                                      "note": "Showed it on the board", "note_to_student": "Well done"},
         "Showed it on the board\n\nWell done"),
        (teacher, "/teacher/evidence/1/return", {"comment": "Add a photo, please"}, "Add a photo, please"),
    ]
    for page, path, fields, shown in forms:
        base = re.search(r"/c/[^/]+", page.url).group(0)
        # Each page's forms carry the session's CSRF token (a form without it could be another site's).
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        late = page.http.post(tool.url(base + path), data={**fields, "csrf_token": token}, timeout=30)
        _assert_ran_out(late, tool)
        assert unescape(_shown_back(late)) == shown, path


def test_a_slide_never_revives_a_session_that_ended_meanwhile(sandbox, tool):
    """A sign-out (or any end) between a page reading its launch and sliding it: the conditional UPDATE leaves it."""
    sandbox.launch("student")
    from lti_tool.extensions import db
    from lti_tool.models import LaunchSession
    from lti_tool.services.launches import _slide, end_launch

    with tool.app.app_context():
        now = utcnow()
        _set_launch(tool, expires_at=now + timedelta(minutes=5))
        read = db.session.scalars(db.select(LaunchSession)).one()  # the page read it, still open
        with tool.app.app_context():  # another request signs out
            end_launch(db.session.get(LaunchSession, read.id), now=now + timedelta(milliseconds=1))
        _slide(read, now=now, window=7200, longest=43200)
        db.session.expire_all()
    assert _launch_row(tool).expires_at == now + timedelta(milliseconds=1)


def test_a_worker_told_to_keep_no_ended_launches_keeps_them_a_day_for_the_page_that_says_time_ran_out(make_tool):
    # With PATHWAYS_LAUNCH_SESSION_KEEP_DAYS=0 the worker deleted the row at once, and the page lost its link back
    # to the LMS and the LMS's leave to frame it (the browser then showed nothing inside the LMS).
    from lti_tool.jobs.worker import _ended_launches

    tool = make_tool(DEFAULT_COURSE_PACK="demo", LAUNCH_SESSION_KEEP_DAYS=0)
    student = SandboxActions(tool).launch("student")
    reflect = open_in_launch(student, tool, "/reflect")
    _time_passes(tool, tool.app.config["LAUNCH_SESSION_SECONDS"] + 1)  # it ended a second ago
    with tool.app.app_context():
        assert _ended_launches(tool.app) == 0
    late = submit_form(reflect, "/reflect", answer_0=TYPED, answer_1="Draw it first")
    _assert_ran_out(late, tool)
    assert unescape(_shown_back(late)) == TYPED + "\n\nDraw it first"


def test_the_page_speaks_the_language_of_the_launch_that_ran_out_else_the_browsers(sandbox, tool):
    # The browser asks for nothing in particular: the launch said Spanish, so the page is in Spanish.
    spanish = launch_with_presentation(sandbox, locale="es-MX", return_url=tool.platform.url("/"))
    _set_launch(tool, expires_at=utcnow() - timedelta(seconds=1))
    late = open_in_launch(spanish, tool, "/")
    assert late.status_code == 403 and '<html lang="es"' in late.text
    assert "Se acabó el tiempo en Pathways" in late.text and "ran out" not in late.text
    # Its way back tells the LMS why, in the same words (Core: lti_errormsg on launch_presentation.return_url).
    back = unescape(re.search(r'href="([^"]+)" data-testid="expired-back"', late.text).group(1))
    assert back.startswith(tool.platform.url("/") + "?lti_errormsg=")
    assert parse_qs(urlsplit(back).query)["lti_errormsg"][0].startswith("Pathways deja de funcionar")

    # A launch that named no language: the browser's, as on other error pages.
    browser = requests.Session()
    browser.headers["Accept-Language"] = "es-ES,es;q=0.9"
    unnamed = launch_with_presentation(sandbox, http=browser)
    _set_launch(tool, expires_at=utcnow() - timedelta(seconds=1))
    assert "Se acabó el tiempo en Pathways" in open_in_launch(unnamed, tool, "/").text


def test_without_a_return_url_the_page_says_how_to_get_back_to_the_course(sandbox, tool):
    page = launch_with_presentation(sandbox, locale="en")  # no return_url in launch_presentation
    _set_launch(tool, expires_at=utcnow() - timedelta(seconds=1))
    late = open_in_launch(page, tool, "/")
    assert late.status_code == 403 and 'data-testid="expired-back"' not in late.text
    way = re.search(r'<p data-testid="expired-way-back">(.*?)</p>', late.text, re.S)
    assert way and "go to your course" in way.group(1) and "open Pathways from there" in way.group(1)
