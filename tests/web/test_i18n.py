"""Students read Pathways in the language their LMS launch asks for (English and Spanish so far)."""

from __future__ import annotations

import gettext
import io
import re
from pathlib import Path

import requests
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lti_tool.learning.mastery import Level
from lti_tool.learning.pacing import PaceStatus
from lti_tool.lti.claims import facts_from_claims
from lti_tool.services.agency import EVIDENCE_KINDS, REFLECTION_PROMPTS
from lti_tool.web.diagnostic import BELIEF_WORDS
from lti_tool.web.i18n import DOMAIN_WORDS, language_of
from tests.support import LAUNCH_PRESENTATION, launch_with_presentation, submit_form

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
    assert "Empieza tu prueba de inicio (unas 10 preguntas)" in home.text

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
    assert "0 de 1 correctas" in feedback.text  # the model's reason, in Spanish


def test_spanish_student_gets_spanish_confirmations_after_acting(sandbox, tool):
    _setup_course(sandbox)
    home = _launch(sandbox, locale="es")
    skipped = submit_form(home, "/diagnostic/skip")
    assert "No pasa nada: tu plan empieza desde el principio." in skipped.text

    goals = _get(skipped, tool, re.search(r'href="([^"]*/goals)"', skipped.text).group(1))
    assert "Mis metas" in goals.text and "Todavía no has empezado" in goals.text
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


def test_teacher_pages_stay_english_until_they_are_translated(sandbox):
    page = _launch(sandbox, "teacher", locale="es-MX")
    assert page.status_code == 200
    assert _html_lang(page) == "en" and "Skip to content" in page.text


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
             | set(EVIDENCE_KINDS.values()) | set(REFLECTION_PROMPTS) | set(BELIEF_WORDS.values()))
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
