"""A long mastery-model fit runs beside the grade posts, never in front of them, and one fit per course at a time."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.course_cli import course_group
from lti_tool.extensions import cache
from lti_tool.jobs import worker
from lti_tool.jobs.worker import DrainStats, drain
from lti_tool.services import model_fitting
from tests.races.support import hold_first_call
from tests.services.test_model_fitting import _answers_from_earlier_students, _stored
from tests.support import SandboxActions, submit_form, teacher_of_another_course

from .gradebook import FAST_RETRIES, Gradebook, open_gradebook


def wait_for(check, seconds: float) -> None:
    ends = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < ends, "not in time"
        time.sleep(0.05)


@pytest.fixture
def course(make_tool) -> tuple[Gradebook, SandboxActions]:
    """A course with a gradebook column in the sandbox LMS and 300 earlier answers: due for its first fit."""
    tool = make_tool(**FAST_RETRIES)
    sandbox = SandboxActions(tool)
    book = open_gradebook(tool, sandbox)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    _answers_from_earlier_students(tool)
    return book, sandbox


class Worker:
    """`pathways worker` (drain, not once) in a thread of the test, stopped as SIGINT/SIGTERM handling would."""

    def __init__(self, app) -> None:
        self.stop = threading.Event()
        self.stats: DrainStats | None = None
        # A daemon, so a test that fails while a fit is held does not keep pytest from exiting.
        self.thread = threading.Thread(target=self._run, args=(app,), daemon=True)
        self.thread.start()

    def _run(self, app) -> None:
        self.stats = drain(app, once=False, stop=self.stop)

    def close(self) -> DrainStats:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        assert self.stats is not None
        return self.stats


def _look_for_due_courses_now(tool) -> None:
    """Stand for MODEL_FIT_CHECK_SECONDS passing: the next pass of any worker looks for due courses."""
    with tool.app.app_context():
        cache.delete("model-fit-ran")


def test_grades_are_posted_while_the_same_worker_fits_a_course_and_the_fit_is_stored_only_at_its_end(
        course, monkeypatch):
    book, _ = course
    # The fit has computed the course's weights and is about to store them: an ASSISTments-sized course
    # spends about 95 s to get here.
    reached, go = hold_first_call(monkeypatch, model_fitting, "fit_course")
    running = Worker(book.tool.app)
    try:
        assert reached.wait(20)
        book.queue("student-1", 80.0)
        wait_for(lambda: "student-1" in book.lms_scores(), 10)
        assert book.lms_scores()["student-1"]["scoreGiven"] == 80.0
        assert _stored(book.tool) is None  # nothing half-written while the fit runs
        go.set()
        wait_for(lambda: _stored(book.tool) is not None, 20)
    finally:
        go.set()
        stats = running.close()
    assert stats.posted == 1 and stats.models_fitted == 1
    assert _stored(book.tool)["revision"] == 1


def test_a_fit_that_fails_is_tried_again_at_a_later_check_and_the_worker_keeps_posting(course, monkeypatch):
    book, _ = course
    original = model_fitting.fit_course
    calls: list[int] = []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise MemoryError("the first fit runs out of memory")
        return original(*args, **kwargs)

    monkeypatch.setattr(model_fitting, "fit_course", fails_once)
    running = Worker(book.tool.app)
    try:
        wait_for(lambda: len(calls) == 1, 20)
        book.queue("student-2", 30.0)
        wait_for(lambda: "student-2" in book.lms_scores(), 10)
        assert _stored(book.tool) is None
        _look_for_due_courses_now(book.tool)
        wait_for(lambda: _stored(book.tool) is not None, 20)
        book.queue("student-3", 60.0)
        wait_for(lambda: "student-3" in book.lms_scores(), 10)
    finally:
        stats = running.close()
    assert len(calls) == 2 and stats.models_fitted == 1 and stats.posted == 2
    assert not stats.errors  # a failed fit is the course's, not a failed pass that makes grade posts back off
    assert _stored(book.tool)["revision"] == 1 and _stored(book.tool)["fitted"]


def test_two_workers_never_fit_one_course_at_once_and_the_teacher_is_told_a_fit_is_running(course, monkeypatch):
    book, sandbox = course
    tool = book.tool
    reached, go = hold_first_call(monkeypatch, model_fitting, "fit_course")
    rounds_ended = _count_rounds_ended(monkeypatch)
    first = Worker(tool.app)
    second = None
    try:
        assert reached.wait(20)
        # Another worker's pass looks for due courses while the first is still fitting this one.
        _look_for_due_courses_now(tool)
        second = Worker(tool.app)
        with tool.app.app_context():
            wait_for(lambda: cache.get("model-fit-ran") == 1, 10)
        # Its round has ended, having found the course claimed (on the old code: fitted it meanwhile); the first
        # worker's round is still held in its fit.
        wait_for(lambda: rounds_ended() == 1, 20)

        teacher = sandbox.launch("teacher")
        link = next(part for part in teacher.text.split('"') if part.endswith("/teacher/model"))
        page = teacher.http.get(tool.url(link) if link.startswith("/") else link)
        page.http = teacher.http
        refit = submit_form(page, "/teacher/model")
        assert refit.status_code == 200
        assert "being refitted right now" in refit.text

        cli = CliRunner().invoke(course_group, ["fit", "--context", book.context_id],
                                 obj=ScriptInfo(create_app=lambda: tool.app))
        assert cli.exit_code == 1 and "being refitted right now" in cli.output

        assert _stored(tool) is None
        go.set()
        wait_for(lambda: _stored(tool) is not None, 20)
    finally:
        go.set()
        stats = [w.close() for w in (first, second) if w is not None]
    assert [s.models_fitted for s in stats] == [1, 0]
    assert _stored(tool)["revision"] == 1  # one fit, not two one after the other


def _count_rounds_ended(monkeypatch):
    """Count the workers' rounds of fits that have ended (in any worker); return a function reading the count."""
    ended: list[int] = []
    original = worker._ModelFits._round

    def counted(self, scheduled: bool) -> None:
        try:
            original(self, scheduled)
        finally:
            ended.append(1)

    monkeypatch.setattr(worker._ModelFits, "_round", counted)
    return lambda: len(ended)


def _model_page(tool, sandbox: SandboxActions):
    teacher = sandbox.launch("teacher")
    link = next(part for part in teacher.text.split('"') if part.endswith("/teacher/model"))
    page = teacher.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = teacher.http
    return page


def test_a_teacher_s_refit_is_done_by_the_running_worker_at_its_next_pass_not_in_the_request(course, monkeypatch):
    book, sandbox = course
    tool = book.tool
    running = Worker(tool.app)
    try:
        wait_for(lambda: _stored(tool) is not None, 20)  # the scheduled fit; the next look is ten minutes off
        # The worker's fit has computed the weights and is about to store them: about 95 s for a large course.
        reached, go = hold_first_call(monkeypatch, model_fitting, "fit_course")
        page = _model_page(tool, sandbox)
        asked = submit_form(page, "/teacher/model")
        assert asked.status_code == 200
        assert "Pathways will refit this course&#39;s model in the next few minutes" in asked.text
        assert reached.wait(20)  # the worker's next pass took the request, without waiting for the schedule
        assert _stored(tool)["revision"] == 1
        shown = page.http.get(asked.url).text
        assert "refitting this course's model right now" in shown
        again = submit_form(page, "/teacher/model")
        assert "being refitted right now" in again.text  # no second fit queued behind the running one
        go.set()
        wait_for(lambda: _stored(tool)["revision"] == 2, 20)
        wait_for(lambda: "right now" not in page.http.get(asked.url).text, 10)  # the round let the course go
        done = page.http.get(asked.url).text
        assert "revision 2" in done and "You asked for a refit" not in done and "right now" not in done
    finally:
        go.set()
        stats = running.close()
    assert stats.models_fitted == 2 and _stored(tool)["revision"] == 2


def _answers_in(tool, context_id: str) -> None:
    """Give a course earlier students' answers (as its practice pages would have), so it is due for a fit."""
    from datetime import UTC, datetime, timedelta

    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course, CourseContent, ItemResponse, Person

        course = db.session.scalars(db.select(Course).where(Course.context_id == context_id)).one()
        activity = next(a for a in db.session.get(CourseContent, course.id).pack["activities"] if a.get("items"))
        item = activity["items"][0]
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        for n in range(5):
            person = Person(platform_id=course.platform_id, sub=f"{context_id}-earlier-{n}", name=f"Earlier {n}")
            db.session.add(person)
            db.session.flush()
            db.session.add(ItemResponse(
                course_id=course.id, person_id=person.id, item_id=item["id"], skill_ids=item.get("skills") or
                activity["skills"], answer="x", correct=n % 2 == 0, hints_used=0, source="practice",
                answered_at=start + timedelta(minutes=n)))
        db.session.commit()


def test_a_course_a_teacher_asked_for_is_fitted_before_the_scheduled_ones(course, monkeypatch):
    book, sandbox = course
    tool = book.tool
    science = teacher_of_another_course(sandbox)
    _answers_in(tool, "science-8")  # both courses are due; the schedule takes the math course (older id) first
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course

        names = dict(db.session.execute(db.select(Course.id, Course.context_id)).all())
    fitted: list[str] = []
    original = model_fitting._fit_claimed

    def recorded(course_id, *args, **kwargs):
        fitted.append(names[course_id])
        return original(course_id, *args, **kwargs)

    monkeypatch.setattr(model_fitting, "_fit_claimed", recorded)
    link = next(part for part in science.text.split('"') if part.endswith("/teacher/model"))
    page = science.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = science.http
    asked = submit_form(page, "/teacher/model")
    assert "You asked for a refit at" in asked.text and fitted == []

    stats = worker.drain(tool.app, once=True, max_seconds=60)
    assert fitted == ["science-8", "math-7"] and stats.models_fitted == 2
    assert "You asked for a refit" not in page.http.get(asked.url).text


def test_a_stopped_worker_abandons_its_fit_and_stores_nothing(course, monkeypatch):
    book, _ = course
    started = threading.Event()
    original = model_fitting.fit_course

    def slow_fit(histories, **options):
        # As the fit's own loop would between learners: a huge course, still fitting when the worker stops.
        keep_going = options["keep_going"]
        started.set()
        while keep_going():
            time.sleep(0.01)
        return original(histories, **options)

    monkeypatch.setattr(model_fitting, "fit_course", slow_fit)
    running = Worker(book.tool.app)
    assert started.wait(20)
    began = time.monotonic()
    stats = running.close()
    assert time.monotonic() - began < worker.FIT_STOP_WAIT_SECONDS + 5
    wait_for(lambda: not any(t.name == "pathways-model-fit" for t in threading.enumerate()), 5)
    assert stats.models_fitted == 0 and _stored(book.tool) is None


def test_a_database_error_reading_the_refit_requests_does_not_fail_the_worker_s_pass(course, monkeypatch):
    import sqlalchemy as sa

    book, _ = course
    original = model_fitting.open_refit_requests
    calls: list[int] = []

    def flaky() -> list[int]:
        calls.append(1)
        if len(calls) == 1:  # the pass's look, after the grades: the database drops the connection
            raise sa.exc.OperationalError("SELECT course_content", {}, ConnectionError("server closed the connection"))
        return original()

    monkeypatch.setattr(model_fitting, "open_refit_requests", flaky)
    book.queue("student-1", 10.0)
    stats = worker.drain(book.tool.app, once=True, max_seconds=60)
    # The grade went out, the pass did not fail (its other chores ran), and the scheduled fit still ran.
    assert calls and stats.errors == {} and any(post.get("scoreGiven") == 10.0 for post in book.posts_received())
    assert stats.models_fitted == 1 and _stored(book.tool)["revision"] == 1
