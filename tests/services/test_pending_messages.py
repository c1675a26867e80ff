"""Messages a cookie-less tab's form leaves for its next page (services/pending_messages.py), with two requests of
one launch at once and after a request that failed."""

from __future__ import annotations

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.models import LaunchSession, Person
from lti_tool.services.pending_messages import keep_messages, pending_messages


def _launch_id(sandbox, tool) -> str:
    sandbox.launch("student")
    with tool.app.app_context():
        return db.session.scalars(sa.select(LaunchSession.id)).one()


def _waiting(launch_id: str) -> list[tuple[str, str]]:
    db.session.expire_all()
    return pending_messages(db.session.get(LaunchSession, launch_id))


def test_a_page_showing_the_waiting_messages_leaves_one_another_request_added_meanwhile(sandbox, tool):
    launch_id = _launch_id(sandbox, tool)
    with tool.app.app_context():
        keep_messages(launch_id, [("success", "Goal added.")])  # a form's post
        taken = _waiting(launch_id)  # the next page opens and takes it ...
        keep_messages(launch_id, [("success", "Reflection saved.")], taken=())  # ... as another post ends
        keep_messages(launch_id, [], taken=taken)  # the page has shown "Goal added."
        assert _waiting(launch_id) == [("success", "Reflection saved.")]
        keep_messages(launch_id, [("success", "Reflection saved.")], taken=_waiting(launch_id))  # taken, not drawn
        assert _waiting(launch_id) == [("success", "Reflection saved.")]


def test_keeping_a_message_after_a_failed_request_saves_nothing_else_it_left(sandbox, tool):
    launch_id = _launch_id(sandbox, tool)
    with tool.app.app_context():
        db.session.execute(sa.update(Person).values(name="Half-saved"))  # a request that then failed
        keep_messages(launch_id, [("error", "That did not work.")])
        db.session.remove()
    with tool.app.app_context():
        assert "Half-saved" not in db.session.scalars(sa.select(Person.name)).all()
        assert _waiting(launch_id) == [("error", "That did not work.")]
