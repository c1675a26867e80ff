"""The goals page's pace (pacing.pace_for) reads stored levels and one aggregate of the student's history (issue 14):
each skill's latest rise to done (Proficient or above), the first answer and the first level change, as reading
all of them did."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

from lti_tool.learning.mastery import Level, SkillState
from lti_tool.learning.pacing import PaceStatus, plan_pace
from lti_tool.models import Course, Person
from lti_tool.models.base import utcnow
from tests.support import teacher_with_demo_pack


def _demo_course_ending_in_90_days(sandbox, tool, now: datetime) -> tuple[int, int, int, list[str], date]:
    """Return the demo course's id and platform's (started 60 days ago, ending in 90), its student's id, its skills
    and its end date."""
    teacher_with_demo_pack(sandbox)
    sandbox.launch("student")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.services.content import course_pack
        from lti_tool.services.goals import set_course_end

        course = db.session.scalars(sa.select(Course)).one()
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))
        order = list(course_pack(course.id).skill_graph.topological_order())
        ends_on = (now + timedelta(days=90)).date()
        set_course_end(course.id, ends_on.isoformat(), now=now)
        # The course started in Pathways long ago, so the student's weeks of work are inside it.
        db.session.execute(sa.update(Course).where(Course.id == course.id).values(created_at=now - timedelta(days=60)))
        db.session.commit()
        return course.id, course.platform_id, person_id, order, ends_on


def test_pace_dates_mastery_by_the_latest_rise_and_starts_at_the_first_answer_or_level_change(sandbox, tool):
    now = utcnow()
    course_id, platform_id, person_id, order, ends_on = _demo_course_ending_in_90_days(sandbox, tool, now)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, MasteryEvent, SkillMastery
        from lti_tool.services.pacing import pace_for

        def event(skill_id: str, old: Level, new: Level, days_ago: int) -> None:
            db.session.add(MasteryEvent(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                        old_level=old.value, new_level=new.value, source="practice", reason="",
                                        at=now - timedelta(days=days_ago)))

        for skill_id, level in ((order[0], Level.MASTERED), (order[1], Level.MASTERED), (order[2], Level.FAMILIAR),
                                (order[3], Level.PROFICIENT)):
            db.session.add(SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                        state=SkillState(skill_id).to_dict(), level=level.value, reason="",
                                        overridden=False, updated_at=now))
        # Done is Proficient or above (what the units and the gradebook count). The first skill reached Proficient,
        # slipped below it in a review and reached it again: the later rise counts, and going on to Mastered does not
        # move it.
        event(order[0], Level.FAMILIAR, Level.PROFICIENT, 30)
        event(order[0], Level.PROFICIENT, Level.FAMILIAR, 20)
        event(order[0], Level.FAMILIAR, Level.PROFICIENT, 10)
        event(order[0], Level.PROFICIENT, Level.MASTERED, 8)
        # The fourth was Mastered once and is Proficient now: still done, since its rise 15 days ago. The second has
        # no event (data from before events were kept): done today. The first level change (accepted evidence) is
        # before any answer.
        event(order[3], Level.FAMILIAR, Level.PROFICIENT, 15)
        event(order[3], Level.PROFICIENT, Level.MASTERED, 12)
        event(order[3], Level.MASTERED, Level.PROFICIENT, 5)
        event(order[2], Level.NOT_STARTED, Level.FAMILIAR, 45)
        for days_ago in (40, 12):
            db.session.add(ItemResponse(course_id=course_id, person_id=person_id, item_id="history",
                                        skill_ids=[order[0]], answer="x", correct=True, hints_used=0,
                                        source="practice", answered_at=now - timedelta(days=days_ago), credited=True))
        db.session.commit()

        pace = pace_for(course_id, person_id, now=now)
        mastered = {order[0], order[1], order[3]}
        expected = plan_pace([s for s in order if s not in mastered],
                             [(now - timedelta(days=10)).date(), now.date(), (now - timedelta(days=15)).date()],
                             course_start=(now - timedelta(days=60)).date(), course_end=ends_on, today=now.date(),
                             started_on=(now - timedelta(days=45)).date())
        assert (pace.status, pace.mastered, pace.total, pace.explanation) == (
            expected.status.value, 3, len(order), expected.explanation)
        assert [(sid, day) for sid, _, day in pace.targets] == [
            (sid, expected.targets[sid]) for sid in order if sid not in mastered and sid in expected.targets]
        assert pace.targets, "the plan gives target dates"

        # Without any level change, the first answer starts the student's pace.
        db.session.execute(sa.delete(MasteryEvent).where(MasteryEvent.person_id == person_id))
        db.session.commit()
        again = pace_for(course_id, person_id, now=now)
        expected = plan_pace([s for s in order if s not in mastered], [now.date(), now.date(), now.date()],
                             course_start=(now - timedelta(days=60)).date(), course_end=ends_on, today=now.date(),
                             started_on=(now - timedelta(days=40)).date())
        assert (again.status, again.explanation) == (expected.status.value, expected.explanation)


def test_the_teachers_behind_pace_alert_counts_what_the_students_own_pace_counts(sandbox, tool):
    # One "done" for both: the student's goals page and the teacher's "Behind pace" alert read the same skills and
    # the same start. The teacher's count left out a skill done with no recorded rise (data from before events
    # were kept), which the student's pace counts from today, and started the pace at the first answer, not at a
    # teacher's level set before it: "2 of 15" in four weeks for the teacher where the student read "3 of 16" in six.
    now = utcnow()
    course_id, platform_id, person_id, order, ends_on = _demo_course_ending_in_90_days(sandbox, tool, now)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.learning.alerts import AlertKind
        from lti_tool.models import ItemResponse, MasteryEvent, SkillMastery
        from lti_tool.services.classroom import needs_help
        from lti_tool.services.pacing import pace_for

        for skill_id, level in ((order[0], Level.PROFICIENT), (order[1], Level.MASTERED), (order[2], Level.PROFICIENT)):
            db.session.add(SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                        state=SkillState(skill_id).to_dict(), level=level.value, reason="",
                                        overridden=skill_id == order[2], updated_at=now))
        # The first rose by practice; the second has no event; the teacher set the third to Proficient before the
        # student's first answer.
        for skill_id, old, new, source, days_ago in ((order[0], Level.FAMILIAR, Level.PROFICIENT, "practice", 30),
                                                     (order[2], Level.NOT_STARTED, Level.PROFICIENT, "override", 45)):
            db.session.add(MasteryEvent(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                        old_level=old.value, new_level=new.value, source=source, reason="",
                                        at=now - timedelta(days=days_ago)))
        db.session.add(ItemResponse(course_id=course_id, person_id=person_id, item_id="history", skill_ids=[order[0]],
                                    answer="x", correct=True, hints_used=0, source="practice",
                                    answered_at=now - timedelta(days=30), credited=True))
        db.session.commit()

        pace = pace_for(course_id, person_id, now=now)
        expected = plan_pace(order[3:], [(now - timedelta(days=d)).date() for d in (30, 0, 45)],
                             course_start=(now - timedelta(days=60)).date(), course_end=ends_on, today=now.date(),
                             started_on=(now - timedelta(days=45)).date())
        assert (pace.status, pace.mastered, pace.total) == (PaceStatus.BEHIND.value, 3, len(order))
        assert pace.explanation == expected.explanation
        entry = next(e for e in needs_help(course_id, platform_id, now=now) if e.person_id == person_id)
        behind = next(a for a in entry.alerts if a.kind is AlertKind.BEHIND)
        assert behind.reason_parts[0][1] == {"mastered": pace.mastered, "total": pace.total,
                                             "weeks": round(expected.weeks_active)}
