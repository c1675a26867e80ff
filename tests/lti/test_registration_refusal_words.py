"""An LMS administrator refused at /lti/register is pointed to the guide in words that hold for an installed
tool, and the refusal is marked for translation like the page around it."""

from __future__ import annotations

from pathlib import Path

import requests
from babel.messages.extract import extract_from_file

import lti_tool.services.registry as registry


def test_a_registration_without_an_invite_points_to_the_guides_section_by_its_title(tool):
    response = requests.get(tool.base_url + "/lti/register?openid_configuration=https://lms.example.com/.well-known")
    assert response.status_code == 403
    assert "one-time registration link" in response.text
    assert 'section "Registering a platform safely"' in response.text
    assert "docs/threat-model.md" not in response.text  # not in the installed package


def test_the_refusal_without_an_invite_is_in_the_translation_catalogue_sources():
    marked = {message for _line, message, _comments, _context in
              extract_from_file("python", Path(registry.__file__), keywords={"N_": None})}
    assert any(message.startswith("Pathways accepts dynamic registration only through a one-time registration link")
               for message in marked)
