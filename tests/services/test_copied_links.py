"""A duplicated activity keeps its custom parameters, our placement id among them (Canvas "Duplicate", Moodle).

With a gradebook column of its own, the copy gets a placement of its own with the original's settings, so each
column gets the students' scores; before, both links shared one placement whose column switched on every launch
(scores went to whichever was opened last, and each switch re-queued the whole course).
"""

from __future__ import annotations

import re

from lti_tool.services import publishing
from tests.support import (
    class_override,
    demo_first_goal_due,
    drain_outbox,
    parse_form,
    submit_form,
    teacher_with_demo_pack,
)

DL = "LtiDeepLinkingRequest"
COPY = "link-b"


def _unit_placed_with_a_column(sandbox, tool) -> tuple[str, dict, str]:
    """Place the Fractions unit (20 points) through Deep Linking; return its link id, custom parameters, column."""
    teacher_with_demo_pack(sandbox)
    demo_first_goal_due(tool)
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link", option="u-unit-fractions", **{"points_u-unit-fractions": "20"})
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    links = tool.platform.courses["math-7"].resource_links
    (link_id,) = [i for i, link in links.items() if link.custom.get("pathways_placement")]
    (column,) = [url for url, item in tool.platform.line_items.items() if item.get("resourceLinkId") == link_id]
    return link_id, dict(links[link_id].custom), column


def _copy(tool, custom: dict, *, with_column: bool = True, link_id: str = COPY) -> str | None:
    """Duplicate the placed link as the LMS does: same custom parameters, a new link id and (usually) a column."""
    tool.platform.add_resource_link(link_id, "Fractions Copy", custom=custom)
    if not with_column:
        return None
    return tool.platform.create_line_item(
        "math-7", {"label": "Fractions Copy", "scoreMaximum": 20, "resourceLinkId": link_id}
    )["id"]


def _master_first_skill(tool, teacher) -> None:
    view = teacher.http.get(tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "class"))
    view.http = teacher.http
    class_override(view, level="Mastered", note="Checked in class")


def _student_scores(tool, column: str) -> list[float]:
    return [
        s["scoreGiven"]
        for s in tool.platform.scores.get(column, [])
        if s["userId"] == "student-1" and "scoreGiven" in s
    ]


def _placements(tool) -> list:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        found = db.session.scalars(db.select(Placement).order_by(Placement.id)).all()
        db.session.expunge_all()
        return found


def _count_course_queues(monkeypatch) -> list[int]:
    calls: list[int] = []
    original = publishing.queue_course

    def counted(course_id, *, now):
        calls.append(course_id)
        return original(course_id, now=now)

    monkeypatch.setattr(publishing, "queue_course", counted)
    return calls


def test_a_student_launching_both_links_gets_the_score_in_both_columns(sandbox, tool):
    original, custom, first_column = _unit_placed_with_a_column(sandbox, tool)
    copy_column = _copy(tool, custom)
    for link in (original, COPY, original):
        assert sandbox.launch("student", resource_link_id=link).status_code == 200

    _master_first_skill(tool, sandbox.launch("teacher", resource_link_id=original))
    stats = drain_outbox(tool)

    first, copied = _student_scores(tool, first_column), _student_scores(tool, copy_column)
    assert first and copied and first[-1] == copied[-1] > 0
    assert stats.failed == 0


def test_the_copys_column_is_filled_with_scores_earned_before_it_was_opened(sandbox, tool):
    original, custom, first_column = _unit_placed_with_a_column(sandbox, tool)
    sandbox.launch("student", resource_link_id=original)
    _master_first_skill(tool, sandbox.launch("teacher", resource_link_id=original))
    drain_outbox(tool)
    copy_column = _copy(tool, custom)

    sandbox.launch("student", resource_link_id=COPY)
    drain_outbox(tool)

    assert _student_scores(tool, copy_column) == _student_scores(tool, first_column)[-1:]
    # The copy's placement has the original's settings and its own id, link and column.
    placed, copied = _placements(tool)
    assert (placed.resource_link_id, placed.lineitem_url) == (original, first_column)
    assert (copied.resource_link_id, copied.lineitem_url) == (COPY, copy_column)
    assert (copied.kind, copied.skill_ids, copied.score_maximum) == ("unit", placed.skill_ids, 20.0)
    assert copied.resource_id != placed.resource_id and copied.title == "Fractions Copy"


def test_alternating_launches_of_the_two_links_do_not_requeue_the_course(sandbox, tool, monkeypatch):
    original, custom, first_column = _unit_placed_with_a_column(sandbox, tool)
    copy_column = _copy(tool, custom)
    sandbox.launch("student", resource_link_id=original)
    sandbox.launch("student", resource_link_id=COPY)  # the copy's placement is made, and filled, once
    queued = _count_course_queues(monkeypatch)

    for link in (original, COPY, original, COPY):
        sandbox.launch("student", resource_link_id=link)

    assert queued == []
    assert [(p.resource_link_id, p.lineitem_url) for p in _placements(tool)] == [
        (original, first_column),
        (COPY, copy_column),
    ]


def test_a_copy_without_a_column_of_its_own_opens_the_original_placement_unchanged(sandbox, tool, monkeypatch):
    original, custom, first_column = _unit_placed_with_a_column(sandbox, tool)
    sandbox.launch("student", resource_link_id=original)
    _copy(tool, custom, with_column=False)
    queued = _count_course_queues(monkeypatch)

    page = sandbox.launch("student", resource_link_id=COPY)

    assert page.status_code == 200 and "Fractions" in page.text
    assert queued == []
    (placed,) = _placements(tool)
    assert (placed.resource_link_id, placed.lineitem_url) == (original, first_column)


def test_a_course_copy_gets_a_placement_of_its_own_and_leaves_the_original_alone(sandbox, tool):
    original, custom, first_column = _unit_placed_with_a_column(sandbox, tool)
    sandbox.launch("student", resource_link_id=original)
    platform = tool.platform
    platform.add_course("math-7-copy", "Grade 7 Mathematics (copy)", "M7C")
    platform.add_user(sandbox.sub("student"), roles=["Learner"], context_id="math-7-copy")
    platform.add_resource_link(original, "Fractions", context_id="math-7-copy", custom=custom)
    platform.create_line_item("math-7-copy", {"label": "Fractions", "scoreMaximum": 20, "resourceLinkId": original})

    assert sandbox.launch("student", context_id="math-7-copy", resource_link_id=original).status_code == 200

    placed, other = _placements(tool)
    assert (placed.resource_link_id, placed.lineitem_url) == (original, first_column)
    assert other.course_id != placed.course_id and other.resource_id == placed.resource_id
    # Still the Fractions unit, not the whole plan: the link's custom parameters name its skills.
    assert placed.kind == other.kind == "unit" and other.skill_ids == placed.skill_ids and placed.skill_ids


def test_a_copied_unit_link_whose_skills_parameter_was_mangled_opens_as_the_whole_plan(sandbox, tool):
    original, custom, _ = _unit_placed_with_a_column(sandbox, tool)
    platform = tool.platform
    platform.add_course("math-7-copy", "Grade 7 Mathematics (copy)", "M7C")
    platform.add_user(sandbox.sub("student"), roles=["Learner"], context_id="math-7-copy")
    mangled = {**custom, "pathways_unit_skills": '[["frac-add"]]' + "x"}
    platform.add_resource_link(original, "Fractions", context_id="math-7-copy", custom=mangled)

    assert sandbox.launch("student", context_id="math-7-copy", resource_link_id=original).status_code == 200

    _, other = _placements(tool)
    assert (other.kind, other.skill_ids) == ("plan", [])


def test_a_copied_unit_link_naming_skills_this_pack_lacks_opens_and_grades_the_whole_plan(sandbox, tool):
    original, custom, _ = _unit_placed_with_a_column(sandbox, tool)
    platform = tool.platform
    platform.add_course("math-7-copy", "Grade 7 Mathematics (copy)", "M7C")
    platform.add_user(sandbox.sub("teacher"), roles=["Instructor"], context_id="math-7-copy")
    platform.add_user(sandbox.sub("student"), roles=["Learner"], context_id="math-7-copy")
    # A pack revised since, or a value edited by hand in the LMS: none of its skills is in this course's pack.
    platform.add_resource_link(original, "Fractions", context_id="math-7-copy",
                               custom={**custom, "pathways_unit_skills": '["no-such-skill"]'})
    teacher_with_demo_pack(sandbox, context_id="math-7-copy")

    page = sandbox.launch("student", context_id="math-7-copy", resource_link_id=original)

    assert page.status_code == 200
    assert "You have mastered everything" not in page.text
    assert "Equivalent fractions" in page.text  # the whole plan's skills
    (other,) = [p for p in _placements(tool) if p.resource_id == custom["pathways_placement"] and p.kind == "unit"
                and p.skill_ids == ["no-such-skill"]]
    with tool.app.app_context():
        from lti_tool.services.content import course_pack
        from lti_tool.services.publishing import placement_skills

        skills = [s.id for s in course_pack(other.course_id).skills]
        assert placement_skills(other, skills) == skills
