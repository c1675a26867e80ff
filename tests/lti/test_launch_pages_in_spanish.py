"""The pages a launch passes through before Pathways opens, and the ones that hand back to the LMS, speak the
browser's or the launch's language: a Spanish class saw "Opening Pathways…", "Pathways needs its own window",
"Returning to your course" and the admin's "Pathways is registered" in English only."""

from __future__ import annotations

import json
import re

import requests

from tests.lti.test_blocked_cookies_without_storage import FRAMED, _framed_begin
from tests.lti.test_dynamic_registration import _register, invite
from tests.lti.test_platform_storage import _cookieless
from tests.support import submit_form

SPANISH = {"Accept-Language": "es-419,es;q=0.9"}
DL = "LtiDeepLinkingRequest"


def _words(page: requests.Response) -> str:
    """The page without its tags."""
    return re.sub(r"<[^>]+>", " ", page.text)


def test_a_framed_login_in_a_spanish_browser_says_what_it_is_doing_in_spanish(sandbox):
    http, login_url = _framed_begin(sandbox)
    http.headers.update(SPANISH)
    page = http.get(login_url, allow_redirects=False, timeout=30)
    assert page.status_code == 200
    assert 'lang="es"' in page.text
    words = _words(page)
    for spanish in ("Abriendo Pathways…", "Conectando con tu LMS.", "Abrir Pathways en una ventana nueva"):
        assert spanish in words, spanish
    assert json.dumps("Pathways no puede abrirse dentro de esta página.") in page.text  # what the script shows
    assert "Opening Pathways" not in words and "Connecting to your LMS" not in words


def test_a_framed_launch_whose_cookie_was_blocked_offers_the_new_window_in_spanish(sandbox):
    pending = sandbox.begin("student", http=_cookieless())
    pending.http.headers.update({**FRAMED, **SPANISH})
    page = pending.post()
    assert page.status_code == 200
    assert "Pathways necesita su propia ventana" in page.text and "needs its own window" not in page.text


def test_a_spanish_teachers_choice_goes_back_to_the_lms_in_spanish(sandbox):
    picker = sandbox.launch("teacher", message_type=DL, locale="es-MX")
    assert picker.status_code == 200, picker.text[:500]
    returning = submit_form(picker, "/deep-link")
    assert returning.status_code == 200, returning.text[:500]
    assert 'lang="es"' in returning.text
    assert "Enviando la selección de vuelta al curso…" in returning.text
    assert "Volver al curso" in returning.text and "Return to the course" not in returning.text


def test_an_lms_admin_with_a_spanish_browser_reads_the_registration_result_in_spanish(tool):
    tool.platform.registration_names_deployment = False
    link = invite(tool, approved=False)
    page = requests.get(link, params={"openid_configuration": tool.platform.openid_configuration_url,
                                      "registration_token": tool.platform.new_registration_token()},
                        headers=SPANISH, timeout=30)
    assert page.status_code == 200, page.text[:500]
    assert "Pathways está registrado" in page.text
    assert "que además aprueba este registro" in page.text and "pathways platform add" in page.text
    assert "Listo, cerrar esta ventana" in page.text and "Done, close this window" not in page.text
    english = _register(tool)  # the same page in an English browser is unchanged
    assert "Pathways is registered" in english.text and "did not say which deployment" in english.text
