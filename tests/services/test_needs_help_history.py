""""Needs help now" counts the tries since a level last rose in SQL (issue 14): the same students, reasons and
numbers as reading every answer of the class, with months of history before the rise that must not count."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import sqlalchemy as sa

from lti_tool.learning.alerts import STUCK_ATTEMPTS
from lti_tool.learning.mastery import Level, SkillState
from lti_tool.models.base import utcnow
from tests.support import open_in_launch, teacher_with_demo_pack


def _stuck(entries) -> dict[tuple[int, str], int]:
    """Return (student, skill) -> tries of every "stuck" alert."""
    return {(entry.person_id, alert.skill_id): alert.reason_parts[0][1]["tries"]
            for entry in entries for alert in entry.alerts if alert.kind == "stuck"}


def _every_answer_read(course_id: int, ids: list[int]) -> dict[tuple[int, str], int]:
    """The tries since each skill's level last rose or a teacher set it, from every answer and level change (the
    reading before)."""
    from lti_tool.extensions import db
    from lti_tool.models import ItemResponse, MasteryEvent

    last_rise: dict[tuple[int, str], object] = {}
    for person_id, skill_id, old, new, at, source in db.session.execute(
        sa.select(MasteryEvent.person_id, MasteryEvent.skill_id, MasteryEvent.old_level, MasteryEvent.new_level,
                  MasteryEvent.at, MasteryEvent.source).where(MasteryEvent.course_id == course_id)
    ):
        if Level.stored(new).rank > Level.stored(old).rank or source == "override":
            key = (person_id, skill_id)
            last_rise[key] = max(at, last_rise.get(key, at))
    tries: dict[tuple[int, str], int] = defaultdict(int)
    for person_id, skill_ids, at in db.session.execute(
        sa.select(ItemResponse.person_id, ItemResponse.skill_ids, ItemResponse.answered_at)
        .where(ItemResponse.course_id == course_id, ItemResponse.person_id.in_(ids))
    ):
        for skill_id in skill_ids:
            rose = last_rise.get((person_id, skill_id))
            if rose is None or at > rose:
                tries[person_id, skill_id] += 1
    return dict(tries)


def test_tries_since_the_last_rise_ignore_months_of_earlier_answers_and_match_reading_every_answer(sandbox, tool):
    teacher = teacher_with_demo_pack(sandbox)
    for sub in ("student-1", "student-2", "student-3", "student-4"):
        sandbox.launch(sub)
    now = utcnow()
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.learning.local_days import days_between, local_date
        from lti_tool.models import Course, Enrollment, ItemResponse, MasteryEvent, Person, SkillMastery
        from lti_tool.services.classroom import needs_help
        from lti_tool.services.content import course_pack
        from lti_tool.services.time_zones import course_zone

        course = db.session.scalars(sa.select(Course)).one()
        pack = course_pack(course.id)
        first, second, third, fourth = pack.skill_graph.topological_order()[:4]
        people = dict(db.session.execute(
            sa.select(Person.sub, Person.id).join(Enrollment, Enrollment.person_id == Person.id)
            .where(Enrollment.course_id == course.id, Enrollment.role == "student")).all())
        priya, liam, third_student, fourth_student = (people[f"student-{n}"] for n in range(1, 5))

        def answers(person_id: int, skills: list[str], start, count: int, step=timedelta(hours=6)) -> None:
            for n in range(count):
                db.session.add(ItemResponse(course_id=course.id, person_id=person_id, item_id="history",
                                            skill_ids=skills, answer="x", correct=False, hints_used=0,
                                            source="practice", answered_at=start + n * step, credited=True))

        def rise(person_id: int, skill_id: str, old: Level, new: Level, at) -> None:
            db.session.add(MasteryEvent(course_id=course.id, person_id=person_id, skill_id=skill_id,
                                        old_level=old.value, new_level=new.value, source="practice", reason="",
                                        at=at))

        def level(person_id: int, skill_id: str, value: Level) -> None:
            db.session.add(SkillMastery(course_id=course.id, person_id=person_id, skill_id=skill_id,
                                        state=SkillState(skill_id).to_dict(), level=value.value, reason="",
                                        overridden=False, updated_at=now))

        months_ago = now - timedelta(days=120)
        # Priya: 200 answers over two months, then Familiar (the answer that raised it shares its time), then
        # 9 more: stuck with 9, not 209 or 210.
        answers(priya, [first], months_ago, 200)
        risen = months_ago + timedelta(days=60)
        rise(priya, first, Level.NOT_STARTED, Level.ATTEMPTED, months_ago)
        rise(priya, first, Level.ATTEMPTED, Level.FAMILIAR, risen)
        answers(priya, [first], risen, 1)
        answers(priya, [first], now - timedelta(days=2), STUCK_ATTEMPTS + 1)
        level(priya, first, Level.FAMILIAR)
        # Liam: answers from before level changes were kept (no rise at all), four months ago: every one counts.
        # He last opened Pathways before them, so his last answer says how long he has been away.
        answers(liam, [second], months_ago, STUCK_ATTEMPTS)
        db.session.execute(sa.update(Enrollment).where(Enrollment.person_id == liam)
                           .values(last_launch_at=months_ago - timedelta(days=1)))
        # A two-skill question: the third skill rose after 5 of 12 answers (7 since: not stuck), the fourth never
        # rose (12: stuck); a review that lowered the third skill is a drop, not a rise, and changes nothing.
        answers(third_student, [third, fourth], months_ago, 12, step=timedelta(days=5))
        rise(third_student, third, Level.NOT_STARTED, Level.ATTEMPTED, months_ago + 4 * timedelta(days=5))
        db.session.add(MasteryEvent(course_id=course.id, person_id=third_student, skill_id=third,
                                    old_level=Level.FAMILIAR.value, new_level=Level.ATTEMPTED.value, source="review",
                                    reason="", at=months_ago + 10 * timedelta(days=5)))
        level(third_student, third, Level.ATTEMPTED)
        # Proficient is progress enough, however many tries since.
        answers(fourth_student, [first], months_ago, 40)
        rise(fourth_student, first, Level.FAMILIAR, Level.PROFICIENT, months_ago)
        level(fourth_student, first, Level.PROFICIENT)
        db.session.commit()

        entries = needs_help(course.id, course.platform_id, now=now)
        expected = {key: count for key, count in _every_answer_read(course.id, list(people.values())).items()
                    if count >= STUCK_ATTEMPTS and key != (fourth_student, first)}
        assert _stuck(entries) == expected == {(priya, first): STUCK_ATTEMPTS + 1, (liam, second): STUCK_ATTEMPTS,
                                               (third_student, fourth): 12}
        inactive = {entry.person_id: alert.reason for entry in entries for alert in entry.alerts
                    if alert.kind == "inactive"}
        last_answer = months_ago + (STUCK_ATTEMPTS - 1) * timedelta(hours=6)
        # Calendar days in the course's time zone, as the page counts them, not 24-hour spans (those differ by one
        # at some hours of the day: the test failed from about midnight to 06:00 UTC).
        zone = course_zone(course.id)
        away, last_day = days_between(last_answer, now, zone), local_date(last_answer, zone)
        assert inactive == {liam: f"Hasn't worked in Pathways for {away} days (last on "
                                  f"{last_day.day} {last_day:%B})."}
        names = {s.id: s.name for s in pack.skills}

    page = open_in_launch(teacher, tool, "/class/needs-help")
    assert f"Stuck on {names[first]}: {STUCK_ATTEMPTS + 1} tries while staying at Familiar." in page.text
    assert f"Stuck on {names[fourth]}: 12 tries without a level yet." in page.text
