"""Grades a teacher can defend: what is due so far, skill columns named for the skill, back-fill and resend."""

from __future__ import annotations

import datetime
import json
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.grading import due_skills
from lti_tool.services.content import demo_pack_data
from tests.support import class_override, drain_outbox, parse_form, submit_form, upload_file


def _today() -> datetime.date:
    """The day it is for the course (UTC, as no time zone is set), read when a test runs: a date taken at import
    (and by the machine's local zone) was a day behind once a run crossed midnight."""
    from lti_tool.models.base import utcnow

    return utcnow().date()


def _pack_data(today: datetime.date) -> dict:
    """The demo's goals all lie ahead of the day it is set up; these tests need the first one already past."""
    return demo_pack_data(today - datetime.timedelta(weeks=8))


def _course_with_a_column(sandbox, tool, *, pack: str = "past goal", today: datetime.date | None = None):
    """Set up the course (the demo pack with its first goal past, or as it comes: every goal ahead), place a
    graded link, and have the teacher set the student Proficient on the first skill; return the teacher's page."""
    teacher = sandbox.launch("teacher")
    if pack == "past goal":
        imported = upload_file(teacher, "/teacher/map/import", "math7.json",
                               json.dumps(_pack_data(today or _today())).encode())
        assert "Imported" in imported.text
    else:
        teacher = submit_form(teacher, "/content/demo")
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    sandbox.launch("student")
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    class_override(view, level="Proficient", note="Showed it in class")  # the first skill
    return teacher, base


def _level_then_column(sandbox, tool, teacher, *, note: str) -> str:
    """Have the student launch and the teacher set them Proficient on the first skill, and only then place Pathways
    with a gradebook column (Deep Linking); return the course's base URL."""
    sandbox.launch("student")
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    class_override(view, level="Proficient", note=note)
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    return base


def _grading(teacher, base):
    page = teacher.http.get(base + "teacher/grading")
    page.http = teacher.http
    return page



def _placement_scores(tool):
    item = next(url for url, i in tool.platform.line_items.items() if not i.get("tag", "").startswith("pathways-skill"))
    return tool.platform.scores.get(item, [])


def test_by_default_the_grade_is_the_share_of_what_is_due_so_far(sandbox, tool):
    today = _today()
    _course_with_a_column(sandbox, tool, today=today)
    drain_outbox(tool)
    pack = load_pack(_pack_data(today))
    due = due_skills(pack.skill_graph, [(g.skills, g.due and datetime.date.fromisoformat(g.due)) for g in pack.goals],
                     today)
    assert 0 < len(due) < len(pack.skills)
    latest = _placement_scores(tool)[-1]
    assert latest["scoreGiven"] == round(100 / len(due), 2)  # one due skill of len(due) is Proficient
    assert f"Graded on the {len(due)} skills due so far" in latest["comment"]


def test_a_new_scheme_is_recalculated_and_resent_and_the_button_does_it_again(sandbox, tool):
    teacher, base = _course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    saved = submit_form(_grading(teacher, base), "/teacher/grading", scheme="four_point")
    assert "Grades recalculated: 1 updated score is on its way" in saved.text
    drain_outbox(tool)
    assert _placement_scores(tool)[-1]["scoreGiven"] == round(3 / (4 * 16) * 100, 2)  # Proficient = 3 of 4, 16 skills
    again = submit_form(_grading(teacher, base), "/teacher/grading/resend")
    # Nothing changed since, so nothing is resent, in words ("0 updated scores are on their way" before).
    assert "Grades recalculated: no grade changed, so nothing was sent to the LMS." in again.text


def test_resending_in_a_course_without_a_gradebook_column_says_so_and_how_to_make_one(sandbox, tool):
    # The teacher's walk: opened from the course menu (no graded link), "Recalculate and resend grades" said
    # "Grades recalculated: 0 updated scores are on their way to the LMS", as if there were a column to send to.
    import html

    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    sandbox.launch("student")
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    sent = html.unescape(submit_form(_grading(teacher, base), "/teacher/grading/resend").text)
    assert ("No grade was sent: this course has no Pathways column in the LMS gradebook yet. To make one, add "
            "Pathways to the course through your LMS's picker (Deep Linking) with points.") in sent
    assert "updated scores" not in sent


def _posted(tool) -> int:
    """How many scores the LMS has received, on every column."""
    return sum(len(scores) for scores in tool.platform.scores.values())


def test_resending_before_anything_is_due_says_nothing_was_sent_as_the_worker_sends_nothing(sandbox, tool):
    # The teacher's walk: every goal still ahead, a level set before Pathways had a gradebook column, then the
    # column placed and "Recalculate and resend" pressed. It said "1 updated score is on its way to the LMS"; the
    # score has no number (nothing is due) and none of ours is in the gradebook to clear, so the worker sends nothing.
    import html

    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")  # the demo's goals all lie ahead
    base = _level_then_column(sandbox, tool, teacher, note="Showed it in class")
    said = html.unescape(submit_form(_grading(teacher, base), "/teacher/grading/resend").text)
    assert ("Grades recalculated: nothing was sent to the LMS. Nothing is due yet, so 1 score has no grade to send; "
            "it will be sent once something is due.") in said
    assert "on its way" not in said
    stats = drain_outbox(tool)
    assert stats.posted == 0 and _posted(tool) == 0  # the worker's decision, which the message now tells


def test_saving_the_grading_settings_counts_only_the_scores_the_worker_will_send(sandbox, tool):
    # Four-point grades queued (not sent yet), then the teacher goes back to "due so far" with skill columns while
    # nothing is due: the plan column's score has no number and replaces a number the LMS never got, so it is not
    # sent; the skill columns' are. The message counted both as "on their way".
    import html

    teacher, base = _course_with_a_column(sandbox, tool, pack="as it comes")
    drain_outbox(tool)
    assert _posted(tool) == 0  # nothing due, nothing of ours in the gradebook: nothing to send
    saved = submit_form(_grading(teacher, base), "/teacher/grading", scheme="four_point")
    assert "Grades recalculated: 1 updated score is on its way to the LMS." in saved.text
    saved = html.unescape(submit_form(_grading(teacher, base), "/teacher/grading", scheme="due_so_far",
                                      per_skill="on").text)
    announced = int(re.search(r"Grades recalculated: (\d+) updated scores are on their way to the LMS\.", saved)
                    .group(1))
    assert ("1 other score was not sent because nothing is due yet for it; it will be sent once something is "
            "due.") in saved
    stats = drain_outbox(tool)
    assert stats.posted == announced == _posted(tool)
    assert _placement_scores(tool) == []  # the plan column got nothing: its four-point score was never sent


def test_skill_columns_appear_filled_named_after_the_skill_and_scored_out_of_four(sandbox, tool):
    teacher, base = _course_with_a_column(sandbox, tool)
    drain_outbox(tool)
    submit_form(_grading(teacher, base), "/teacher/grading", scheme="due_so_far", per_skill="on")
    drain_outbox(tool)
    skill_items = {url: i for url, i in tool.platform.line_items.items() if i.get("tag", "").startswith("pathways-skill")}
    assert skill_items, "turning skill columns on back-fills them without waiting for a change of level"
    labels = [i["label"] for i in skill_items.values()]
    assert any(label.endswith("– Equivalent fractions") for label in labels), labels
    assert all(i["scoreMaximum"] == 4 for i in skill_items.values())
    scores = [s for url in skill_items for s in tool.platform.scores.get(url, [])]
    assert any(s["scoreGiven"] == 3.0 and s["scoreMaximum"] == 4.0 for s in scores)


def test_a_column_that_appears_later_is_back_filled_with_grades_earned_before_it(sandbox, tool):
    teacher = sandbox.launch("teacher")
    imported = upload_file(teacher, "/teacher/map/import", "math7.json", json.dumps(_pack_data(_today())).encode())
    assert "Imported" in imported.text
    # Only after a level does the teacher place Pathways with a gradebook column; then the student opens the link.
    _level_then_column(sandbox, tool, teacher, note="Before Pathways had a column")
    placed = [i for i, link in tool.platform.courses["math-7"].resource_links.items() if link.title == "My learning plan"]
    sandbox.launch("student", resource_link_id=placed[0])
    stats = drain_outbox(tool)
    assert stats.posted == 1 and stats.failed == 0
    assert _placement_scores(tool)[-1]["scoreGiven"] > 0


def test_a_goal_dated_after_the_course_end_is_due_at_the_end_in_the_gradebook_as_students_are_shown():
    # Students read such a goal as "by <end>, when the course ends"; grading kept the later date, so the gradebook
    # left its skills out for the weeks between the end and that date.
    from datetime import date

    from lti_tool.learning.coursepack import load_pack
    from lti_tool.services.content import demo_pack_data
    from lti_tool.services.publishing import course_due

    pack = load_pack(demo_pack_data(date(2026, 12, 3)))  # the demo's goal dates count from the day given
    goal = pack.goals[1]  # "Reason with proportional relationships", by 2027-04-15
    assert goal.due == "2027-04-15"
    end, between = date(2027, 3, 31), date(2027, 4, 2)
    assert set(goal.skills) & course_due(pack.skill_graph, [goal], between) == set()
    assert set(goal.skills) <= course_due(pack.skill_graph, [goal], between, ends_on=end)
    # A course that ends after the goal changes nothing.
    assert course_due(pack.skill_graph, [goal], between, ends_on=date(2027, 6, 30)) == course_due(
        pack.skill_graph, [goal], between)


def test_the_grading_page_says_what_the_gradebook_gets_before_anything_is_due(sandbox, tool):
    teacher, base = _course_with_a_column(sandbox, tool, pack="demo")  # the demo's goals all lie ahead
    drain_outbox(tool)
    assert not any("scoreGiven" in score for score in _placement_scores(tool))  # no number for work not due yet
    # The page promised "the standards-based average" until anything was due, and the gradebook stayed empty.
    page = _grading(teacher, base).text
    assert "standards-based average is used" not in page
    assert "no grade is sent: the LMS gradebook shows the column as not graded yet" in page
