"""Redis goes down: open pages keep working, new logins get a plain 503, and everything recovers on its own."""

from __future__ import annotations

import re
import threading
import time

import requests
import sqlalchemy as sa

from lti_tool.extensions import cache, db
from lti_tool.jobs.worker import drain
from lti_tool.models import ItemResponse
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, served_answer, submit_form


def wait_for(check, seconds: float) -> float:
    """Poll check() until it is true; return how long that took."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, "did not recover in time"
        time.sleep(0.1)
    return time.monotonic() - started


def practise_once(tool, student) -> requests.Response:
    """The student who already launched opens a question and answers it; return the answer's response."""
    practise = tool.url(re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1))
    page = student.http.get(practise, timeout=10)
    assert page.status_code == 200, page.text[:300]
    page.http = student.http
    return submit_form(page, practise.split("/", 3)[3], answer=served_answer(tool, page))


HEALTH_TOKEN = "faults-health-token"


def healthz(tool) -> requests.Response:
    """/healthz as an operator's monitor reads it (the figures need the metrics token; tools here set HEALTH_TOKEN)."""
    return requests.get(tool.url("/healthz"), headers={"Authorization": f"Bearer {HEALTH_TOKEN}"}, timeout=10)


def test_with_redis_down_open_pages_keep_working_new_logins_wait_a_minute_and_all_recovers(make_tool, redis_server):
    tool = make_tool(REDIS_URL=redis_server.url)
    sandbox = SandboxActions(tool)
    teacher = sandbox.launch("teacher")
    assert submit_form(teacher, "/content/demo").status_code == 200
    student = sandbox.launch("student")
    assert healthz(tool).status_code == 200

    redis_server.proxy.cut()

    health = healthz(tool)
    assert health.status_code == 503
    assert health.json()["checks"] == {"database": "ok", "cache": "unreachable"}
    # The student who already launched goes on practising, and the answer is kept.
    answered = practise_once(tool, student)
    assert answered.status_code == 200, answered.text[:300]
    # Someone opening Pathways from the LMS now gets a plain page asking to come back shortly.
    login = requests.get(tool.platform.start_launch(sandbox.sub("student")), allow_redirects=False, timeout=10)
    assert login.status_code == 503 and login.headers["Retry-After"] == "30"
    assert "try again in a minute" in login.text and "Traceback" not in login.text

    redis_server.proxy.restore()

    assert wait_for(lambda: healthz(tool).status_code == 200, 10) < 5
    again = sandbox.launch("student")
    assert again.status_code == 200 and "Your next steps" in again.text
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ItemResponse)) == 1


def test_with_redis_down_a_teacher_s_refit_request_is_kept_and_shown(make_tool, redis_server):
    # The request is a column of the course's content, not a cache entry: it was refused with a 503 here.
    tool = make_tool(REDIS_URL=redis_server.url)
    teacher = SandboxActions(tool).launch("teacher")
    assert submit_form(teacher, "/content/demo").status_code == 200
    link = next(part for part in teacher.http.get(teacher.url).text.split('"') if part.endswith("/teacher/model"))
    page = teacher.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = teacher.http

    redis_server.proxy.cut()

    asked = submit_form(page, "/teacher/model")
    assert asked.status_code == 200, asked.text[:300]
    assert "You asked for a refit at" in asked.text

    redis_server.proxy.restore()
    assert "You asked for a refit at" in page.http.get(page.url).text


def test_with_redis_down_the_worker_posts_grades_and_its_housekeeping_resumes_when_redis_is_back(make_tool,
                                                                                                redis_server):
    tool = make_tool(**FAST_RETRIES, REDIS_URL=redis_server.url)
    book = open_gradebook(tool, SandboxActions(tool))
    book.queue("student-1", 10.0)
    book.drain()
    with tool.app.app_context():
        cache.clear()  # no access token kept, no housekeeping marker set
    redis_server.proxy.cut()
    book.queue("student-3", 70.0)
    stop = threading.Event()
    worker = threading.Thread(target=drain, args=(tool.app,), kwargs={"once": False, "stop": stop})
    worker.start()
    try:
        # The database and the LMS are fine: the grade lands with a token the worker did not get to keep.
        wait_for(lambda: "student-3" in book.lms_scores(), 30)
        assert book.lms_scores()["student-3"]["scoreGiven"] == 70.0
        assert book.rows()[-1].status == "synced"

        redis_server.proxy.restore()

        # Without a restart, the next pass finds the cache again: the model-fit check runs and marks it.
        with tool.app.app_context():
            wait_for(lambda: cache.get("model-fit-ran") == 1, 30)
        book.queue("student-4", 40.0)
        wait_for(lambda: "student-4" in book.lms_scores(), 30)
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()


def test_with_redis_hanging_the_worker_posts_grades_without_waiting_out_the_cache_for_each_one(make_tool,
                                                                                             redis_server):
    # A stopped Redis answers nothing: every cache call waits PATHWAYS_REDIS_TIMEOUT_SECONDS before it counts as
    # down. Once the worker met that, its posts ask the LMS for a token instead of waiting again for each grade.
    tool = make_tool(**FAST_RETRIES, REDIS_URL=redis_server.url, REDIS_TIMEOUT_SECONDS=0.5)
    sandbox = SandboxActions(tool)
    students = [f"student-{n}" for n in range(1, 9)]
    for sub in students[5:]:
        tool.platform.add_user(sub, roles=["Learner"], name=sub.title(), context_id="math-7")
    book = open_gradebook(tool, sandbox)
    with tool.app.app_context():
        cache.clear()  # no access token kept
    redis_server.proxy.hang()
    try:
        for n, sub in enumerate(students):
            book.queue(sub, 50.0 + n)
        started = time.monotonic()
        book.drain(concurrency=1)
        took = time.monotonic() - started
        # One wait for the token cache and two per pass for the housekeeping markers, not two for each grade
        # (about 20 s for these eight).
        assert took < 8, f"the worker waited {took:.1f} s on a hanging cache for eight grades"
        assert {sub: s["scoreGiven"] for sub, s in book.lms_scores().items()} == {
            sub: 50.0 + n for n, sub in enumerate(students)
        }
    finally:
        redis_server.proxy.restore()


def test_show_a_hint_keeps_what_was_typed_in_redis_and_still_shows_the_hint_while_redis_is_down(make_tool, redis_server):
    # What a student typed before "Show a hint" is kept in the cache for the launch (services/typed_answers.py), not
    # in the page's address. With Redis cut, the hint's page still comes (the field empty), never an error.
    from tests.web.test_page_defects import _practice_with_hints

    tool = make_tool(REDIS_URL=redis_server.url)
    sandbox = SandboxActions(tool)
    page, skill_id, item = _practice_with_hints(sandbox, tool, "text")
    hinted = submit_form(page, f"/practice/{skill_id}", answer="about 3/4", show_hint="1")
    assert hinted.status_code == 200 and 'value="about 3/4"' in hinted.text and "answer=" not in hinted.url
    assert 'value="about 3/4"' in hinted.http.get(hinted.url, timeout=10).text  # read back from Redis

    redis_server.proxy.cut()
    again = submit_form(hinted, f"/practice/{skill_id}", answer="maybe 0.75", show_hint="1")
    assert again.status_code == 200, again.text[:300]
    assert 'name="hints" value="2"' in again.text and "maybe 0.75" not in again.url
    assert 'value="maybe 0.75"' not in again.text  # not kept while Redis is down: the field comes back empty
    redis_server.proxy.restore()
