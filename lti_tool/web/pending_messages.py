"""Flashed messages in a cookie-less tab, kept on its launch session from a form's post to the next page.

Flask reads and writes them in the session (`flash`, `get_flashed_messages`); a tab whose browser keeps no
cookies for the tool has a fresh, empty session on every request. So its messages are put into that session as
the page opens, and what the request leaves there unshown goes back to the launch session as it ends
(services/pending_messages.py). Pages and templates stay as they are.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Response, g, request, session

from ..extensions import db
from ..services.pending_messages import keep_messages, pending_messages

log = logging.getLogger(__name__)

#: Where Flask keeps flashed messages in the session (flask.helpers.flash).
_FLASHES = "_flashes"
#: On `g`: the cookie-less launch whose messages this request holds, and the waiting ones it took to show.
_LAUNCH, _TAKEN = "pending_messages_launch", "pending_messages_taken"


def take_pending_messages() -> None:
    """Give a cookie-less page the messages waiting for it, as if a session cookie had brought them."""
    setattr(g, _LAUNCH, g.launch.id)
    # A form's post makes the messages of the page after it; a keep-alive or a download shows none.
    waiting = pending_messages(g.launch) if request.method == "GET" else []
    if waiting:
        session[_FLASHES] = waiting + list(session.get(_FLASHES, []))
        setattr(g, _TAKEN, waiting)


def keep_pending_messages(response: Response) -> Response:
    """Keep what a cookie-less request flashed and did not show for its tab's next page (once: shown, gone)."""
    launch_id = g.get(_LAUNCH)
    if launch_id is None:
        return response
    unshown = [tuple(message) for message in session.pop(_FLASHES, [])]
    taken = g.get(_TAKEN, [])
    if unshown or taken:  # what it took goes; what is still unshown (taken or new) waits again
        try:
            keep_messages(launch_id, unshown, taken=taken)
        except sa.exc.SQLAlchemyError as exc:
            # The database went away (often the very outage this response's 503 page is about). No error handler
            # covers an after_request hook: raising would turn the page into a bare 500. The messages are lost.
            _discard_session()
            log.warning(
                "%d message(s) for a cookie-less tab not kept: the database is unreachable or refused the write (%s)",
                len(unshown),
                exc.__class__.__name__,
            )
    return response


def _discard_session() -> None:
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
