"""Two starts of one unit check at once (a double click on "Start the unit check", two tabs) open one sitting.

A sitting is the questions `start` serves together, each a new row of its own: both starts found no sitting under
way, so without a second look under the learner's lock each would serve a full sitting, and the unit would have
two checks to take one after the other.
"""
from __future__ import annotations

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.models import ServedItem
from lti_tool.models.base import utcnow
from lti_tool.services import unit_check
from lti_tool.services.content import demo_pack_data
from tests.races.support import at_once, demo_course, meet_after_first_call


def test_two_starts_of_one_unit_check_at_once_open_one_sitting(sandbox, tool, monkeypatch):
    course = demo_course(sandbox, tool)
    pack = load_pack(demo_pack_data())
    # Both starts find nothing under way before either serves.
    meet_after_first_call(monkeypatch, unit_check, "_open_run", timeout=2)
    runs: list[int] = []

    def start() -> None:
        runs.append(unit_check.start(course.course_id, course.student, pack, "unit-fractions", now=utcnow()).run)

    assert at_once(tool.app, [start, start]) == []
    with tool.app.app_context():
        served = db.session.scalars(sa.select(ServedItem.id).where(ServedItem.source == "unit_check")).all()
        db.session.remove()
    assert len(runs) == 2 and runs[0] == runs[1] == min(served) and len(served) == 8, (runs, served)
