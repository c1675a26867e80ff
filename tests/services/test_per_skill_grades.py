"""Per-skill gradebook columns: off by default, on per course; each skill then gets its own line item."""

from __future__ import annotations

import re

from tests.support import drain_outbox, parse_form, submit_form


def _setup(sandbox, tool, *, per_skill: bool):
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    base = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0))
    grading = teacher.http.get(base + "teacher/grading")
    grading.http = teacher.http
    done = submit_form(grading, "/teacher/grading", **({"per_skill": "on"} if per_skill else {}))
    assert "Grading settings saved" in done.text
    sandbox.launch("student")
    view = teacher.http.get(base + "class")
    view.http = teacher.http
    submit_form(view, "/class/override", level="Proficient", note="Showed it in class")



def test_per_skill_columns_are_off_by_default(sandbox, tool):
    _setup(sandbox, tool, per_skill=False)
    drain_outbox(tool)
    assert len(tool.platform.line_items) == 1


def test_turned_on_each_skill_gets_its_own_column_with_level_points(sandbox, tool):
    _setup(sandbox, tool, per_skill=True)
    stats = drain_outbox(tool)
    assert stats.failed == 0
    items = tool.platform.line_items
    assert len(items) > 2  # the placement's column plus one per skill
    skill_items = [url for url, item in items.items() if item.get("tag", "").startswith("pathways-skill")]
    assert skill_items
    scores = [s for url in skill_items for s in tool.platform.scores.get(url, [])]
    assert any(s["scoreGiven"] == 3.0 and s["scoreMaximum"] == 4.0 for s in scores)  # Proficient = 3 of 4
