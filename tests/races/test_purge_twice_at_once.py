"""Two retention purges at once: `pathways privacy purge` run by hand while the worker's hourly purge runs (or a
teacher deleting the course between the purge's listing and its locks).

The purge listed the idle courses, then locked and deleted each. A course another purge (or a teacher) deleted in
between was found "not used since" (it has no launch time any more), so it was "purged" again: nothing deleted, a
second purge_course entry in the audit log and the course in the report of both runs. A course gone by the time
its locks are held is now skipped.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, CourseContent, Enrollment, Person
from lti_tool.models.base import utcnow
from lti_tool.services import privacy
from tests.races.support import at_once, demo_course, hold_first_call, meet_after_first_call
from tests.races.test_student_delete_double_click import _deletions

DAYS = 30


def test_a_course_another_purge_deleted_after_this_one_listed_it_is_purged_and_logged_once(sandbox, tool,
                                                                                           monkeypatch):
    course = demo_course(sandbox, tool)
    later = utcnow() + timedelta(days=DAYS + 1)  # the course has been idle longer than the retention period
    reached, go = hold_first_call(monkeypatch, privacy, "_idle_courses")  # the first purge has listed the course
    reports: dict[str, privacy.PurgeReport] = {}
    errors: list[BaseException] = []

    def purge(name: str) -> None:
        with tool.app.app_context():
            try:
                reports[name] = privacy.purge_inactive_courses(later, DAYS, dry_run=False)
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                db.session.remove()

    first = threading.Thread(target=purge, args=("first",))
    first.start()
    assert reached.wait(30)
    purge("second")  # runs whole and commits while the first holds the course it listed
    go.set()
    first.join(60)

    assert errors == [], [repr(e)[:300] for e in errors]
    assert [c.course_id for c in reports["second"].courses] == [course.course_id]
    assert reports["first"].courses == []  # nothing left to purge: it is not reported purged a second time
    assert _deletions(tool, "purge_course") == 1
    with tool.app.app_context():
        assert db.session.get(Course, course.course_id) is None
        db.session.remove()


def test_two_purges_at_once_of_a_course_nobody_is_left_in_purge_it_once(sandbox, tool, monkeypatch):
    # A course a teacher opened and left (no pack chosen: no content row), whose teacher an administrator has since
    # deleted (`pathways privacy delete`): no content, learner or person row for the purge's locks to wait on.
    # Both purges read the course as still there; on PostgreSQL each then held it FOR SHARE (_used_since) and
    # waited to delete it for the other: a deadlock, which threw one purge's whole run away.
    sandbox.launch("teacher")
    with tool.app.app_context():
        course_id = db.session.scalars(sa.select(Course.id)).one()
        teacher = db.session.scalars(sa.select(Person)).one()
        privacy.delete_user(tool.platform.issuer, "pathways-sandbox", teacher.sub, now=utcnow())
        assert db.session.get(CourseContent, course_id) is None
        assert not db.session.scalars(sa.select(Enrollment).where(Enrollment.course_id == course_id)).all()
        db.session.remove()
    later = utcnow() + timedelta(days=DAYS + 1)
    # Both have read the course as there before either deletes it (a purge kept out by a lock goes on after 5 s).
    meet_after_first_call(monkeypatch, privacy, "_course_gone")
    reports: list[privacy.PurgeReport] = []

    def purge() -> None:
        reports.append(privacy.purge_inactive_courses(later, DAYS, dry_run=False))

    errors = at_once(tool.app, [purge, purge])

    assert errors == [], [repr(e)[:300] for e in errors]
    assert sorted(len(report.courses) for report in reports) == [0, 1]
    assert _deletions(tool, "purge_course") == 1
    with tool.app.app_context():
        assert db.session.get(Course, course_id) is None
        db.session.remove()
