"""Hostile imports: a CASE package built to explode, or a deeply nested course pack, is refused quickly and plainly."""

from __future__ import annotations

import html
import json
import re
import time

from tests.support import parse_form, upload_file
from tests.web.test_course_map import _editor, _pack


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
    merged = upload_file(editor, "/teacher/map/import", "case.json", json.dumps(_two_units(10, 500)).encode())
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
    refused = upload_file(editor, "/teacher/map/import", "case.json", body)  # the helper gives up after 30 s
    assert time.monotonic() - started < 10
    assert refused.status_code == 200
    assert "more than 20000 prerequisite links" in html.unescape(refused.text)
    assert _pack(refused) == before


DEEP = '{"course": {"title": "Deep"}, "skills": ' + "[" * 50_000 + "]" * 50_000 + "}"
MODERATE = '{"course": {"title": "Deep"}, "skills": [], "translations": ' + '{"a": ' * 500 + "1" + "}" * 500 + "}"


def test_a_deeply_nested_course_pack_upload_is_refused_with_a_message(sandbox):
    editor = _editor(sandbox)
    before = _pack(editor)
    for body in (DEEP, MODERATE):
        refused = upload_file(editor, "/teacher/map/import", "pack.json", body.encode())
        assert refused.status_code == 200, refused.status_code
        assert "nested more than 32 levels deep" in html.unescape(refused.text)
        assert _pack(refused) == before


def test_a_deeply_nested_course_pack_posted_to_the_content_import_is_refused_with_a_message(sandbox, tool):
    teacher = sandbox.launch("teacher")
    launch_path = re.search(r"/c/[^/]+/", teacher.url).group(0)
    _, fields = parse_form(teacher.text, teacher.url)
    for body in (DEEP, MODERATE):
        refused = teacher.http.post(tool.url(launch_path + "content/import"), data={"csrf_token": fields["csrf_token"]},
                                    files={"pack": ("pack.json", body.encode())}, timeout=30)
        assert refused.status_code == 200, refused.status_code
        assert "nested more than 32 levels deep" in html.unescape(refused.text)


def test_pathways_course_import_refuses_a_deeply_nested_file_with_a_message(sandbox, tool, tmp_path):
    from tests.test_course_cli import run

    sandbox.launch("teacher")
    deep = tmp_path / "deep.json"
    for body in (DEEP, MODERATE):
        deep.write_text(body, encoding="utf-8")
        refused = run(tool, "import", str(deep), "--context", "math-7")
        assert refused.exit_code != 0
        assert "nested more than 32 levels deep" in refused.output, refused.output


def _demo_with_formulas(answer: str, hint: str) -> bytes:
    """Return the demo pack with its first item template's answer and first hint replaced by these formulas."""
    from lti_tool.services.content import demo_pack_data

    data = demo_pack_data()
    template = next(item for activity in data["activities"] for item in activity.get("items", [])
                    if item.get("parameters"))
    template["answer"] = answer
    template["hints"][0] = hint
    template.pop("translations", None)  # whose placeholders would no longer match the English
    return json.dumps(data).encode()


def test_a_course_pack_whose_formulas_grow_to_enormous_numbers_is_refused_in_seconds_with_a_message(sandbox):
    # Each power of a power has twelve times the digits: left unchecked, a few more brackets than here keep a
    # server process computing for hours (holding Python's lock, so its other requests wait too), and a number
    # too long to write out turned the import into a 500.
    editor = _editor(sandbox)
    before = _pack(editor)
    for answer, hint in (("((a ** 12) ** 12) ** 12", "Multiply."),
                         ("a * k", "Think of {(((a ** 12) ** 12) ** 12) ** 12}.")):
        started = time.monotonic()
        refused = upload_file(editor, "/teacher/map/import", "pack.json", _demo_with_formulas(answer, hint))
        assert time.monotonic() - started < 10
        assert refused.status_code == 200, refused.status_code
        assert "the formula's numbers grow too large (more than 300 digits)" in html.unescape(refused.text)
        assert _pack(refused) == before
    # Large numbers a question may well use are still fine.
    kept = upload_file(editor, "/teacher/map/import", "pack.json",
                       _demo_with_formulas("a ** 12 * k ** 12", "Think of {b ** 12}."))
    assert "Imported" in html.unescape(kept.text), re.findall(r"notice[^>]*>([^<]*)", kept.text)
