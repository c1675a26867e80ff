"""A teacher adds Pathways to a module with Deep Linking; launching the placed link opens that placement."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Course, Enrollment, LaunchSession, Person
from tests.support import parse_form, submit_form

from .test_launch_security import assert_refused

DL = "LtiDeepLinkingRequest"
DL_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"


def _add_learning_plan(sandbox, **answers):
    picker = sandbox.launch("teacher", message_type=DL)
    assert picker.status_code == 200, picker.text[:500]
    assert "Add Pathways to Grade 7 Mathematics" in picker.text
    returning = submit_form(picker, "/deep-link", **answers)
    assert returning.status_code == 200, returning.text[:500]
    action, fields = parse_form(returning.text, returning.url)
    assert action == sandbox.platform.deep_link_return_url
    return returning.http.post(action, data=fields)


def test_teacher_adds_the_learning_plan_and_the_lms_gets_a_link_with_a_gradebook_column(sandbox, tool):
    done = _add_learning_plan(sandbox, title_plan="Fractions pathway", points_plan="10")
    assert done.status_code == 200, done.text[:500]
    response = tool.platform.deep_link_responses[-1]
    (item,) = response["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["type"] == "ltiResourceLink"
    assert item["title"] == "Fractions pathway"
    assert item["url"] == tool.url("/lti/launch")
    assert item["custom"]["pathways_placement"]
    assert item["lineItem"] == {"scoreMaximum": 10.0, "label": "Fractions pathway",
                                "resourceId": item["custom"]["pathways_placement"], "tag": "pathways-mastery"}
    line_items = list(tool.platform.line_items.values())
    assert [li["label"] for li in line_items] == ["Fractions pathway"]


def test_the_link_carries_its_description_as_text_and_the_lms_shows_it_with_the_link(sandbox, tool):
    # DL 2.0 §3.4.2 `text`: Moodle makes it the activity's description, Brightspace and Blackboard the item's; the
    # platform sends it back as the resource link's description (Core §5.3.5).
    _add_learning_plan(sandbox)
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["text"] == "Each student's own plan for the whole course: goals, next steps, practice and reviews."
    (link,) = [link for link in tool.platform.courses["math-7"].resource_links.values() if link.title == item["title"]]
    pending = sandbox.begin("student", resource_link_id=link.id)
    assert pending.claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"]["description"] == item["text"]


def test_a_long_title_is_cut_to_what_the_lms_keeps_and_the_link_and_column_are_made(sandbox, tool):
    # A teacher's title may run to 300 characters (what a placement keeps); Canvas refuses an assignment title and
    # Moodle a grade item name over 255, and with it the whole answer.
    tool.platform.max_label_length = 255
    long_title = ("Unit 3: " + "fractions, ratios and proportional reasoning; " * 7)[:300]

    done = _add_learning_plan(sandbox, title_plan=long_title, points_plan="10")

    assert done.status_code == 200, done.text[:500]
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["title"] == long_title[:254] + "…"
    assert item["lineItem"]["label"] == item["title"]
    assert [li["label"] for li in tool.platform.line_items.values()] == [item["title"]]
    assert [link.title for link in tool.platform.courses["math-7"].resource_links.values()
            if link.custom.get("pathways_placement")] == [item["title"]]


def test_the_answer_names_the_tool_as_its_sub_as_blackboard_learn_requires(sandbox, tool):
    # Anthology's Deep Linking guide lists `sub` (the user making the change, or the application id) as required by
    # Learn; the tool's client id sends no user id back, and other platforms ignore it.
    assert _add_learning_plan(sandbox).status_code == 200
    response = tool.platform.deep_link_responses[-1]
    assert response["sub"] == response["iss"] == tool.platform.tool.client_id


def test_the_platforms_data_is_echoed_and_a_second_answer_is_refused(sandbox, tool):
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    assert returning.http.post(action, data=fields).status_code == 200
    again = submit_form(picker, "/deep-link")
    assert "already sent" in again.text
    assert len(tool.platform.deep_link_responses) == 1


def test_without_a_gradebook_column_no_line_item_is_sent(sandbox, tool):
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link", gradebook="")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert "lineItem" not in item


def test_a_platform_that_ignores_line_items_is_offered_no_column_and_sent_no_line_item(sandbox, tool):
    # DL 2.0 §4.4.1: accept_lineitem false means the platform ignores line items; the page must not promise one.
    tool.platform.accept_lineitem = False
    picker = sandbox.launch("teacher", message_type=DL)
    assert picker.status_code == 200, picker.text[:500]
    assert 'name="gradebook"' not in picker.text and "Add a gradebook column" not in picker.text
    # Even a form that still says "gradebook=on" (an old page, a hand-made post) sends no lineItem.
    returning = submit_form(picker, "/deep-link", title_plan="Fractions pathway", points_plan="10", gradebook="on")
    action, fields = parse_form(returning.text, returning.url)
    assert returning.http.post(action, data=fields).status_code == 200
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["title"] == "Fractions pathway" and "lineItem" not in item


def test_a_platform_that_does_not_say_whether_it_takes_line_items_is_still_offered_a_column(sandbox, tool):
    pending = sandbox.begin("teacher", message_type=DL)
    settings = {k: v for k, v in pending.claims[DL_SETTINGS].items() if k != "accept_lineitem"}
    picker = pending.post(pending.resign(**{DL_SETTINGS: settings}))
    assert 'name="gradebook"' in picker.text


def test_student_launching_the_placed_link_opens_that_placement(sandbox, tool):
    _add_learning_plan(sandbox, title_plan="Ratios pathway")
    links = tool.platform.courses["math-7"].resource_links
    placed = [link_id for link_id, link in links.items() if link.title == "Ratios pathway"]
    assert placed, links
    page = sandbox.launch("student", resource_link_id=placed[0])
    assert page.status_code == 200
    assert "Ratios pathway" in page.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        placement = db.session.scalars(db.select(Placement)).one()
        assert placement.resource_link_id == placed[0]
        assert placement.lineitem_url  # the launch's AGS claim named the placement's line item


def test_students_cannot_add_pathways_to_a_course(sandbox, tool):
    tool.platform.add_user("student-1", roles=["Learner"], name="Priya Shah", context_id="math-7")
    pending = sandbox.begin("student")
    claims = tool.platform.launch_claims("student-1", pending.claims["nonce"], message_type=DL)
    page = pending.post(tool.platform.sign(claims))
    assert "Only teachers can add Pathways" in page.text


def test_a_place_that_accepts_no_links_gets_a_clear_message(sandbox, tool):
    pending = sandbox.begin("teacher", message_type=DL)
    settings = dict(pending.claims[DL_SETTINGS], accept_types=["file"])
    page = pending.post(pending.resign(**{DL_SETTINGS: settings}))
    assert page.status_code == 400
    assert "does not accept links to tools" in page.text


MISSING = object()


@pytest.mark.parametrize("return_url", [MISSING, None, 5, "", "javascript:alert(document.domain)", "/deep_link_return",
                                        "https:///deep_link_return"])
def test_a_request_that_does_not_say_where_to_send_the_links_opens_no_session(sandbox, tool, return_url):
    # Deep Linking 2.0 §4.4.1: deep_link_return_url is required; without an http(s) one the picker could only fail.
    pending = sandbox.begin("teacher", message_type=DL)
    settings = {k: v for k, v in pending.claims[DL_SETTINGS].items() if k != "deep_link_return_url"}
    if return_url is not MISSING:
        settings["deep_link_return_url"] = return_url
    page = pending.post(pending.resign(**{DL_SETTINGS: settings}))
    assert_refused(page, "The LMS did not say where to send the chosen links (deep_link_return_url).", status=400)
    assert page.history == []  # no redirect to a course page
    with tool.app.app_context():
        for rows in (LaunchSession, Course, Person, Enrollment):
            assert db.session.scalar(sa.select(sa.func.count()).select_from(rows)) == 0, rows


def test_canvas_developer_key_json_describes_the_tool(tool):
    import requests

    config = requests.get(tool.url("/lti/canvas.json")).json()
    assert config["oidc_initiation_url"] == tool.url("/lti/login")
    assert config["target_link_uri"] == tool.url("/lti/launch")
    assert config["public_jwk_url"] == tool.url("/lti/jwks")
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in config["scopes"]
    assert "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly" in config["scopes"]
    (ext,) = config["extensions"]
    assert ext["privacy_level"] == "name_only"
    placements = {p["placement"]: p["message_type"] for p in ext["settings"]["placements"]}
    assert placements == {"course_navigation": "LtiResourceLinkRequest", "link_selection": "LtiDeepLinkingRequest",
                          "assignment_selection": "LtiDeepLinkingRequest"}


CONTENT_ITEMS = "https://purl.imsglobal.org/spec/lti-dl/claim/content_items"


def test_cancel_sends_the_lms_a_signed_answer_with_no_links_and_back_shows_a_way_on(sandbox, tool):
    # A teacher who opened the picker by mistake goes back to the LMS without adding anything (DL 2.0 §4.2).
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link/cancel")
    assert returning.status_code == 200, returning.text[:500]
    action, fields = parse_form(returning.text, returning.url)
    assert action == sandbox.platform.deep_link_return_url
    assert returning.http.post(action, data=fields).status_code == 200
    response = tool.platform.deep_link_responses[-1]  # verified by the platform: signed by the tool, data echoed
    assert response[CONTENT_ITEMS] == []
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        assert db.session.scalars(db.select(Placement)).all() == []
    # Back to the picker: it says the answer went, how to leave, and links the course page.
    again = returning.http.get(picker.url)
    assert "already sent" in again.text and "close this window" in again.text
    assert 'href="' in again.text and "Open Pathways for this course" in again.text
    assert "/deep-link/cancel" not in again.text
    # A second answer (links or none) is refused: the platform's request is used up.
    assert "already sent" in submit_form(picker, "/deep-link/cancel").text
    assert len(tool.platform.deep_link_responses) == 1


def test_each_options_fields_have_names_of_their_own(sandbox, tool):
    import re

    from tests.support import teacher_with_demo_pack

    teacher_with_demo_pack(sandbox)
    picker = sandbox.launch("teacher", message_type=DL)
    labels = {}
    for for_id, text in re.findall(r'<label for="([^"]+)"[^>]*>(.*?)</label>', picker.text, re.S):
        labels[for_id] = " ".join(re.sub(r"<[^>]+>", " ", text).split())
    fields = re.findall(r'<input type="(?:text|number|datetime-local)"[^>]*id="([^"]+)"', picker.text)
    assert len(fields) > 5  # the plan and the demo pack's units
    names = [labels[field] for field in fields]
    assert len(set(names)) == len(names), names


def test_a_spanish_teachers_picker_names_the_plan_and_the_units_in_spanish_and_the_lms_gets_those_titles(
        sandbox, tool):
    # The walk in Spanish: "Añadir Pathways a …" above "My learning plan" and the units in English ("Fractions"),
    # though the class view beside it names them "Fracciones"; the titles offered went to the LMS in English too.
    submit_form(sandbox.launch("teacher"), "/content/demo")
    picker = sandbox.launch("teacher", message_type=DL, locale="es")
    page = html.unescape(picker.text)
    assert '<html lang="es">' in page
    # (The plan's description is catalogued with it: test_i18n's catalogue check asks for its Spanish.)
    for english in ("My learning plan", "Fractions", "Equations and lines"):
        assert english not in page, english
    assert 'value="Mi plan de aprendizaje"' in page and 'value="Fracciones"' in page
    returning = submit_form(picker, "/deep-link", option="u-unit-fractions", **{"title_u-unit-fractions": ""})
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["title"] == "Fracciones"


def test_a_spanish_teacher_who_empties_the_plans_title_sends_the_lms_the_spanish_title_the_picker_showed(
        sandbox, tool):
    # The picker offered "Mi plan de aprendizaje"; emptied, the title fell back to the English "My learning plan".
    submit_form(sandbox.launch("teacher"), "/content/demo")
    picker = sandbox.launch("teacher", message_type=DL, locale="es")
    returning = submit_form(picker, "/deep-link", option="plan", title_plan="")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["title"] == "Mi plan de aprendizaje"


def test_a_unit_without_a_description_is_described_by_its_skills_in_the_teachers_language(sandbox, tool):
    # A pack's unit may have no description: the picker and the link sent to the LMS named its skills after the
    # English "Skills:", on a Spanish teacher's page whose every other word was Spanish.
    import json

    from lti_tool.services.content import demo_pack_data
    from tests.support import upload_file

    data = demo_pack_data()
    for unit in data["units"]:
        unit.pop("description", None)
        for words in (unit.get("translations") or {}).values():
            words.pop("description", None)
    assert "Imported" in upload_file(sandbox.launch("teacher"), "/teacher/map/import", "math7.json",
                                     json.dumps(data).encode()).text
    picker = sandbox.launch("teacher", message_type=DL, locale="es")
    page = html.unescape(picker.text)
    assert "Habilidades: " in page and "Skills: " not in page
    returning = submit_form(picker, "/deep-link", option="u-unit-fractions")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["text"].startswith("Habilidades: ")
