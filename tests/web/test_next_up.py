"""The feedback page's "Next up" (services/next_up.py) is the plan's own choice, built without the whole plan."""

from __future__ import annotations

import re

import sqlalchemy as sa

from lti_tool.learning.mastery import Level, SkillState
from lti_tool.models.base import utcnow
from tests.support import served_answer, submit_form


def _plans_pick(course_id: int, person_id: int, besides: str):
    from lti_tool.services.plan import plan_for

    steps = plan_for(course_id, person_id, now=utcnow()).next_steps
    return next((step for step in steps if step.skill_id != besides), None)


def _same_pick_for_every_skill(course_id: int, person_id: int) -> list[str]:
    """Compare the two after every skill; return the skills picked (so a test can see more than one case)."""
    from lti_tool.services.content import course_pack
    from lti_tool.services.next_up import next_up

    picked = []
    for skill_id in course_pack(course_id).skill_graph.topological_order():
        ours = next_up(course_id, person_id, skill_id, now=utcnow())
        assert ours == _plans_pick(course_id, person_id, skill_id), skill_id
        picked.append(ours.skill_id if ours else "")
    return picked


def _set_levels(course_id: int, person_id: int, levels: dict[str, Level]) -> None:
    from lti_tool.extensions import db
    from lti_tool.models import SkillMastery

    db.session.execute(sa.delete(SkillMastery).where(SkillMastery.course_id == course_id,
                                                     SkillMastery.person_id == person_id,
                                                     SkillMastery.skill_id.in_(list(levels))))
    for skill_id, level in levels.items():
        db.session.add(SkillMastery(course_id=course_id, person_id=person_id, skill_id=skill_id,
                                    state=SkillState(skill_id).to_dict(), level=level.value, reason="",
                                    overridden=False, updated_at=utcnow()))
    db.session.commit()


def _student(tool, sub: str) -> tuple[int, int, int]:
    from lti_tool.extensions import db
    from lti_tool.models import Course, Person

    course = db.session.scalars(sa.select(Course)).one()
    person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == sub))
    return course.id, course.platform_id, person_id


def test_next_up_is_the_plans_first_other_step_with_assignments_goals_and_progress(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    with tool.app.app_context():
        from lti_tool.services.assignments import assign_skills
        from lti_tool.services.content import course_pack
        from lti_tool.services.goals import add_goal
        from lti_tool.services.permissions import Actor

        course_id, platform_id, person_id = _student(tool, "student-1")
        order = list(course_pack(course_id).skill_graph.topological_order())
        picked = _same_pick_for_every_skill(course_id, person_id)  # a new student: the map's first skills
        # Progress along the map, a goal of the student's own further on, and a skill the teacher assigned.
        _set_levels(course_id, person_id, {sid: Level.MASTERED for sid in order[:4]} | {order[4]: Level.FAMILIAR})
        add_goal(course_id, person_id, title="Get to the end", why="", by_date="", skill_ids=[order[-1]],
                 now=utcnow())
        picked += _same_pick_for_every_skill(course_id, person_id)
        teacher = _student(tool, "teacher")[2]
        assign_skills(course_id, platform_id, skill_ids=[order[9]], person_ids=[person_id], due_on=None,
                      actor=Actor(teacher, "instructor"), now=utcnow())
        picked += _same_pick_for_every_skill(course_id, person_id)
        # Everything mastered: no next step at all.
        _set_levels(course_id, person_id, {sid: Level.MASTERED for sid in order})
        picked += _same_pick_for_every_skill(course_id, person_id)
    assert order[9] in picked and "" in picked and len(set(picked)) >= 4, picked


def test_next_up_follows_the_placement_checks_good_places_to_start(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    page = student.http.get(tool.url(re.search(r'href="([^"]*/diagnostic)"', student.text).group(1)), timeout=30)
    page.http = student.http
    number = 0
    while "/diagnostic/result" not in page.url:
        page = submit_form(page, "/diagnostic", answer=served_answer(tool, page, right=number < 3))
        number += 1
    with tool.app.app_context():
        from lti_tool.learning.diagnostic import Belief
        from lti_tool.services.diagnostic import placements

        course_id, _, person_id = _student(tool, "student-1")
        assert any(p.belief is Belief.NOT_YET for p in placements(course_id, person_id).values())
        _same_pick_for_every_skill(course_id, person_id)


def test_next_up_puts_a_skill_waiting_for_another_sitting_last_as_the_plan_does(sandbox, tool):
    # "Next up" offered the skill the plan lists last because the student can only take a break for it now: after
    # mastering another skill, the student was sent to practise one where more answers today change nothing.
    from lti_tool.learning.coursepack import load_pack
    from lti_tool.services.content import demo_pack_data
    from tests.services.test_reviews import _practise

    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _practise(student, tool, "frac-equivalent", load_pack(demo_pack_data()), right=True, times=10)
    with tool.app.app_context():
        course_id, _, person_id = _student(tool, "student-1")
        picked = _same_pick_for_every_skill(course_id, person_id)
    assert "frac-equivalent" not in picked  # the skills it opens come first
