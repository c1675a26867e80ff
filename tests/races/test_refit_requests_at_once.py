"""Teachers press "Refit now" at the same instant, or while the worker fits another course.

The requests were one shared cache entry ({course: requested at}) that each request, and the worker dropping a
done one, read and wrote back whole: two writers at once kept only the last one's copy, so a request was lost
(and with scheduled refits off, that course was never fitted). A request is now a time on the course's content row,
set by one UPDATE that only moves it later. Run on the database of the test session: SQLite by default, and
PostgreSQL with PATHWAYS_TEST_DATABASE_URL set.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs.worker import drain
from lti_tool.models import Course, CourseContent
from lti_tool.services import model_fitting
from tests.support import SandboxActions, submit_form, teacher_of_another_course, teacher_with_demo_pack


@pytest.fixture
def tool(make_tool):
    """A tool with scheduled refits off: only requests are fitted."""
    return make_tool(MODEL_FIT_HOURS=0)


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


def _writes_of_requests(tool, hold) -> None:
    """Call hold() before every statement that writes a refit column (in any thread), until the test ends."""
    with tool.app.app_context():
        engine = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("UPDATE", "INSERT")) and "refit_" in statement:
            hold()

    sa.event.listen(engine, "before_cursor_execute", before)
    return lambda: sa.event.remove(engine, "before_cursor_execute", before)


@pytest.mark.parametrize("same_course", [False, True], ids=["two-courses", "one-course"])
def test_two_teachers_pressing_refit_now_at_once_both_get_their_course_fitted(tool, same_course):
    math, science = _two_courses(tool)
    if same_course:  # a co-teacher of the math course presses at the same instant as its teacher
        sandbox = SandboxActions(tool)
        tool.platform.add_user("co-teacher", roles=["Instructor"], name="Ana Ruiz", context_id="math-7")
        science = _model_page(tool, sandbox.launch("co-teacher"))
    # Each request's first write waits for the other request's: both have read whatever they read before either
    # writes, the interleaving that lost one of the two requests.
    both = threading.Barrier(2)
    held: set[int] = set()  # the two requests' threads, each held once (the worker's writes later are not)
    lock = threading.Lock()

    def together():
        with lock:
            hold = len(held) < 2 and threading.get_ident() not in held
            if hold:
                held.add(threading.get_ident())
        if hold:
            both.wait(10)

    stop_holding = _writes_of_requests(tool, together)
    answers: dict[str, object] = {}

    def press(name, page):
        answers[name] = submit_form(page, "/teacher/model")

    presses = [threading.Thread(target=press, args=(name, page)) for name, page in (("math", math),
                                                                                   ("science", science))]
    try:
        for thread in presses:
            thread.start()
        for thread in presses:
            thread.join(30)
    finally:
        stop_holding()
    assert len(held) == 2  # both requests did write, at once
    assert {name: answer.status_code for name, answer in answers.items()} == {"math": 200, "science": 200}
    assert all("You asked for a refit at" in answer.text for answer in answers.values())

    stats = drain(tool.app, once=True, max_seconds=60)
    assert _revisions(tool) == ({"math-7": 1, "science-8": None} if same_course else {"math-7": 1, "science-8": 1})
    assert stats.models_fitted == (1 if same_course else 2)
    for page in (math, science):
        assert "You asked for a refit" not in page.http.get(page.url).text


def test_a_request_made_while_the_worker_fits_another_course_is_fitted_too(tool, monkeypatch):
    math, science = _two_courses(tool)
    assert "You asked for a refit at" in submit_form(math, "/teacher/model").text
    original = model_fitting.fit_course
    asked: list[object] = []

    def science_asks_meanwhile(histories, **options):
        # The worker's fit thread has read the open requests (only the math course's) and is fitting the math
        # course: the science teacher presses "Refit now" now. No transaction or lock is held while a fit computes.
        if threading.current_thread().name == "pathways-model-fit" and not asked:
            asked.append(submit_form(science, "/teacher/model"))
        return original(histories, **options)

    monkeypatch.setattr(model_fitting, "fit_course", science_asks_meanwhile)
    stats = drain(tool.app, once=True, max_seconds=60)
    assert len(asked) == 1 and "You asked for a refit at" in asked[0].text
    assert _revisions(tool) == {"math-7": 1, "science-8": 1}
    assert stats.models_fitted == 2


def test_a_request_that_arrives_late_with_an_earlier_time_does_not_undo_a_later_one(tool):
    math, _ = _two_courses(tool)
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        edited = db.session.get(CourseContent, course_id).updated_at
        later = datetime(2026, 12, 3, 10, 0, 0, 500)
        model_fitting.request_refit(course_id, later)
        # A slower web server's request, stamped earlier, writes after it: a fit begun between the two would
        # otherwise close the later one.
        model_fitting.request_refit(course_id, later - timedelta(seconds=1))
        db.session.remove()
        assert model_fitting.refit_status(course_id) == (later, None)
        assert model_fitting.open_refit_requests() == [course_id]
        # A request is not an edit of the course.
        assert db.session.get(CourseContent, course_id).updated_at == edited
        db.session.remove()
