"""Students read Pathways in the language their LMS launch asks for (English and Spanish so far)."""

from __future__ import annotations

import gettext
import html
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import requests
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lti_tool.learning.alerts import AlertKind
from lti_tool.learning.local_days import zone_names
from lti_tool.learning.mastery import Level
from lti_tool.learning.pacing import PaceStatus
from lti_tool.lti.claims import facts_from_claims
from lti_tool.services.content import demo_pack_data
from lti_tool.services.evidence import EVIDENCE_KINDS
from lti_tool.services.reflections import REFLECTION_PROMPTS
from lti_tool.web.diagnostic import BELIEF_WORDS
from lti_tool.web.i18n import DOMAIN_WORDS, language_of
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import LAUNCH_PRESENTATION, SandboxActions, launch_with_presentation, parse_form, submit_form

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "lti_tool" / "translations"
SPANISH_PO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.po"
SPANISH_MO = TRANSLATIONS / "es" / "LC_MESSAGES" / "messages.mo"


def _setup_course(sandbox):
    page = submit_form(sandbox.launch("teacher"), "/content/demo")
    assert "The course now uses" in page.text


_launch = launch_with_presentation


def _get(page, tool, link):
    response = page.http.get(tool.url(link), timeout=30)
    response.http = page.http
    return response


def _html_lang(page):
    return re.search(r'<html lang="([^"]+)">', page.text).group(1)


def _first_practice(page, tool):
    return _get(page, tool, re.search(r'href="([^"]*/practice/[^"/?]+)"', page.text).group(1))


def test_student_whose_lms_speaks_mexican_spanish_gets_plan_practice_and_feedback_in_spanish(sandbox, tool):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="es-MX")
    assert home.status_code == 200
    assert _html_lang(home) == "es"
    assert "Saltar al contenido" in home.text
    assert "Tus próximos pasos" in home.text and "Your next steps" not in home.text
    # Level names are translated on the page; the level-N classes stay as they were.
    assert '<span class="level level-0">Sin empezar</span>' in home.text
    assert '<span class="level level-0">Not started</span>' not in home.text
    # The planner's reasons are composed from catalogued sentence templates.
    assert "Estás listo para esto" in home.text and "You're ready for this" not in home.text
    assert "Not started yet" not in home.text  # the mastery reasons, too
    assert "Empieza tu prueba de ubicación (hasta 12 preguntas)" in home.text  # catalogue: "up to %(num)d questions"

    practice = _first_practice(home, tool)
    assert _html_lang(practice) == "es"
    assert "Practica:" in practice.text and "Comprobar mi respuesta" in practice.text
    assert "← Volver a mi plan" in practice.text

    feedback = submit_form(practice, practice.url.split("/c/")[1].split("/", 1)[1].split("?")[0],
                           answer="definitely not the answer")
    assert _html_lang(feedback) == "es"
    assert "Casi, pero no." in feedback.text
    assert "Siguiente pregunta" in feedback.text and "Volver a mi plan" in feedback.text
    assert "Intentado" in feedback.text  # the level the wrong answer moved them to, in Spanish
    assert "0 de 1 bien" in feedback.text  # the model's reason, in Spanish


def test_spanish_student_gets_spanish_confirmations_after_acting(sandbox, tool):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="es")
    skipped = submit_form(home, "/diagnostic/skip")
    assert "No pasa nada: tu plan empieza desde el principio." in skipped.text

    goals = _get(skipped, tool, re.search(r'href="([^"]*/goals)"', skipped.text).group(1))
    assert "Mis metas" in goals.text and "Sin empezar todavía" in goals.text
    added = submit_form(goals, "/goals", title="Fracciones para el examen", by_date="2031-05-20")
    assert "Meta añadida: Fracciones para el examen" in added.text
    assert "20 de mayo de 2031" in added.text


def test_english_launch_stays_in_english(sandbox, tool):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="en-US")
    assert _html_lang(home) == "en"
    assert "Your next steps" in home.text and "Skip to content" in home.text
    assert '<span class="level level-0">Not started</span>' in home.text
    practice = _first_practice(home, tool)
    assert "Check my answer" in practice.text and _html_lang(practice) == "en"


def test_a_locale_pathways_does_not_speak_falls_back_to_english(sandbox):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="fr-FR")
    assert _html_lang(home) == "en"
    assert "Your next steps" in home.text and "Not started" in home.text


def test_without_a_launch_locale_the_browser_language_decides(sandbox):
    _setup_course(sandbox)
    browser = requests.Session()
    browser.headers["Accept-Language"] = "es-ES,es;q=0.9,en;q=0.5"
    home = _launch(sandbox, http=browser)
    assert _html_lang(home) == "es" and "Tus próximos pasos" in home.text


def _teacher_pages(sandbox, tool, locale):
    """A teacher launched in `locale` sets up the demo course; a student answers once. Return the teacher's pages."""
    home = submit_form(_launch(sandbox, "teacher", locale=locale), "/content/demo")
    student = _launch(sandbox, locale=locale)
    practice = _first_practice(student, tool)
    submit_form(practice, practice.url.split("/c/")[1].split("/", 1)[1].split("?")[0], answer="not the answer")
    base = re.search(r"/c/[^/]+/", home.url).group(0)
    class_view = _get(home, tool, base + "class")
    student_id = re.search(r'href="[^"]*/students/(\d+)"', class_view.text).group(1)
    settings = _get(home, tool, base + "teacher/settings")
    saved = submit_form(settings, "/teacher/settings", ends_on="2031-06-30")
    return {"home": home, "class": class_view, "student": _get(home, tool, base + f"students/{student_id}"),
            "settings": settings, "saved": saved}


def test_a_spanish_teacher_gets_the_class_view_a_students_page_and_settings_in_spanish(sandbox, tool):
    pages = _teacher_pages(sandbox, tool, "es-MX")
    assert all(_html_lang(page) == "es" for page in pages.values())
    assert "El curso ahora usa «" in pages["home"].text and "Abrir la vista de la clase" in pages["home"].text
    class_view = pages["class"].text
    assert "Vista de la clase: " in class_view and "Fijar un nivel según su criterio" in class_view
    assert "Ordenar por" in class_view and "Primero quienes tienen menos habilidades en Competente o más" in class_view
    assert ">Intentado</a>" in class_view and ">Sin empezar</a>" in class_view  # the cells' levels
    assert '<option value="Proficient">Competente</option>' in class_view  # posted in English, shown in Spanish
    assert "Showing" not in class_view and "Set level" not in class_view
    student = pages["student"].text
    assert "Próximos pasos, tal como los ve Priya Shah" in student and "Historial de dominio" in student
    assert "1 pregunta respondida; correctas: 0." in student
    assert "0 de 1 bien" in student  # the mastery model's reason, rebuilt in Spanish
    assert "Mastery history" not in student and "question answered" not in student
    assert "Fecha de fin del curso" in pages["settings"].text and "Course end date" not in pages["settings"].text
    assert "El curso termina el 2031-06-30." in pages["saved"].text


def test_a_spanish_teacher_sees_a_student_whose_lms_shares_no_name_as_nombre_no_compartido(sandbox, tool):
    teacher = submit_form(_launch(sandbox, "teacher", locale="es"), "/content/demo")
    tool.platform.add_user("s-anon", roles=["Learner"], context_id="math-7")  # the LMS sends no name claims
    _launch(sandbox, "s-anon", locale="es")
    base = re.search(r"/c/[^/]+/", teacher.url).group(0)
    class_view = _get(teacher, tool, base + "class").text
    anon = re.search(r'href="[^"]*/students/(\d+)">\(nombre no compartido\)</a>', class_view).group(1)
    assert "name not shared" not in class_view
    student = _get(teacher, tool, base + f"students/{anon}").text
    assert "<h1>(nombre no compartido)</h1>" in student
    assert "Próximos pasos, tal como los ve (nombre no compartido)" in student
    assert "name not shared" not in student
    for page in ("class/groups", "privacy"):
        shown = _get(teacher, tool, base + page).text
        assert "(nombre no compartido)" in shown and "name not shared" not in shown, page
    # The class CSV is read by machine: English, as its header and level words are.
    exported = _get(teacher, tool, base + "class/export.csv").text
    assert "\n(name not shared)," in exported.replace("\r\n", "\n") and "nombre" not in exported


def test_a_spanish_teacher_sees_an_unnamed_students_grades_as_nombre_no_compartido(make_tool):
    tool = make_tool(**FAST_RETRIES)
    tool.platform.add_user("s-anon", roles=["Learner"], context_id="math-7")  # the LMS sends no name claims
    sandbox = SandboxActions(tool)
    gradebook = open_gradebook(tool, sandbox)
    gradebook.queue("s-anon", 70.0)
    gradebook.queue("student-1", 80.0)
    gradebook.drain()
    home = _launch(sandbox, "teacher", locale="es")
    grades = home.text.split('id="grades-heading"', 1)[1].split("</section>", 1)[0]
    # It showed the LMS's user id ("s-anon") where every other teacher page says the name was not shared.
    assert "<summary><strong>(nombre no compartido)</strong>" in grades and "s-anon" not in grades
    assert "<summary><strong>Priya Shah</strong>" in grades
    compare = _get(home, tool, re.search(r'href="([^"]*/grades/compare/\d+)"', grades).group(1))
    assert compare.status_code == 200 and _html_lang(compare) == "es"
    assert '<th scope="row">(nombre no compartido)</th>' in compare.text and "s-anon" not in compare.text
    assert '<th scope="row">Priya Shah</th>' in compare.text


def _post_pack(teacher, tool, body: bytes):
    """Post a file to …/content/import as a form would; return the course page it leads back to."""
    base = re.search(r"/c/[^/]+/", teacher.url).group(0)
    _, fields = parse_form(teacher.text, teacher.url)
    page = teacher.http.post(tool.url(base + "content/import"), data={"csrf_token": fields["csrf_token"]},
                             files={"pack": ("pack.json", body)}, timeout=30)
    assert page.status_code == 200 and page.url.endswith(base), page.url
    return page.text


def test_a_spanish_teacher_reads_why_an_uploaded_pack_was_not_imported_in_spanish(sandbox, tool):
    teacher = _launch(sandbox, "teacher", locale="es")
    document = demo_pack_data()
    document["skills"][1]["name"] = 5
    document["activities"][0]["kind"] = "lecture"
    text = _post_pack(teacher, tool, json.dumps(document).encode("utf-8"))
    # It was one English block: "The course pack has 2 problems: - skills[1].name: should be text, …".
    assert "El paquete del curso no se importó: tiene 2 problemas." in text
    assert "skills[1].name: debería ser texto, no el número 5" in text
    assert "activities[0].kind: debería ser uno de practice, resource" in text
    assert "problems" not in text and "should be" not in text

    # Not JSON at all: where, and what is wrong, in Spanish (Python's decoder says it in English only).
    text = _post_pack(teacher, tool, b'{"course": {"title": "Fracciones"} "skills": []}')
    assert "línea 1, columna 36: no es JSON válido (se esperaba una coma (,))" in html.unescape(text)
    assert "Expecting" not in text and "not valid JSON" not in text

    # A pack with many problems lists the first few and counts the rest (flashes travel in the session cookie).
    document = demo_pack_data()
    for skill in document["skills"]:
        skill["name"] = 5
    text = html.unescape(_post_pack(teacher, tool, json.dumps(document).encode("utf-8")))
    count = len(document["skills"])
    assert f"El paquete del curso no se importó: tiene {count} problemas." in text
    assert text.count("debería ser texto, no el número 5") == 10
    assert f"… y {count - 10} problemas más." in text


def test_an_english_teacher_keeps_english_pages(sandbox, tool):
    pages = _teacher_pages(sandbox, tool, "en-US")
    assert all(_html_lang(page) == "en" for page in pages.values())
    assert "Class view: " in pages["class"].text and "Set a level by your own judgement" in pages["class"].text
    assert ">Attempted</a>" in pages["class"].text and "Vista de la clase" not in pages["class"].text
    assert "Next steps, as Priya Shah sees them" in pages["student"].text
    assert "1 question answered, 0 right." in pages["student"].text
    assert "Course end date" in pages["settings"].text and "The course ends on 2031-06-30." in pages["saved"].text


def test_a_spanish_teacher_reads_needs_help_now_in_spanish(sandbox, tool):
    teacher = submit_form(_launch(sandbox, "teacher", locale="es"), "/content/demo")
    student = _launch(sandbox, locale="en")
    practice = _first_practice(student, tool)
    skill = re.search(r"/practice/([^/?\"]+)", practice.url).group(1)
    submit_form(practice, f"/practice/{skill}/ask")
    base = re.search(r"/c/[^/]+/", teacher.url).group(0)
    needs = _get(teacher, tool, base + "class/needs-help")
    assert _html_lang(needs) == "es" and "<h1>Necesitan ayuda ahora</h1>" in needs.text
    assert '<span class="alert-kind">pidió ayuda</span> Pidió ayuda con Fracciones equivalentes hoy.' in needs.text
    assert "Asked for help" not in needs.text and "asked for help" not in needs.text
    helped = submit_form(needs, "/class/needs-help/helped")
    assert "Marcado como atendido." in helped.text and "Nadie necesita ayuda ahora mismo." in helped.text


def test_every_teacher_page_opens_in_spanish(sandbox, tool):
    pages = _teacher_pages(sandbox, tool, "es")
    home = pages["home"]
    base = re.search(r"/c/[^/]+/", home.url).group(0)
    student_id = re.search(r"/students/(\d+)", pages["student"].url).group(1)
    practice_set = next(a["id"] for a in demo_pack_data()["activities"] if a["kind"] == "practice")
    expected = {
        "class/needs-help": "<h1>Necesitan ayuda ahora</h1>",
        "class/groups": '<p class="group-reason">Este estudiante está ',  # the suggestion's reason, too
        "class/assignments": "<h1>Asignaciones</h1>",
        "class/activity": "<h1>Actividad de la clase</h1>",
        "class/map": "<h1>Mapa de habilidades: qué tan preparada está la clase</h1>",
        "class/reports": "<h1>Informes para las familias: ",
        f"students/{student_id}/report": "<title>Informe para la familia: ",
        f"students/{student_id}/skills/frac-equivalent": "Todas las respuestas",
        "class/skills/frac-equivalent/trouble-spots": "<h1>Preguntas más falladas: ",
        "teacher/evidence": "<h1>Trabajos por revisar</h1>",
        "teacher/reflections": "<h1>Reflexiones: ",
        "teacher/grading": "<h1>Calificación: ",
        "teacher/model": "<h1>Modelo de dominio: ",
        "teacher/map": "<h1>Mapa del curso: ",
        "teacher/map/skill": "<h1>Añadir una habilidad</h1>",
        f"teacher/map/activity?id={practice_set}": "Añadir una pregunta</a>",
        f"teacher/map/item?activity={practice_set}": "<h1>Añadir una pregunta a ",
        "teacher/map/unit": "<h1>Añadir una unidad</h1>",
        "teacher/map/goal": "<h1>Añadir una meta del curso</h1>",
        "teacher/map/course": "<h1>Datos del curso</h1>",
        "privacy/": "Datos de los estudiantes",
        f"privacy/students/{student_id}/delete": "Borrar los datos de",
        "privacy/course/delete": "Borrar todos los datos de",
    }
    for path, words in expected.items():
        page = _get(home, tool, base + path)
        assert page.status_code == 200 and _html_lang(page) == "es", path
        assert words in page.text, path
    skill_form = _get(home, tool, base + "teacher/map/skill")
    refused = submit_form(skill_form, "/teacher/map/skill", name="")
    assert refused.status_code == 400 and "No se guardó: 1 problema" in refused.text
    saved = submit_form(skill_form, "/teacher/map/skill", name="Fracciones egipcias")
    assert "Se guardó la nueva habilidad." in saved.text


class _VisibleText(HTMLParser):
    """The words a reader meets on a page: text outside script and style, plus labels read aloud."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "title"):
            self._hidden += 1
        self.parts.extend(value for name, value in attrs if name in ("aria-label", "alt") and value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


#: Interface words that would mean English is leaking into a Spanish page (none is also a Spanish word).
ENGLISH_WORDS = ("the", "and", "of", "with", "student", "students", "skill", "skills", "level", "levels", "show",
                 "clear", "sort", "set", "course", "page", "view", "help", "groups", "download", "teacher",
                 "started", "proficient", "mastered", "attempted", "answers", "everyone", "unit", "units", "below",
                 "sign", "skip", "next", "steps", "history", "why", "change", "save", "end", "date")


@dataclass
class _Text:
    text: str


def _english_left(page, data_words) -> set[str]:
    parser = _VisibleText()
    parser.feed(page.text)
    text = " ".join(parser.parts)
    for words in sorted(data_words, key=len, reverse=True):  # names from the course pack and the LMS stay as given
        text = text.replace(words, " ")
    found = {word.lower() for word in re.findall(r"[A-Za-z]+", text)}
    return found & set(ENGLISH_WORDS)


def test_no_english_is_left_on_a_spanish_teachers_main_pages(sandbox, tool):
    pages = _teacher_pages(sandbox, tool, "es")
    pack = demo_pack_data()
    names = [skill["name"] for skill in pack["skills"]] + [unit["title"] for unit in pack["units"]]
    names += [activity["title"] for activity in pack["activities"]] + [goal["title"] for goal in pack["goals"]]
    names += ["Priya Shah", re.search(r"<title>(?:.*?) · (.*?) · Pathways</title>", pages["class"].text).group(1)]
    names += ["Pathways", "CSV", *zone_names()]  # the settings page's time zones keep their IANA names
    # The mastery history lists each change's reason as it was stored at the time; the rest of the page is ours.
    pages["student"] = _Text(pages["student"].text.split('<section aria-labelledby="history-heading">')[0])
    for page in ("home", "class", "student", "settings"):
        assert _english_left(pages[page], names) == set(), page
    # The check can fail: the same pages in English are full of these words.
    english = _launch(sandbox, "teacher", locale="en")
    english_class = _get(english, tool, re.search(r"/c/[^/]+/", english.url).group(0) + "class")
    assert len(_english_left(english_class, names)) > 10


def test_launch_locale_is_kept_short_and_clean():
    def facts(locale):
        body = {"iss": "https://lms.example", "sub": "u1",
                "https://purl.imsglobal.org/spec/lti/claim/deployment_id": "d1",
                "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
                LAUNCH_PRESENTATION: {"locale": locale}}
        return facts_from_claims(body, "client").details

    assert facts("es-MX")["locale"] == "es-MX"
    assert facts(" es_419 ")["locale"] == "es_419"
    for junk in ("", "<script>", "es MX", 42, None, "x" * 100):
        assert "locale" not in facts(junk)
    assert language_of("es-MX") == "es" and language_of("ES") == "es" and language_of("en_GB") == "en"
    assert language_of("fr") is None and language_of("e") is None and language_of(None) is None


def _spanish_catalog():
    with SPANISH_PO.open("rb") as handle:
        return read_po(handle, locale="es")


def test_every_message_in_the_code_and_templates_has_a_spanish_translation():
    with (TRANSLATIONS / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    in_sources = {message if isinstance(message, str) else message[0]
                  for _file, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map)}
    catalog = _spanish_catalog()
    in_catalog = {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}
    assert in_sources - in_catalog == set(), "run pybabel extract and update (see lti_tool/translations/babel.cfg)"
    untranslated = [m.id for m in catalog if m.id and (not all(m.string if isinstance(m.string, tuple)
                                                               else [m.string]) or m.fuzzy)]
    assert untranslated == []


def test_the_compiled_spanish_catalog_matches_its_source():
    compiled = io.BytesIO()
    write_mo(compiled, _spanish_catalog())
    compiled.seek(0)
    with SPANISH_MO.open("rb") as handle:
        shipped = gettext.GNUTranslations(handle)
    fresh = gettext.GNUTranslations(compiled)

    def messages(translations: gettext.GNUTranslations) -> dict:
        # The "" entry is the catalogue header (tool version, dates): it says nothing about the messages.
        return {key: value for key, value in translations._catalog.items() if key != ""}

    assert messages(shipped) == messages(fresh), "run pybabel compile -d lti_tool/translations"


def test_every_fixed_word_pages_show_from_the_domain_is_in_the_catalog():
    shown = ({level.value for level in Level} | {status.value for status in PaceStatus}
             | set(EVIDENCE_KINDS.values()) | set(REFLECTION_PROMPTS) | set(BELIEF_WORDS.values())
             | {kind.value for kind in AlertKind})
    assert shown <= set(DOMAIN_WORDS)


def test_a_spanish_students_pace_is_explained_in_spanish(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    settings = _get(teacher, tool, re.search(r"/c/[^/]+/", teacher.url).group(0) + "teacher/settings")
    submit_form(settings, "/teacher/settings", ends_on="2027-06-30")
    home = _launch(sandbox, locale="es")
    goals = _get(home, tool, re.search(r"/c/[^/]+/", home.url).group(0) + "goals")
    assert "Todavía no has empezado, así que no hay ritmo que medir." in goals.text
    assert "junio de 2027" in goals.text  # the end date, formatted in Spanish
    assert "You haven't started yet" not in goals.text


def test_a_spanish_student_gets_refusals_in_spanish(sandbox, tool):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="es")
    practice = _first_practice(home, tool)
    refused = submit_form(practice, practice.url.split("/c/")[1].split("/", 1)[1].split("?")[0], answer="   ")
    assert "Primero escribe o elige una respuesta." in refused.text
    goals = _get(home, tool, re.search(r"/c/[^/]+/", home.url).group(0) + "goals")
    refused = submit_form(goals, "/goals", title="")
    assert "Escribe cuál es tu meta." in refused.text


def test_a_spanish_browser_gets_error_pages_and_the_privacy_notice_in_spanish(sandbox, tool):
    import requests

    missing = requests.get(tool.url("/no-such-page"), headers={"Accept-Language": "es-ES,es;q=0.9"}, timeout=10)
    assert missing.status_code == 404 and "Esta página no existe." in missing.text
    home = _launch(sandbox, locale="es")
    privacy = _get(home, tool, re.search(r"/c/[^/]+/", home.url).group(0) + "privacy/")
    assert "Qué guarda Pathways" in privacy.text and "What Pathways stores" not in privacy.text


def test_a_refused_launch_is_explained_in_the_browsers_language(sandbox):
    pending = sandbox.begin("student")
    pending.http.headers["Accept-Language"] = "es"
    assert pending.post().status_code == 200
    replay = pending.post()
    assert replay.status_code == 400
    section = re.search(r"<section.*?</section>", replay.text, re.S).group(0)
    assert "No se pudo abrir Pathways" in section and "Esta apertura ya se usó" in section, section


def test_templates_find_the_catalogue_once_per_page_and_follow_force_locale(tool, monkeypatch):
    from flask import render_template_string
    from flask_babel import force_locale

    from lti_tool.web import i18n

    lookups = []
    real = i18n.get_translations
    monkeypatch.setattr(i18n, "get_translations", lambda: lookups.append(1) or real())
    page = "{{ _('My learning plan') }}|{{ _('Not started') }}|{% trans %}My learning plan{% endtrans %}"
    with tool.app.test_request_context("/"):
        with force_locale("es"):
            assert render_template_string(page) == "Mi plan de aprendizaje|Sin empezar|Mi plan de aprendizaje"
            assert render_template_string(page).startswith("Mi plan")
            assert len(lookups) == 1  # three strings, two renders: one lookup
            with force_locale("en"):  # e.g. a family report in the family's language
                assert render_template_string(page) == "My learning plan|Not started|My learning plan"
            assert render_template_string(page) == "Mi plan de aprendizaje|Sin empezar|Mi plan de aprendizaje"
        assert len(lookups) == 3


def test_a_spanish_pace_explanation_writes_its_rates_with_a_decimal_comma(tool):
    # Spanish writes 1,2 where English writes 1.2: "unas 1.2 por semana" read as a thousand and two to some readers.
    from datetime import date
    from types import SimpleNamespace

    from flask_babel import force_locale

    from lti_tool.web.i18n import pace_text

    pace = SimpleNamespace(explanation="", explanation_parts=(
        ("You've reached Proficient on %(mastered)s of %(total)s skills in %(weeks)s weeks (about %(rate)s a week).",
         {"mastered": "5", "total": "16", "weeks": "4", "rate": "1.2"}),
        ("To finish the other %(left)s skills by %(end)s, you'd need about %(rate)s a week.",
         {"left": "11", "end": date(2031, 6, 20), "rate": "2"}),
    ))
    with tool.app.test_request_context("/"), force_locale("es"):
        text = pace_text(pace)
    assert "unas 1,2 por semana" in text and "1.2" not in text, text
    assert "unas 2 por semana" in text, text


def _other_ways(home) -> list[str]:
    """The first next step's "Other ways to show you know it" list, item by item."""
    ways = re.search(r"<details><summary>[^<]*</summary>\s*<ul>(.*?)</ul>", home.text, re.S).group(1)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)) for item in re.findall(r"<li>(.*?)</li>", ways)]


def test_the_other_ways_to_show_a_skill_are_in_the_students_language_and_do_not_repeat_the_practice_button(sandbox):
    # Spanish students read "Practice set: Práctica: fracciones equivalentes" and "Explain it in your own words: …"
    # in English, and English ones "Practice set: Practice: Equivalent fractions", which the Practise button above
    # already is: practice is not an other way.
    _setup_course(sandbox)
    english = _other_ways(_launch(sandbox, locale="en-US"))
    assert english == ["Explain it in your own words: write it or record it"]
    # The label is a catalogued message now (the catalogue test above holds it to a Spanish translation).
    spanish = _other_ways(_launch(sandbox, locale="es-MX"))
    assert len(spanish) == 1 and not any("Practice set" in way or "Práctica" in way for way in spanish)
