"""Due-so-far grades: nothing failing before anything is due, and a new grade when a target date passes.

Issue 12: after "Use the demo pack" (its goals lie weeks ahead) a student who had mastered one skill got 6.25 / 100
in the LMS, and when a goal's date passed the grade stayed what it was until the teacher pressed "Recalculate
and resend". Now a column with nothing due yet gets a score without scoreGiven (gradingProgress Pending), and the
worker's pass requeues the grades of a course whose due set moved on: the LMS has the new grade the same day,
with no teacher action.
"""

from __future__ import annotations

import datetime
import re
import threading

import sqlalchemy as sa

from lti_tool.extensions import cache, db
from lti_tool.models import Course, CourseContent, Person, ScoreOutbox, SkillAssignment
from lti_tool.models.base import utcnow
from lti_tool.services import publishing
from tests.support import drain_outbox, parse_form, submit_form

TODAY = datetime.date.today()
YESTERDAY = TODAY - datetime.timedelta(days=1)


def _demo_course_with_a_column(sandbox, tool, level: str = "Proficient"):
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")  # "Use the demo pack": every goal lies ahead
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    sandbox.launch("student")
    teacher = sandbox.launch("teacher")
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    submit_form(view, "/class/override", level=level, note="Showed it in class")  # the first skill
    return teacher, base


def _scores(tool) -> list[dict]:
    item = next(u for u, i in tool.platform.line_items.items() if not i.get("tag", "").startswith("pathways-skill"))
    return tool.platform.scores.get(item, [])


def _first_goal_due_yesterday(tool) -> None:
    """Stand in for the calendar: the demo's first goal's date is now yesterday."""
    with tool.app.app_context():
        content = db.session.scalars(sa.select(CourseContent)).one()
        data = dict(content.pack)
        goals = [dict(g) for g in data["goals"]]
        goals[0]["due"] = YESTERDAY.isoformat()
        data["goals"] = goals
        content.pack = data
        content.updated_at = utcnow()
        db.session.commit()
        db.session.remove()


def _next_hour() -> None:
    cache.delete("due-grades-ran")  # the sweep runs once an hour across workers: this is the next hour


def _ids(tool) -> tuple[int, int]:
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        db.session.remove()
    return course_id, student


def test_nothing_due_yet_sends_no_number_but_a_pending_score(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool, level="Mastered")
    stats = drain_outbox(tool)
    assert stats.failed == 0
    latest = _scores(tool)[-1]
    # Not 6.25 / 100 (a 4-point average over every skill of the course, the ones weeks away counted as 0).
    assert "scoreGiven" not in latest
    assert latest["gradingProgress"] == "Pending"
    assert latest["comment"].startswith("Nothing is due yet: no grade until a goal date passes.")
    item = next(u for u, i in tool.platform.line_items.items() if not i.get("tag", "").startswith("pathways-skill"))
    context_id, item_id = item.rstrip("/").split("/")[-3], item.rstrip("/").split("/")[-1]
    results, _ = tool.platform.results(context_id, item_id, {})
    assert results and all("resultScore" not in r for r in results)  # the LMS shows the cell as not graded
    page = sandbox.launch("teacher")  # the course page's grade table says so too, not "0" or a bare dash
    row = next(r for r in re.findall(r"<tr.*?</tr>", page.text, re.S) if "Priya Shah" in r and "Synced" in r)
    assert "no grade yet" in row


def test_a_goal_date_that_passes_reaches_the_lms_at_the_workers_next_pass(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    assert "scoreGiven" not in _scores(tool)[-1]
    _first_goal_due_yesterday(tool)
    _next_hour()
    stats = drain_outbox(tool)  # no launch, no teacher: only the worker
    assert stats.due_grades_queued == 1 and stats.posted == 1 and stats.failed == 0
    latest = _scores(tool)[-1]
    assert latest["gradingProgress"] == "FullyGraded"
    assert latest["scoreGiven"] == 25.0  # the first skill is Proficient, one of the goal's 4 (with prerequisites)
    assert latest["comment"].startswith("Graded on the 4 skills due so far.")
    # Idempotent: the next sweep finds every grade worked out on today's due set and queues nothing.
    _next_hour()
    again = drain_outbox(tool)
    assert (again.due_grades_queued, again.posted) == (0, 0)


def test_a_teachers_assignment_whose_date_passes_counts_for_that_student(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    course_id, student = _ids(tool)
    with tool.app.app_context():
        pack = publishing.course_pack(course_id)
        first = list(pack.skill_graph.topological_order())[0]
        db.session.add(SkillAssignment(course_id=course_id, person_id=student, skill_id=first,
                                       due_on=TODAY + datetime.timedelta(days=3), assigned_at=utcnow()))
        db.session.commit()
        assert publishing.requeue_if_due_changed(course_id, now=utcnow()) == 0  # not due yet: nothing changes
        db.session.execute(sa.update(SkillAssignment).values(due_on=YESTERDAY))  # stand in for the calendar
        db.session.commit()
        db.session.remove()
    _next_hour()
    stats = drain_outbox(tool)
    assert stats.due_grades_queued == 1
    latest = _scores(tool)[-1]
    assert latest["scoreGiven"] == 100.0  # the one skill due for this student, and they are Proficient on it
    assert latest["comment"].startswith("Graded on the 1 skill due so far.")


def test_two_workers_checking_the_same_course_queue_the_new_grade_once(sandbox, tool, monkeypatch):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    _first_goal_due_yesterday(tool)
    course_id, student = _ids(tool)
    both_checked = threading.Barrier(2, timeout=20)
    original = publishing._stale_students

    def checked_together(*args):  # both find the grade stale before either queues it
        found = original(*args)
        both_checked.wait()
        return found

    monkeypatch.setattr(publishing, "_stale_students", checked_together)
    queued: list[int] = []
    errors: list[BaseException] = []

    def worker():
        with tool.app.app_context():
            try:
                queued.append(publishing.requeue_if_due_changed(course_id, now=utcnow()))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    assert sorted(queued) == [0, 1]
    with tool.app.app_context():
        pending = db.session.scalars(sa.select(ScoreOutbox).where(ScoreOutbox.person_id == student,
                                                                  ScoreOutbox.status == "pending")).all()
        assert [(row.score_given, row.grading_progress) for row in pending] == [(25.0, "FullyGraded")]
        db.session.remove()


def test_a_flagged_student_with_no_level_rows_is_graded_by_the_narrowed_publish(sandbox, tool):
    # The sweep narrows the class-wide publish to the students it flagged; one whose only grade came from evidence
    # (no practice, so no level rows) was dropped by the narrowing: flagged on every sweep, never resent.
    _demo_course_with_a_column(sandbox, tool)
    sandbox.launch("student-2")
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        other = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-2"))
        before = db.session.scalar(sa.select(sa.func.count()).select_from(ScoreOutbox)
                                   .where(ScoreOutbox.person_id == other))
        queued = publishing._publish(course_id, now=utcnow(), person_ids={other})
        db.session.commit()
        after = db.session.scalar(sa.select(sa.func.count()).select_from(ScoreOutbox)
                                  .where(ScoreOutbox.person_id == other))
        db.session.remove()
    assert before == 0 and queued >= 1 and after == queued


def test_a_course_whose_rows_fail_the_same_way_every_time_is_skipped_and_the_sweep_goes_on(sandbox, tool,
                                                                                            monkeypatch):
    # A data or integrity error in one course is no outage: kept in place and retried, it stopped the sweep for
    # every course after it until the next hour. An unreachable database still leaves the sweep where it was.
    from lti_tool.jobs import worker

    _demo_course_with_a_column(sandbox, tool)
    course_id, _ = _ids(tool)
    tried: list[int] = []
    failures: list[Exception] = []

    def broken(course, **kwargs):
        tried.append(course)
        raise failures[-1]

    monkeypatch.setattr(publishing, "requeue_if_due_changed", broken)
    with tool.app.app_context():
        for failure, moves_on in ((sa.exc.IntegrityError("UPDATE", {}, Exception("bad row")), True),
                                  (sa.exc.OperationalError("SELECT", {}, Exception("server closed")), False)):
            failures.append(failure)
            _next_hour()
            sweep = worker._DueSweep()
            worker._due_grades(sweep)
            assert tried[-1] == course_id
            assert (sweep.after is None and sweep.failures == 0) if moves_on else (sweep.after == 0
                                                                                    and sweep.failures == 1)
        db.session.remove()
