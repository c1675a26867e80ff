"""Pages act only within the launch that opened them; headers keep Pathways safe inside an LMS iframe."""

from __future__ import annotations

import re

import requests

from lti_tool import create_app
from tests.support import submit_form


def _launch_path(page) -> str:
    match = re.search(r"/c/[^/]+/", page.url)
    assert match, page.url
    return match.group(0)


def test_another_browser_cannot_open_a_launch_page_even_with_its_url(sandbox, tool):
    page = sandbox.launch("teacher")
    stranger = requests.get(tool.url(_launch_path(page)))
    assert stranger.status_code == 404
    assert "Grade 7 Mathematics" not in stranger.text and "Amara" not in stranger.text


def test_a_student_cannot_use_a_teachers_launch_url(sandbox, tool):
    teacher_page = sandbox.launch("teacher")
    student_page = sandbox.launch("student")
    response = student_page.http.get(tool.url(_launch_path(teacher_page)))
    assert response.status_code == 404
    assert "Class roster" not in response.text


def test_a_student_cannot_sync_the_roster(sandbox, tool):
    student_page = sandbox.launch("student")
    token = re.search(r'name="csrf_token" value="([^"]+)"', sandbox.launch("teacher").text)
    response = student_page.http.post(tool.url(_launch_path(student_page) + "roster/sync"),
                                      data={"csrf_token": token.group(1) if token else ""})
    assert response.status_code in (400, 403)


def test_forms_without_a_csrf_token_are_refused(sandbox, tool):
    page = sandbox.launch("teacher")
    response = page.http.post(tool.url(_launch_path(page) + "roster/sync"), data={})
    assert response.status_code == 400
    assert "expired" in response.text
    assert tool.platform.token_requests == []


def test_the_same_person_in_two_courses_sees_each_course_separately(sandbox, tool):
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_user("student-9", roles=["Learner"], name="Only In Science", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    sandbox.launch("student-9", context_id="science-8")
    http = requests.Session()
    math = sandbox.launch("teacher", http=http)
    science = sandbox.launch("teacher", http=http, context_id="science-8")
    assert "Grade 8 Science" in science.text and "Only In Science" in science.text
    math_again = http.get(math.url)
    math_again.http = http
    assert "Grade 7 Mathematics" in math_again.text
    assert "Only In Science" not in math_again.text
    assert "Only In Science" not in submit_form(math_again, "roster/sync").text


def test_expired_launch_sessions_are_refused(sandbox, tool):
    page = sandbox.launch("teacher")
    with tool.app.app_context():
        from datetime import datetime

        from lti_tool.extensions import db
        from lti_tool.models import LaunchSession

        db.session.execute(db.update(LaunchSession).values(expires_at=datetime(2000, 1, 1)))
        db.session.commit()
    again = page.http.get(page.url)
    assert again.status_code == 403
    assert "time in Pathways ran out" in again.text


def test_pages_may_only_be_framed_by_registered_platforms(sandbox, tool):
    page = sandbox.launch("student")
    csp = page.headers["Content-Security-Policy"]
    assert "frame-ancestors" in csp
    assert tool.base_url in csp  # the sandbox platform's origin
    assert "*" not in csp.split("frame-ancestors", 1)[1].split(";")[0].replace("'self'", "")


def test_configured_frame_ancestors_are_added(make_tool):
    tool = make_tool(FRAME_ANCESTORS="https://*.instructure.com")
    assert "https://*.instructure.com" in requests.get(tool.url("/healthz")).headers["Content-Security-Policy"]


def test_session_cookie_is_secure_and_samesite_none_over_https(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "BASE_URL": "https://pathways.example.edu",
                      "INSTANCE_PATH": str(tmp_path)})
    with app.test_request_context("/"):
        from flask import session

        session["launches"] = ["x"]
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "SameSite=None" in cookie and "HttpOnly" in cookie


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    import pytest

    monkeypatch.delenv("PATHWAYS_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="PATHWAYS_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_sandbox_is_off_unless_enabled(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path)})
    assert "sandbox_platform" not in app.extensions
    assert app.test_client().get("/sandbox/").status_code == 404


def test_health_reports_database_and_cache(tool):
    body = requests.get(tool.url("/healthz")).json()
    assert body == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}}


def test_health_shows_the_grade_and_worker_figures_only_to_a_caller_with_the_metrics_token(make_tool):
    tool = make_tool(METRICS_TOKEN="operators-only-token")
    details = {"outbox": {"pending": 0, "oldest_pending_seconds": 0},
               "worker": {"last_pass_seconds_ago": None}}  # no worker has run yet
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "operators-only-token"}):
        stranger = requests.get(tool.url("/healthz"), headers=headers)
        assert stranger.status_code == 200 and not details.keys() & stranger.json().keys()
    operator = requests.get(tool.url("/healthz"), headers={"Authorization": "Bearer operators-only-token"})
    assert operator.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok"}, **details}
    assert operator.headers["Cache-Control"] == "no-store"


def test_unknown_pages_get_a_plain_404(tool):
    response = requests.get(tool.url("/nope"))
    assert response.status_code == 404 and "does not exist" in response.text


def test_every_response_carries_a_request_id_and_keeps_a_safe_incoming_one(tool):
    assert len(requests.get(tool.url("/healthz")).headers["X-Request-ID"]) == 32
    assert requests.get(tool.url("/healthz"), headers={"X-Request-ID": "lb-123"}).headers["X-Request-ID"] == "lb-123"
    forged = requests.get(tool.url("/healthz"), headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert forged != "<script>"


def test_json_logs_carry_the_request_id_and_no_token(tmp_path):
    import json
    import logging

    from lti_tool.observability import JsonFormatter, RequestIdFilter

    app = create_app({"TESTING": True, "SECRET_KEY": "k", "INSTANCE_PATH": str(tmp_path), "LOG_FORMAT": "json"})
    record = logging.LogRecord("lti_tool.x", logging.INFO, __file__, 1, "launch refused: %s", ("expired",), None)
    with app.test_request_context("/", headers={"X-Request-ID": "abc"}):
        app.preprocess_request()
        RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc" and line["message"] == "launch refused: expired" and line["level"] == "INFO"
