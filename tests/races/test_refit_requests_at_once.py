"""Teachers of two courses press "Refit now" at the same instant, or while the worker finishes another fit.

The requests were one shared cache entry ({course: requested at}) that each request, and the worker dropping a
done one, read and wrote back whole: two writers at once kept only the last one's copy, so a request was lost
(and with scheduled refits off, that course was never fitted). Each course's request is now its own entry,
written once and never rewritten. Run on each cache Pathways supports: the instance folder's files (the
default), the in-process cache, and Redis when PATHWAYS_TEST_REDIS_URL is set.
"""

from __future__ import annotations

import os
import threading

import pytest
import redis
import sqlalchemy as sa

from lti_tool.extensions import cache, db
from lti_tool.jobs.worker import drain
from lti_tool.models import Course, CourseContent
from tests.support import SandboxActions, submit_form, teacher_of_another_course, teacher_with_demo_pack

TEST_REDIS_URL = os.environ.get("PATHWAYS_TEST_REDIS_URL") or ""


@pytest.fixture(params=["files", "in-process", "redis"])
def tool(request, make_tool):
    """A tool with scheduled refits off (only requests are fitted), on one of the caches."""
    settings: dict = {"MODEL_FIT_HOURS": 0}
    if request.param == "in-process":
        settings["IN_PROCESS_CACHE"] = True
    elif request.param == "redis":
        if not TEST_REDIS_URL:
            pytest.skip("needs Redis: set PATHWAYS_TEST_REDIS_URL=redis://127.0.0.1:6379/<n>")
        client = redis.Redis.from_url(TEST_REDIS_URL)
        client.flushdb()
        request.addfinalizer(client.flushdb)
        request.addfinalizer(client.close)
        settings["REDIS_URL"] = TEST_REDIS_URL
    return make_tool(**settings)


def _model_page(tool, launched):
    link = next(part for part in launched.text.split('"') if part.endswith("/teacher/model"))
    page = launched.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = launched.http
    return page


def _two_courses(tool):
    """Return the model pages of the math teacher and of the science teacher (another course on the LMS)."""
    sandbox = SandboxActions(tool)
    math = _model_page(tool, teacher_with_demo_pack(sandbox))
    science = _model_page(tool, teacher_of_another_course(sandbox))
    return math, science


def _revisions(tool) -> dict[str, int | None]:
    with tool.app.app_context():
        found = dict(db.session.execute(sa.select(Course.context_id, CourseContent.model_revision)
                                        .join(CourseContent, CourseContent.course_id == Course.id)).all())
        db.session.remove()
    return found


def _cache_backend(tool):
    with tool.app.app_context():
        return cache.cache


def _refit_entry(key: str) -> bool:
    return key.startswith("model-refit")


def test_two_teachers_pressing_refit_now_at_once_both_get_their_course_fitted(tool, monkeypatch):
    math, science = _two_courses(tool)
    backend = _cache_backend(tool)
    original = backend.set
    # Each request's first write of a refit entry waits for the other request's: both have read whatever they
    # read before either writes, the interleaving that lost one of the two requests.
    both = threading.Barrier(2)
    held: set[int] = set()  # the two requests' threads, each held once (the worker's writes later are not)
    lock = threading.Lock()

    def together(key, *args, **kwargs):
        with lock:
            hold = _refit_entry(key) and len(held) < 2 and threading.get_ident() not in held
            if hold:
                held.add(threading.get_ident())
        if hold:
            both.wait(10)
        return original(key, *args, **kwargs)

    monkeypatch.setattr(backend, "set", together)
    answers: dict[str, object] = {}

    def press(name, page):
        answers[name] = submit_form(page, "/teacher/model")

    presses = [threading.Thread(target=press, args=(name, page)) for name, page in (("math", math),
                                                                                   ("science", science))]
    for thread in presses:
        thread.start()
    for thread in presses:
        thread.join(30)
    assert {name: answer.status_code for name, answer in answers.items()} == {"math": 200, "science": 200}
    assert all("You asked for a refit at" in answer.text for answer in answers.values())

    stats = drain(tool.app, once=True, max_seconds=60)
    assert _revisions(tool) == {"math-7": 1, "science-8": 1}
    assert stats.models_fitted == 2
    for page in (math, science):
        assert "You asked for a refit" not in page.http.get(page.url).text


def test_a_request_made_while_the_worker_closes_another_course_s_is_fitted_too(tool, monkeypatch):
    math, science = _two_courses(tool)
    assert "You asked for a refit at" in submit_form(math, "/teacher/model").text
    backend = _cache_backend(tool)
    original = backend.set
    asked: list[object] = []

    def science_asks_meanwhile(key, *args, **kwargs):
        # The worker's fit thread, done with the math course, writes what it read of the requests back: the
        # science teacher presses "Refit now" between that read and this write.
        if _refit_entry(key) and threading.current_thread().name == "pathways-model-fit" and not asked:
            asked.append(submit_form(science, "/teacher/model"))
        return original(key, *args, **kwargs)

    monkeypatch.setattr(backend, "set", science_asks_meanwhile)
    stats = drain(tool.app, once=True, max_seconds=60)
    assert len(asked) == 1 and "You asked for a refit at" in asked[0].text
    assert _revisions(tool) == {"math-7": 1, "science-8": 1}
    assert stats.models_fitted == 2
