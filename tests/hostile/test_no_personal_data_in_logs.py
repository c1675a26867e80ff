"""The logs keep the promise: a flow full of personal data that ends in a database error logs none of it."""

from __future__ import annotations

import logging
import re

import requests

from lti_tool.observability import JsonFormatter, SafeTextFormatter
from tests.support import CLAIM, submit_form
from tests.web.test_agency import FIRST_SKILL, _open, _setup_course

MARK = "Zq7Marker"  # unique strings, one per kind of personal data, so a leak says what leaked


def _marked(kind: str) -> str:
    return f"{MARK}{kind}"


def test_a_failing_request_full_of_personal_data_logs_no_personal_data(sandbox, tool, caplog):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    _setup_course(sandbox)
    pending = sandbox.begin("student")
    student = pending.post(pending.resign(**{"name": _marked("Name"),
                                             CLAIM + "context": {"id": "math-7", "title": _marked("Course")}}))
    assert _marked("Name") in student.text
    goals = _open(student, tool, "My goals")
    assert submit_form(goals, "/goals", title=_marked("Goal"), why=_marked("Why")).status_code == 200
    practise = re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1)
    page = student.http.get(tool.url(practise))
    page.http = student.http
    assert submit_form(page, practise.split("/", 3)[3], answer=_marked("Answer")).status_code == 200
    reflect = _open(student, tool, "/reflect")
    assert submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=_marked("Reflection")).status_code == 200

    # Force a real database error whose message (PostgreSQL's DETAIL) and parameters carry the reflection. The
    # second answer differs after the marked start (the same answers again within minutes are a double click, kept
    # once without an INSERT); the index compares only that start.
    first = _marked("Reflection")
    with tool.app.app_context():
        from lti_tool.extensions import db

        db.session.execute(db.text(f"CREATE UNIQUE INDEX forced_failure ON reflection (substr(text, 1, {len(first)}))"))
        db.session.commit()
    failed = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=first + " and more")
    assert failed.status_code == 500
    assert "Something went wrong on our side" in failed.text  # the plain page, not a second failure
    assert MARK not in failed.text

    records = caplog.records
    assert any(r.exc_info and "IntegrityError" in JsonFormatter().format(r) for r in records)
    assert any("INSERT INTO reflection" in JsonFormatter().format(r) for r in records)
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)  # SQL logging was on
    text_formatter = SafeTextFormatter("%(levelname)s %(name)s %(message)s")
    for record in records:
        record.request_id = "-"
        for formatted in (JsonFormatter().format(record), text_formatter.format(record)):
            assert MARK not in formatted, formatted


def test_request_lines_hide_launch_tokens_and_login_hints():
    # The development server logs whole request lines: a cookieless launch token is a session, a login hint names
    # the person on the platform.
    from lti_tool.observability import SecretQueryFilter

    def logged(line: str) -> str:
        record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, line, (), None)
        SecretQueryFilter().filter(record)
        return record.getMessage()

    assert logged('"GET /c/abc/plan?lt=eyJ.sealed&x=1 HTTP/1.1"') == '"GET /c/abc/plan?lt=[redacted]&x=1 HTTP/1.1"'
    login = logged('"GET /lti/login?iss=https://lms&login_hint=student-1&lti_message_hint=42 HTTP/1.1"')
    assert "student-1" not in login and "=42" not in login and "iss=https://lms" in login
    assert logged('"GET /x?salt=1&default=2 HTTP/1.1"') == '"GET /x?salt=1&default=2 HTTP/1.1"'
    # Canvas's AGS results read names the learner by their LMS id.
    results = logged('"GET /api/lti/courses/1/line_items/2/results?user_id=student-1&per_page=100 HTTP/1.1"')
    assert "student-1" not in results and "per_page=100" in results
    # A question page after "Show a hint" carries what the student typed (web/hints.py): their work, not logged.
    typed = logged('"GET /c/abc/practice/s1?served=7&answer=my+name+is+Priya HTTP/1.1"')
    assert "Priya" not in typed and "served=7" in typed


def test_outbound_requests_leave_no_query_string_in_debug_logs(tool):
    # PATHWAYS_LOG_LEVEL=DEBUG puts the root logger at DEBUG, and urllib3 then logged every outbound request line
    # with its query string: an AGS results read (`results?user_id=<LMS user id>`) put the learner's id in the logs.
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    root, capture = logging.getLogger(), Capture(logging.DEBUG)
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        # The tool's own /healthz stands for the platform: the same HTTP client, the same urllib3 logging.
        answer = tool.app.extensions["pathways_http"].get(tool.url("/healthz") + "?user_id=student-1", timeout=10)
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    assert answer.status_code in (200, 503)
    assert any("/healthz" in line for line in lines)  # the server's request line, redacted
    assert not [line for line in lines if "student-1" in line]



def test_a_page_whose_address_carries_a_launch_token_sends_it_on_as_no_referer(sandbox, tool):
    # A cookie-less launch's pages carry their launch token (lt=) in the address, which opens the launch's pages
    # for minutes. "Referrer-Policy: same-origin" kept it from other sites but sent the whole address as the
    # Referer of every request the page made to Pathways itself (its stylesheet, script, the forms' posts), which a
    # proxy's access log in nginx's "combined" format writes down beside the request.
    from tests.lti.test_platform_storage import StorageLaunch, _launch_id_and_token

    home = StorageLaunch(sandbox).confirm()
    launch_id, token = _launch_id_and_token(home)
    assert home.status_code == 200 and token and f"/c/{launch_id}/" in home.url
    for response in (*home.history, home, requests.get(tool.url("/healthz"), timeout=30)):
        assert response.headers.get("Referrer-Policy") == "no-referrer", response.url
