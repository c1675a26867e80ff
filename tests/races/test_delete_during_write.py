"""A teacher deletes a student's data while one of the student's requests is already past its launch check.

The write (a goal, a reflection, evidence with a file) used to commit after the delete: its rows, its stored file
and its grade post outlived the deletion, for a person with no enrolment, where no erase looked. Now the delete
takes the learner's lock, and a writer that gets the lock after it finds the enrolment gone and saves nothing.
"""
from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import (
    Enrollment,
    Evidence,
    LaunchSession,
    Reflection,
    ScoreOutbox,
    SkillMastery,
    StudentGoal,
)
from lti_tool.models.base import utcnow
from lti_tool.services import evidence, goals, privacy, reflections
from lti_tool.services.errors import NotFound
from tests.races.support import DemoCourse, LockWait, demo_course, hold_first_call
from tests.web.test_evidence_files import tiny_png


def _goal(course_id: int, student: int):
    return lambda: goals.add_goal(course_id, student, title="Finish fractions", why="", by_date="",
                                  skill_ids=[], now=utcnow())


def _reflection(course_id: int, student: int):
    return lambda: reflections.write_reflection(course_id, student,
                                                {reflections.REFLECTION_PROMPTS[0]: "It went well."}, now=utcnow())


def _evidence(course_id: int, student: int):
    def submit():
        skill_id = goals.course_skills(course_id)[0][0]
        return evidence.submit_evidence(course_id, student, skill_id=skill_id, kind="project", url="",
                                        text="My work", now=utcnow(), upload=("work.png", tiny_png()))
    return submit


# Each writer's first step, which every version of it runs before writing: the test holds the writer there.
WRITERS = {"goal": (_goal, goals, "_goal_fields"), "reflection": (_reflection, reflections, "require_pack"),
           "evidence": (_evidence, evidence, "course_skill_names")}


def _hold_writer_after(monkeypatch, module, step: str) -> tuple[threading.Event, threading.Event]:
    """Hold the thread named "writer" once `module.step` returns: (reached, go) events for the test to use."""
    original = getattr(module, step)
    reached, go = threading.Event(), threading.Event()

    def hold(*args, **kwargs):
        found = original(*args, **kwargs)
        if threading.current_thread().name == "writer":
            reached.set()
            go.wait(10)
        return found

    monkeypatch.setattr(module, step, hold)
    return reached, go


def _teacher_deletes_then_writer_goes_on(tool, teacher: int, student: int, go: threading.Event,
                                         thread: threading.Thread) -> None:
    """The teacher deletes the student's data while the writer is held; then the writer goes on and ends."""
    with tool.app.app_context():
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
        privacy.delete_student(launch, student, confirmed=True, now=utcnow())
        db.session.remove()
    go.set()
    thread.join(30)
    assert not thread.is_alive()


def _start_writer(tool, write, outcome: list[object]) -> threading.Thread:
    """Run `write` in a thread named "writer" with its own app context; what it returns or raises goes to outcome."""
    def run():
        with tool.app.app_context():
            try:
                outcome.append(write())
            except Exception as exc:  # noqa: BLE001 - the test reports what the writer met
                db.session.rollback()
                outcome.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name="writer")
    thread.start()
    return thread


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_a_write_already_under_way_when_the_teacher_deletes_the_student_leaves_nothing_behind(
        sandbox, tool, monkeypatch, writer):
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    make, module, step = WRITERS[writer]
    reached, go = _hold_writer_after(monkeypatch, module, step)
    outcome: list[object] = []
    thread = _start_writer(tool, lambda: make(course_id, student)(), outcome)
    assert reached.wait(10)
    files_before = _files(tool)
    _teacher_deletes_then_writer_goes_on(tool, teacher, student, go, thread)

    assert len(outcome) == 1
    assert isinstance(outcome[0], NotFound), repr(outcome[0])[:200]
    assert "Your data in this course has been deleted, so this was not saved." in outcome[0].message
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == student))
                for model in (Enrollment, StudentGoal, Reflection, Evidence, ScoreOutbox)}
        db.session.remove()
    assert left == dict.fromkeys(left, 0), left
    assert _files(tool) == files_before  # the writer's stored file went with its refused row


def _files(tool) -> set[str]:
    root = tool.app.config.get("EVIDENCE_DIR") or os.path.join(tool.app.instance_path, "evidence")
    return {os.path.join(d, f) for d, _, files in os.walk(root) for f in files}


# How long the answer waits before it asks for the learner's lock, once the delete waits for its question. On
# PostgreSQL the two deadlock: a short wait makes the delete the victim (it runs again), a long one the answer.
@pytest.mark.parametrize("wait", [0.2, 1.5])
def test_an_answer_already_checked_when_the_teacher_deletes_the_student_leaves_nothing_behind(sandbox, tool,
                                                                                              monkeypatch, wait):
    import re

    from lti_tool.services import mastery
    from tests.support import answer_for_served

    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    home = sandbox.launch("student")
    practice = home.http.get(tool.url(re.search(r'href="([^"]*/practice/[^"/]+)"', home.text).group(1)), timeout=30)
    served_id = int(re.search(r'name="served" value="(\d+)"', practice.text).group(1))
    answer = answer_for_served(tool, served_id)
    original, reached, go = mastery._lock_skills, threading.Event(), threading.Event()

    def hold(*args, **kwargs):  # the answer is checked and its question claimed: now it wants the learner's lock
        if threading.current_thread().name == "writer":
            reached.set()
            go.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr(mastery, "_lock_skills", hold)
    outcome: list[object] = []

    def in_thread(call, name):
        def run():
            with tool.app.app_context():
                try:
                    outcome.append((name, call()))
                except Exception as exc:  # noqa: BLE001 - the test reports what each met
                    db.session.rollback()
                    outcome.append((name, exc))
                finally:
                    db.session.remove()
        thread = threading.Thread(target=run, name=name)
        thread.start()
        return thread

    def delete():
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
        return privacy.delete_student(launch, student, confirmed=True, now=utcnow())

    writer = in_thread(lambda: mastery.record_answer(course_id, student, served_id, answer,
                                                     now=utcnow()), "writer")
    assert reached.wait(10)
    deleter = in_thread(delete, "deleter")
    deleter.join(wait)  # the delete waits for the answer's claimed question (PostgreSQL) or its write (SQLite)
    go.set()
    writer.join(30)
    deleter.join(30)
    found = dict(outcome)
    assert isinstance(found["deleter"], privacy.Deletion), repr(found["deleter"])[:300]
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == student))
                for model in (Enrollment, ScoreOutbox, mastery.SkillMastery, mastery.ItemResponse)}
        db.session.remove()
    assert left == dict.fromkeys(left, 0), (left, repr(found["writer"])[:200])


def _comment(course_id: int, platform_id: int, student: int, actor):
    from lti_tool.services import family_report

    return lambda: family_report.save_report_comment(course_id, platform_id, student, "Doing well with fractions.",
                                                     actor=actor, now=utcnow())


def _assignment(course_id: int, platform_id: int, student: int, actor):
    from lti_tool.services import assignments

    def assign():
        skill_id = goals.course_skills(course_id)[0][0]
        return assignments.assign_skills(course_id, platform_id, skill_ids=[skill_id], person_ids=[student],
                                         due_on=None, actor=actor, now=utcnow())
    return assign


# A teacher's writer about a student, held where it has checked the student's enrolment and not yet written.
TEACHER_WRITERS = {"report comment": (_comment, "lti_tool.services.family_report", "require_student"),
                   "assignment": (_assignment, "lti_tool.services.assignments", "class_overview")}


@pytest.mark.parametrize("writer", sorted(TEACHER_WRITERS))
def test_a_teachers_write_about_a_student_under_way_when_another_deletes_them_leaves_nothing(
        sandbox, tool, monkeypatch, writer):
    import importlib

    from lti_tool.models import ReportComment, SkillAssignment
    from lti_tool.services.permissions import actor_of

    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    make, module_name, step = TEACHER_WRITERS[writer]
    reached, go = _hold_writer_after(monkeypatch, importlib.import_module(module_name), step)
    outcome: list[object] = []

    def write():
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
        return make(course_id, platform_id, student, actor_of(launch))()

    thread = _start_writer(tool, write, outcome)
    assert reached.wait(10)
    _teacher_deletes_then_writer_goes_on(tool, teacher, student, go, thread)
    assert len(outcome) == 1 and isinstance(outcome[0], NotFound), repr(outcome)[:200]
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == student))
                for model in (ReportComment, SkillAssignment)}
        db.session.remove()
    assert left == dict.fromkeys(left, 0), left


# --- Changing a goal that is already there: edit, mark done, delete ---------------------------------------------


def _own_goal_id(tool, course_id: int, student: int, title: str = "Finish fractions") -> int:
    with tool.app.app_context():
        goal_id = goals.add_goal(course_id, student, title=title, why="For the test", by_date="", skill_ids=[],
                                 now=utcnow()).id
        db.session.remove()
    return goal_id


GOAL_CHANGES = {
    "edit": lambda c, s, g: goals.update_goal(c, s, g, title="Finish fractions by Friday", why="For the test",
                                              by_date="", skill_ids=[], now=utcnow()),
    "done": lambda c, s, g: goals.set_goal_done(c, s, g, True, now=utcnow()),
    "delete": lambda c, s, g: goals.delete_goal(c, s, g, confirmed=True, now=utcnow()),
}


def _hold_goal_change(monkeypatch) -> tuple[threading.Event, threading.Event]:
    """Hold the "writer" thread at its first step on the goal: once it has read the goal, or before it locks.

    The change used to read the goal without the learner's lock and write it later; it now locks first. Either
    way the held writer has begun and not yet written, and what the test does meanwhile happens in between.
    """
    reached, go = threading.Event(), threading.Event()

    def pause() -> None:
        if threading.current_thread().name == "writer" and not reached.is_set():
            reached.set()
            go.wait(10)

    read, lock = goals._own_goal, goals.lock_learner_row

    def after_read(*args, **kwargs):
        found = read(*args, **kwargs)
        pause()
        return found

    def before_lock(*args, **kwargs):
        pause()
        return lock(*args, **kwargs)

    monkeypatch.setattr(goals, "_own_goal", after_read)
    monkeypatch.setattr(goals, "lock_learner_row", before_lock)
    return reached, go


def _goal_change_while(sandbox, tool, monkeypatch, change: str, meanwhile) -> tuple[DemoCourse, int, object]:
    """Start a change of the demo student's goal, run `meanwhile(course, goal_id)` while it is held, let it end;
    return the course, the goal's id and what the change returned or raised."""
    course = demo_course(sandbox, tool)
    goal_id = _own_goal_id(tool, course.course_id, course.student)
    reached, go = _hold_goal_change(monkeypatch)
    outcome: list[object] = []
    thread = _start_writer(tool, lambda: GOAL_CHANGES[change](course.course_id, course.student, goal_id), outcome)
    assert reached.wait(10)
    meanwhile(course, goal_id)
    go.set()
    thread.join(30)
    assert not thread.is_alive() and len(outcome) == 1
    return course, goal_id, outcome[0]


def _in_app(tool, call) -> None:
    with tool.app.app_context():
        call()
        db.session.remove()


@pytest.mark.parametrize("change", sorted(GOAL_CHANGES))
def test_a_goal_change_under_way_when_the_teacher_deletes_the_student_says_so_and_leaves_nothing(
        sandbox, tool, monkeypatch, change):
    # It used to fail with a server error (the goal's UPDATE or DELETE met no row), or tell the student their
    # goal was deleted when all their data was.
    def teacher_deletes(course, goal_id):
        def delete():
            launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == course.teacher)
                                        ).first()
            privacy.delete_student(launch, course.student, confirmed=True, now=utcnow())
        _in_app(tool, delete)

    course, goal_id, outcome = _goal_change_while(sandbox, tool, monkeypatch, change, teacher_deletes)
    assert isinstance(outcome, NotFound), repr(outcome)[:300]
    assert "Your data in this course has been deleted, so this was not saved." in outcome.message
    with tool.app.app_context():
        left = {model.__tablename__: db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.person_id == course.student))
                for model in (Enrollment, StudentGoal, SkillMastery)}
        db.session.remove()
    assert left == dict.fromkeys(left, 0), left


@pytest.mark.parametrize("change", sorted(GOAL_CHANGES))
def test_a_goal_change_under_way_when_another_tab_deletes_the_goal_says_there_is_no_such_goal(
        sandbox, tool, monkeypatch, change):
    def other_tab_deletes(course, goal_id):
        _in_app(tool, lambda: GOAL_CHANGES["delete"](course.course_id, course.student, goal_id))

    _, goal_id, outcome = _goal_change_while(sandbox, tool, monkeypatch, change, other_tab_deletes)
    assert isinstance(outcome, NotFound), repr(outcome)[:300]
    assert outcome.message == "There is no such goal in your plan."
    with tool.app.app_context():
        assert db.session.get(StudentGoal, goal_id) is None
        db.session.remove()


@pytest.mark.parametrize(("held", "other"), [("edit", "done"), ("done", "edit")])
def test_a_goal_edited_in_one_tab_and_marked_done_in_another_keeps_both(sandbox, tool, monkeypatch, held, other):
    # Each change writes the columns it changes only, so neither undoes the other whichever commits first.
    def other_tab_changes(course, goal_id):
        _in_app(tool, lambda: GOAL_CHANGES[other](course.course_id, course.student, goal_id))

    _, goal_id, outcome = _goal_change_while(sandbox, tool, monkeypatch, held, other_tab_changes)
    assert isinstance(outcome, goals.GoalView), repr(outcome)[:300]
    assert (outcome.title, outcome.done) == ("Finish fractions by Friday", True)
    with tool.app.app_context():
        goal = db.session.get(StudentGoal, goal_id)
        assert (goal.title, goal.why, goal.done) == ("Finish fractions by Friday", "For the test", True)
        db.session.remove()


def test_a_student_whose_data_is_deleted_while_their_goal_is_saved_gets_the_page_that_says_so(
        sandbox, tool, monkeypatch):
    # Over HTTP: the refused write ends its transaction, and the student's launch row went with their data; the
    # error page read it again (its language, its way back, its frame headers) and the student got a server error.
    from tests.support import open_in_launch, submit_form, teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    goals_page = open_in_launch(sandbox.launch("student"), tool, "/goals")
    reached, go = threading.Event(), threading.Event()
    lock = goals.lock_learner_row

    def before_lock(*args, **kwargs):
        if not reached.is_set():
            reached.set()
            go.wait(10)
        return lock(*args, **kwargs)

    monkeypatch.setattr(goals, "lock_learner_row", before_lock)
    page, _ = student_posts_while_deleted(tool, lambda: submit_form(goals_page, "/goals", title="Master fractions"),
                                          reached, go)
    assert page.status_code == 404, page.text[:500]
    assert "Your data in this course has been deleted, so this was not saved." in page.text
    assert "frame-ancestors" in page.headers["Content-Security-Policy"]


def student_posts_while_deleted(tool, post, reached: threading.Event, go: threading.Event):
    """Run the demo student's `post` (a form sent over HTTP) in a thread; once it is held at `reached`, a teacher
    deletes the student's data, then it goes on. Return its response and the student's person id."""
    from lti_tool.models import Person

    pages: list = []
    thread = threading.Thread(target=lambda: pages.append(post()))
    thread.start()
    assert reached.wait(10)
    with tool.app.app_context():
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id != student)).first()
        privacy.delete_student(launch, student, confirmed=True, now=utcnow())
        db.session.remove()
    go.set()
    thread.join(30)
    (page,) = pages
    return page, student


def test_a_teacher_deleting_a_student_whose_launch_is_under_way_ends_with_the_data_gone_and_no_error(
        sandbox, tool, monkeypatch):
    # The launch holds the student's person row while it records the enrolment and session (so an anonymising
    # deletion waits for them). The deletion used to delete the enrolment and then wait for the person: on
    # PostgreSQL a deadlock, whose victim (the deletion) ran again once the launch had committed. It now locks the
    # person before it deletes anything, and waits. Neither may end in a 500.
    from lti_tool.services import launches

    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    reached, go = hold_first_call(monkeypatch, launches, "_returning")  # the launch below
    runs: list[int] = []  # the deletion's tries: it reads the files to delete first
    file_keys = privacy._file_keys
    monkeypatch.setattr(privacy, "_file_keys", lambda *args: runs.append(1) or file_keys(*args))
    pages: list[object] = []
    launch = threading.Thread(target=lambda: pages.append(sandbox.launch("student")))
    launch.start()
    assert reached.wait(20)
    deleted: list[object] = []
    with tool.app.app_context():
        waiting = LockWait(db.engine)

    def delete():
        with tool.app.app_context():
            holder = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
            with waiting.watching():
                deleted.append(privacy.delete_student(holder, student, confirmed=True, now=utcnow()))
            db.session.remove()

    deleting = threading.Thread(target=delete)
    deleting.start()
    try:
        waiting.start_and_wait()  # the deletion waits for the launch's locks (or, on SQLite, may have finished)
    finally:
        go.set()
    launch.join(30)
    deleting.join(30)
    assert not launch.is_alive() and not deleting.is_alive()
    assert len(deleted) == 1 and pages and pages[0].status_code < 500, (deleted, pages)
    assert len(runs) == 1  # no deadlock to run again after
    with tool.app.app_context():
        # The deletion ran first (SQLite: the launch then finds her anonymised and goes on with a new person, as
        # her next launch would) or after the launch (PostgreSQL: it waited for her): at most one enrolment.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment)
                                 .where(Enrollment.person_id == student, Enrollment.course_id == course_id)) <= 1
        db.session.remove()


def test_evidence_uploaded_just_before_the_course_deletion_takes_its_locks_leaves_no_file_behind(
        sandbox, tool, monkeypatch):
    # The deletion listed the course's files before taking its locks: an upload committed in between lost its row
    # with the course, and its photo stayed on disk for good.
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    files_before = _files(tool)
    original = privacy._lock_course
    uploaded: list[object] = []

    def upload_then_lock(locked_course_id):
        thread = _start_writer(tool, _evidence(course_id, student), uploaded)  # commits in the gap
        thread.join(30)
        return original(locked_course_id)

    monkeypatch.setattr(privacy, "_lock_course", upload_then_lock)
    with tool.app.app_context():
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == teacher)).first()
        title = launch.course.title
        privacy.delete_course(launch, typed_title=title, now=utcnow())
        left = db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)
                                 .where(Evidence.course_id == course_id))
        db.session.remove()
    assert len(uploaded) == 1 and not isinstance(uploaded[0], Exception), repr(uploaded)[:200]
    assert left == 0
    assert _files(tool) == files_before
