"""Read a course's roster from the platform (NRPS 2.0) and record it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import requests
import sqlalchemy as sa

from ..extensions import db
from ..lti.claims import display_name
from ..lti.keys import current_signing_key
from ..lti.roles import Access, access_for, role_labels
from ..lti.services import PlatformConnector, ServiceCallError, fetch_memberships
from ..lti.toolconf import ToolRegistration
from ..models import Course, Enrollment, Person, Platform
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
    """Fetch every member of the course from the platform and update people and enrolments.

    Members who left (absent, or status Inactive) are kept but marked inactive: their work stays theirs.
    """
    course = db.session.get(Course, course_id)
    if course is None:
        raise ServiceError("This course is not known to Pathways.")
    if not course.memberships_url:
        raise ServiceError("The platform did not offer its roster service (NRPS) for this course.")
    platform = db.session.get(Platform, course.platform_id)
    connector = platform_connector(platform, secret_key=secret_key, http=http, timeout=timeout)
    try:
        members = fetch_memberships(connector, course.memberships_url)
    except ServiceCallError as exc:
        raise ServiceError(f"The roster could not be read from the platform: {exc.message}") from exc

    people = {p.sub: p for p in db.session.scalars(sa.select(Person).where(Person.platform_id == platform.id))}
    enrollments = {
        e.person_id: e for e in db.session.scalars(sa.select(Enrollment).where(Enrollment.course_id == course.id))
    }
    seen: set[int] = set()
    added = 0
    for member in members:
        sub = member.get("user_id")
        if not isinstance(sub, str) or not sub:
            continue
        access = access_for(member.get("roles") or [])
        person = people.get(sub)
        if person is None:
            person = Person(platform_id=platform.id, sub=sub, name="")
            db.session.add(person)
            db.session.flush()
            people[sub] = person
        person.name = display_name(member) or person.name
        if store_email and isinstance(member.get("email"), str):
            person.email = member["email"][:320]
        enrollment = enrollments.get(person.id)
        if access is Access.NONE:
            continue
        if enrollment is None:
            enrollment = Enrollment(course_id=course.id, person_id=person.id)
            db.session.add(enrollment)
            enrollments[person.id] = enrollment
            added += 1
        enrollment.role = access.value
        enrollment.lti_roles = role_labels(member.get("roles") or [])[:500]
        enrollment.active = member.get("status", "Active") == "Active"
        seen.add(person.id)
    deactivated = 0
    for person_id, enrollment in enrollments.items():
        if person_id not in seen and enrollment.active:
            enrollment.active = False
            deactivated += 1
    course.roster_synced_at = now
    db.session.commit()
    return RosterResult(members=len(members), added=added, deactivated=deactivated)
