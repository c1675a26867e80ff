"""A course's mastery model is fitted from its own answers: daily by the worker, by `pathways course fit`,
and when the teacher presses "Refit now"; until then it runs on the cold-start prior."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from lti_tool.course_cli import course_group
from lti_tool.jobs.worker import drain
from tests.support import submit_form


def _answers_from_earlier_students(tool, learners: int = 30, answers: int = 10) -> None:
    """Store the answers a class gave before (as the practice pages would have), on two items of one skill."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course, CourseContent, ItemResponse, Person

        course = db.session.scalars(db.select(Course)).one()
        pack = db.session.get(CourseContent, course.id).pack
        activity = next(a for a in pack["activities"] if len(a.get("items", [])) >= 2)
        easy, hard = activity["items"][:2]
        rng = random.Random(4)
        start = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=3)
        for n in range(learners):
            person = Person(platform_id=course.platform_id, sub=f"earlier-{n}", name=f"Earlier {n}")
            db.session.add(person)
            db.session.flush()
            for step in range(answers):
                item = easy if step % 2 else hard
                db.session.add(ItemResponse(
                    course_id=course.id, person_id=person.id, item_id=item["id"], skill_ids=item.get("skills") or
                    activity["skills"], answer="x", correct=rng.random() < (0.9 if item is easy else 0.3),
                    hints_used=0, source="practice", answered_at=start + timedelta(minutes=step)))
        db.session.commit()


def _stored(tool) -> dict | None:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import CourseContent

        return db.session.scalars(db.select(CourseContent)).one().model_params


def test_teacher_refits_the_model_from_the_course_s_answers_and_the_admin_and_worker_do_it_too(sandbox, tool):
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    home = teacher.http.get(teacher.url)
    link = next(part for part in home.text.split('"') if part.endswith("/teacher/model"))
    page = teacher.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = teacher.http
    assert "starting model" in page.text

    _answers_from_earlier_students(tool)
    # The button only asks: a large course's fit outlasts the web server's request timeout. No worker has run
    # here yet (as under `pathways run`), so the page does not promise minutes.
    asked = submit_form(page, "/teacher/model")
    assert asked.status_code == 200
    assert "background worker, which does refits, has not run in the last few minutes" in asked.text
    assert "You asked for a refit at" in asked.text
    assert _stored(tool) is None

    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 1
    refitted = page.http.get(asked.url)
    assert "revision 1" in refitted.text and "300 answers by 30 students" in refitted.text
    assert "You asked for a refit" not in refitted.text
    stored = _stored(tool)
    assert stored["revision"] == 1 and stored["fitted"]
    assert any(name.startswith("item:") for name in stored["params"]["weights"])  # its own items

    cli = CliRunner().invoke(course_group, ["fit", "--context", "math-7"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert cli.exit_code == 0, cli.output
    assert "revision 2" in cli.output and "300 answers by 30 learners" in cli.output

    # The worker refits only courses with answers newer than their last fit.
    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 0
    assert _stored(tool)["revision"] == 2


def test_the_worker_fits_a_course_with_new_answers_and_a_student_s_next_answer_uses_the_fit(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    _answers_from_earlier_students(tool)
    assert _stored(tool) is None  # a new course runs on the prior

    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 1

    stored = _stored(tool)
    assert stored["revision"] == 1 and stored["responses"] == 300
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course
        from lti_tool.services.mastery import model_for

        course_id = db.session.scalars(db.select(Course)).one().id
        assert dict(model_for(course_id).params.weights) == stored["params"]["weights"]


def test_a_fit_that_starts_while_another_is_being_stored_takes_the_next_revision(sandbox, tool):
    import threading

    import pytest

    from tests.races.support import LockWait

    submit_form(sandbox.launch("teacher"), "/content/demo")
    _answers_from_earlier_students(tool)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course

        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: PostgreSQL only (SQLite serialises writers and has no FOR UPDATE)")
        course_id = db.session.scalars(db.select(Course)).one().id
        fitting = LockWait(db.engine)
    storing = threading.Event()

    def another_fit_storing_revision_1() -> None:
        with tool.app.app_context():
            from lti_tool.models import CourseContent

            content = db.session.scalars(db.select(CourseContent).with_for_update()).one()
            content.model_params = {"revision": 1, "fitted_at": "2026-01-01T00:00:00", "params": {}}
            content.model_revision = 1
            db.session.flush()
            storing.set()
            try:
                fitting.start_and_wait()  # still storing when the second fit reads the revision, and waits
            finally:
                db.session.commit()

    other = threading.Thread(target=another_fit_storing_revision_1)
    other.start()
    assert storing.wait(20)
    with tool.app.app_context(), fitting.watching():
        from lti_tool.services.model_fitting import fit_course_model

        summary = fit_course_model(course_id, datetime.now(UTC).replace(tzinfo=None))
    other.join(30)
    assert not other.is_alive()

    assert summary.revision == 2
    assert _stored(tool)["revision"] == 2


def test_fits_stored_before_the_upgrade_keep_their_revision_and_the_course_its_content(sandbox, tool):
    """Migration 0018 moves which fit a course runs into its own columns (pages no longer decode the weights
    to tell) and, on SQLite, stores the two large documents last."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from lti_tool.extensions import db
    from lti_tool.models import Course
    from lti_tool.services.mastery import model_for
    from lti_tool.services.model_fitting import fit_course_model

    submit_form(sandbox.launch("teacher"), "/content/demo")
    _answers_from_earlier_students(tool)
    fitted_at = datetime(2026, 11, 30, 8, 15, 0)
    with tool.app.app_context():
        course_id = db.session.scalars(db.select(Course.id)).one()
        fit_course_model(course_id, fitted_at - timedelta(days=1))
        fit_course_model(course_id, fitted_at)
        weights = dict(model_for(course_id).params.weights)
        db.session.commit()
        downgrade(revision="0017")
        upgrade()
        row = db.session.execute(sa.text(
            "SELECT model_revision, model_fitted_at FROM course_content WHERE course_id = :id"), {"id": course_id}).one()
        if db.engine.dialect.name == "sqlite":
            columns = [c[1] for c in db.session.execute(sa.text("PRAGMA table_info(course_content)"))]
            assert columns[-2:] == ["model_params", "pack"]
        db.session.commit()
    assert row[0] == 2
    assert str(row[1]).startswith("2026-11-30 08:15:00")  # SQLite hands a raw text column back as text
    assert _stored(tool)["revision"] == 2
    with tool.app.app_context():
        assert model_for(course_id).params.weights == weights
    assert "Fractions" in sandbox.launch("student").text


def _model_page(tool, launched):
    """Open the Mastery model page from the course home, as the teacher does once the content is set up."""
    home = launched.http.get(launched.url)
    link = next(part for part in home.text.split('"') if part.endswith("/teacher/model"))
    page = launched.http.get(tool.url(link) if link.startswith("/") else link)
    page.http = launched.http
    return page


def test_a_teacher_whose_requested_refit_fails_is_told_when_until_a_later_fit_succeeds(make_tool):
    import re

    from tests.support import SandboxActions

    # The worker abandons a fit that outlasts PATHWAYS_MODEL_FIT_MAX_SECONDS, as it would a course too large for
    # the bound: here every fit outlasts it. Nothing is stored then.
    tool = make_tool(MODEL_FIT_MAX_SECONDS=1e-6)
    teacher = SandboxActions(tool).launch("teacher")
    submit_form(teacher, "/content/demo")
    _answers_from_earlier_students(tool)
    page = _model_page(tool, teacher)
    asked = submit_form(page, "/teacher/model")
    assert "You asked for a refit at" in asked.text

    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 0
    assert _stored(tool) is None
    failed = page.http.get(asked.url).text
    assert re.search(r"The refit you asked for failed at <time datetime=\"\d{4}-\d\d-\d\dT[\d:]+Z\"", failed)
    assert "You asked for a refit" not in failed and "right now" not in failed

    # Kept with the course, not in the cache: an emptied (flushed, restarted) cache does not lose the notice.
    with tool.app.app_context():
        from lti_tool.extensions import cache

        cache.clear()
    # The failed request is not tried again at every pass: the page keeps saying it failed.
    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 0
    assert "The refit you asked for failed at" in page.http.get(asked.url).text

    # Asking again shows the new request instead; it fails again, and the page says so again.
    again = submit_form(page, "/teacher/model")
    assert "You asked for a refit at" in again.text and "failed at" not in again.text
    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 0
    assert "The refit you asked for failed at" in page.http.get(asked.url).text

    # The administrator fits the course with `pathways course fit`, which the bound does not limit: the page shows
    # the new fit, and the failure is over.
    cli = CliRunner().invoke(course_group, ["fit", "--context", "math-7"], obj=ScriptInfo(create_app=lambda: tool.app))
    assert cli.exit_code == 0, cli.output
    done = page.http.get(asked.url).text
    assert "revision 1" in done and "failed at" not in done and "You asked for a refit" not in done


def test_a_teacher_s_request_survives_an_emptied_cache_and_is_fitted(make_tool):
    from tests.support import SandboxActions

    # Scheduled refits off: only the teacher's request gets the course fitted.
    tool = make_tool(MODEL_FIT_HOURS=0)
    teacher = SandboxActions(tool).launch("teacher")
    submit_form(teacher, "/content/demo")
    _answers_from_earlier_students(tool)
    page = _model_page(tool, teacher)
    assert "You asked for a refit at" in submit_form(page, "/teacher/model").text
    with tool.app.app_context():
        from lti_tool.extensions import cache

        cache.clear()  # as a flushed or restarted Redis would be
    assert "You asked for a refit at" in page.http.get(page.url).text
    assert drain(tool.app, once=True, max_seconds=30).models_fitted == 1
    done = page.http.get(page.url).text
    assert "revision 1" in done and "You asked for a refit" not in done


@pytest.mark.parametrize(("hours", "said"), [
    (0, "Scheduled refits are off: Pathways refits the model from the course's answers only when you ask for it"),
    (6, "Pathways refits the model from the course's new answers every 6 hours;"),
    (1, "Pathways refits the model from the course's new answers every 1 hour;"),
    (24, "Pathways refits the model from the course's new answers every 24 hours;"),
])
def test_the_model_page_says_how_often_pathways_refits_as_the_worker_is_set(make_tool, hours, said):
    import html

    from tests.support import SandboxActions

    tool = make_tool(MODEL_FIT_HOURS=hours)
    teacher = SandboxActions(tool).launch("teacher")
    submit_form(teacher, "/content/demo")
    page = _model_page(tool, teacher)
    shown = " ".join(html.unescape(page.text).split())
    assert said in shown
    assert "every day" not in shown


def test_refit_now_with_the_database_away_asks_the_teacher_to_try_again(make_tool):
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from tests.support import SandboxActions

    tool = make_tool()
    teacher = SandboxActions(tool).launch("teacher")
    submit_form(teacher, "/content/demo")
    page = _model_page(tool, teacher)
    with tool.app.app_context():
        engine = db.engine

    def away(conn, cursor, statement, parameters, context, executemany):
        # The database goes away just as the request is written (the page before it was read fine).
        if "refit_requested_at" in statement and statement.lstrip().upper().startswith("UPDATE"):
            raise sa.exc.OperationalError(statement, parameters, ConnectionError("server closed the connection"))

    sa.event.listen(engine, "before_cursor_execute", away)
    try:
        asked = submit_form(page, "/teacher/model")
    finally:
        sa.event.remove(engine, "before_cursor_execute", away)
    assert asked.status_code == 503 and asked.headers["Retry-After"] == "30"
    assert "try again in a minute" in asked.text and "Traceback" not in asked.text
    # Back: the page works, nothing was asked, and asking again is taken.
    assert "You asked for a refit" not in page.http.get(page.url).text
    assert "You asked for a refit at" in submit_form(page, "/teacher/model").text
