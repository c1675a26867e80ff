"""PostgreSQL goes away for a while: pages say 503 with Retry-After, the worker waits it out, nothing is lost."""

from __future__ import annotations

import logging
import re
import threading

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.models import ItemResponse
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, parse_form, served_answer, submit_form

from .test_redis_outage import HEALTH_TOKEN, healthz, wait_for


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


STUDENTS = ["student-1", "student-2", "student-3", "student-4", "student-5"]


@pytest.fixture
def running_worker():
    """Start `pathways worker` (the drain loop, in a thread of this process); stop it at the end."""
    started = []

    def start(app):
        stop = threading.Event()
        thread = threading.Thread(target=drain, args=(app,), kwargs={"once": False, "stop": stop}, daemon=True)
        thread.start()
        started.append((thread, stop))
        return thread

    yield start
    for thread, stop in started:
        stop.set()
        thread.join(30)


def test_a_database_outage_gives_503_pages_the_worker_waits_it_out_and_no_grade_is_lost_or_doubled(
    make_tool, postgres, running_worker, worker_log, failed_passes
):
    tool = make_tool(DATABASE_URL=postgres.url, WORKER_BACKOFF_MAX_SECONDS=0.5, METRICS_TOKEN=HEALTH_TOKEN,
                     **FAST_RETRIES)
    gradebook = open_gradebook(tool, SandboxActions(tool))
    student = SandboxActions(tool).launch("student")
    page_url = student.url
    for n, sub in enumerate(STUDENTS):
        gradebook.queue(sub, 10.0 + n)
    worker = running_worker(tool.app)

    postgres.proxy.cut()
    before = len(failed_passes)

    page = student.http.get(page_url, timeout=15)
    assert page.status_code == 503, page.text[:300]
    assert page.headers["Retry-After"] == "30"
    assert "try again in a minute" in page.text and "Traceback" not in page.text
    health = healthz(tool)
    assert health.status_code == 503 and health.json()["checks"]["database"] == "unreachable"
    assert wait_for(lambda: len(failed_passes) >= before + 3, 30) < 30  # several worker passes meet the outage
    assert worker.is_alive(), "the worker must outlive a database outage"

    postgres.proxy.restore()

    assert wait_for(lambda: student.http.get(page_url, timeout=15).status_code == 200, 15) < 10
    assert wait_for(lambda: healthz(tool).status_code == 200, 15) < 10
    assert wait_for(lambda: all(r.status == "synced" for r in gradebook.rows()), 20) < 15
    # Every score reached the LMS exactly once.
    assert {sub: s["scoreGiven"] for sub, s in gradebook.lms_scores().items()} == {
        sub: 10.0 + n for n, sub in enumerate(STUDENTS)
    }
    accepted = [s["userId"] for s in gradebook.posts_received()]
    assert sorted(accepted) == sorted(STUDENTS)
    # The operator saw the outage once in the log, and /healthz shows the worker's recent successful pass.
    [failure] = worker_log.lines("worker pass failed")
    assert "database is unreachable" in failure
    assert wait_for(lambda: (healthz(tool).json()["worker"]["last_pass_seconds_ago"] or 99) < 5, 10) < 10


def test_the_database_going_away_in_the_middle_of_an_answer_gives_the_503_page_not_a_500(make_tool, postgres):
    # The launch was read when the request began; the outage meets the answer's write. The 503 page ends the
    # transaction, which expires the launch row, and nothing drawing the page or its headers may read it again.
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    assert submit_form(sandbox.launch("teacher"), "/content/demo").status_code == 200
    student = sandbox.launch("student")
    practise = tool.url(re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1))
    page = student.http.get(practise, timeout=10)
    page.http = student.http
    answer = served_answer(tool, page)

    def cut_at_the_answer(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO ITEM_RESPONSE"):
            postgres.proxy.cut()

    with tool.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", cut_at_the_answer)
    try:
        answered = submit_form(page, practise.split("/", 3)[3], answer=answer)
    finally:
        sa.event.remove(engine, "before_cursor_execute", cut_at_the_answer)

    assert answered.status_code == 503, answered.text[:300]
    assert answered.headers["Retry-After"] == "30"
    assert "try again in a minute" in answered.text and "Traceback" not in answered.text
    # Still the page of its LMS: framed by the platform the launch came from, as its other pages are.
    # (The frame-ancestors directive: the question page also names its script's nonce, which the 503 page has not.)
    def framed_by(response) -> str:
        return next(d for d in response.headers["Content-Security-Policy"].split("; ") if d.startswith("frame-"))

    assert framed_by(answered) == framed_by(page) != "frame-ancestors 'self'"

    postgres.proxy.restore()
    # The answer was not kept; sent again once the database is back, it is taken once.
    again = submit_form(page, practise.split("/", 3)[3], answer=answer)
    assert again.status_code == 200, again.text[:300]
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse)) == 1


def test_the_database_going_away_while_a_cookieless_tab_has_messages_waiting_gives_the_503_page_not_a_500(
    make_tool, postgres
):
    # A browser that keeps no cookies for the tool has its "saved" messages kept on its launch session, and each of
    # its requests writes what it did not show back there as it ends. When the database went away mid-page, that
    # last write met the outage too, in an after_request hook no error handler covers: a bare 500, not the 503 page.
    from tests.lti.test_platform_storage import StorageLaunch, _cookieless, _launch_id_and_token

    tool = make_tool(DATABASE_URL=postgres.url, DEFAULT_COURSE_PACK="demo")
    student = StorageLaunch(SandboxActions(tool)).confirm()
    launch_id, token = _launch_id_and_token(student)
    http, tab = _cookieless(), {"ts": StorageLaunch.tab_secret}
    posted = http.post(
        tool.url(f"/c/{launch_id}/reflect"),
        data={"lt": token, "answer_0": "Common denominators", **tab},
        allow_redirects=False,
        timeout=30,
    )
    assert posted.status_code == 303  # "your reflection is saved" waits for the next page

    def cut_at_the_page(conn, cursor, statement, *args):
        if "FROM reflection" in statement:  # the page took the waiting message, then reads the reflections
            postgres.proxy.cut()

    with tool.app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", cut_at_the_page)
    next_page = requests.compat.urljoin(posted.url, posted.headers["Location"])
    logged = logging.getLogger("lti_tool.web.pending_messages")
    lines = _Lines()
    logged.addHandler(lines)  # caplog would lose it: migrations reconfigure the root logger
    try:
        page = http.get(next_page, timeout=30)
    finally:
        logged.removeHandler(lines)
        sa.event.remove(engine, "before_cursor_execute", cut_at_the_page)

    assert page.status_code == 503, page.text[:300]
    assert page.headers["Retry-After"] == "30"
    assert "try again in a minute" in page.text and "Traceback" not in page.text
    # Lost with the outage, and the log says so (with no words of the message: they may name a person).
    [lost] = [line for line in lines.seen if "not kept" in line]
    assert "database is unreachable" in lost and "reflection" not in lost

    postgres.proxy.restore()
    again = http.get(next_page, timeout=30)
    assert again.status_code == 200, again.text[:300]


def test_a_launch_page_asked_for_during_a_database_outage_says_so_inside_its_lms_iframe(make_tool, postgres):
    # The outage began before the request: its launch was never read, so the page did not know its LMS, and only
    # 'self' could frame it: the browser refused it inside the LMS's iframe instead of showing "try again".
    tool = make_tool(DATABASE_URL=postgres.url)
    student = SandboxActions(tool).launch("student")
    framed_by = re.search(r"frame-ancestors ([^;]*)", student.headers["Content-Security-Policy"]).group(1)
    assert framed_by != "'self'"

    postgres.proxy.cut()
    page = student.http.get(student.url, timeout=15, headers={"X-Request-ID": "outage-check-1"})
    postgres.proxy.restore()

    assert page.status_code == 503 and "try again in a minute" in page.text
    assert re.search(r"frame-ancestors ([^;]*)", page.headers["Content-Security-Policy"]).group(1) == framed_by
    # Like every other answer, it names its request for the operator's log.
    assert page.headers["X-Request-ID"] == "outage-check-1"


def test_the_database_going_away_while_the_lms_answers_a_roster_sync_with_an_error_gives_a_page_not_a_500(
    make_tool, postgres, monkeypatch
):
    # The roster sync read the course (its transaction open), then asked the LMS, which was in maintenance; the
    # database failed over meanwhile. The view said so and redirected without another query, and the request's
    # end then rolled back on the dead connection: the error came from Flask-SQLAlchemy's teardown, after every
    # handler, and the teacher got the server's bare 500 instead of the redirect.
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    platform, taken = tool.platform, []
    original = platform.take_failure

    def maintenance_and_a_failover(*, token_endpoint: bool = False):
        if token_endpoint:
            return original(token_endpoint=True)
        taken.append(True)
        postgres.proxy.cut()  # the database goes while the LMS answers
        return 503

    monkeypatch.setattr(platform, "take_failure", maintenance_and_a_failover)
    action, fields = next((a, f) for a, f in map(lambda m: parse_form(m.group(0), teacher.url),
                                                 re.finditer(r"<form[^>]*>.*?</form>", teacher.text, re.S))
                          if a.endswith("/roster/sync"))
    try:
        synced = teacher.http.post(action, data=fields, allow_redirects=False, timeout=30)
    finally:
        postgres.proxy.restore()
    assert taken, "the sync never called the LMS"
    assert synced.status_code in (303, 503), synced.text[:300]
    assert "Traceback" not in synced.text
    if synced.status_code == 303:  # the course page says the LMS did not answer
        page = teacher.http.get(requests.compat.urljoin(action, synced.headers["Location"]), timeout=30)
        assert page.status_code == 200 and "roster" in page.text.lower(), page.text[:300]

    monkeypatch.setattr(platform, "take_failure", original)
    # Nothing to restart: the next sync reads the roster.
    again = submit_form(sandbox.launch("teacher"), "/roster/sync")
    assert again.status_code == 200 and "Roster updated" in again.text, again.text[:300]


def test_the_database_going_away_just_after_the_class_export_is_saved_still_sends_the_file(make_tool, postgres):
    # The export committed (its audit row) and returned the file; the commit expired the launch row, and the
    # response's Content-Security-Policy read its platform again: that query met the outage in an after_request
    # hook, past every error handler, and the teacher got a bare 500 for an export the audit log says was made.
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    page = sandbox.launch("teacher")
    framed_by = page.headers["Content-Security-Policy"]
    export = tool.url(re.search(r"/c/[^/]+", page.url).group(0) + "/class/export.csv")
    committed = []

    def gone_once_committed(session):
        if not committed:  # the export's own commit (the audit row): the database goes right after it
            committed.append(True)
            postgres.proxy.cut()

    sa.event.listen(db.session, "after_commit", gone_once_committed)
    try:
        response = page.http.get(export, timeout=30)
    finally:
        sa.event.remove(db.session, "after_commit", gone_once_committed)
        postgres.proxy.restore()
    assert committed, "the export committed nothing"
    assert response.status_code == 200, response.text[:300]
    assert response.text.startswith("Student,") and "Priya Shah" in response.text
    assert response.headers["Content-Security-Policy"] == framed_by  # still framed by its LMS only
    # No restart needed: the next pages are served once the pool has let the dropped connections go.
    assert wait_for(lambda: page.http.get(page.url, timeout=30).status_code == 200, 15) < 10
