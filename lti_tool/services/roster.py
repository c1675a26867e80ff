"""Read a course's roster from the platform (NRPS 2.0) and record it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa

from .. import metrics
from ..extensions import db
from ..lti.claims import display_name, user_id
from ..lti.keys import current_signing_key
from ..lti.roles import Access, access_for, role_labels
from ..lti.services import PlatformConnector, ServiceCallError, fetch_memberships
from ..lti.toolconf import ToolRegistration
from ..models import Course, Enrollment, Person, Platform
from ..models.base import commit_keeping_rows
from .errors import ServiceError


@dataclass(frozen=True)
class RosterResult:
    """What a roster sync changed."""

    members: int
    added: int
    deactivated: int


def platform_connector(
    platform: Platform, *, secret_key: str, http: requests.Session, timeout: float
) -> PlatformConnector:
    """Return a service connector that signs as the tool for this platform."""
    return PlatformConnector(ToolRegistration(platform, current_signing_key(secret_key)), http, timeout=timeout)


def sync_roster(
    course_id: int, *, secret_key: str, http: requests.Session, timeout: float, store_email: bool, now: datetime
) -> RosterResult:
    """Fetch the course's members from the platform and update people and enrolments.

    Members who left (absent, or status Inactive or Deleted) are kept but marked inactive: their work stays
    theirs. When the platform gave a `differences` URL last time, only the changes since then are read.
    """
    course = db.session.get(Course, course_id)
    if course is None:
        raise ServiceError("This course is not known to Pathways.")
    if not course.memberships_url:
        raise ServiceError("The platform did not offer its roster service (NRPS) for this course.")
    platform = db.session.get(Platform, course.platform_id)
    connector = platform_connector(platform, secret_key=secret_key, http=http, timeout=timeout)
    partial = bool(course.roster_differences_url)
    try:
        try:
            roster = fetch_memberships(connector, course.roster_differences_url or course.memberships_url)
        except ServiceCallError as exc:
            if not partial or exc.status is None or exc.status >= 500 or exc.status == 429:
                raise
            # The platform forgot our differences point (expired or reset): read the whole roster again.
            partial = False
            roster = fetch_memberships(connector, course.memberships_url)
    except ServiceCallError as exc:
        raise ServiceError(f"The roster could not be read from the platform: {exc.message}") from exc
    members = roster.members

    # Cleaned as launches clean `sub` (control characters out, 255 at most), so both name the same person.
    subs = [sub for sub in (user_id(m.get("user_id")) for m in members) if sub]
    people = _people_by_sub(platform.id, subs)
    enrollments = {
        e.person_id: e for e in db.session.scalars(sa.select(Enrollment).where(Enrollment.course_id == course.id))
    }
    new_subs = [sub for sub in dict.fromkeys(subs) if sub not in people]
    if new_subs:
        # One multi-row INSERT ... RETURNING per batch instead of a round trip per new person.
        db.session.execute(
            sa.insert(Person), [{"platform_id": platform.id, "sub": sub, "name": ""} for sub in new_subs]
        )
        people.update(_people_by_sub(platform.id, new_subs))
    was_active = {person_id: e.active for person_id, e in enrollments.items()}
    seen: set[int] = set()
    new_enrollments: dict[int, dict] = {}
    for member in members:
        person = people.get(user_id(member.get("user_id")))
        if person is None:
            continue
        _set_if_changed(person, "name", display_name(member) or person.name)
        if store_email and isinstance(member.get("email"), str):
            _set_if_changed(person, "email", member["email"][:320])
        access = access_for(member.get("roles") or [])
        if access is Access.NONE:
            continue
        values = {
            "role": access.value,
            "lti_roles": role_labels(member.get("roles") or [])[:500],
            "active": member.get("status", "Active") == "Active",  # Inactive and Deleted both mean "left"
        }
        enrollment = enrollments.get(person.id)
        if enrollment is None:
            new_enrollments[person.id] = {"course_id": course.id, "person_id": person.id, **values}
        else:
            for attribute, value in values.items():
                _set_if_changed(enrollment, attribute, value)
        seen.add(person.id)
    if new_enrollments:
        db.session.execute(sa.insert(Enrollment), list(new_enrollments.values()))
    added = len(new_enrollments)
    for person_id, enrollment in enrollments.items():
        # A differences listing names only changes, so absence means "unchanged", not "left".
        if not partial and person_id not in seen and enrollment.active:
            enrollment.active = False
    deactivated = sum(1 for person_id, active in was_active.items() if active and not enrollments[person_id].active)
    # Set last, beside the sync time: one UPDATE of the course, not one flushed early by the queries above.
    course.roster_differences_url = roster.differences_url
    course.roster_synced_at = now
    # What it wrote is current, so the page after it does not read the launch and course again.
    commit_keeping_rows()
    metrics.record_roster_sync()
    return RosterResult(members=len(members), added=added, deactivated=deactivated)


# Bound IN-lists: PostgreSQL and SQLite both cope, and the query plans stay simple.
_IN_CHUNK = 500


def _people_by_sub(platform_id: int, subs: list[str]) -> dict[str, Person]:
    people: dict[str, Person] = {}
    for start in range(0, len(subs), _IN_CHUNK):
        chunk = subs[start : start + _IN_CHUNK]
        query = sa.select(Person).where(Person.platform_id == platform_id, Person.sub.in_(chunk))
        people.update((p.sub, p) for p in db.session.scalars(query))
    return people


def _set_if_changed(row: object, attribute: str, value: object) -> None:
    # Assigning an equal value still marks the attribute dirty; skipping it keeps a no-change sync to no UPDATEs.
    if getattr(row, attribute) != value:
        setattr(row, attribute, value)


def request_roster_sync(course: Course, *, now: datetime, min_seconds: int) -> bool:
    """Ask the worker to sync the roster if the last sync is older than min_seconds (no commit)."""
    if not course.memberships_url:
        return False
    if course.roster_synced_at is not None and (now - course.roster_synced_at).total_seconds() < min_seconds:
        return False
    if course.roster_sync_due_at is None:
        course.roster_sync_due_at = now
    return True


def run_due_roster_sync(
    *, secret_key: str, http: requests.Session, timeout: float, store_email: bool, now: datetime, retry_seconds: int
) -> RosterResult | None:
    """Claim one course whose roster sync is due and sync it; None when none is due.

    The claim is a conditional UPDATE, so two workers never sync the same course at once. A failed sync is
    due again after retry_seconds.
    """
    course_id = db.session.scalar(
        sa.select(Course.id).where(Course.roster_sync_due_at <= now).order_by(Course.roster_sync_due_at).limit(1)
    )
    if course_id is None:
        return None
    claimed = db.session.execute(
        sa.update(Course)
        .where(Course.id == course_id, Course.roster_sync_due_at <= now)
        .values(roster_sync_due_at=None)
    ).rowcount
    db.session.commit()
    if not claimed:
        return None
    try:
        return sync_roster(course_id, secret_key=secret_key, http=http, timeout=timeout, store_email=store_email,
                           now=now)
    except ServiceError:
        metrics.record_roster_sync(ok=False)
        db.session.rollback()
        retry_at = now + timedelta(seconds=retry_seconds)
        db.session.execute(sa.update(Course).where(Course.id == course_id).values(roster_sync_due_at=retry_at))
        db.session.commit()
        raise
