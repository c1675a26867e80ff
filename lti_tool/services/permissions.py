"""Who may do what in a course: one role table and one `require(actor, action)` (DESIGN.md "Seams").

The launch's LTI roles become one Pathways role (lti/roles.py course_role). Teaching assistants and
content developers work in the course like instructors but may not delete course data, export the whole
course's personal data, or change how mastery becomes a grade. docs/roles.md shows the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..models import LaunchSession
from .errors import Forbidden


class Action(StrEnum):
    VIEW_CLASS = "view the class, its students and reports"
    EDIT_CONTENT = "change the course's content"
    ASSESS = "review evidence, set mastery and assign skills"
    SYNC_ROSTER = "sync the roster"
    RETRY_GRADES = "resend failed grades"
    CHANGE_GRADING = "change the grading scheme"
    EXPORT_STUDENT_DATA = "export a student's data"
    DELETE_STUDENT_DATA = "delete a student's data"
    EXPORT_COURSE_DATA = "export the whole course's data"
    DELETE_COURSE_DATA = "delete all course data"
    LEARN = "practise and keep a learning plan"


_STAFF = frozenset({Action.VIEW_CLASS, Action.EDIT_CONTENT, Action.ASSESS, Action.SYNC_ROSTER, Action.RETRY_GRADES})

ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "instructor": frozenset(Action) - {Action.LEARN},
    "administrator": frozenset(Action) - {Action.LEARN},
    "teaching_assistant": _STAFF | {Action.EXPORT_STUDENT_DATA},
    # Instructor#GuestInstructor, Instructor#ExternalInstructor: they teach and mark, but are not the school's
    # staff: no student's personal data leaves Pathways through them, and they delete nothing (docs/roles.md).
    "guest_instructor": _STAFF,
    "content_developer": _STAFF - {Action.ASSESS, Action.RETRY_GRADES},
    # Administrator#ExternalDeveloper, #ExternalSupport, #ExternalSystemAdministrator (lti/roles.py): not the
    # school's staff. They keep the course running (content, roster, failed grade posts) and see what a teacher sees
    # to do so, but no student's personal data leaves Pathways through them, they delete nothing, and they make no
    # teaching or grading decision (docs/roles.md).
    "external_administrator": _STAFF - {Action.ASSESS},
    # Pathways has no mentor pages yet: mentors and parents see the polite "no access" page.
    "mentor": frozenset(),
    "learner": frozenset({Action.LEARN}),
    "none": frozenset(),
}


@dataclass(frozen=True)
class Actor:
    """The person acting and their Pathways role in the course."""

    person_id: int
    role: str


def actor_of(launch: LaunchSession) -> Actor:
    """Return the actor of a launch; a launch recorded before roles were kept counts as a teaching assistant."""
    role = (launch.details or {}).get("role")
    if role not in ROLE_ACTIONS:
        role = {"teacher": "teaching_assistant", "student": "learner"}.get(launch.access, "none")
    return Actor(launch.person_id, role)


def may(actor: Actor, action: Action) -> bool:
    return action in ROLE_ACTIONS.get(actor.role, frozenset())


def require(actor: Actor, action: Action) -> None:
    """Raise Forbidden (403, plain words) unless the actor's role allows the action."""
    if not may(actor, action):
        who = actor.role.replace("_", " ")
        raise Forbidden(f"Your role in this course ({who}) does not allow you to {action.value}. "
                        "Ask the course's instructor.")
