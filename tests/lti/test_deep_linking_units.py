"""Deep Linking per unit (issue 11.5): "a unit is what a teacher places in the LMS as one link".

The picker offers the whole plan and each unit of the course, several at once when the LMS accepts several, each
with its own title, points and optional dates (`available`, `submission` in the content item). A student opening a
unit's link sees that unit's skills, and that unit's score goes to its column.
"""

from __future__ import annotations

import re

import pytest

from tests.support import class_override, parse_form, submit_form

DL = "LtiDeepLinkingRequest"
ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
NO_CREATE = [SCOPE + "lineitem.readonly", SCOPE + "result.readonly", SCOPE + "score"]


def _launch(sandbox, as_, lms, **launch):
    """Launch as the LMS does: Moodle without column management announces fewer AGS scopes."""
    pending = sandbox.begin(as_, **launch)
    if lms == "moodle":
        return pending.post(pending.resign(**{AGS: dict(pending.claims[AGS], scope=NO_CREATE)}))
    return pending.post()


def _pick(sandbox, **answers):
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link", **answers)
    assert returning.status_code == 200, returning.text[:500]
    action, fields = parse_form(returning.text, returning.url)
    return picker, returning.http.post(action, data=fields)


def _with_demo_course(sandbox):
    submit_form(sandbox.launch("teacher"), "/content/demo")


def test_picker_offers_the_plan_and_every_unit(sandbox, tool):
    _with_demo_course(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    for title in ("My learning plan", "Fractions", "Ratios, rates and percents", "Equations and lines"):
        assert title in picker.text
    assert 'type="checkbox" name="option" value="u-unit-fractions"' in picker.text  # accept_multiple: several


@pytest.mark.parametrize(("sent", "several"), [(False, False), ("false", False), ("true", True), (True, True),
                                                (None, False), (0, False), (1, True), ("no", False)])
def test_accept_multiple_is_honoured_whether_the_platform_sends_a_boolean_or_a_string(sandbox, tool, sent, several):
    # DL 2.0 §4.4.1 makes it a boolean; some platforms send "false" (pylti1p3 types it as a string).
    _with_demo_course(sandbox)
    pending = sandbox.begin("teacher", message_type=DL)
    settings = {**pending.claims[DL_SETTINGS], "accept_multiple": sent}
    picker = pending.post(pending.resign(**{DL_SETTINGS: settings}))
    assert picker.status_code == 200, picker.text[:300]
    kind = "checkbox" if several else "radio"
    assert f'type="{kind}" name="option" value="u-unit-fractions"' in picker.text
    if not several:
        refused = submit_form(picker, "/deep-link", option=["u-unit-fractions", "u-unit-linear"])
        assert "accepts only one link at a time" in refused.text and not tool.platform.deep_link_responses


def test_a_platform_that_does_not_say_it_takes_several_links_is_offered_and_sent_one(sandbox, tool):
    # DL 2.0 §4.4.1: accept_multiple is optional with no stated default; such a platform may refuse several items.
    tool.platform.accept_multiple = None  # the request leaves the flag out
    _with_demo_course(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    assert picker.status_code == 200, picker.text[:300]
    assert 'type="radio" name="option" value="u-unit-fractions"' in picker.text
    assert 'type="checkbox" name="option"' not in picker.text

    refused = submit_form(picker, "/deep-link", option=["u-unit-fractions", "u-unit-linear"])
    assert "accepts only one link at a time" in refused.text and not tool.platform.deep_link_responses
    returning = submit_form(picker, "/deep-link", option="u-unit-fractions")
    action, fields = parse_form(returning.text, returning.url)
    assert returning.http.post(action, data=fields).status_code == 200

    (item,) = tool.platform.deep_link_responses[-1][ITEMS]
    assert item["title"] == "Fractions"


def test_teacher_places_two_units_with_their_own_points_and_dates(sandbox, tool):
    _with_demo_course(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    form = re.search(r"<form[^>]*deep-link.*?</form>", picker.text, re.S).group(0)
    _, fields = parse_form(form, picker.url)
    fields.pop("option")  # the page preselects the plan; this teacher wants two units instead
    data = {**fields, "option": ["u-unit-fractions", "u-unit-linear"], "points_u-unit-fractions": "20",
            "points_u-unit-linear": "40", "available_from_u-unit-fractions": "2026-01-05T08:00",
            "due_u-unit-fractions": "2026-01-30T23:59", "title_u-unit-linear": "Lines and equations"}
    returning = picker.http.post(tool.url(re.search(r"/c/[^/]+/", picker.url).group(0) + "deep-link"), data=data)
    action, back = parse_form(returning.text, returning.url)
    assert picker.http.post(action, data=back).status_code == 200

    fractions, linear = tool.platform.deep_link_responses[-1][ITEMS]
    assert fractions["title"] == "Fractions" and fractions["lineItem"]["scoreMaximum"] == 20.0
    assert fractions["available"] == {"startDateTime": "2026-01-05T08:00:00Z"}
    assert fractions["submission"] == {"endDateTime": "2026-01-30T23:59:00Z"}
    assert linear["title"] == "Lines and equations" and linear["lineItem"]["scoreMaximum"] == 40.0
    assert "available" not in linear and "submission" not in linear
    link = next(li for li in tool.platform.course.resource_links.values() if li.title == "Fractions")
    assert link.available["startDateTime"] == "2026-01-05T08:00:00Z"


def test_dates_in_the_wrong_order_are_refused_plainly(sandbox, tool):
    _with_demo_course(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    refused = submit_form(picker, "/deep-link", option="u-unit-fractions",
                          **{"available_from_u-unit-fractions": "2026-02-01T00:00",
                             "due_u-unit-fractions": "2026-01-01T00:00"})
    assert refused.status_code == 422 and "must be due after it becomes available" in refused.text
    assert tool.platform.deep_link_responses == []


def _field(page, name: str) -> str:
    return re.search(rf'<input [^>]*name="{re.escape(name)}"[^>]*>', page.text).group(0)


def test_a_refused_choice_comes_back_as_the_teacher_filled_it_in_with_the_wrong_date_marked(sandbox, tool):
    # Before, the picker redirected to itself: back to "My learning plan" alone, with every title, point and date
    # the teacher had typed for two units gone, and nothing saying which of the fields was wrong.
    _with_demo_course(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    form = re.search(r"<form[^>]*deep-link.*?</form>", picker.text, re.S).group(0)
    _, fields = parse_form(form, picker.url)
    fields.pop("option")
    typed = {"option": ["u-unit-fractions", "u-unit-linear"], "title_u-unit-linear": "Lines and equations",
             "points_u-unit-fractions": "20", "available_from_u-unit-fractions": "2026-02-01T08:00",
             "due_u-unit-fractions": "2026-01-30T23:59"}
    answer = tool.url(re.search(r"/c/[^/]+/", picker.url).group(0) + "deep-link")
    refused = picker.http.post(answer, data={**fields, **typed})
    refused.http = picker.http
    assert "must be due after it becomes available" in refused.text
    assert tool.platform.deep_link_responses == []
    checked = re.findall(r'<input type="checkbox" name="option" value="([^"]+)"[^>]* checked', refused.text)
    assert checked == ["u-unit-fractions", "u-unit-linear"]
    assert 'value="Lines and equations"' in _field(refused, "title_u-unit-linear")
    assert 'value="20"' in _field(refused, "points_u-unit-fractions")
    assert 'value="2026-02-01T08:00"' in _field(refused, "available_from_u-unit-fractions")
    due = _field(refused, "due_u-unit-fractions")
    assert 'value="2026-01-30T23:59"' in due
    assert 'aria-invalid="true"' in due and 'aria-describedby="form-error' in due
    # Its dates fold out, so the marked field is in sight.
    assert re.search(r'<details open>\s*<summary>Dates \(optional\)</summary>\s*(?:\{#.*?#\}\s*)?'
                     r'(?:(?!</details>).)*name="due_u-unit-fractions"', refused.text, re.S)
    assert refused.status_code == 422

    # Mending the one date sends everything else as typed (the page's fields, both boxes still ticked).
    _, kept = parse_form(re.search(r"<form[^>]*deep-link.*?</form>", refused.text, re.S).group(0), refused.url)
    returning = picker.http.post(answer, data={**kept, "option": checked, "due_u-unit-fractions": "2026-02-28T23:59"})
    action, back = parse_form(returning.text, returning.url)
    assert picker.http.post(action, data=back).status_code == 200
    fractions, linear = tool.platform.deep_link_responses[-1][ITEMS]
    assert fractions["lineItem"]["scoreMaximum"] == 20.0
    assert fractions["submission"] == {"endDateTime": "2026-02-28T23:59:00Z"}
    assert linear["title"] == "Lines and equations"


@pytest.mark.parametrize("lms", ["canvas", "moodle"])
def test_student_opening_a_unit_sees_its_skills_and_the_unit_score_goes_to_its_column(sandbox, tool, lms):
    """Canvas-like: Pathways may manage columns. Moodle-like: it may only post scores to the column the LMS made
    from the Deep Linking answer, and asks only for the scopes the launch announced."""
    if lms == "moodle":
        tool.platform.grantable_scopes = set(NO_CREATE)
    _with_demo_course(sandbox)
    _pick(sandbox, option="u-unit-fractions", **{"points_u-unit-fractions": "10"})
    (link_id,) = [i for i, li in tool.platform.course.resource_links.items() if li.title == "Fractions"]

    page = _launch(sandbox, "student", lms, resource_link_id=link_id)

    assert "Equivalent fractions" in page.text or "frac" in page.text.lower()
    skills_table = page.text.split('id="skills-heading"')[1]
    assert "Ratio" not in skills_table and "slope" not in skills_table.lower()
    teacher = _launch(sandbox, "teacher", lms)
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    # The 4-point average, so the number shows what the unit's column is made of (under the default, due so far,
    # the demo's goals lie ahead and a column has no number yet).
    grading = teacher.http.get(base + "teacher/grading")
    grading.http = teacher.http
    submit_form(grading, "/teacher/grading", scheme="four_point")
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    class_override(view, level="Mastered", skill_id="frac-equivalent", note="unit check")
    from lti_tool.jobs.worker import drain

    with tool.app.app_context():
        drain(tool.app, once=True)
    (column,) = [li for li in tool.platform.line_items.values() if li["label"] == "Fractions"]
    (score,) = tool.platform.scores[column["id"]]
    assert score["scoreMaximum"] == 10.0 and score["scoreGiven"] == 2.5  # Mastered (4 of 4) on one of 4 skills


def test_a_units_link_calls_its_unit_a_unit_not_a_goal(sandbox, tool):
    # The reviewer's walk: opened from the "Fractions" unit link, the plan said "It's part of your goal 'Fractions'",
    # though no such goal is on the student's goals page.
    import html

    _with_demo_course(sandbox)
    _pick(sandbox, option="u-unit-fractions")
    (link_id,) = [i for i, li in tool.platform.course.resource_links.items() if li.title == "Fractions"]
    page = html.unescape(sandbox.launch("student", resource_link_id=link_id).text)
    steps = page.split('<ol class="steps">', 1)[1].split("</ol>", 1)[0]
    assert "It's part of this unit, 'Fractions'." in steps
    assert "your goal 'Fractions'" not in steps
