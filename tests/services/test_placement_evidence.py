"""The placement check's answers are evidence on the skills they ask about, not on how the learner does lately."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.support import right_answer, submit_form

START = datetime(2026, 9, 1, 9, 0)


def _answer(item, right: bool) -> str:
    if item.type == "multiple_choice":
        return item.answer if right else next(c.id for c in item.choices if c.id != item.answer)
    return right_answer(item) if right else "999999"


def _student_who_knows_the_first_half_takes_the_check(sandbox, tool):
    """Launch a student and have them answer the check: right on the first half of the map, wrong on the rest."""
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    from lti_tool.extensions import db
    from lti_tool.models import Course, Enrollment
    from lti_tool.services.diagnostic import answer_question, current_question
    from lti_tool.services.mastery import require_pack

    course = db.session.scalars(db.select(Course)).one()
    person_id = db.session.scalars(db.select(Enrollment.person_id).where(Enrollment.role == "student")).one()
    pack = require_pack(course.id)
    order = list(pack.skill_graph.topological_order())
    known = set(order[: len(order) // 2])
    now = START
    asked = {"known": 0, "unknown": 0}
    while (question := current_question(course.id, person_id, now=now)) is not None and question.item is not None:
        right = question.item.skills[0] in known
        asked["known" if right else "unknown"] += 1
        if answer_question(course.id, person_id, question.item.id, _answer(question.item, right), not_sure=False,
                           now=now):
            break
        now += timedelta(seconds=40)
    return course.id, person_id, pack, order, asked, now


def _attempts(course_id: int, person_id: int) -> dict[str, int]:
    """Answers counted in each stored mastery state, by skill id (`ALL_SKILLS` for the learner-wide one)."""
    from lti_tool.extensions import db
    from lti_tool.learning.mastery import SkillState
    from lti_tool.models import SkillMastery

    rows = db.session.scalars(db.select(SkillMastery).where(
        SkillMastery.course_id == course_id, SkillMastery.person_id == person_id))
    return {row.skill_id: SkillState.from_dict(row.state).attempts for row in rows}


def _learner_wide_attempts(course_id: int, person_id: int) -> int:
    from lti_tool.learning.mastery import ALL_SKILLS

    return _attempts(course_id, person_id).get(ALL_SKILLS, 0)


def test_the_check_s_answers_count_on_their_skills_and_practice_counts_learner_wide(sandbox, tool):
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse
        from lti_tool.services.mastery import record_answer
        from lti_tool.services.serving import serve_next

        course_id, person_id, pack, order, asked, now = _student_who_knows_the_first_half_takes_the_check(sandbox,
                                                                                                            tool)
        assert asked["known"] and asked["unknown"]  # the check found the edge from both sides

        # Each skill the check asked about holds its answers as evidence, as before ...
        checked = [r.skill_ids[0] for r in db.session.scalars(db.select(ItemResponse).where(
            ItemResponse.source == "diagnostic"))]
        attempts = _attempts(course_id, person_id)
        assert all(attempts[skill] == checked.count(skill) for skill in set(checked))
        # ... but the learner-wide state, read on every skill as how the learner has been doing, is untouched.
        assert _learner_wide_attempts(course_id, person_id) == 0

        question = serve_next(course_id, person_id, order[0], pack, now=now + timedelta(minutes=5))
        record_answer(course_id, person_id, question.id, _answer(question.item, True), now=now + timedelta(minutes=5))
        assert _learner_wide_attempts(course_id, person_id) == 1


def test_after_a_check_that_found_the_edge_three_right_answers_make_a_known_skill_proficient(sandbox, tool):
    with tool.app.app_context():
        from lti_tool.learning.mastery import Level
        from lti_tool.services.mastery import record_answer
        from lti_tool.services.serving import serve_next

        course_id, person_id, pack, order, _, now = _student_who_knows_the_first_half_takes_the_check(sandbox, tool)
        # The first skill of the map, which this check did not ask about: the misses on skills further on used to
        # weigh on it, so three right answers on three items were not enough.
        levels = []
        for n in range(3):
            at = now + timedelta(minutes=5 + n)
            question = serve_next(course_id, person_id, order[0], pack, now=at)
            result = record_answer(course_id, person_id, question.id, _answer(question.item, True), now=at)
            levels.append(next(v.level for v in result.views if v.skill_id == order[0]))

        assert levels[-1] is Level.PROFICIENT


def test_the_course_fit_replays_the_check_s_answers_as_they_were_recorded(sandbox, tool):
    # A fit learns from the features the app served; the check's answers must be replayed outside the
    # learner-wide state there too, or the fitted weights would read a state no learner has.
    with tool.app.app_context():
        from lti_tool.services.model_fitting import _histories

        course_id, person_id, _, _, asked, _ = _student_who_knows_the_first_half_takes_the_check(sandbox, tool)
        history = _histories(course_id)[str(person_id)]

        assert len(history) == asked["known"] + asked["unknown"]
        assert not any(response.learner_wide for response in history)
