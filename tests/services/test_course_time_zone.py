"""The course's time zone decides its calendar days: goals past their date, skills due so far, the settings form.

A goal due on 3 December is not past at 23:00 that day in Chicago (05:00 on 4 December in UTC), and a due-so-far
grade counts a goal from the course's midnight, not UTC's. The zone comes from the teacher (settings page), else
from the LMS (the custom parameter person_time_zone=$Person.address.timezone of a teacher's launch), else UTC.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, CourseContent, ScoreOutbox
from lti_tool.services import goals as goals_service
from lti_tool.services import publishing
from tests.jobs.test_due_dates_pass import _demo_course_with_a_column, _ids
from tests.support import parse_form, submit_form

CHICAGO = "America/Chicago"
#: 23:00 on 3 December 2026 in Chicago (UTC-6), already 4 December in UTC.
LATE_EVENING = datetime(2026, 12, 4, 5, 0)
#: 01:00 on 4 December 2026 in Chicago.
PAST_MIDNIGHT = datetime(2026, 12, 4, 7, 0)


def _course_zone(tool) -> str | None:
    with tool.app.app_context():
        zone = db.session.scalar(sa.select(Course.time_zone))
        db.session.remove()
    return zone


def _settings(teacher, tool):
    base = re.search(r"/c/[^/]+/", teacher.url).group(0)
    page = teacher.http.get(tool.url(base + "teacher/settings"), timeout=30)
    page.http = teacher.http
    return page


def _set_zone(sandbox, tool, name: str):
    return submit_form(_settings(sandbox.launch("teacher"), tool), "/teacher/settings/time-zone", time_zone=name)


def test_a_goal_due_today_in_chicago_is_not_past_at_eleven_at_night_there(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    _set_zone(sandbox, tool, CHICAGO)
    course_id, student = _ids(tool)
    with tool.app.app_context():
        goals_service.add_goal(course_id, student, title="Finish ratios", why="", by_date="2026-12-03", skill_ids=(),
                               now=datetime(2026, 12, 1, 12, 0))
        late = goals_service.goals_page(course_id, student, now=LATE_EVENING).my_goals[0]
        after = goals_service.goals_page(course_id, student, now=PAST_MIDNIGHT)
        db.session.remove()
    assert not late.overdue  # still 3 December in Chicago
    assert after.my_goals[0].overdue  # 4 December there: past its date


def _column_with_first_goal_due(sandbox, tool, due: str) -> int:
    """The demo course with a gradebook column and the student Proficient on its first skill, its first goal due on
    `due` and every other goal months later (fixed dates: the test does not depend on the day it runs)."""
    _demo_course_with_a_column(sandbox, tool)
    course_id, _ = _ids(tool)
    with tool.app.app_context():
        content = db.session.get(CourseContent, course_id)
        goals = [dict(goal, due="2027-06-30") for goal in content.pack["goals"]]
        goals[0]["due"] = due
        content.pack = {**content.pack, "goals": goals}
        content.updated_at = datetime(2026, 12, 1)  # the parsed pack is cached by course and updated_at
        db.session.commit()
        db.session.remove()
    return course_id


def _newest_comment(tool) -> str:
    with tool.app.app_context():
        comment = db.session.scalar(sa.select(ScoreOutbox.comment).order_by(ScoreOutbox.id.desc()).limit(1))
        db.session.remove()
    return comment


def test_due_so_far_grades_count_a_goal_from_the_courses_midnight_not_utcs(sandbox, tool):
    course_id = _column_with_first_goal_due(sandbox, tool, "2026-12-04")
    _set_zone(sandbox, tool, CHICAGO)
    with tool.app.app_context():
        publishing.queue_course(course_id, now=LATE_EVENING)
        db.session.commit()
        db.session.remove()
    # 23:00 on 3 December in Chicago: the goal due on the 4th is not due yet, though UTC is on the 4th.
    assert _newest_comment(tool).startswith("Nothing is due yet")
    with tool.app.app_context():
        assert publishing.requeue_if_due_changed(course_id, now=LATE_EVENING) == 0
        assert publishing.requeue_if_due_changed(course_id, now=PAST_MIDNIGHT) == 1  # the 4th there: now it is
        db.session.remove()
    assert _newest_comment(tool).startswith("Graded on the 4 skills due so far.")


def test_the_time_zone_form_accepts_only_listed_names_and_only_with_its_csrf_token(sandbox, tool):
    settings = _settings(sandbox.launch("teacher"), tool)
    assert f'<option value="{CHICAGO}">' in settings.text
    refused = submit_form(settings, "/teacher/settings/time-zone", time_zone="Mars/Olympus")
    assert "Choose a time zone from the list." in html.unescape(refused.text)
    assert 'aria-invalid="true"' in re.search(r"<select[^>]*>", refused.text).group(0)
    assert _course_zone(tool) is None
    action, fields = parse_form(re.search(r'<form[^>]*time-zone.*?</form>', settings.text, re.S).group(0),
                                settings.url)
    forged = settings.http.post(action, data={"time_zone": CHICAGO}, timeout=30)  # no CSRF token
    assert forged.status_code == 400 and _course_zone(tool) is None
    saved = _set_zone(sandbox, tool, CHICAGO)
    assert saved.status_code == 200 and _course_zone(tool) == CHICAGO
    assert f'<option value="{CHICAGO}" selected>' in saved.text


def test_a_student_cannot_set_the_course_time_zone(sandbox, tool):
    student = sandbox.launch("student")
    base = re.search(r"/c/[^/]+/", student.url).group(0)
    token = re.search(r'name="csrf_token" value="([^"]+)"', student.text).group(1)
    answer = student.http.post(tool.url(base + "teacher/settings/time-zone"),
                               data={"csrf_token": token, "time_zone": CHICAGO}, timeout=30)
    assert answer.status_code == 403 and _course_zone(tool) is None


def test_a_teachers_lms_time_zone_seeds_the_course_and_an_unexpanded_variable_or_a_students_does_not(sandbox, tool):
    sandbox.launch("teacher", custom={"person_time_zone": "$Person.address.timezone"})  # the LMS did not expand it
    sandbox.launch("student", custom={"person_time_zone": "Asia/Tokyo"})  # a student's zone is theirs alone
    sandbox.launch("teacher", custom={"person_time_zone": "99"})  # Moodle's "the server's zone"
    assert _course_zone(tool) is None
    sandbox.launch("teacher", custom={"person_time_zone": CHICAGO})
    assert _course_zone(tool) == CHICAGO
    _set_zone(sandbox, tool, "Europe/Madrid")
    sandbox.launch("teacher", custom={"person_time_zone": CHICAGO})  # the teacher's choice stays
    assert _course_zone(tool) == "Europe/Madrid"


def test_a_teachers_launch_under_way_while_another_teacher_chooses_the_zone_keeps_the_chosen_zone(
        sandbox, tool, monkeypatch):
    # The launch read that the course had no zone, the settings page then saved one, and the launch wrote its
    # LMS zone over it (SQLite: no row lock keeps the settings page out while the launch reads): the teacher was
    # told "The course's dates now follow the time zone America/Chicago" and the course followed Tokyo's.
    from lti_tool.services import launches
    from tests.races.support import hold_first_call

    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    settings = _settings(teacher, tool)
    reached, go = hold_first_call(monkeypatch, launches, "_returning")
    with ThreadPoolExecutor(1) as pool:
        launching = pool.submit(sandbox.launch, "teacher", custom={"person_time_zone": "Asia/Tokyo"})
        assert reached.wait(20)
        try:
            # The same teacher in another tab (or a colleague) saves the zone meanwhile: nothing holds it up.
            saved = submit_form(settings, "/teacher/settings/time-zone", time_zone=CHICAGO)
        finally:
            go.set()
        assert launching.result(30).status_code == 200
    assert saved.status_code == 200 and "now follow the time zone America/Chicago" in saved.text
    assert _course_zone(tool) == CHICAGO
