"""The retention purge runs while a teacher deletes a student who is in a course being purged and in another one.

The purge locked course by course: the first course's learners, then its people, then the next course's learners,
holding the people of the first course all along. A teacher's deletion locks the student's learner row in their
course, then the student. With the student in both courses (the teacher's the later one), each held what the
other waited for: a deadlock on PostgreSQL. Either the purge lost its whole run (the CLI said the database could
not be used, the worker waited an hour), or the deletion did and, run again after the purge had removed its
course, failed on the learner row it made for a course no longer there (a 500). The purge now locks every listed
course's learners before anyone, as every other deletion does, and a deletion whose course went meanwhile says
so. Two purges with different retention periods (the worker's and one run by hand) met the same way.

A student who never answered has no learner row for the deletion to lock: it made one, which held the course
(its foreign key) while it waited for the student that a course deletion held while it waited to delete the
course. The deletion now locks the student before making that row.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, LaunchSession, Person, SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services import launches, privacy
from lti_tool.services.mastery import _insert_learner_row
from tests.races.support import LockWait, demo_course, hold_first_call
from tests.races.test_student_delete_double_click import _deletions
from tests.support import open_in_launch, submit_form, teacher_of_another_course

DAYS = 30


def _skip_on_sqlite(tool) -> None:
    with tool.app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("row locks: on SQLite the purge and the deletion each hold the one write lock in turn")


def _student_in_two_courses(sandbox, tool, worked_in_science: bool) -> tuple[int, int, int]:
    """Priya in math-7 (answered there) and in science-8 (opened, and with `worked_in_science` written to, so her
    learner row is there); return (math-7, science-8, Priya)."""
    math = demo_course(sandbox, tool)
    teacher_of_another_course(sandbox)
    sandbox.platform.add_user("student-1", roles=["Learner"], name="Priya Shah", given_name="Priya",
                              family_name="Shah", email="priya.shah@example.edu", context_id="science-8")
    sandbox.launch("student", context_id="science-8")
    with tool.app.app_context():
        science = db.session.scalar(sa.select(Course.id).where(Course.context_id == "science-8"))
        if worked_in_science:
            _insert_learner_row(science, math.student, utcnow())  # as her first answer there does
            db.session.commit()
        db.session.remove()
    assert math.course_id < science  # the purge reaches math-7 first
    return math.course_id, science, math.student


def _hold_before_locking(monkeypatch, person_id: int) -> tuple[threading.Event, threading.Event]:
    """Hold the teacher's deletion just before it locks the student (it holds their learner row, if any, by then)."""
    original = privacy._lock_people
    reached, go = threading.Event(), threading.Event()

    def held(person_ids: list[int]) -> None:
        if list(person_ids) == [person_id] and not reached.is_set():
            reached.set()
            go.wait(20)
        original(person_ids)

    monkeypatch.setattr(privacy, "_lock_people", held)
    return reached, go


def _science_teachers_confirmation(sandbox, tool, worked_in_science: bool):
    """Priya in two courses (PostgreSQL only); return (math-7, science-8, Priya, the page that confirms deleting her
    data in science-8, as its teacher sees it)."""
    _skip_on_sqlite(tool)
    math, science, student = _student_in_two_courses(sandbox, tool, worked_in_science)
    page = open_in_launch(sandbox.launch("teacher-sci", context_id="science-8"), tool,
                          f"/privacy/students/{student}/delete")
    assert page.status_code == 200, page.text[:300]
    return math, science, student, page


def _purge(tool, report: list, errors: list, watch: LockWait | None = None, later=None,
           days: int = DAYS) -> threading.Thread:
    """Start a purge in its own thread (watched by `watch`); its report goes to `report`, what it raised to `errors`.

    `later`: the purge's now; by default one when the courses have been idle longer than the retention period.
    """
    later = later or utcnow() + timedelta(days=DAYS + 1)
    return _in_a_thread(tool, lambda: privacy.purge_inactive_courses(later, days, dry_run=False), report, errors,
                        watch)


def _in_a_thread(tool, call: Callable[[], object], results: list, errors: list,
                 watch: LockWait | None = None) -> threading.Thread:
    """Start `call` in its own thread and app context (watched by `watch`): what it returns goes to `results`, what
    it raises to `errors`."""

    def run() -> None:
        with tool.app.app_context(), watch.watching() if watch is not None else nullcontext():
            try:
                results.append(call())
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _delete_in_a_thread(confirm, student: int, pages: list) -> threading.Thread:
    """Start the teacher's click on the confirmation's Delete; the page it leads to goes to `pages`."""
    thread = threading.Thread(target=lambda: pages.append(
        submit_form(confirm, f"/privacy/students/{student}/delete", confirm="yes")))
    thread.start()
    return thread


def _purged(tool, threads: list[threading.Thread], errors: list, report: list, courses: list[int],
            student: int) -> None:
    """Wait for the threads; the purge raised nothing, purged these courses and anonymised the student."""
    for thread in threads:
        thread.join(60)
    assert errors == [], [repr(e)[:300] for e in errors]
    assert [c.course_id for c in report[0].courses] == courses
    assert report[0].anonymised >= 1 and _anonymised(tool, student)


def _let_go_once_waiting(watch: LockWait, go: threading.Event, threads: list[threading.Thread]) -> None:
    """Let the held call go on once the watched one waits for a lock (or is done); wait for the threads."""
    try:
        watch.start_and_wait()
    finally:
        go.set()
    for thread in threads:
        thread.join(60)


def _anonymised(tool, person_id: int) -> bool:
    with tool.app.app_context():
        sub = db.session.scalar(sa.select(Person.sub).where(Person.id == person_id))
        db.session.remove()
    return sub.startswith(privacy.ANONYMISED_SUB)


@pytest.mark.parametrize("worked_in_science", [True, False])
def test_a_purge_that_meets_a_teachers_deletion_under_way_waits_for_it_and_both_finish(sandbox, tool, monkeypatch,
                                                                                       worked_in_science):
    math, science, student, confirm = _science_teachers_confirmation(sandbox, tool, worked_in_science)
    reached, go = _hold_before_locking(monkeypatch, student)
    pages: list = []
    deleting = _delete_in_a_thread(confirm, student, pages)
    assert reached.wait(30)  # the deletion holds Priya's learner row in science-8
    report: list = []
    errors: list = []
    with tool.app.app_context():
        purging = LockWait(db.engine)
    purge = _purge(tool, report, errors, purging)
    # It waits for that learner row (holding Priya too, before the fix).
    _let_go_once_waiting(purging, go, [deleting, purge])
    _purged(tool, [], errors, report, [math, science], student)
    assert _deletions(tool, "purge_course") == 2
    assert pages, "the deletion did not answer"
    if worked_in_science:
        # Her learner row held, the deletion went first; the purge waited for it and then purged the rest.
        assert pages[0].status_code == 200, pages[0].text[:500]
        assert "Deleted the data of Priya Shah" in pages[0].text
        assert _deletions(tool, "delete_student") == 1
    else:
        # Nothing of hers there to hold: the purge went first, and the deletion says what became of the course.
        _says_the_course_is_gone(pages[0])
        assert _deletions(tool, "delete_student") == 0


@pytest.mark.parametrize("worked_in_science", [True, False])
def test_a_teachers_deletion_that_meets_a_purge_under_way_says_the_course_is_gone(sandbox, tool, monkeypatch,
                                                                                   worked_in_science):
    math, science, student, confirm = _science_teachers_confirmation(sandbox, tool, worked_in_science)
    # The purge holds what it locks before deleting anything (before the fix: math-7's learners and people).
    purge_held, purge_go = hold_first_call(monkeypatch, privacy, "_course_gone")
    report: list = []
    errors: list = []
    purge = _purge(tool, report, errors)
    assert purge_held.wait(30)
    pages: list = []
    deleting = _delete_in_a_thread(confirm, student, pages)
    try:
        _wait_for_a_lock_wait(tool)  # the deletion waits (for Priya, or her learner row in science-8)
    finally:
        purge_go.set()
    _purged(tool, [deleting, purge], errors, report, [math, science], student)
    assert pages, "the deletion did not answer"
    _says_the_course_is_gone(pages[0])  # the purge went first: the course, its launches and her data went


def _says_the_course_is_gone(page) -> None:
    assert page.status_code == 404, page.text[:500]
    assert "The course&#39;s data is deleted" in page.text, page.text[:1500]


def _wait_for_a_lock_wait(tool, timeout: float = 30) -> None:
    """Return once some connection has waited for a lock for longer than deadlock_timeout (PostgreSQL)."""
    import time

    deadline = time.monotonic() + timeout
    with tool.app.app_context():
        while time.monotonic() < deadline:
            with db.engine.connect() as conn:
                if conn.execute(sa.text(
                        "SELECT count(*) FROM pg_locks WHERE NOT granted AND waitstart IS NOT NULL"
                        " AND clock_timestamp() - waitstart > current_setting('deadlock_timeout')::interval")
                        ).scalar():
                    return
            time.sleep(0.02)
    raise AssertionError("nothing waited for a lock")


def test_a_course_deletion_and_a_students_deletion_in_it_before_the_student_wrote_anything(sandbox, tool,
                                                                                          monkeypatch):
    # Priya has no learner row yet: the teacher's deletion of her data made one (holding the course, its foreign
    # key) and then waited for her, whom the other tab's deletion of the course held while it waited to delete the
    # course. PostgreSQL aborted the student's deletion, whose second try failed on the course gone (a 500).
    _skip_on_sqlite(tool)
    course = demo_course(sandbox, tool)
    with tool.app.app_context():
        db.session.execute(sa.delete(SkillMastery).where(SkillMastery.person_id == course.student))
        db.session.commit()
        db.session.remove()
    confirm = open_in_launch(sandbox.launch("teacher"), tool, f"/privacy/students/{course.student}/delete")
    reached, go = _hold_before_locking(monkeypatch, course.student)
    pages: list = []
    deleting = _delete_in_a_thread(confirm, course.student, pages)
    assert reached.wait(30)
    with tool.app.app_context():
        course_deletion = LockWait(db.engine)
    done: list = []

    def delete_course() -> privacy.Deletion:
        launch = db.session.scalars(sa.select(LaunchSession).where(LaunchSession.person_id == course.teacher)).first()
        return privacy.delete_course(launch, typed_title="Grade 7 Mathematics", now=utcnow())

    other_tab = _in_a_thread(tool, delete_course, done, done, course_deletion)
    _let_go_once_waiting(course_deletion, go, [deleting, other_tab])

    assert len(done) == 1 and isinstance(done[0], privacy.Deletion), repr(done)[:300]
    assert pages, "the deletion did not answer"
    _says_the_course_is_gone(pages[0])
    with tool.app.app_context():
        assert db.session.get(Course, course.course_id) is None
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(SkillMastery))
        db.session.remove()


def test_two_purges_with_different_retention_periods_at_once_each_finish(sandbox, tool, monkeypatch):
    # The worker purges courses idle for 30 days while an administrator runs `pathways privacy purge --days 60`:
    # the first purge listed math-7 and science-8, the second science-8 only. The first held Priya (math-7's)
    # and waited for science-8, which the second held while it waited for Priya: one run was thrown away.
    _skip_on_sqlite(tool)
    math, science, student = _student_in_two_courses(sandbox, tool, worked_in_science=True)
    now = utcnow()
    with tool.app.app_context():
        for course_id, idle in ((math, 40), (science, 90)):
            db.session.execute(sa.update(Course).where(Course.id == course_id)
                               .values(last_launch_at=now - timedelta(days=idle)))
        db.session.commit()
        second = LockWait(db.engine)
        db.session.remove()
    first_held, first_go = hold_first_call(monkeypatch, privacy, "_course_gone")
    reports: dict[int, list[privacy.PurgeReport]] = {30: [], 60: []}
    errors: list = []
    worker = _purge(tool, reports[30], errors, later=now, days=30)
    assert first_held.wait(30)  # the worker's purge holds what it locks before deleting (math-7's, at least)
    by_hand = _purge(tool, reports[60], errors, second, later=now, days=60)
    _let_go_once_waiting(second, first_go, [worker, by_hand])  # the administrator's waits for it

    assert errors == [], [repr(e)[:300] for e in errors]
    assert [c.course_id for c in reports[30][0].courses] == [math, science]
    assert reports[60][0].courses == []  # science-8 was gone by the time it held it: not purged or logged twice
    assert _deletions(tool, "purge_course") == 2
    assert _anonymised(tool, student)


def test_a_purge_meets_a_launch_of_someone_with_no_course_into_a_course_it_purges(sandbox, tool, monkeypatch):
    # Sofía is known (she once opened a Data Privacy Launch) but enrolled nowhere: the purge anonymises her at its
    # end. Her first launch into the idle math-7 held her (FOR SHARE) and went to stamp the course, which the
    # purge held (deleting it) while it waited for her: the launch was thrown away (a 503). The purge now locks
    # the people with no course with the courses' people, before any course row: it waits for the launch, and
    # keeps the course it finds launched since.
    _skip_on_sqlite(tool)
    course = demo_course(sandbox, tool)
    with tool.app.app_context():
        sofia = Person(platform_id=course.platform_id, sub="student-3", name="Sofía García")
        db.session.add(sofia)
        # Idle for longer than the retention period, by the clock her launch stamps it with.
        db.session.execute(sa.update(Course).values(last_launch_at=utcnow() - timedelta(days=DAYS + 10)))
        db.session.commit()
        sofia = sofia.id
        purging = LockWait(db.engine)
        db.session.remove()
    reached, go = hold_first_call(monkeypatch, launches, "_returning")
    pages: list = []
    launch = threading.Thread(target=lambda: pages.append(sandbox.launch("student-3")))
    launch.start()
    assert reached.wait(30)  # her launch holds her
    report: list = []
    errors: list = []
    purge = _purge(tool, report, errors, purging, later=utcnow())
    _let_go_once_waiting(purging, go, [launch, purge])

    assert errors == [], [repr(e)[:300] for e in errors]
    assert pages and pages[0].status_code == 200, pages and pages[0].text[:500]
    assert report[0].courses == []  # launched since it was listed: kept
    with tool.app.app_context():
        assert db.session.get(Course, course.course_id) is not None
        assert db.session.get(Person, sofia).sub == "student-3"  # enrolled now: not anonymised
        db.session.remove()
