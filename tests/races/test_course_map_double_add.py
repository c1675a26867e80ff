"""A teacher double-clicks "Save" on the course map's form for a new skill or goal (or saves it from two tabs).

Each save added a record, numbering the second's id ("square-roots-of-squares-2"): the map, the students' plans and
the gradebook's per-skill columns then had two skills (or goals) nobody could tell apart. Saves already took the
pack's lock one after the other; the second now finds, under it, the first one's record and adds nothing.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.races.test_one_question_on_two_pages import _tab
from tests.support import submit_form
from tests.web.test_course_map import _editor, _get, _link, _pack


def _twice_at_once(form, path: str, **fields) -> list:
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(lambda tab: submit_form(tab, path, **fields), [_tab(form), _tab(form)]))


def test_a_new_skill_saved_twice_at_once_is_one_skill(sandbox):
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, "/teacher/map/skill"))
    pages = _twice_at_once(form, "/teacher/map/skill", name="Square roots of squares", description="Find 15% of 80.",
                           prerequisites=["ratio-concepts"])
    assert [page.status_code for page in pages] == [200, 200]
    assert all("Saved the new skill." in page.text for page in pages)
    named = [s["id"] for s in _pack(editor)["skills"] if s["name"] == "Square roots of squares"]
    assert named == ["square-roots-of-squares"]
    # Another skill of the same name but other words is a skill of its own.
    submit_form(form, "/teacher/map/skill", name="Square roots of squares", description="Find 20% of 60.")
    ids = [s["id"] for s in _pack(editor)["skills"] if s["name"] == "Square roots of squares"]
    assert len(ids) == 2 and ids[0] == "square-roots-of-squares" and ids[1] != ids[0], ids


def test_a_new_course_goal_saved_twice_at_once_is_one_goal(sandbox):
    editor = _editor(sandbox)
    form = _get(editor, _link(editor, "/teacher/map/goal"))
    pages = _twice_at_once(form, "/teacher/map/goal", title="Ready for ratios", description="",
                           skills=["ratio-concepts"], due="2026-06-30")
    assert [page.status_code for page in pages] == [200, 200]
    assert [g["id"] for g in _pack(editor)["goals"] if g["title"] == "Ready for ratios"] == ["ready-for-ratios"]
