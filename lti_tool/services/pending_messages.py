"""Messages about the last form sent ("Goal added"), kept for a cookie-less tab's next page.

Flask keeps flashed messages in the session cookie, which a browser that blocks the tool's cookies in the LMS
frame never sends back (a platform-storage launch: docs/security.md). Such a tab's messages wait on its launch
session's row instead, which only the holder of the launch's token opens, until its next page shows them. Only
the tool's own messages are kept: nothing a URL or another person could write.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import LaunchSession
from ..models.base import lock_database_for_writing

#: Launch details key of the messages waiting for the next page, each [category, text].
PENDING = "pending_messages"
#: Most messages kept: a tab that posts again and again without loading a page keeps the latest.
MAX_KEPT = 20


def pending_messages(launch: LaunchSession) -> list[tuple[str, str]]:
    """Return the (category, text) messages waiting for the launch's next page (read with the launch)."""
    return [(str(category), str(text)) for category, text in (launch.details or {}).get(PENDING) or []]


def keep_messages(launch_id: str, messages: Sequence[tuple[str, str]], *,
                  taken: Sequence[tuple[str, str]] = ()) -> None:
    """Leave `messages` for the launch's next page, after those waiting less the `taken` ones; commits.

    `taken`: the waiting messages this request took (to show, or to keep among `messages`). Only those go: one
    that another request of the launch left meanwhile still waits.
    """
    table = LaunchSession.__table__
    # After the page: what the request committed is kept, and what a failed one left unsaved is not saved here.
    db.session.rollback()
    # Locked while read and written back: two requests of one launch would otherwise lose each other's messages.
    lock_database_for_writing()
    row = db.session.execute(sa.select(table.c.details).where(table.c.id == launch_id).with_for_update()).first()
    if row is None:
        db.session.rollback()
        return  # the launch is gone (deleted with its person's data): nobody to tell
    details = dict(row.details or {})
    waiting = [(str(category), str(text)) for category, text in details.pop(PENDING, None) or []]
    for message in taken:
        if message in waiting:
            waiting.remove(message)
    kept = waiting + [(category, str(text)) for category, text in messages]
    if kept:
        details[PENDING] = [list(message) for message in kept[-MAX_KEPT:]]
    db.session.execute(sa.update(table).where(table.c.id == launch_id).values(details=details))
    db.session.commit()
