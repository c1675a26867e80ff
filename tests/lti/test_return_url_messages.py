"""A refused but validated launch leads back to the LMS page it named, telling the LMS why (`lti_errormsg`).

LTI Core 1.3, launch presentation claim: `return_url` is where the tool may send the person back, and the tool may
add `lti_errormsg` (or `lti_msg`, `lti_log`, `lti_errorlog`) to its query for the platform to show or log. Only a
return_url read from a signature-checked id_token is ever used: an unchecked token's address is never a link.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.lti.claims import return_url_with
from tests.support import CLAIM, LAUNCH_PRESENTATION

MENTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"


def _lms_back(page) -> str:
    """Return the page's link back to the LMS (unescaped), or ""."""
    found = re.search(r'<a class="button" href="([^"]+)" data-testid="lms-back"', page.text)
    return unescape(found.group(1)) if found else ""


def _message(page) -> str:
    """Return the refusal's own words as the page shows them (its first paragraph)."""
    return unescape(re.search(r"<section[^>]*>.*?<p>(.*?)</p>", page.text, re.S).group(1)).strip()


def _launch(sandbox, as_="student", language="", **claims):
    pending = sandbox.begin(as_)
    if language:
        pending.http.headers["Accept-Language"] = language
    return pending.post(pending.resign(**claims))


def test_a_role_without_access_goes_back_to_the_lms_page_with_the_reason_kept_beside_its_query(sandbox, tool):
    return_url = tool.platform.url("/courses/7/modules?tab=tools&sesskey=a%2Fb")
    page = _launch(sandbox, **{CLAIM + "roles": [MENTOR],
                               LAUNCH_PRESENTATION: {"document_target": "iframe", "return_url": return_url}})
    assert page.status_code == 200 and "not available for your role" in page.text

    back = urlsplit(_lms_back(page))
    assert back.path.endswith("/courses/7/modules") and back.query.startswith("tab=tools&sesskey=a%2Fb&lti_errormsg=")
    assert parse_qs(back.query)["lti_errormsg"] == [_message(page)]
    assert _message(page).startswith("Pathways is for the teachers and students of a course.")


def test_a_return_url_without_a_query_gets_one_and_the_reason_in_the_pages_language(sandbox, tool):
    page = _launch(sandbox, language="es", **{CLAIM + "roles": [], LAUNCH_PRESENTATION: {
        "document_target": "iframe", "return_url": tool.platform.url("/")}})
    back = _lms_back(page)
    assert back.startswith(tool.platform.url("/") + "?lti_errormsg=") and "%20" in back and " " not in back
    assert parse_qs(urlsplit(back).query)["lti_errormsg"] == [_message(page)]
    assert _message(page).startswith("Pathways es para docentes y estudiantes de un curso.")


def test_a_student_whose_course_is_not_set_up_can_go_back_to_the_lms_with_that_said(sandbox, tool):
    page = sandbox.launch("student")  # the sandbox names its course page as return_url; no content yet
    assert "has not set up this course" in page.text
    back = _lms_back(page)
    # Not an error: the LMS is told as a plain message (lti_msg), which it shows as information.
    assert back.startswith(tool.platform.url("/") + "?lti_msg=")
    assert parse_qs(urlsplit(back).query)["lti_msg"] == [
        "Your teacher has not set up this course in Pathways yet. Check back soon."]


def test_a_validated_launch_refused_for_its_user_id_goes_back_to_the_lms_with_the_reason(sandbox, tool):
    page = _launch(sandbox, sub="\x01")
    assert page.status_code == 400 and "A user id in this launch is empty" in page.text
    back = _lms_back(page)
    assert back.startswith(tool.platform.url("/") + "?lti_errormsg=")
    assert parse_qs(urlsplit(back).query)["lti_errormsg"][0].startswith("A user id in this launch is empty")


def test_a_launch_whose_signature_fails_never_links_its_return_url(sandbox, tool):
    pending = sandbox.begin("student")
    claims = {**pending.claims, CLAIM + "roles": [MENTOR],
              LAUNCH_PRESENTATION: {"document_target": "iframe", "return_url": "https://evil.example/steal"}}
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused = pending.post(pending.platform.sign(claims, key=other_key, kid=pending.header["kid"]))
    assert 400 <= refused.status_code < 500
    assert "evil.example" not in refused.text and 'data-testid="lms-back"' not in refused.text


def test_messages_are_added_to_the_query_before_any_fragment():
    assert return_url_with("https://lms.example/a#top", lti_errormsg="No & more") == \
        "https://lms.example/a?lti_errormsg=No%20%26%20more#top"
    assert return_url_with("https://lms.example/a?", lti_msg="ok") == "https://lms.example/a?lti_msg=ok"
    assert return_url_with("https://lms.example/a?x=1", lti_errormsg="") == "https://lms.example/a?x=1"


def test_a_refused_launch_speaks_the_language_it_named_not_the_browsers(sandbox, tool):
    # A Spanish-speaking student on a browser set to English: the LMS's locale claim is the person's language, as on
    # every page a launch opens.
    es = {"document_target": "iframe", "return_url": tool.platform.url("/"), "locale": "es-MX"}
    page = _launch(sandbox, language="en", **{CLAIM + "roles": [MENTOR], LAUNCH_PRESENTATION: es})
    assert _message(page).startswith("Pathways es para docentes y estudiantes de un curso."), _message(page)
    assert 'lang="es"' in page.text
    refused = _launch(sandbox, language="en", sub="\x01", **{LAUNCH_PRESENTATION: es})
    assert refused.status_code == 400 and 'lang="es"' in refused.text and "A user id" not in refused.text
