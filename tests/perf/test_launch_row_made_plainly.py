"""The launch's POST makes its launch session's object without the ORM's attribute events (issue 14).

The row is written by a Core insert; its object only carries the values on (the placement, the redirect), so the
history the declarative constructor recorded for each of its eleven attributes was never read. Driven over HTTP
through the sandbox LMS.
"""

from __future__ import annotations

import sqlalchemy as sa

from lti_tool.models import LaunchSession
from tests.support import submit_form


def test_a_launch_sets_no_attribute_of_its_session_through_the_orm(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    set_here: list[str] = []

    def note(target, value, oldvalue, initiator):
        set_here.append(initiator.key)

    attributes = [LaunchSession.id, LaunchSession.person_id, LaunchSession.expires_at]
    for attribute in attributes:
        sa.event.listen(attribute, "set", note)
    try:
        page = sandbox.launch("student")
    finally:
        for attribute in attributes:
            sa.event.remove(attribute, "set", note)
    assert page.status_code == 200 and 'class="sign-out"' in page.text
    assert set_here == []  # before: id, person_id and expires_at, set by LaunchSession(...)
    with tool.app.app_context():
        from lti_tool.extensions import db

        newest = db.session.scalars(sa.select(LaunchSession).order_by(LaunchSession.created_at.desc())).first()
        assert newest.id in page.url and newest.expires_at > newest.created_at  # written whole, as before
