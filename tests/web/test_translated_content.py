"""Course content in the student's language: a Spanish launch reads the pack's Spanish texts, English where none."""

from __future__ import annotations

import json
import re

import sqlalchemy as sa
from markupsafe import escape

from lti_tool.extensions import db
from lti_tool.models import ItemResponse
from lti_tool.sandbox.platform import DEMO_STUDENTS
from lti_tool.services.content import demo_pack_data
from tests.support import (
    answer_for_served,
    launch_with_presentation,
    open_in_launch,
    served_item,
    submit_form,
    upload_file,
)


def _get(page, tool, link):
    response = page.http.get(link if link.startswith("http") else tool.url(link), timeout=30)
    response.http = page.http
    return response


def _practice(home, tool, skill_id):
    """Open the practice page of a skill, as a link from the plan would."""
    response = home.http.get(home.url.split("?")[0].rstrip("/") + f"/practice/{skill_id}", timeout=30)
    response.http = home.http
    return response


def _served_id(page) -> int:
    return int(re.search(r'name="served" value="(\d+)"', page.text).group(1))


def _shows(page, text: str) -> bool:
    return str(escape(text)) in page.text


def _answer(page, skill_id, answer):
    return submit_form(page, f"/practice/{skill_id}", answer=answer)


def test_spanish_student_practises_in_spanish_and_the_answer_is_checked_as_in_english(sandbox, tool):
    assert "The course now uses" in submit_form(sandbox.launch("teacher"), "/content/demo").text
    home = launch_with_presentation(sandbox, locale="es-MX")
    # The plan names the skills and the course in Spanish, and not in English (another unit's skills too, opened
    # from the plan's list of units).
    assert _shows(home, "Fracciones equivalentes") and not _shows(home, "Equivalent fractions")
    ratios = open_in_launch(home, tool, "/", unit="unit-ratios-rates")
    assert _shows(ratios, "Razones y razones equivalentes") and not _shows(ratios, "Ratios and equivalent ratios")

    practice = _practice(home, tool, "frac-add-sub")
    assert _shows(practice, "Practica: Sumar y restar fracciones")
    served = _served_id(practice)
    spanish, english = served_item(tool, served, "es"), served_item(tool, served)
    assert spanish.prompt != english.prompt
    assert _shows(practice, spanish.prompt) and not _shows(practice, english.prompt)

    # Hints come one at a time, in Spanish.
    with_hint = submit_form(practice, "/practice/frac-add-sub", show_hint="1")
    assert _shows(with_hint, spanish.hints[0]) and not _shows(with_hint, english.hints[0])

    # A wrong answer shows the worked solution in Spanish.
    feedback = _answer(with_hint, "frac-add-sub", answer_for_served(tool, served, right=False))
    assert "Casi, pero no." in feedback.text
    assert _shows(feedback, spanish.solution) and not _shows(feedback, english.solution)

    # The right answer of the English question is right in Spanish too: answers do not depend on the language.
    practice = _practice(home, tool, "frac-add-sub")
    served = _served_id(practice)
    right = _answer(practice, "frac-add-sub", answer_for_served(tool, served))
    assert "Casi, pero no." not in right.text
    with tool.app.app_context():
        marks = db.session.scalars(sa.select(ItemResponse.correct).order_by(ItemResponse.id)).all()
    assert marks == [False, True]


def test_spanish_student_may_answer_a_word_question_in_spanish_or_english(sandbox, tool):
    data = demo_pack_data()
    # Keep one skill with its word question (fm-4: "greater" or "less") so the practice page serves it.
    activity = next(a for a in data["activities"] if a["id"] == "practice-frac-multiply")
    activity["items"] = [i for i in activity["items"] if i["id"] == "fm-4"]
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text
    home = launch_with_presentation(sandbox, locale="es")
    practice = _practice(home, tool, "frac-multiply")
    assert _shows(practice, 'Responde "mayor" o "menor".')
    assert "Casi, pero no." not in _answer(practice, "frac-multiply", "menor").text
    practice = _practice(home, tool, "frac-multiply")
    assert "Casi, pero no." not in _answer(practice, "frac-multiply", "less").text
    practice = _practice(home, tool, "frac-multiply")
    assert "Casi, pero no." in _answer(practice, "frac-multiply", "mayor").text


def test_pack_without_spanish_shows_english_content_on_spanish_pages(sandbox, tool):
    data = demo_pack_data()
    for key in ("skills", "units", "goals", "activities"):
        for entry in data[key]:
            entry.pop("translations", None)
            for item in entry.get("items", []):
                item.pop("translations", None)
    data["course"].pop("translations", None)
    # One text translated, the rest not: each string falls back on its own.
    data["skills"][0]["translations"] = {"es": {"name": "Fracciones equivalentes"}}
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text

    home = launch_with_presentation(sandbox, locale="es")
    assert "Tus próximos pasos" in home.text  # the page itself is Spanish
    assert _shows(home, "Fracciones equivalentes") and _shows(home, "Add and subtract fractions")
    practice = _practice(home, tool, "frac-add-sub")
    english = served_item(tool, _served_id(practice))
    assert _shows(practice, english.prompt)


def test_english_student_reads_the_english_pack_and_spanish_student_the_spanish_placement_check(sandbox, tool):
    assert "The course now uses" in submit_form(sandbox.launch("teacher"), "/content/demo").text
    english_home = launch_with_presentation(sandbox, locale="en-US")
    assert _shows(english_home, "Equivalent fractions") and not _shows(english_home, "Fracciones equivalentes")

    home = launch_with_presentation(sandbox, DEMO_STUDENTS[1], locale="es")
    check = _get(home, tool, re.search(r'href="([^"]*/diagnostic)"', home.text).group(1))
    item = served_item(tool, _served_id(check), "es")
    assert _shows(check, item.prompt) and not _shows(check, served_item(tool, _served_id(check)).prompt)
    goals = _get(home, tool, re.search(r'href="([^"]*/goals)"', home.text).group(1))
    assert _shows(goals, "Soltura con las fracciones") and not _shows(goals, "Fluent with fractions")
