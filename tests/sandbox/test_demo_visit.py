"""A visitor tries the demo in the sandbox LMS: they choose the LMS language and how Pathways opens on the course
page, and the demo course's goals fall due after the day the demo starts."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from tests.support import parse_form, submit_form


def _page(http: requests.Session, url: str) -> requests.Response:
    response = http.get(url, timeout=30)
    response.http = http
    return response


def _launch_link(course_page: requests.Response, name: str) -> str:
    match = re.search(r'href="([^"]+)">Launch Pathways as ' + re.escape(name) + "<", course_page.text)
    assert match, f"no launch link for {name}"
    return urljoin(course_page.url, html.unescape(match.group(1)))


def _follow_launch(http: requests.Session, url: str) -> requests.Response:
    """Open a launch link as a browser does: redirects, and the auto-posting login and launch forms."""
    response = _page(http, url)
    for _ in range(3):
        if not re.search(r'<form[^>]*action="[^"]*/lti/(login|launch)"', response.text):
            break
        action, fields = parse_form(response.text, response.url)
        response = http.post(action, data=fields, timeout=30)
        response.http = http
    return response


def _choose(http: requests.Session, tool, **choices: str) -> requests.Response:
    """Submit the course page's launch settings form."""
    course = _page(http, tool.url("/sandbox/"))
    action, fields = parse_form(course.text, course.url)
    assert action.endswith("/sandbox/") and set(fields) == {"locale", "open"}
    return _page(http, action + "?" + "&".join(f"{k}={v}" for k, v in {**fields, **choices}.items()))


def test_visitor_picks_spanish_and_the_student_sees_pathways_in_spanish(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    http = requests.Session()
    course = _choose(http, tool, locale="es")
    assert '<option value="es" selected lang="es">' in course.text  # the choice stays shown
    student = _follow_launch(http, _launch_link(course, "Priya Shah"))
    assert student.status_code == 200
    assert '<html lang="es">' in student.text and "Tus próximos pasos" in student.text

    english = _follow_launch(requests.Session(), _launch_link(_page(http, tool.url("/sandbox/")), "Priya Shah"))
    assert '<html lang="en">' in english.text and "Your next steps" in english.text


def test_visitor_opens_pathways_inside_the_course_page_with_or_without_platform_storage(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    http = requests.Session()
    framed = _page(http, _launch_link(_choose(http, tool, open="frame", locale="es"), "Priya Shah"))
    assert framed.status_code == 200 and urlsplit(framed.url).path.startswith("/sandbox/frame/")
    src = html.unescape(re.search(r'<iframe id="tool-frame"[^>]* src="([^"]+)"', framed.text).group(1))
    assert parse_qs(urlsplit(src).query)["lti_storage_target"] == ["_parent"]
    assert "lti.put_data" in framed.text  # this LMS page answers the tool's storage messages
    # Inside the frame, the launch still speaks the chosen language.
    inside = _follow_launch(http, src)
    assert '<html lang="es">' in inside.text

    bare = _page(http, _launch_link(_choose(http, tool, open="frame-nostorage"), "Priya Shah"))
    assert "answers no storage messages" in bare.text and "lti.put_data" not in bare.text.split("<iframe")[1]


def test_unknown_launch_settings_fall_back_to_english_in_a_new_window(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")
    http = requests.Session()
    course = _page(http, tool.url("/sandbox/?locale=xx&open=popup"))
    assert course.status_code == 200
    link = _launch_link(course, "Priya Shah")
    assert "locale=" not in link and "open=" not in link  # English, in a new window


def test_demo_goals_fall_due_after_the_day_the_demo_starts(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    course_map = teacher.http.get(urljoin(teacher.url, re.search(r'href="([^"]*/teacher/map)"', teacher.text)
                                          .group(1)), timeout=30)
    dues = [date.fromisoformat(d) for d in re.findall(r"— by (\d{4}-\d{2}-\d{2})", course_map.text)]
    today = datetime.now(UTC).date()
    assert len(dues) == 2
    assert min(dues) >= today + timedelta(weeks=4)
    assert max(dues) - min(dues) == timedelta(days=91)  # the pack's spacing between its goals is kept
