"""Hostile imports: a CASE package built to explode, or a deeply nested course pack, is refused quickly and plainly."""

from __future__ import annotations

import html
import json
import time

from tests.web.test_course_map import _editor, _pack, _upload


def _two_units(leaves: int, repeated_precedes: int, prefix: str = "") -> dict:
    """Two groupings of `leaves` skills each, with the same unit-to-unit "precedes" repeated many times."""
    items = [{"identifier": f"{prefix}unit-a", "fullStatement": "Unit A"},
             {"identifier": f"{prefix}unit-b", "fullStatement": "Unit B"}]
    associations = []
    for unit in ("a", "b"):
        for n in range(leaves):
            identifier = f"{prefix}{unit}{n}"
            items.append({"identifier": identifier, "fullStatement": f"Skill {unit}{n}"})
            associations.append({"associationType": "isChildOf", "originNodeURI": {"identifier": identifier},
                                 "destinationNodeURI": {"identifier": f"{prefix}unit-{unit}"}})
    associations += [{"associationType": "precedes", "originNodeURI": {"identifier": f"{prefix}unit-a"},
                      "destinationNodeURI": {"identifier": f"{prefix}unit-b"}}] * repeated_precedes
    return {"CFPackage": {"CFDocument": {"identifier": "doc", "title": "Big framework"},
                          "CFItems": items, "CFAssociations": associations}}


def test_a_case_package_repeating_one_precedes_many_times_imports_each_link_once(sandbox):
    editor = _editor(sandbox)
    started = time.monotonic()
    merged = _upload(editor, "/teacher/map/import", "case.json", json.dumps(_two_units(10, 500)).encode())
    assert time.monotonic() - started < 10
    assert "Added 20 skills from the CASE package" in html.unescape(merged.text)
    skills = {skill["id"]: skill for skill in _pack(merged)["skills"]}
    assert skills["b3"]["prerequisites"] == [f"a{n}" for n in range(10)]


def test_a_126_kb_case_package_built_to_explode_is_refused_in_seconds_with_a_message(sandbox, tool):
    editor = _editor(sandbox)
    before = _pack(editor)
    body = json.dumps(_two_units(200, 430)).encode()
    assert 100_000 < len(body) < tool.app.config["MAX_CONTENT_LENGTH"]
    started = time.monotonic()
    refused = _upload(editor, "/teacher/map/import", "case.json", body)  # the helper gives up after 30 s
    assert time.monotonic() - started < 10
    assert refused.status_code == 200
    assert "more than 20000 prerequisite links" in html.unescape(refused.text)
    assert _pack(refused) == before
