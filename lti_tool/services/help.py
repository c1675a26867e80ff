"""Teach, not only test: "ask my teacher", and what to learn from when practice alone is not working."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import Activity, CoursePack
from ..models import HelpRequest
from ..models.base import id_list
from .errors import N_, NotFound
from .permissions import Action, Actor, require

#: A help request stays on the teacher's list this long unless the teacher marks it helped.
OPEN_FOR = timedelta(days=7)


def _still_open(requests, now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    """The conditions of an open help request (not marked helped, asked within OPEN_FOR), on the model's or the
    table's columns: one rule for asking again, the teacher's list and the student's pages."""
    return requests.resolved_at.is_(None), requests.asked_at > now - OPEN_FOR
#: Wrong answers in a row on a skill before the practice page offers other ways to learn it.
MISSES_BEFORE_HELP = 2


def learning_activities(pack: CoursePack, skill_id: str) -> list[Activity]:
    """Return the pack's ways to learn a skill other than practice questions (videos, readings, interactives…)."""
    return [a for a in pack.activities_for(skill_id) if a.kind != "practice"]


def ask_teacher(course_id: int, person_id: int, skill_id: str, pack: CoursePack, *, now: datetime) -> str:
    """Put the student on the teacher's needs-help list for a skill; return the skill's name. Asking twice is once."""
    names = {s.id: s.name for s in pack.skills}
    if skill_id not in names:
        raise NotFound(N_("That skill is not part of this course."))
    from .mastery import lock_learner_row  # mastery imports this module: imported here, as serving does

    # Under the learner's lock, as every writer of their rows: a delete of their data sees this or refuses it.
    lock_learner_row(course_id, person_id, now)
    open_request = db.session.scalars(
        sa.select(HelpRequest).where(HelpRequest.course_id == course_id, HelpRequest.person_id == person_id,
                                     HelpRequest.skill_id == skill_id, *_still_open(HelpRequest, now))
    ).first()
    # Asking again moves the open request's time, by one UPDATE only while it is still open: "Mark as helped" takes
    # no learner lock, and could close it after the read above. The new time then went onto the closed request, and
    # the student's ask never reached the list. A request closed meanwhile makes way for a new one.
    refreshed = open_request is not None and db.session.execute(
        sa.update(HelpRequest).where(HelpRequest.id == open_request.id, HelpRequest.resolved_at.is_(None))
        .values(asked_at=now), execution_options={"synchronize_session": False}).rowcount == 1
    if not refreshed:
        db.session.add(HelpRequest(course_id=course_id, person_id=person_id, skill_id=skill_id, asked_at=now))
    db.session.commit()
    return names[skill_id]


def open_requests(course_id: int, person_ids: list[int], *, now: datetime) -> dict[int, list[HelpRequest]]:
    """Return each student's open help requests in this course, newest first."""
    found: dict[int, list[HelpRequest]] = {}
    if not person_ids:
        return found
    for row in db.session.scalars(
        sa.select(HelpRequest)
        .where(HelpRequest.course_id == course_id, HelpRequest.person_id.in_(id_list(person_ids)),
               *_still_open(HelpRequest, now))
        .order_by(HelpRequest.asked_at.desc())
    ):
        found.setdefault(row.person_id, []).append(row)
    return found


def asked_for_help(course_id: int, person_id: int, *, now: datetime) -> dict[str, datetime]:
    """Return the skills a student has an open help request on in this course, each with when they asked.

    While one is open, the student's pages say the teacher has been asked (and when) instead of offering
    "Ask my teacher" again for that skill; `ask_teacher` keeps one open request per student and skill.
    """
    # A Core statement on the table: the student's pages read values, not objects (tests/perf/test_hot_reads_core).
    requests = HelpRequest.__table__.c
    asked: dict[str, datetime] = {}
    for skill_id, asked_at in db.session.execute(
        sa.select(requests.skill_id, requests.asked_at)
        .where(requests.course_id == course_id, requests.person_id == person_id, *_still_open(requests, now))
        .order_by(requests.asked_at.desc())
    ):
        asked.setdefault(skill_id, asked_at)  # newest first
    return asked


def mark_helped(course_id: int, person_id: int, *, actor: Actor, now: datetime,
                request_ids: Collection[int] | None = None, shown: Mapping[int, datetime] | None = None) -> int:
    """Close a student's open help requests in this course (the teacher has talked to them); return how many.

    Helping a student is teaching: a role that may not assess (a content developer, an outside administrator) may
    see the list but not take a request off it, or the course's teacher would never see it.

    `request_ids`: the requests the teacher's page showed, the only ones closed. Closing every open one closed also
    a request the student sent after the page was drawn (another skill), which then left the list unseen. None (a
    page from before this was sent) closes every open one, as before.

    `shown`: when the page said each of those requests was asked. Asking again on a skill moves its open request's
    time (`ask_teacher`), so a request asked again since the page was drawn is a new ask the teacher has not seen:
    it stays open (`asked_again` names them). A request in `request_ids` without a time here (a page from before
    the times were sent) is closed whenever it was asked.
    """
    require(actor, Action.ASSESS)
    where = [HelpRequest.course_id == course_id, HelpRequest.person_id == person_id, HelpRequest.resolved_at.is_(None)]
    if request_ids is not None:
        where.append(HelpRequest.id.in_(id_list(request_ids)))
    if shown:
        # In the UPDATE itself: an ask moving the time commits before this (the row's lock orders the two), so
        # PostgreSQL re-reads the row and leaves it open, or after it, and finds it closed and makes a new one.
        where.append(sa.or_(HelpRequest.id.not_in(id_list(shown)),
                            *(sa.and_(HelpRequest.id == request_id, HelpRequest.asked_at <= asked_at)
                              for request_id, asked_at in shown.items())))
    result = db.session.execute(sa.update(HelpRequest).where(*where).values(resolved_at=now))
    db.session.commit()
    return result.rowcount or 0


def asked_again(course_id: int, person_id: int, shown: Mapping[int, datetime], *, now: datetime) -> list[str]:
    """Return the skills of the shown requests still open and asked since the time shown (`mark_helped` left them)."""
    if not shown:
        return []
    rows = db.session.execute(
        sa.select(HelpRequest.id, HelpRequest.skill_id, HelpRequest.asked_at)
        .where(HelpRequest.course_id == course_id, HelpRequest.person_id == person_id,
               HelpRequest.id.in_(id_list(shown)), *_still_open(HelpRequest, now))
    )
    return [skill_id for request_id, skill_id, asked_at in rows if asked_at > shown[request_id]]
