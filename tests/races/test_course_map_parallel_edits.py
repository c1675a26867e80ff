"""Two teachers save a change to the course map at once (or one imports skills while another edits).

Each save read the pack, changed its copy and wrote the whole document back: both teachers were told their
change was saved, and the later write lost the earlier one's. The pack is now read under its row's lock, so the
later save waits and applies its change on top of the earlier one.
"""
from __future__ import annotations

import threading

from lti_tool.extensions import db
from lti_tool.learning.competency_csv import write_competency_csv
from lti_tool.learning.skills import Skill
from lti_tool.models import CourseContent
from lti_tool.models.base import utcnow
from lti_tool.services import content, course_map
from lti_tool.services.content import course_pack
from tests.races.support import at_once, demo_course


def _both_read_before_either_saves(monkeypatch) -> None:
    """Hold each save once its change is applied to the pack it read, until the other's is too (or 2 s pass)."""
    original, barrier = course_map._save, threading.Barrier(2)

    def save(*args, **kwargs):
        try:
            barrier.wait(2)  # under the lock the other save cannot get this far: it waits for this one
        except threading.BrokenBarrierError:
            pass
        return original(*args, **kwargs)

    monkeypatch.setattr(course_map, "_save", save)


def _add_skill(course_id: int, name: str, saved: list[str]):
    return lambda: saved.append(course_map.save_skill(
        course_id, None, {"name": name, "description": "", "prerequisites": ""}, now=utcnow()))


def _skill_names(tool, course_id: int) -> set[str]:
    with tool.app.app_context():
        names = {skill.name for skill in course_pack(course_id).skills}
        db.session.remove()
    return names


def test_two_teachers_adding_a_skill_at_once_both_keep_theirs(sandbox, tool, monkeypatch):
    course_id, *_ = demo_course(sandbox, tool)
    _both_read_before_either_saves(monkeypatch)
    saved: list[str] = []
    errors = at_once(tool.app, [_add_skill(course_id, "Probability basics", saved),
                                _add_skill(course_id, "Statistics basics", saved)])
    assert not errors, [repr(e)[:200] for e in errors]
    assert len(saved) == 2
    assert {"Probability basics", "Statistics basics"} <= _skill_names(tool, course_id)


def test_skills_imported_while_a_teacher_adds_one_keep_both(sandbox, tool, monkeypatch):
    course_id, *_ = demo_course(sandbox, tool)
    _both_read_before_either_saves(monkeypatch)
    saved: list[str] = []
    csv = write_competency_csv([Skill("geo-1", "Angles in a triangle")], framework_id="geo",
                               framework_name="Geometry").encode()

    def import_skills():
        course_map.import_file(course_id, "skills.csv", csv, now=utcnow())

    errors = at_once(tool.app, [_add_skill(course_id, "Probability basics", saved), import_skills])
    assert not errors, [repr(e)[:200] for e in errors]
    assert {"Probability basics", "Angles in a triangle"} <= _skill_names(tool, course_id)


def test_an_edit_saved_in_the_same_instant_as_the_last_is_seen_by_a_process_holding_the_last(sandbox, tool):
    # Every process keeps its parsed pack keyed by the content's updated_at. A save that waited for another's
    # lock, with the same `now` as that save's, must still give a new updated_at (the column's onupdate does):
    # else a process that parsed the first save's pack would go on showing it.
    course_id, *_ = demo_course(sandbox, tool)
    now = utcnow()
    with tool.app.app_context():
        course_map.save_skill(course_id, None, {"name": "Probability basics", "description": "",
                                                "prerequisites": ""}, now=now)
        first = db.session.get(CourseContent, course_id).updated_at
        course_pack(course_id)
        held = content._PACKS.get(course_id)  # what another process parsed after the first save
        assert held is not None
        course_map.save_skill(course_id, None, {"name": "Statistics basics", "description": "",
                                                "prerequisites": ""}, now=now)
        assert db.session.get(CourseContent, course_id).updated_at > first
        content._PACKS.put(course_id, held)
        db.session.remove()
    assert "Statistics basics" in _skill_names(tool, course_id)
