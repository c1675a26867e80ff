"""A course's content: import and export course packs, and read the pack a course uses."""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import orm as so

from ..extensions import db
from ..kept_map import KeptMap
from ..learning.coursepack import CoursePack, CoursePackError, decode_json, dump_pack, invalid_json, load_pack
from ..learning.localization import localize
from ..learning.messages import Message
from ..learning.translations import BASE_LANGUAGE
from ..models import Course, CourseContent
from ..models.base import insert_if_missing, lock_database_for_writing, still_loaded
from .errors import N_, NotFound, ServiceError

T = TypeVar("T")
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


class PackProblems(ServiceError):
    """A course pack that was not imported; `problems` lists each one (Problems, learning/messages.py), so a page
    shows them in the reader's language. Its own message is the English list, for logs and the command line."""

    def __init__(self, error: CoursePackError) -> None:
        super().__init__(str(error))
        self.problems = error.problems


def read_pack_upload(raw: bytes) -> Any:
    """Decode an uploaded course-pack file (UTF-8 JSON), refusing unreadable or absurdly nested ones."""
    try:
        return decode_json(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, CoursePackError | json.JSONDecodeError):
            first = exc.problems[0] if isinstance(exc, CoursePackError) else invalid_json(exc)
            if isinstance(first, Message):  # its template and values, so the page can translate it
                raise ServiceError(first.template, **first.values) from None
            raise ServiceError(first) from None
        raise ServiceError(N_("A course pack is a JSON object; this file is not.")) from None


def import_pack(course_id: int, data: Any, *, now: datetime, keep_existing: bool = False) -> CoursePack:
    """Check a course pack and make it the course's content (replacing any earlier one unless keep_existing)."""
    if not isinstance(data, dict):
        raise ServiceError(N_("A course pack is a JSON object; this file is not."))
    try:
        pack = load_pack(data)
    except CoursePackError as exc:
        raise PackProblems(exc) from exc
    return _save_pack(course_id, pack, now=now, keep_existing=keep_existing)


def import_demo_pack(course_id: int, *, now: datetime, keep_existing: bool = False) -> CoursePack:
    """Make the demo pack (goal dates counted from now's day) the course's content, as import_pack does.

    The demo pack is checked in full once per process: trying a few hundred variants of each of its item templates
    costs about half a second of CPU (seeded, so every try gives the same answer), and a class opening a new course
    together (PATHWAYS_DEFAULT_COURSE_PACK=demo) had every launch that found no content yet try them again, one
    GIL-bound thread each, while the launch holding SQLite's write lock waited for its turn at the interpreter: the
    last launches waited out the busy timeout (a 503). Only the goal dates differ from day to day, and they are
    read (and checked) each time.
    """
    try:
        _check_demo_pack_once()
        pack = load_pack(demo_pack_data(now.date()), sample_templates=False)
    except CoursePackError as exc:  # an installed demo pack someone edited
        raise PackProblems(exc) from exc
    return _save_pack(course_id, pack, now=now, keep_existing=keep_existing)


_demo_checked = threading.Event()
_demo_checking = threading.Lock()


def _check_demo_pack_once() -> None:
    """Check the shipped demo pack in full (item templates tried too) unless this process did; one thread at a time,
    so a class opening new courses together checks it once while the others wait, not once each."""
    if _demo_checked.is_set():
        return
    with _demo_checking:
        if not _demo_checked.is_set():
            load_pack(demo_pack_data())
            _demo_checked.set()


def _save_pack(course_id: int, pack: CoursePack, *, now: datetime, keep_existing: bool) -> CoursePack:
    """Make a checked pack the course's content (commits)."""
    dumped = dump_pack(pack)
    saved_at = _lock_course_for_import(course_id)
    # ON CONFLICT DO NOTHING: parallel first launches seeding the default pack create one row, not a 500.
    inserted = insert_if_missing(CourseContent, {"course_id": course_id, "pack": dumped, "updated_at": now},
                                 ("course_id",))
    forget_pack(course_id)
    if not keep_existing and not inserted:
        # Processes keep a parsed pack keyed by updated_at: a save that waited for another's lock with that save's
        # own `now` must still give a new one. Left out of the UPDATE, the column's onupdate gives the time now.
        stamp = {"updated_at": now} if now != saved_at else {}
        write_course_row(CourseContent, course_id, pack=dumped, **stamp)
    db.session.commit()
    return pack


def _lock_course_for_import(course_id: int) -> datetime | None:
    """Lock the course's content and course rows as a deletion of the course's data does, or refuse: it is gone.

    Return the content's updated_at as locked (None: the course has no content yet).

    An import that checked its pack while another tab deleted the course used to insert content for a course no
    longer there (a foreign key error, a 500). Locks in the deletion's order (content, then the course) so the two
    wait for each other rather than deadlock: a deletion under way commits first and the import is refused; an
    import under way commits first and the deletion deletes what it wrote. On SQLite the write lock does both.
    """
    lock_database_for_writing()
    saved_at = db.session.scalar(sa.select(CourseContent.updated_at).where(CourseContent.course_id == course_id)
                                 .with_for_update())
    # FOR KEY SHARE: keeps the row from being deleted, without holding up the launches that stamp it.
    if db.session.scalar(sa.select(Course.id).where(Course.id == course_id)
                         .with_for_update(read=True, key_share=True)) is None:
        # No rollback: nothing is written yet, and a rollback would expire the launch, which went with the course,
        # so the page could not even read its language to say so. The request's end ends the transaction.
        raise NotFound(COURSE_GONE)
    return saved_at


# Said by the privacy pages' own heading too (and so in the catalogue).
COURSE_GONE = N_("The course's data is deleted")


def write_course_row(model: type[Course] | type[CourseContent], course_id: int, **values: Any) -> None:
    """Set columns of the course's own row (its Course or its CourseContent) by one conditional UPDATE; no commit.

    Read, changed and flushed through the ORM, a row that a deletion of the course's data removed meanwhile (another
    tab, another teacher) made the UPDATE meet no row: SQLAlchemy's StaleDataError, a 500. Such a write is now
    rolled back and refused with COURSE_GONE.
    """
    key = model.id if model is Course else model.course_id
    written = db.session.execute(sa.update(model).where(key == course_id).values(**values),
                                 execution_options={"synchronize_session": False}).rowcount
    if not written:
        db.session.rollback()
        raise NotFound(COURSE_GONE)


@contextmanager
def locked_content(course_id: int) -> Iterator[CourseContent | None]:
    """Lock the course's content row for this transaction and give it freshly read (its pack too), or None.

    For a change that reads the pack and writes it back (the course map's editor): two teachers saving at once
    used to read the same pack, and the later save overwrote the earlier one's change. Under the lock (FOR UPDATE
    on PostgreSQL, the database's write lock on SQLite) the later save waits and applies its change on top. A change
    that fails or is refused rolls the transaction back, so no lock is held while its form is shown again.
    """
    try:
        lock_database_for_writing()
        content = db.session.scalars(
            sa.select(CourseContent).where(CourseContent.course_id == course_id)
            .options(so.undefer(CourseContent.pack)).with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if content is not None:
            hold_content(content)
        yield content
    except BaseException:
        db.session.rollback()
        raise


def export_pack(course_id: int) -> dict[str, Any]:
    """Return the course's content as a course pack document."""
    content = course_content(course_id)
    if content is None:
        raise NotFound(N_("This course has no content yet."))
    return content.pack


def course_content(course_id: int) -> CourseContent | None:
    """Return the course's content row (its pack document is loaded only when read), once per request.

    The session keeps the row for the rest of its life (one request, or one worker run), so the several
    services a page calls share one SELECT; after a commit the next read fetches it again.
    """
    held: dict[int, CourseContent] = db.session.info.setdefault(_HELD, {})
    content = held.get(course_id)
    if content is None or not still_loaded(content):
        content = db.session.get(CourseContent, course_id)
        if content is not None:
            held[course_id] = content
    return content


def forget_held_content(course_id: int) -> None:
    """Have the next `course_content` read the course's row from the database, not the one this request holds.

    For a transaction that took a lock since it first read the row: what it reads next is what the writers it
    waited for committed.
    """
    content = db.session.info.get(_HELD, {}).pop(course_id, None)
    if content is not None and still_loaded(content):
        if content in db.session.dirty:
            db.session.flush()  # this transaction's own change is read back, not thrown away
        db.session.expire(content)


def hold_content(content: CourseContent) -> None:
    """Remember a content row read with something else (the launch) for the rest of this request."""
    db.session.info.setdefault(_HELD, {})[content.course_id] = content


def course_pack(course_id: int, language: str = BASE_LANGUAGE) -> CoursePack | None:
    """Return the course's checked pack, or None when the teacher has not set one up yet.

    With a language, the pack's student-facing texts are in that language where the author translated them
    and in English elsewhere (learning/localization.py); ids, answers and formulas are the same in every one.
    """
    content = course_content(course_id)
    if content is None:
        return None
    version = content.updated_at
    cached = _PACKS.get(course_id)
    if cached is None or cached[0] != version:
        cached = (version, load_pack(content.pack, sample_templates=False), {})
        _PACKS.put(course_id, cached)
    if language == BASE_LANGUAGE:
        return cached[1]
    # Localized copies live beside the parsed pack, so they share its version and cost no extra read.
    localized = cached[2].get(language)
    if localized is None:
        localized = cached[2][language] = localize(cached[1], language)
    return localized


def from_pack(pack: CoursePack, build: Callable[[CoursePack], T]) -> T:
    """Return build(pack), built once per pack and process: `course_pack` keeps one pack per course version and
    language, so what every page derives from it (a 400-skill pack's 650 activities as the planner's, which skills
    lead a question among its 2,000 items) need not be derived on every page. `build` must only read the pack.
    """
    key = (id(pack), build)
    held = _FROM_PACK.get(key)
    if held is not None and held[0]() is pack:
        return held[1]
    value = build(pack)
    # Dropped with the pack (a new version, a cleared cache), so a later pack at the same address starts afresh.
    _FROM_PACK[key] = (weakref.ref(pack, lambda _gone: _FROM_PACK.pop(key, None)), value)
    return value


_FROM_PACK: dict[tuple[int, Callable], tuple[weakref.ref, Any]] = {}


def forget_pack(course_id: int) -> None:
    """Drop this process's parsed copy of a course's pack (its content is being replaced)."""
    _PACKS.pop(course_id)
    db.session.info.get(_HELD, {}).pop(course_id, None)


# Decoding and checking a 57 KB pack costs milliseconds and every page needs it several times, so each process
# keeps the parsed pack of recent courses, keyed by the content's updated_at: every replacement sets it, so a
# page served by any process reads the version (one light SELECT per request, the pack document itself is
# deferred) and parses again only when it changed. import_pack also forgets its course at once, in case two
# replacements carry the same timestamp.
# Bounded (the oldest course's pack goes first). A thread that parsed an older version can put it back after a
# newer one: the next read compares versions again and parses the newer one, so a stale entry costs a parse, never
# a stale page.
MAX_CACHED_PACKS = 256
_PACKS: KeptMap[int, tuple[datetime, CoursePack, dict[str, CoursePack]]] = KeptMap(MAX_CACHED_PACKS)
_HELD = "pathways.course_content"
