"""The 503 page a student meets inside their LMS speaks the language their launch named, though the outage keeps
the launch (and its locale claim) from being read: a browser that asks for English still gets the Spanish page of
a Spanish launch, with a way to try again and nothing that needs the database."""

from __future__ import annotations

import base64
import json
import re

import pytest
import requests

from tests.support import SandboxActions, launch_with_presentation

ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}


def _spanish_launch_begun(tool) -> tuple:
    """Begin a launch whose id_token names Spanish, in a browser that asks for English; return it and the token."""
    http = requests.Session()
    http.headers.update(ENGLISH_BROWSER)
    pending = SandboxActions(tool).begin("student", http=http)
    presentation = {"document_target": "iframe", "locale": "es-419"}
    return pending, pending.resign(**{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation": presentation})


def _assert_spanish_503(page: requests.Response) -> None:
    assert page.status_code == 503, (page.status_code, page.text[:300])
    assert page.headers["Retry-After"] == "30"
    assert 'lang="es"' in page.text
    assert "Pathways no está disponible por un momento" in page.text
    assert "volver a intentarlo en un minuto" in page.text
    assert "Traceback" not in page.text


def test_a_spanish_launch_s_page_during_a_database_outage_is_the_spanish_503_inside_its_lms_frame(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url)
    http = requests.Session()
    http.headers.update(ENGLISH_BROWSER)
    student = launch_with_presentation(SandboxActions(tool), "student", http=http, locale="es-MX")
    assert student.status_code == 200 and 'lang="es"' in student.text
    framed_by = re.search(r"frame-ancestors ([^;]*)", student.headers["Content-Security-Policy"]).group(1)

    postgres.proxy.cut()
    try:
        page = http.get(student.url, timeout=15)
    finally:
        postgres.proxy.restore()

    _assert_spanish_503(page)
    assert re.search(r"frame-ancestors ([^;]*)", page.headers["Content-Security-Policy"]).group(1) == framed_by
    # Once the database is back, the same address is the student's page again: no dead end, no new launch needed.
    again = http.get(student.url, timeout=15)
    assert again.status_code == 200 and 'lang="es"' in again.text


@pytest.mark.parametrize(
    ("server", "setting", "words"),
    [
        ("postgres", "DATABASE_URL", "no puede conectar con su base de datos"),
        ("redis_server", "REDIS_URL", "no puede iniciar sesiones nuevas"),
    ],
)
def test_a_spanish_launch_posted_during_an_outage_gets_the_spanish_503(make_tool, request, server, setting, words):
    """The outage comes before the id_token is checked (its platform or state cannot be read)."""
    proxied = request.getfixturevalue(server)
    tool = make_tool(**{setting: proxied.url})
    pending, id_token = _spanish_launch_begun(tool)

    proxied.proxy.cut()
    try:
        page = pending.post(id_token)
    finally:
        proxied.proxy.restore()

    _assert_spanish_503(page)
    assert words in page.text


def test_a_spanish_launch_confirmed_through_platform_storage_during_an_outage_gets_the_spanish_503(make_tool, postgres):
    """A browser that blocks cookies posts its launch a second time, from the storage check page (/lti/launch/verified),
    with the same id_token: the database going away between the two still gives the page in the launch's language."""
    from tests.lti.test_platform_storage import StorageLaunch

    tool = make_tool(DATABASE_URL=postgres.url)
    launch = StorageLaunch(SandboxActions(tool), locale="es-419")
    launch.http.headers.update(ENGLISH_BROWSER)

    postgres.proxy.cut()
    try:
        page = launch.confirm()
    finally:
        postgres.proxy.restore()

    _assert_spanish_503(page)


def _segment(value: object) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


@pytest.mark.parametrize(
    ("header", "presentation"),
    [
        ({"crit": ["b64"]}, {"locale": "es"}),
        ({}, {"locale": 7}),
        ({}, ["es"]),
        ({}, {"locale": "es" + "-x" * 1_000}),
        ({}, {"locale": {"es": "es"}}),
    ],
    ids=["crit", "number", "claim-list", "huge", "object"],
)
def test_a_malformed_id_token_posted_during_an_outage_gets_the_whole_503_page(
    make_tool, postgres, header, presentation
):
    """The token is read unverified for the page's language only: whatever its claim holds, the page is drawn in full
    (not the bare fallback of a page that failed), in a language Pathways speaks."""
    tool = make_tool(DATABASE_URL=postgres.url)
    pending, _ = _spanish_launch_begun(tool)
    claims = {**pending.claims, PRESENTATION: presentation}
    id_token = f"{_segment({**pending.header, **header})}.{_segment(claims)}.c2lnbmVk"  # its signature never checked

    postgres.proxy.cut()
    try:
        page = pending.post(id_token)
    finally:
        postgres.proxy.restore()

    assert page.status_code == 503, (page.status_code, page.text[:300])
    assert "try again in a minute" in page.text or "volver a intentarlo en un minuto" in page.text
    assert re.search(r'<html lang="(en|es)">', page.text) and "Traceback" not in page.text
