"""A course's content: import and export course packs, and read the pack a course uses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ..extensions import db
from ..learning.coursepack import CoursePack, CoursePackError, decode_json, dump_pack, load_pack
from ..models import CourseContent
from ..models.base import insert_if_missing
from .errors import NotFound, ServiceError

DEMO_PACK = Path(__file__).resolve().parents[1] / "demo" / "math7.json"
# The demo's first goal falls due this long after the day the demo course is set up; later goals keep the
# spacing the pack's dates give them, so a demo never opens with goals already past.
DEMO_FIRST_GOAL_AFTER = timedelta(weeks=6)


def demo_pack_data(today: date | None = None) -> dict[str, Any]:
    """Return the demo course pack shipped with Pathways (Grade 7 mathematics), goal dates counted from today."""
    data = json.loads(DEMO_PACK.read_text(encoding="utf-8"))
    today = today or datetime.now(UTC).date()
    dated = [goal for goal in data.get("goals", []) if goal.get("due")]
    if dated:
        first = min(date.fromisoformat(goal["due"]) for goal in dated)
        for goal in dated:
            goal["due"] = (today + DEMO_FIRST_GOAL_AFTER + (date.fromisoformat(goal["due"]) - first)).isoformat()
    return data


def read_pack_upload(raw: bytes) -> Any:
    """Decode an uploaded course-pack file (UTF-8 JSON), refusing unreadable or absurdly nested ones."""
    try:
        return decode_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, CoursePackError):
            raise ServiceError(exc.problems[0]) from None
        raise ServiceError("A course pack is a JSON object; this file is not.") from None


def import_pack(course_id: int, data: Any, *, now: datetime, keep_existing: bool = False) -> CoursePack:
    """Check a course pack and make it the course's content (replacing any earlier one unless keep_existing)."""
    if not isinstance(data, dict):
        raise ServiceError("A course pack is a JSON object; this file is not.")
    try:
        pack = load_pack(data)
    except CoursePackError as exc:
        raise ServiceError(str(exc)) from exc
    dumped = dump_pack(pack)
    # ON CONFLICT DO NOTHING: parallel first launches seeding the default pack create one row, not a 500.
    insert_if_missing(CourseContent, {"course_id": course_id, "pack": dumped, "updated_at": now}, ("course_id",))
    if not keep_existing:
        content = db.session.get(CourseContent, course_id)
        content.pack = dumped
        content.updated_at = now
    db.session.commit()
    return pack


def export_pack(course_id: int) -> dict[str, Any]:
    """Return the course's content as a course pack document."""
    content = db.session.get(CourseContent, course_id)
    if content is None:
        raise NotFound("This course has no content yet.")
    return content.pack


def course_pack(course_id: int) -> CoursePack | None:
    """Return the course's checked pack, or None when the teacher has not set one up yet."""
    content = db.session.get(CourseContent, course_id)
    if content is None:
        return None
    key = (course_id, content.updated_at.isoformat())
    pack = _PACKS.get(key)
    if pack is None:
        if len(_PACKS) >= 64:
            _PACKS.clear()
        pack = _PACKS[key] = load_pack(content.pack)
    return pack


# Checking a pack is pure and costs a few ms; every page needs it, so each process keeps recent ones, keyed
# by the content's version so an import elsewhere is never served stale.
_PACKS: dict[tuple[int, str], CoursePack] = {}
