"""A teacher builds the course map in Pathways: skills, activities, questions; imports and exports skills."""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urljoin

import pytest
import requests

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import submit_form, upload_file


def _get(page, href: str):
    response = page.http.get(urljoin(page.url, html.unescape(href)), timeout=30)
    response.http = page.http
    return response


def _link(page, pattern: str) -> str:
    match = re.search(r'href="([^"]*' + pattern + r')"', page.text)
    assert match, f"no link matching {pattern} in {page.url}"
    return match.group(1)


def _editor(sandbox, *, demo: bool = True, **launch):
    teacher = sandbox.launch("teacher", **launch)
    if demo:
        teacher = submit_form(teacher, "/content/demo")
    return _get(teacher, _link(teacher, "/teacher/map"))




def _pack(editor):
    return json.loads(_get(editor, _link(editor, "/teacher/map/export.json")).text)


def _skills(document):
    return [(s["id"], s["name"], s["description"], s["prerequisites"]) for s in document["skills"]]


def test_teacher_adds_a_skill_that_needs_another_first_and_the_map_shows_it(sandbox):
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, "/teacher/map/skill"))
    saved = submit_form(form, "/teacher/map/skill", name="Percent of a quantity",
                        description="Find 15% of 80.", prerequisites=["ratio-concepts"])
    assert "Saved the new skill." in saved.text
    assert "Percent of a quantity" in saved.text and "Ratios and equivalent ratios" in saved.text
    skill = _pack(saved)["skills"][-1]
    assert skill == {"id": "percent-of-a-quantity", "name": "Percent of a quantity", "description": "Find 15% of 80.",
                     "prerequisites": ["ratio-concepts"]}


def test_making_prerequisites_go_in_a_circle_is_refused_and_nothing_changes(sandbox):
    editor = _editor(sandbox)
    before = _pack(editor)
    form = _get(editor, _link(editor, r"/teacher/map/skill\?id=frac-equivalent"))
    refused = submit_form(form, "/teacher/map/skill", prerequisites=["frac-add-sub"])
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "Skills cannot depend on each other in a circle" in text
    assert "“Equivalent fractions” → “Add and subtract fractions” → “Equivalent fractions”" in text
    assert _pack(editor) == before


def test_teacher_adds_a_practice_set_with_a_numeric_question_and_a_student_is_marked_right_within_tolerance(sandbox):
    editor = _editor(sandbox)
    submit_form(_get(editor, _link(editor, "/teacher/map/skill")), "/teacher/map/skill", name="Square roots")
    form = _get(editor, _link(editor, "/teacher/map/activity"))
    activity_page = submit_form(
        form, "/teacher/map/activity", title="Square roots practice", kind="practice", skills=["square-roots"],
        type="multiple_choice", prompt="Which is √49?", difficulty="hard", choices="6\n*7\n8",
    )
    assert "Saved the new activity." in activity_page.text and "Which is √49?" in activity_page.text
    item_form = _get(activity_page, _link(activity_page, r"/teacher/map/item\?activity=[^\"&]+"))
    saved = submit_form(item_form, "/teacher/map/item", type="numeric", prompt="Estimate √50 to two decimals.",
                        difficulty="easy", numeric_answer="7.07", tolerance="0.05", hints="7 × 7 = 49",
                        solution="√50 is a little more than √49 = 7: about 7.07.")
    assert "Saved the new question." in saved.text
    activity = next(a for a in _pack(editor)["activities"] if a["title"] == "Square roots practice")
    assert activity["items"][0]["answer"] == "b"
    numeric = activity["items"][1]
    assert (numeric["answer"], numeric["tolerance"], numeric["skills"]) == (7.07, 0.05, ["square-roots"])

    student = sandbox.launch("student")
    practice = _get(student, re.search(r"/c/[^/]+/", student.url).group(0) + "practice/square-roots")
    assert "Estimate √50 to two decimals." in practice.text
    feedback = submit_form(practice, "/practice/square-roots", answer="7.1")
    assert "That&#39;s right!" in feedback.text or "That's right!" in feedback.text


def test_deleting_a_skill_that_others_need_or_activities_use_is_refused_naming_them(sandbox):
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, r"/teacher/map/skill\?id=frac-equivalent"))
    refused = submit_form(form, "/teacher/map/skill/delete", confirm="yes")
    text = html.unescape(refused.text)
    assert "“Equivalent fractions” cannot be deleted" in text
    assert "“Add and subtract fractions”" in text and "the activities" in text
    assert "frac-equivalent" in [s["id"] for s in _pack(editor)["skills"]]


def test_a_question_is_deleted_only_once_the_teacher_ticks_yes_and_a_form_without_the_tick_changes_nothing(sandbox):
    # WCAG 3.3.4: a deletion cannot be undone, so the form asks first, without JavaScript, and the server checks.
    editor = _editor(sandbox)
    activity = next(a for a in _pack(editor)["activities"] if a.get("items"))
    item = activity["items"][0]
    form = _get(editor, _link(editor, rf"/teacher/map/activity\?id={re.escape(activity['id'])}"))
    form = _get(form, _link(form, rf"/teacher/map/item\?activity={re.escape(activity['id'])}&amp;id={re.escape(item['id'])}"))
    assert re.search(r'<input type="checkbox" name="confirm" value="yes" id="confirm-delete-item" required>', form.text)

    refused = submit_form(form, "/teacher/map/item/delete")  # the tick left out, as a form sent by a script might
    text = html.unescape(refused.text)
    assert "Tick the box to confirm the deletion: it cannot be undone." in text
    assert "<title>Error: Edit question" in text
    assert item["id"] in [i["id"] for a in _pack(editor)["activities"] if a["id"] == activity["id"] for i in a["items"]]

    deleted = submit_form(form, "/teacher/map/item/delete", confirm="yes")
    assert "Deleted the question" in html.unescape(deleted.text)
    assert item["id"] not in [i["id"] for a in _pack(editor)["activities"] if a["id"] == activity["id"]
                              for i in a["items"]]


def test_skills_exported_as_moodle_csv_and_imported_into_a_new_course_are_the_same_skills(sandbox, tool):
    editor = _editor(sandbox)
    csv_text = _get(editor, _link(editor, "/teacher/map/export.csv")).text
    assert csv_text.startswith("Parent ID number,ID number,Short name")

    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    fresh = _editor(sandbox, demo=False, http=requests.Session(), context_id="science-8")
    assert "Start an empty course" in fresh.text
    imported = upload_file(fresh, "/teacher/map/import", "skills.csv", csv_text.encode("utf-8"))
    assert "from the Moodle competency CSV" in imported.text
    assert _skills(_pack(imported)) == _skills(demo_pack_data())


def test_a_case_package_adds_its_skills_and_units_to_the_course_and_keeps_activities(sandbox):
    editor = _editor(sandbox)
    activities = len(_pack(editor)["activities"])
    package = {
        "CFDocument": {"identifier": "doc-1", "title": "Geometry framework"},
        "CFItems": [
            {"identifier": "geo", "fullStatement": "Geometry", "humanCodingScheme": "G"},
            {"identifier": "geo-area", "fullStatement": "Find the area of triangles.", "humanCodingScheme": "G.1"},
            {"identifier": "geo-volume", "fullStatement": "Find the volume of prisms.", "humanCodingScheme": "G.2"},
        ],
        "CFAssociations": [
            {"associationType": "isChildOf", "originNodeURI": {"identifier": "geo-area"},
             "destinationNodeURI": {"identifier": "geo"}, "sequenceNumber": 1},
            {"associationType": "isChildOf", "originNodeURI": {"identifier": "geo-volume"},
             "destinationNodeURI": {"identifier": "geo"}, "sequenceNumber": 2},
            {"associationType": "precedes", "originNodeURI": {"identifier": "geo-area"},
             "destinationNodeURI": {"identifier": "geo-volume"}},
            {"associationType": "isRelatedTo", "originNodeURI": {"identifier": "geo-area"},
             "destinationNodeURI": {"identifier": "frac-multiply"}},
        ],
    }
    body = json.dumps({"CFPackage": package}).encode("utf-8")
    merged = upload_file(editor, "/teacher/map/import", "geometry.json", body)
    assert "Added 2 skills from the CASE package" in html.unescape(merged.text)
    assert "Note: skipped associations that set no order or grouping: isRelatedTo (1)" in merged.text
    document = _pack(merged)
    assert document["skills"][-1] == {"id": "geo-volume", "name": "G.2 Find the volume of prisms.",
                                      "description": "Find the volume of prisms.", "prerequisites": ["geo-area"]}
    assert document["units"][-1]["skills"] == ["geo-area", "geo-volume"]
    assert len(document["activities"]) == activities

    again = upload_file(merged, "/teacher/map/import", "geometry.json", body)
    assert "Nothing was imported" in again.text and "&#39;geo-area&#39;" in again.text
    assert _pack(again) == document


def test_teacher_starts_an_empty_course_and_builds_a_practice_set_a_student_can_use(sandbox):
    editor = _editor(sandbox, demo=False)
    started = submit_form(editor, "/teacher/map/start", title="Fractions club")
    assert "Started “Fractions club”" in html.unescape(started.text)
    submit_form(_get(started, _link(started, "/teacher/map/skill")), "/teacher/map/skill", name="Halves")
    form = _get(started, _link(started, "/teacher/map/activity"))
    refused = submit_form(form, "/teacher/map/activity", title="Watch", kind="resource", skills=["halves"],
                          url="javascript:alert(1)")
    assert refused.status_code == 400 and "http:// or https://" in refused.text
    submit_form(form, "/teacher/map/activity", title="Halves", kind="practice", skills=["halves"],
                type="short_text", prompt="What is half of 10?", answers="5\nfive")
    student = sandbox.launch("student")
    practice = _get(student, re.search(r"/c/[^/]+/", student.url).group(0) + "practice/halves")
    assert "What is half of 10?" in practice.text
    assert "That&#39;s right!" in submit_form(practice, "/practice/halves", answer="Five").text


def test_students_cannot_open_or_change_the_course_map(sandbox, tool):
    _editor(sandbox)
    student = sandbox.launch("student")
    base = re.search(r"/c/[^/]+/", student.url).group(0)
    assert student.http.get(tool.url(base + "teacher/map"), timeout=30).status_code == 403
    assert student.http.get(tool.url(base + "teacher/map/export.json"), timeout=30).status_code == 403
    practice = student.http.get(tool.url(base + "practice/frac-equivalent"), timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', practice.text).group(1)
    data = {"name": "Sneaky", "csrf_token": token}
    assert student.http.post(tool.url(base + "teacher/map/skill"), data=data, timeout=30).status_code == 403


def test_a_course_pack_is_still_checked_on_import_and_every_problem_is_shown(sandbox):
    editor = _editor(sandbox)
    document = demo_pack_data()
    document["skills"][0]["prerequisites"] = ["no-such-skill"]
    document["activities"][0]["kind"] = "lecture"
    refused = upload_file(editor, "/teacher/map/import", "pack.json", json.dumps(document).encode("utf-8"))
    text = html.unescape(refused.text)
    # What happened comes first: nothing of the file went in (the problems alone left that to guess).
    lead = "Nothing was imported from “pack.json”: the course map is unchanged. What to fix in the file:"
    assert text.index(lead) < text.index("Skill “Equivalent fractions” (prerequisites)")
    assert "Skill “Equivalent fractions” (prerequisites): names the skill 'no-such-skill'" in text
    assert "(kind): should be one of practice" in text
    assert load_pack(_pack(editor)) == load_pack(demo_pack_data())


def test_a_pack_with_many_problems_lists_the_first_ten_and_counts_the_rest(sandbox):
    # Every problem was flashed: the flashes travel in the session cookie, and a browser drops a cookie over
    # 4 KB (the list, and the session with it, were lost).
    editor = _editor(sandbox)
    document = demo_pack_data()
    for skill in document["skills"]:
        skill["name"] = 5
    refused = upload_file(editor, "/teacher/map/import", "pack.json", json.dumps(document).encode("utf-8"))
    text = html.unescape(refused.text)
    count = len(document["skills"])
    assert count > 10
    assert text.count("should be text, not the number 5") == 10
    assert f"… and {count - 10} more problems." in text
    assert load_pack(_pack(editor)) == load_pack(demo_pack_data())


def test_editing_a_question_in_english_keeps_the_translations_that_still_fit(sandbox):
    editor = _editor(sandbox)
    activity = _get(editor, _link(editor, r"/teacher/map/activity\?id=practice-frac-multiply"))
    form = _get(activity, _link(activity, r"/teacher/map/item\?activity=practice-frac-multiply&amp;id=fm-2"))
    # The teacher rewrites the question and drops the last choice; the Spanish for that choice cannot stay.
    submit_form(form, "/teacher/map/item", prompt="What is three quarters of 20?", choices="a: 15\nb: 12\nc: 16",
                answer="a", hints="First find 1/4 of 20.\nThen multiply by 3.")
    item = next(i for a in _pack(editor)["activities"] for i in a["items"] if i["id"] == "fm-2")
    assert item["prompt"] == "What is three quarters of 20?"
    spanish = item["translations"]["es"]
    assert spanish["prompt"] == "¿Cuánto es 3/4 de 20?"
    assert sorted(spanish["choices"]) == ["a", "b", "c"]
    assert "hints" not in spanish  # two English hints now, one Spanish: shown in English until translated


def test_a_spanish_teacher_reads_the_editors_refusals_and_the_packs_problems_in_spanish(sandbox):
    editor = _editor(sandbox, locale="es-MX")
    assert '<html lang="es">' in editor.text
    before = _pack(editor)

    # The editor's own check and the pack's check, shown together on the form.
    form = _get(editor, _link(editor, r"/teacher/map/skill\?id=frac-equivalent"))
    circle = submit_form(form, "/teacher/map/skill", prerequisites=["frac-add-sub"])
    assert circle.status_code == 400
    text = html.unescape(circle.text)
    assert ("Las habilidades no pueden depender unas de otras en círculo: “Equivalent fractions” → "
            "“Add and subtract fractions” → “Equivalent fractions”") in text
    assert "Skills cannot depend" not in text

    activity = _get(editor, _link(editor, "/teacher/map/activity"))
    refused = submit_form(activity, "/teacher/map/activity", title="Roots", kind="practice", skills=["frac-add-sub"],
                          type="numeric", prompt="√49?", numeric_answer="seven", url="ftp://example.org/x")
    text = html.unescape(refused.text)
    assert "La respuesta debería ser un número, como 12, 0.75 o -3.5." in text
    assert "El enlace debería ser una dirección web que empiece por http:// o https://." in text
    assert "should be" not in text and "The answer" not in text

    # A skill others use: the refusal names them, in Spanish, joined with "y".
    delete = submit_form(_get(editor, _link(editor, r"/teacher/map/skill\?id=frac-equivalent")),
                         "/teacher/map/skill/delete", confirm="yes")
    text = html.unescape(delete.text)
    assert "“Equivalent fractions” no se puede eliminar: las habilidades “Add and subtract fractions”" in text
    assert "las actividades “" in text and "Quítela de ellas primero." in text and "cannot be deleted" not in text

    # An uploaded pack's problems: the place in the teacher's words, the field and the problem in Spanish.
    document = demo_pack_data()
    document["skills"][0]["prerequisites"] = ["no-such-skill"]
    document["skills"][1]["name"] = 5
    document["activities"][0]["kind"] = "lecture"
    imported = upload_file(editor, "/teacher/map/import", "pack.json", json.dumps(document).encode("utf-8"))
    text = html.unescape(imported.text)
    assert ("Habilidad “Equivalent fractions” (requisitos previos): nombra la habilidad 'no-such-skill', "
            "que no está entre las habilidades de este paquete") in text
    assert "Habilidad “5” (nombre): debería ser texto, no el número 5" in text
    assert "(tipo): debería ser uno de practice, resource" in text and "no 'lecture'" in text
    assert "names the skill" not in text and "should be" not in text
    not_json = upload_file(editor, "/teacher/map/import", "pack.json", b"{not json")
    assert "El archivo no es JSON (un paquete del curso o un paquete CASE)" in html.unescape(not_json.text)
    # A Moodle CSV without its framework row: the reader's own problem, in Spanish too.
    csv_text = _get(editor, _link(editor, "/teacher/map/export.csv")).text.splitlines()
    assert csv_text[1].endswith(",1,competency")  # the framework row, which this file leaves out
    rows = [csv_text[0], *csv_text[2:4]]
    csv_refused = upload_file(editor, "/teacher/map/import", "skills.csv", "\n".join(rows).encode("utf-8"))
    text = html.unescape(csv_refused.text)
    assert "ninguna fila tiene 'Is framework' en 1; exporte el marco completo desde Moodle" in text
    assert _pack(editor) == before


def _template_item(item_id: str, skill: str, answer: str) -> dict:
    return {"id": item_id, "type": "numeric", "prompt": "What is {a} + {b}?", "skills": [skill], "difficulty": "easy",
            "parameters": {"a": {"min": 1, "max": 3, "step": 1}, "b": {"values": [0, 2]}}, "constraints": [],
            "answer": answer, "tolerance": 0, "unit": None, "hints": [], "solution": ""}


def test_a_spanish_teacher_reads_formula_and_json_errors_in_spanish_inside_and_out(sandbox):
    editor = _editor(sandbox, locale="es-MX")
    before = _pack(editor)
    document = demo_pack_data()
    practice = next(a for a in document["activities"] if a["kind"] == "practice")
    practice["items"] += [_template_item("t-unclosed", practice["skills"][0], "(a + b"),
                          _template_item("t-zero", practice["skills"][0], "a / b")]
    refused = upload_file(editor, "/teacher/map/import", "pack.json", json.dumps(document).encode("utf-8"))
    text = html.unescape(refused.text)
    # The formula evaluator's own sentence, inside the pack's sentence, is Spanish too (it stayed English).
    assert "(respuesta): '(a + b' no es una fórmula: el signo ( en el carácter 1 no se cierra nunca" in text
    assert "la plantilla falla: la fórmula divide entre cero" in text
    assert "is not a formula" not in text and "never closed" not in text and "divides by zero" not in text

    # Python's JSON decoder's words ("Expecting property name enclosed in double quotes") are English only.
    not_json = html.unescape(upload_file(editor, "/teacher/map/import", "pack.json", b"{not json").text)
    assert ("ni un CSV de competencias de Moodle: línea 1, columna 2: "
            "se esperaba un nombre de campo entre comillas dobles.") in not_json
    assert "Expecting" not in not_json
    assert _pack(editor) == before


def _attributes(page_text: str, element_id: str) -> str:
    match = re.search(r'<(?:input|textarea)[^>]*\bid="' + element_id + r'"[^>]*>', page_text)
    assert match, f"no field {element_id}"
    return match.group(0)


def test_an_empty_skill_name_marks_the_name_field_with_a_plain_message_and_the_heading_keeps_the_saved_name(sandbox):
    # The browser's `required` stops most empty names; one that gets through (an old browser, a script) is told
    # in words on the field itself, not as "Skill “frac-add-sub” (name): should not be empty".
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, r"/teacher/map/skill\?id=frac-add-sub"))
    refused = submit_form(form, "/teacher/map/skill", name="  ")
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "should not be empty" not in text and "frac-add-sub" not in re.sub(r'(href|action|value)="[^"]*"', "", text)
    assert "<h1>Edit skill: Add and subtract fractions</h1>" in text
    field = _attributes(refused.text, "f-name")
    assert 'aria-invalid="true"' in field and "autofocus" in field
    described_by = re.search(r'aria-describedby="([^"]+)"', field).group(1).split()
    (message,) = [re.search(r'<li id="' + ident + r'">(.*?)</li>', text, re.S) for ident in described_by]
    assert message, described_by
    assert message.group(1) == '<a href="#f-name">Give the skill a name.</a>'
    assert 'id="problems"' in text and 'id="problems" autofocus' not in text  # the field takes the focus
    assert 'aria-invalid' not in _attributes(refused.text, "f-description")


def test_an_activitys_bad_link_and_an_empty_title_are_each_tied_to_their_field(sandbox):
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, r"/teacher/map/activity\?id=practice-frac-add-sub"))
    refused = submit_form(form, "/teacher/map/activity", title="", url="ftp://example.com/x")
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert "<h1>Edit activity: " in text and "<h1>Edit activity: </h1>" not in text
    for name, words in (("url", "The link should be a web address"), ("title", "Give the activity a title.")):
        field = _attributes(refused.text, f"f-{name}")
        assert 'aria-invalid="true"' in field
        ident = re.search(r'aria-describedby="([^" ]+)', field).group(1)
        assert re.search(r'<li id="' + ident + r'"><a href="#f-' + name + r'">' + re.escape(words), text), name


def test_a_numeric_question_without_a_number_marks_its_answer_field(sandbox):
    editor = _editor(sandbox)
    activity = _get(editor, _link(editor, r"/teacher/map/activity\?id=practice-frac-add-sub"))
    item_form = _get(activity, _link(activity, r"/teacher/map/item\?activity=[^\"&]+"))
    refused = submit_form(item_form, "/teacher/map/item", type="numeric", prompt="", numeric_answer="lots")
    assert refused.status_code == 400
    text = html.unescape(refused.text)
    assert 'aria-invalid="true"' in _attributes(refused.text, "f-numeric_answer")
    assert 'aria-invalid="true"' in _attributes(refused.text, "f-prompt")
    assert '<a href="#f-prompt">Write the question.</a>' in text


def test_a_teacher_is_advised_when_a_skill_has_few_distinct_questions(sandbox):
    # Issue 12: authors are warned when a skill has fewer than ~10 distinct questions. The pack's own check
    # (CoursePack.warnings) reached only the command line; the teacher's import and the editor now show it.
    document = demo_pack_data()
    for activity in document["activities"]:
        if activity["kind"] == "practice":  # the fixed questions only: no item template, a few questions a skill
            activity["items"] = [item for item in activity["items"] if not item.get("parameters")]
    assert load_pack(document).warnings()
    editor = _editor(sandbox)
    assert "Advice on this map" not in editor.text  # the demo pack's templates give every skill many variants
    body = json.dumps(document).encode()
    imported = html.unescape(upload_file(editor, "/teacher/map/import", "pack.json", body).text)
    assert "Imported “" in imported
    assert "The skill “Equivalent fractions” ('frac-equivalent') has 4 distinct questions" in imported
    assert "Advice on this map" in imported  # the editor the import leads back to keeps the advice in view
    again = html.unescape(editor.http.get(editor.url, timeout=30).text)  # no flash now: the editor's own section
    assert "Advice on this map" in again and "fewer than 10" in again and again.count("('frac-equivalent') has") == 1


def _store_a_link_from_before_links_were_checked(tool, url: str, instructions: str | None = None) -> str:
    import copy

    from lti_tool.extensions import db
    from lti_tool.models import CourseContent
    from lti_tool.services.content import forget_pack

    with tool.app.app_context():
        content = db.session.scalars(db.select(CourseContent)).one()
        data = copy.deepcopy(content.pack)
        resource = next(a for a in data["activities"] if a.get("kind") == "resource")
        resource["url"] = url
        if instructions is not None:
            resource["instructions"] = instructions
        content.pack = data
        db.session.commit()
        forget_pack(content.course_id)
        return resource["id"]


@pytest.mark.parametrize("instructions", [None, ""])
def test_a_stored_unsafe_link_neither_breaks_the_export_nor_blocks_edits(sandbox, tool, instructions):
    # Packs imported before links were checked may hold one; students never see it (the reading drops it). A
    # resource that was only its link (no instructions) says the link was removed, so the pack stays valid.
    from lti_tool.learning.coursepack import LINK_REMOVED

    editor = _editor(sandbox)
    resource_id = _store_a_link_from_before_links_were_checked(tool, "javascript:alert(1)", instructions)
    exported = _get(editor, _link(editor, "/teacher/map/export.json"))
    assert exported.status_code == 200
    resource = next(a for a in json.loads(exported.text)["activities"] if a["id"] == resource_id)
    assert resource["url"] is None
    assert (resource["instructions"] == LINK_REMOVED) is (instructions == "")
    load_pack(json.loads(exported.text))  # the export imports again
    form = _get(editor, _link(editor, "/teacher/map/skill"))
    saved = submit_form(form, "/teacher/map/skill", name="Rounding", description="To the nearest ten",
                        prerequisites=[])
    assert "Saved the new skill." in saved.text, saved.text[:2000]
    assert "javascript:" not in _get(editor, _link(editor, "/teacher/map/export.json")).text



def test_an_export_reads_the_stored_pack_without_changing_it_or_sampling_its_templates_again(sandbox, tool,
                                                                                             monkeypatch):
    # The stored document was checked in full (templates sampled) when it was imported or edited: an export used to
    # deep-copy it and sample every template again, for nothing but time. It must still leave the document as it is.
    import copy

    from lti_tool.extensions import db
    from lti_tool.learning import coursepack
    from lti_tool.models import CourseContent
    from lti_tool.services.content import course_content
    from lti_tool.services.course_map import export_text

    editor = _editor(sandbox)
    sampled = []
    real_sample = coursepack.sample
    monkeypatch.setattr(coursepack, "sample", lambda *a: sampled.append(1) or real_sample(*a))
    assert coursepack.load_pack(demo_pack_data()) and sampled  # the full check does sample the demo's templates
    sampled.clear()
    assert _skills(_pack(editor)) == _skills(demo_pack_data())
    resource_id = _store_a_link_from_before_links_were_checked(tool, "javascript:alert(1)", "")
    for fmt in ("json", "csv"):
        assert _get(editor, _link(editor, f"/teacher/map/export.{fmt}")).status_code == 200
    exported = _pack(editor)
    assert sampled == []
    assert next(a for a in exported["activities"] if a["id"] == resource_id)["url"] is None
    coursepack.load_pack(exported)  # the export imports again
    with tool.app.app_context():
        course_id = db.session.scalars(db.select(CourseContent.course_id)).one()
        stored = copy.deepcopy(course_content(course_id).pack)
        assert "javascript:alert(1)" in json.dumps(stored)
        assert json.loads(export_text(course_id)) == exported
        assert course_content(course_id).pack == stored  # the unsafe link is still stored, the document untouched
