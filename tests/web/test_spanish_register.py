"""The Spanish catalogue keeps one voice per reader and one word per term.

Students are addressed with "tú", teachers with "usted"; the placement check is "prueba de ubicación" and "el LMS"
stays "el LMS". Who reads a message is taken from its source references: a message used only by templates under
templates/teacher/ is read by teachers.
"""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

SPANISH_PO = Path(__file__).resolve().parents[2] / "lti_tool" / "translations" / "es" / "LC_MESSAGES" / "messages.po"
# "tú" pronouns and verb forms that never address a teacher in usted. Quoted student-facing text («…») is allowed.
INFORMAL = re.compile(r"\b(tu|tus|ti|te|puedes|quieres|tienes|elijas|quites|cambies|hayas|pediste|pides|fijas)\b",
                      re.IGNORECASE)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%%")


def _messages():
    with SPANISH_PO.open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if not message.id:
            continue
        ids = (message.id,) if isinstance(message.id, str) else message.id
        strings = (message.string,) if isinstance(message.string, str) else message.string
        yield message, ids, strings


def _read_only_by_teachers(message) -> bool:
    return all("/teacher/" in path for path, _ in message.locations)


def _outside_quotes(text: str) -> str:
    return re.sub(r"«[^»]*»", "", text)


def test_teacher_pages_address_the_teacher_as_usted():
    informal = [strings[0] for message, _, strings in _messages()
                if _read_only_by_teachers(message) and any(INFORMAL.search(_outside_quotes(s)) for s in strings)]
    assert informal == []


def test_the_placement_check_is_always_the_prueba_de_ubicacion():
    for _, ids, strings in _messages():
        assert not any("prueba de inicio" in s.lower() for s in strings), strings
        if "placement check" in ids[0].lower():
            assert all("prueba de ubicación" in s.lower() for s in strings), strings


def test_the_lms_stays_el_lms():
    for _, ids, strings in _messages():
        if "LMS" in ids[0] and "platform" not in ids[0]:
            assert all("LMS" in s for s in strings), strings


def test_a_grade_is_a_calificacion_not_a_nota():
    for _, ids, strings in _messages():
        if re.search(r"\bgrades?\b", ids[0]) and "grade level" not in ids[0]:
            assert not any(re.search(r"\bnotas?\b", s) for s in strings), strings


def test_every_placeholder_of_the_english_is_in_the_spanish():
    for _, ids, strings in _messages():
        for number, string in enumerate(strings):
            english = ids[min(number, len(ids) - 1)]
            assert sorted(PLACEHOLDER.findall(english)) == sorted(PLACEHOLDER.findall(string)), (english, string)
