"""Due-so-far grades: nothing failing before anything is due, and a new grade when a target date passes.

Issue 12: after "Use the demo pack" (its goals lie weeks ahead) a student who had mastered one skill got 6.25 / 100
in the LMS, and when a goal's date passed the grade stayed what it was until the teacher pressed "Recalculate
and resend". Now a column with nothing due yet gets no number, and the worker's pass requeues the grades of a course
whose due set moved on: the LMS has the new grade the same day, with no teacher action. A score without a number is
sent only to clear a number sent before: on Canvas any score is a submission in the teacher's "Needs grading" list.
"""

from __future__ import annotations

import datetime
import re
import threading

import sqlalchemy as sa

from lti_tool.extensions import cache, db
from lti_tool.models import Course, Person, ScoreOutbox, SkillAssignment
from lti_tool.models.base import utcnow
from lti_tool.services import publishing
from tests.support import class_override, demo_first_goal_due, drain_outbox, grade_rows, parse_form, submit_form


def _today(course_id: int) -> datetime.date:
    """The day it is in the course now, read when the test needs it (in an app context): a date taken at import,
    by the machine's local zone, was a day behind the tool's once a run crossed midnight."""
    from lti_tool.services.time_zones import course_today

    return course_today(course_id, utcnow())


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
    class_override(view, level=level, note="Showed it in class")  # the first skill
    return teacher, base


def _scores(tool) -> list[dict]:
    item = next(u for u, i in tool.platform.line_items.items() if not i.get("tag", "").startswith("pathways-skill"))
    return tool.platform.scores.get(item, [])


def _next_hour() -> None:
    cache.delete("due-grades-ran")  # the sweep runs once an hour across workers: this is the next hour


def _graded_on_the_first_goal(sandbox, tool) -> None:
    """The demo course with a column, its first goal due since yesterday, and the student's 25 / 100 in the LMS."""
    _demo_course_with_a_column(sandbox, tool)
    demo_first_goal_due(tool)
    _next_hour()
    drain_outbox(tool)
    assert _scores(tool)[-1]["scoreGiven"] == 25.0


def _ids(tool) -> tuple[int, int]:
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id))
        student = db.session.scalar(sa.select(Person.id).where(Person.name == "Priya Shah"))
        db.session.remove()
    return course_id, student


def test_nothing_due_yet_sends_nothing_and_the_teacher_sees_no_grade_yet(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool, level="Mastered")
    stats = drain_outbox(tool)
    # Not 6.25 / 100 (a 4-point average over every skill of the course, the ones weeks away counted as 0), and no
    # score without a number either: nothing of ours is in the gradebook to clear, and on Canvas such a score is a
    # submission in the teacher's "Needs grading" list with nothing to grade.
    assert (stats.posted, stats.not_needed, stats.failed) == (0, 1, 0)
    assert _scores(tool) == []
    item = next(u for u, i in tool.platform.line_items.items() if not i.get("tag", "").startswith("pathways-skill"))
    context_id, item_id = item.rstrip("/").split("/")[-3], item.rstrip("/").split("/")[-1]
    assert tool.platform.results(context_id, item_id, {})[0] == []  # the LMS cell stays empty
    with tool.app.app_context():  # worked out and kept, so the sweep sees what it was made of
        row = db.session.scalars(sa.select(ScoreOutbox)).one()
        assert (row.status, row.score_given) == ("nothing_to_clear", None)
        assert row.comment.startswith("Nothing is due yet: no grade until a goal date passes.")
        db.session.remove()
    page = sandbox.launch("teacher")  # the course page's grade table says so, not "0" or a bare dash
    row = next(r for r in grade_rows(page.text, "Priya Shah") if "My learning" in r)
    assert "no grade yet" in row and "Nothing to send yet" in row


def test_a_goal_date_that_passes_reaches_the_lms_at_the_workers_next_pass(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    assert _scores(tool) == []
    demo_first_goal_due(tool)
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


def test_a_number_sent_before_is_cleared_by_a_score_without_one_when_nothing_is_due_any_more(sandbox, tool):
    _graded_on_the_first_goal(sandbox, tool)
    demo_first_goal_due(tool, days=30)  # the teacher moves the goal weeks ahead: the 25 no longer applies
    _next_hour()
    stats = drain_outbox(tool)
    assert (stats.due_grades_queued, stats.posted, stats.not_needed) == (1, 1, 0)
    latest = _scores(tool)[-1]
    assert "scoreGiven" not in latest and latest["gradingProgress"] == "Pending"
    assert latest["comment"].startswith("Nothing is due yet")


def test_a_teachers_assignment_whose_date_passes_counts_for_that_student(sandbox, tool):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    course_id, student = _ids(tool)
    with tool.app.app_context():
        pack = publishing.course_pack(course_id)
        first = list(pack.skill_graph.topological_order())[0]
        db.session.add(SkillAssignment(course_id=course_id, person_id=student, skill_id=first,
                                       due_on=_today(course_id) + datetime.timedelta(days=3), assigned_at=utcnow()))
        db.session.commit()
        assert publishing.requeue_if_due_changed(course_id, now=utcnow()) == 0  # not due yet: nothing changes
        yesterday = _today(course_id) - datetime.timedelta(days=1)
        db.session.execute(sa.update(SkillAssignment).values(due_on=yesterday))  # stand in for the calendar
        db.session.commit()
        db.session.remove()
    _next_hour()
    stats = drain_outbox(tool)
    assert stats.due_grades_queued == 1
    latest = _scores(tool)[-1]
    assert latest["scoreGiven"] == 100.0  # the one skill due for this student, and they are Proficient on it
    assert latest["comment"].startswith("Graded on the 1 skill due so far.")


def _one_of_two_assigned_and_swapped(sandbox, tool, *, both_reached: bool) -> tuple[int, int]:
    """Assign the student one of two skills that build on the first one only (either makes 2 skills due), post the
    grade, then swap the assignment for the other: still 2 skills due. Returns the course and student ids."""
    teacher, base = _demo_course_with_a_column(sandbox, tool)  # the first skill is Proficient
    course_id, student = _ids(tool)
    with tool.app.app_context():
        graph = publishing.course_pack(course_id).skill_graph
        root = graph.topological_order()[0]
        held, other = [s for s in graph.topological_order()
                       if set(graph.prerequisites_of(s, transitive=True)) == {root}][:2]
        db.session.add(SkillAssignment(course_id=course_id, person_id=student, skill_id=held,
                                       due_on=_today(course_id) - datetime.timedelta(days=1), assigned_at=utcnow()))
        db.session.commit()
        db.session.remove()
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    for skill in (held, other) if both_reached else (held,):
        class_override(view, skill_id=skill, level="Proficient", note="Showed it too")
    _next_hour()
    drain_outbox(tool)
    assert _scores(tool)[-1]["scoreGiven"] == 100.0  # graded on the 2 skills due, which they have
    with tool.app.app_context():
        db.session.execute(sa.update(SkillAssignment).values(skill_id=other))
        db.session.commit()
        db.session.remove()
    return course_id, student


def test_an_assigned_skill_swapped_for_another_keeps_the_count_and_is_still_requeued(sandbox, tool):
    # The comment says "Graded on the 2 skills due so far" before and after: the sweep compares the set itself.
    _one_of_two_assigned_and_swapped(sandbox, tool, both_reached=False)
    _next_hour()
    stats = drain_outbox(tool)
    assert stats.due_grades_queued == 1
    assert _scores(tool)[-1]["scoreGiven"] == 50.0  # one of the 2 due skills is not started
    _next_hour()
    again = drain_outbox(tool)
    assert (again.due_grades_queued, again.posted) == (0, 0)


def test_a_swap_that_leaves_the_grade_as_it_was_posts_nothing_and_is_not_flagged_again(sandbox, tool):
    # Both skills reached: the new set gives the same number and comment, so the gradebook is right as it is. The
    # grade's row takes the new set without a post; the sweep would otherwise find it stale every hour, for good.
    course_id, _ = _one_of_two_assigned_and_swapped(sandbox, tool, both_reached=True)
    posted = len(_scores(tool))
    _next_hour()
    stats = drain_outbox(tool)
    assert (stats.due_grades_queued, stats.posted) == (0, 0) and len(_scores(tool)) == posted
    with tool.app.app_context():
        assert publishing._stale_students(course_id, _today(course_id)) == set()
        db.session.remove()


def test_two_workers_checking_the_same_course_queue_the_new_grade_once(sandbox, tool, monkeypatch):
    _demo_course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    demo_first_goal_due(tool)
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
