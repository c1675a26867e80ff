"""Per-skill gradebook columns: off by default, on per course; each skill then gets its own line item."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import Placement, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.services.content import course_content, demo_pack_data, import_pack
from lti_tool.services.publishing import publish_mastery
from tests.jobs.gradebook import FAST_RETRIES, open_gradebook
from tests.support import SandboxActions, class_override, drain_outbox, parse_form, submit_form


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
    class_override(view, level="Proficient", note="Showed it in class")



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


@pytest.fixture
def gradebook(make_tool):
    tool = make_tool(**FAST_RETRIES)
    return open_gradebook(tool, SandboxActions(tool))


def test_a_unit_listing_a_skill_twice_gives_that_skill_one_score(gradebook):
    # A pack may name a unit's skill twice: the pack keeps it once, and a placement that a Deep Linking
    # return copied it to twice (as one made before this rule may hold) grades it once, one score per column.
    with gradebook.tool.app.app_context():
        data = demo_pack_data()
        skill = data["units"][0]["skills"][0]
        data["units"][0]["skills"].append(skill)
        pack = import_pack(gradebook.course_id, data, now=utcnow())
        assert pack.units[0].skills.count(skill) == 1
        content = course_content(gradebook.course_id)
        content.per_skill_grades = True
        placement = db.session.get(Placement, gradebook.placement_id)
        placement.kind, placement.skill_ids = "unit", [*pack.units[0].skills, skill]
        db.session.commit()
        person = gradebook.people["student-1"]
        assert publish_mastery(gradebook.course_id, person, now=utcnow()) == len(set(pack.units[0].skills)) + 1
        rows = db.session.scalars(sa.select(ScoreOutbox.skill_id).where(
            ScoreOutbox.person_id == person, ScoreOutbox.placement_id == gradebook.placement_id)).all()
        assert sorted(rows) == sorted(["", *set(pack.units[0].skills)])
