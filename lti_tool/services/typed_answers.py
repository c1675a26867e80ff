"""What a student typed on a question before asking for a hint, kept for the question's page to show it again.

The page after "Show a hint" is a GET of its own (Post/Redirect/Get, web/hints.py). Its address carried what was
typed (`answer=`), so the browser's history kept it, for whoever used a shared computer next, as did any log of
addresses. The cache keeps it instead, for that launch and that question only, as long as the launch can last.

A student's data deleted (services/privacy.py) must not stay readable in the cache until it expires, nor in Redis's
snapshots or the file cache's files, which outlive the expiry, nor when the cache was down while the deletion ran.
So the cache holds only ciphertext, under a key of the launch's own (`TYPED_ANSWER_KEY` in its launch session's
details) that no log, address or cookie carries: deleting the launch session, which every deletion of the student's
data in the course does in its transaction, leaves nothing able to read it (crypto-shredding). The deletion then
also removes the entries themselves when the cache answers (`held_for`, `forget`). The cache's key names the launch
by a digest: its id is what the browser presents, and a cache's keys are read by whoever administers it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken

from ..extensions import CACHE_OUTAGES, cache, db
from ..models import LaunchSession, ServedItem
from ..models.base import lock_database_for_writing

#: Longer than any answer field's value (a text answer is a number, a fraction or a few words): kept whole up to
#: this, so a posted form cannot fill the cache.
TYPED_ANSWER_LIMIT = 2000
#: Where a launch session keeps the key its typed answers are sealed with (made at its first hint).
TYPED_ANSWER_KEY = "typed_answer_key"
#: At most this many entries removed per deletion: beyond it, the shredded key already makes them unreadable.
FORGET_LIMIT = 10_000


def _key(launch_id: str, served_id: int) -> str:
    return f"typed-answer:{hashlib.sha256(launch_id.encode()).hexdigest()[:32]}:{served_id}"


def _sealer(details: dict | None) -> Fernet | None:
    key = (details or {}).get(TYPED_ANSWER_KEY)
    try:
        return Fernet(key) if isinstance(key, str) else None
    except ValueError:
        return None


def _locked_sealer(launch_id: str) -> Fernet | None:
    """Return the launch's sealing key, made now if it has none, its row locked; None when the launch is gone."""
    table = LaunchSession.__table__
    lock_database_for_writing()
    row = db.session.execute(sa.select(table.c.details).where(table.c.id == launch_id).with_for_update()).first()
    if row is None:
        return None  # deleted with its person's data: nothing of theirs is kept any more
    sealer = _sealer(row.details)
    if sealer is None:
        key = Fernet.generate_key().decode("ascii")
        db.session.execute(sa.update(table).where(table.c.id == launch_id)
                           .values(details={**(row.details or {}), TYPED_ANSWER_KEY: key}))
        sealer = Fernet(key)
    return sealer


def keep_typed_answer(launch_id: str, served_id: int, answer: str, *, seconds: int) -> None:
    """Keep what was typed on a served question for its page; lost, not an error, while the cache is unreachable.

    Commits. The launch's row stays locked while the entry is written, so a deletion of the student's data either
    finds the entry to remove or deletes the launch session (and its key) before anything is written.
    """
    if not answer or len(answer) > TYPED_ANSWER_LIMIT:
        forget([_key(launch_id, served_id)])
        return
    sealer = _locked_sealer(launch_id)
    if sealer is not None:
        try:
            cache.set(_key(launch_id, served_id), sealer.encrypt(answer.encode()).decode("ascii"), timeout=seconds)
        except CACHE_OUTAGES:
            pass
    db.session.commit()


def typed_answer(launch: LaunchSession, served_id: int) -> str:
    """Return what was typed on a served question in this launch before its last hint, or ""."""
    sealer = _sealer(launch.details)
    if sealer is None:
        return ""
    try:
        value = cache.get(_key(launch.id, served_id))
    except CACHE_OUTAGES:
        return ""
    if not isinstance(value, str):
        return ""
    try:
        return sealer.decrypt(value.encode("ascii")).decode()
    except (InvalidToken, UnicodeError):
        return ""


def held_for(course_id: int, person_id: int | None = None) -> list[str]:
    """Return the cache keys that may hold typed answers of the course's students (or of one of them).

    Read before their rows go: a typed answer is kept only on a question with a hint shown (web/hints.py), asked in
    a launch of the same person and course, and not after the question was answered.
    """
    query = (
        sa.select(LaunchSession.id, ServedItem.id)
        .join(ServedItem, sa.and_(ServedItem.course_id == LaunchSession.course_id,
                                  ServedItem.person_id == LaunchSession.person_id))
        .where(LaunchSession.course_id == course_id, ServedItem.hints_shown > 0,
               sa.or_(ServedItem.answered_at.is_(None), ServedItem.answered_at >= LaunchSession.created_at))
        .limit(FORGET_LIMIT)
    )
    if person_id is not None:
        query = query.where(LaunchSession.person_id == person_id)
    return [_key(launch_id, served_id) for launch_id, served_id in db.session.execute(query)]


def forget(keys: Iterable[str]) -> None:
    """Remove these typed answers from the cache; nothing to do, not an error, while it is unreachable (each is
    sealed with a key its launch session kept, which went with it)."""
    keys = list(keys)
    try:
        for start in range(0, len(keys), 500):
            cache.delete_many(*keys[start:start + 500])
    except CACHE_OUTAGES:
        pass
