"""Mastered skills come back for spaced review, days later; a failed review lowers the estimate."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, served_item, submit_form


def _practise(page, tool, skill_id, pack, *, right: bool, times: int):
    feedback = None
    for _ in range(times):
        question = page.http.get(tool.url(re.search(r"/c/[^/]+/", page.url).group(0) + f"practice/{skill_id}"))
        question.http = page.http
        answer = served_answer(tool, question) if right else "999999 wrong"
        feedback = submit_form(question, f"practice/{skill_id}", answer=answer)
    return feedback


def _levels(tool, sub: str | None = None):
    """Return (levels by skill, review cards, mastery events); with `sub`, that student's levels only (with several
    students, the rows of all of them would overwrite each other in no set order)."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import MasteryEvent, Person, ReviewSchedule, SkillMastery

        rows = db.select(SkillMastery)
        if sub is not None:
            rows = rows.join(Person, Person.id == SkillMastery.person_id).where(Person.sub == sub)
        return (
            {m.skill_id: m.level for m in db.session.scalars(rows)},
            list(db.session.scalars(db.select(ReviewSchedule))),
            list(db.session.scalars(db.select(MasteryEvent).order_by(MasteryEvent.id))),
        )


def _answer_sources(tool) -> list[str]:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse

        return list(db.session.scalars(db.select(ItemResponse.source).order_by(ItemResponse.id)))


def _days_pass(tool, days: float) -> None:
    """Move every answer and review date back, as if `days` had passed since."""
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ReviewSchedule, SkillMastery

        for row in db.session.scalars(db.select(SkillMastery)):
            state = dict(row.state)
            if state.get("last_seen") is not None:
                state["last_seen"] = state["last_seen"] - days * 86_400
            row.state = state
        for row in db.session.scalars(db.select(ReviewSchedule)):
            row.due_at = row.due_at - timedelta(days=days)
        db.session.commit()


def _estimate(tool, skill_id) -> float:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import SkillMastery

        row = db.session.scalars(db.select(SkillMastery).where(SkillMastery.skill_id == skill_id)).one()
        return row.state["estimate"]


def _master(student, tool, skill_id, pack, sub: str | None = None) -> None:
    """Answer right in one sitting, then again a few days later: Mastered needs two sittings (`sub`: the student's
    LMS id, where others have levels too)."""
    _practise(student, tool, skill_id, pack, right=True, times=5)
    assert _levels(tool, sub)[0][skill_id] == "Proficient"  # one sitting is not enough for Mastered
    _days_pass(tool, 3)
    for _ in range(5):
        _practise(student, tool, skill_id, pack, right=True, times=1)
        if _levels(tool, sub)[0][skill_id] == "Mastered":
            return
    raise AssertionError(f"{skill_id} was not mastered: {_levels(tool, sub)[0]}")


def first_skill_mastered(sandbox, tool):
    """Give the course the demo pack and have the student master its first skill; return the student, pack, skill."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    skill_id = pack.skill_graph.topological_order()[0]
    student = sandbox.launch("student")
    _master(student, tool, skill_id, pack)
    return student, pack, skill_id


def test_a_skill_mastered_over_two_sittings_comes_back_days_later_and_one_failed_review_keeps_the_level(
    sandbox, tool
):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    first_skill = pack.skill_graph.topological_order()[0]
    student = sandbox.launch("student")

    _master(student, tool, first_skill, pack)

    levels, schedules, _ = _levels(tool)
    (schedule,) = [s for s in schedules if s.skill_id == first_skill]
    # The first review comes at FSRS's interval for 90% retention: days, not minutes.
    assert schedule.due_at > datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)

    _days_pass(tool, 10)  # time passes: the review falls due
    plan = student.http.get(student.url)
    assert "review" in plan.text.lower()
    before = _estimate(tool, first_skill)

    _practise(student, tool, first_skill, pack, right=False, times=1)

    levels, schedules, events = _levels(tool)
    assert _estimate(tool, first_skill) < before  # the miss counts as evidence...
    assert levels[first_skill] == "Mastered"  # ...but one slip does not take a level clearly shown
    assert not [e for e in events if e.source == "review"]
    assert _answer_sources(tool)[-2:] == ["practice", "review"]  # the answer is kept as a review
    (schedule,) = [s for s in schedules if s.skill_id == first_skill]
    tomorrow = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=20)
    assert schedule.due_at > tomorrow  # back soon to relearn, but not in minutes


def test_a_skill_mastered_again_keeps_its_review_history(sandbox, tool):
    _, _, first_skill = first_skill_mastered(sandbox, tool)
    (first,) = _levels(tool)[1]

    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.learning.mastery import Level
        from lti_tool.models import ReviewSchedule
        from lti_tool.services.reviews import start_if_mastered

        now = datetime.now(UTC) + timedelta(days=5)
        start_if_mastered(first.course_id, first.person_id, first_skill, Level.PROFICIENT, Level.MASTERED, now)
        db.session.commit()
        (again,) = db.session.scalars(db.select(ReviewSchedule)).all()

    # The card carries on (a second successful retrieval), so FSRS's memory of it grows instead of resetting.
    def interval(card):
        return datetime.fromisoformat(card["due"]) - datetime.fromisoformat(card["last_review"])

    assert again.card["stability"] > first.card["stability"]
    assert interval(again.card) > interval(first.card)


def test_a_pack_without_review_spacing_schedules_no_reviews(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import CourseContent

        content = db.session.scalars(db.select(CourseContent)).one()
        data = dict(content.pack)
        data["mastery"] = {**data["mastery"], "review_spacing": False}
        content.pack = data
        content.updated_at = datetime.now(UTC).replace(tzinfo=None)
        db.session.commit()
    pack = load_pack(demo_pack_data())
    first_skill = pack.skill_graph.topological_order()[0]
    student = sandbox.launch("student")

    _master(student, tool, first_skill, pack)

    assert _levels(tool)[1] == []


def test_a_student_with_two_skills_due_gets_a_mixed_review_of_both(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    first, second = pack.skill_graph.topological_order()[:2]
    student = sandbox.launch("student")
    _master(student, tool, first, pack)
    _master(student, tool, second, pack)
    _days_pass(tool, 10)

    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ReviewSchedule
        from lti_tool.services.reviews import challenge

        schedule = db.session.scalars(db.select(ReviewSchedule)).first()
        mixed = challenge(schedule.course_id, schedule.person_id, datetime.now(UTC).replace(tzinfo=None), size=4)

    assert [skill for skill, _ in mixed] in ([first, second] * 2, [second, first] * 2)
    assert len({item for _, item in mixed}) == 4


def _page(student, tool, path: str = ""):
    page = student.http.get(tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + path), timeout=30)
    page.http = student.http
    return page


def test_a_skill_the_teacher_sets_to_mastered_comes_back_for_review_days_later(sandbox, tool):
    # Mastered by the teacher's judgement (an override) put nothing on the review schedule: its review never came.
    from tests.web.test_override_holds import FIRST, _set_level

    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Mastered")

    (schedule,) = _levels(tool)[1]
    assert schedule.skill_id == FIRST
    assert "Quick review" not in _page(student, tool).text  # not due yet
    _days_pass(tool, 10)
    assert "Quick review" in _page(student, tool).text
    review = submit_form(_page(student, tool, "review"), "/review/start")  # its Start button
    assert served_item(tool, re.search(r'name="served" value="(\d+)"', review.text).group(1)).skills[0] == FIRST


def test_a_mastered_skill_the_teacher_sets_back_to_attempted_is_practised_not_offered_as_a_review(sandbox, tool):
    # Its review schedule stayed: days later the plan said "You learned these before" of a skill it showed as
    # Attempted, and its practice answers were kept (and rated) as reviews.
    from tests.web.test_override_holds import FIRST, _set_level

    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    pack = load_pack(demo_pack_data())
    student = sandbox.launch("student")
    _master(student, tool, FIRST, pack)
    _set_level(teacher, tool, "Attempted")
    _days_pass(tool, 10)

    plan = html.unescape(_page(student, tool).text)
    assert "Quick review" not in plan
    assert "You learned this before" not in plan and "You learned these before" not in plan
    assert "Nothing to review right now" in html.unescape(_page(student, tool, "review").text)
    _practise(student, tool, FIRST, pack, right=True, times=1)
    assert _answer_sources(tool)[-1] == "practice"


def test_a_skill_mastered_on_evidence_the_teacher_accepts_comes_back_for_review_days_later(sandbox, tool):
    from tests.web.test_agency import FIRST_SKILL, _open

    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    student = sandbox.launch("student")
    submit_form(_open(student, tool, "Show what I know"), "/evidence", skill_id=FIRST_SKILL, kind="explanation",
                text="Multiply top and bottom by the same number: 1/2 = 2/4 = 3/6.")
    queue = _open(_page(teacher, tool), tool, "Evidence to review")
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)
    submit_form(queue, f"/teacher/evidence/{evidence_id}/accept", level="Mastered", comment="Clear")

    assert _levels(tool)[0][FIRST_SKILL] == "Mastered"
    assert [s.skill_id for s in _levels(tool)[1]] == [FIRST_SKILL]
    _days_pass(tool, 10)
    assert "Quick review" in _page(student, tool).text
