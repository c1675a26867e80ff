"""Read a course's roster from the platform (NRPS 2.0) and record it."""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa

from .. import metrics
from ..extensions import CACHE_OUTAGES, cache, db
from ..lti.claims import display_name, email_address, exact_user_id
from ..lti.keys import current_signing_key
from ..lti.roles import Access, access_for, role_labels
from ..lti.services import MembershipPage, PlatformConnector, ServiceCallError, membership_pages
from ..lti.toolconf import ToolRegistration
from ..models import Course, Enrollment, Person, Platform
from ..models.base import commit_keeping_rows, dialect_insert, utcnow
from .errors import N_, ServiceError


@dataclass(frozen=True)
class RosterResult:
    """What a roster sync changed."""

    #: Active members of the course after the sync (a differences-only sync reads just the changed ones).
    members: int
    added: int
    deactivated: int


class RosterUnreadable(ServiceError):
    """The platform did not give the roster: refused it, or (`unreachable`) did not answer or asked us to wait."""

    def __init__(self, message: str, *, platform_id: int, unreachable: bool, refused: bool = False,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.platform_id = platform_id
        self.unreachable = unreachable
        #: The platform refused the roster for good (a 4xx other than 408 and 429: NRPS not allowed for the tool, the
        #: course gone): asking again in a few minutes gets the same answer.
        self.refused = refused
        #: How long the platform asked us to wait (Retry-After on a 429 or 503), in seconds.
        self.retry_after = retry_after


def platform_connector(
    platform: Platform, *, secret_key: str, http: requests.Session, timeout: float
) -> PlatformConnector:
    """Return a service connector that signs as the tool for this platform."""
    return PlatformConnector(ToolRegistration(platform, current_signing_key(secret_key)), http, timeout=timeout)


def sync_roster(
    course_id: int, *, secret_key: str, http: requests.Session, timeout: float, store_email: bool, now: datetime
) -> RosterResult:
    """Fetch the course's members from the platform and update people and enrolments.

    Members who left (absent, status Inactive or Deleted, or listed in a role Pathways does not serve, such as
    Mentor) are kept but marked inactive: their work stays theirs. When the platform gave a `differences` URL
    last time, only the changes since then are read.

    The roster is written as its pages arrive, in batches of _BATCH members, each committed as soon as it is
    written: memory stays flat however big the course (only the ids of the members seen are kept, to find the
    leavers), and no write lock is held while the platform is answering. Leavers are marked only after
    the whole roster was read, so a sync that fails half-way has added or updated real members but marked nobody
    inactive and not recorded itself: the next sync reads the whole roster again.
    """
    course = db.session.get(Course, course_id)
    if course is None:
        raise ServiceError(N_("This course is not known to Pathways."))
    if not course.memberships_url:
        raise ServiceError("The platform did not offer its roster service (NRPS) for this course.")
    platform = db.session.get(Platform, course.platform_id)
    connector = platform_connector(platform, secret_key=secret_key, http=http, timeout=timeout)
    memberships_url, differences_url = course.memberships_url, course.roster_differences_url
    writer = _RosterWriter(course.id, platform.id, store_email=store_email, started=utcnow(),
                           context_id=course.context_id, context_required=course.memberships_url_custom)
    partial = bool(differences_url)
    try:
        try:
            read = writer.read(connector, differences_url or memberships_url)
        except ServiceCallError as exc:
            # Only a refusal (a 4xx other than 408 and 429) says the platform forgot our differences point; one
            # that did not answer or asks to wait (ServiceCallError.transient, 408 included) is asked again later.
            if not partial or exc.transient or exc.status is None:
                raise
            # The platform forgot our differences point (expired or reset): read the whole roster again.
            partial = False
            read = writer.read(connector, memberships_url)
    except ServiceCallError as exc:
        raise RosterUnreadable(f"The roster could not be read from the platform: {exc.message}",
                               platform_id=platform.id, unreachable=exc.transient,
                               refused=not exc.transient and exc.status is not None,
                               retry_after=exc.retry_after) from exc
    if not partial:
        # A differences listing names only changes, so absence means "unchanged", not "left".
        writer.mark_leavers()
    # Beside the sync time, in the last batch's transaction; an UPDATE statement, so a course row expired by
    # an earlier batch's commit is not read again first.
    # It returns the course's members now, not the members read: a differences listing names only those who
    # changed (counted in the same statement).
    members = db.session.scalar(
        sa.update(Course).where(Course.id == writer.course_id)
        .values(roster_differences_url=read.differences_url, roster_synced_at=now)
        .returning(sa.select(sa.func.count()).select_from(Enrollment).where(
            Enrollment.course_id == writer.course_id, Enrollment.active.is_(True)).scalar_subquery()))
    # What it wrote is current, so the page after it does not read the launch and course again.
    commit_keeping_rows()
    _note_refusal(course_id, None)
    metrics.record_roster_sync()
    return RosterResult(members=members or 0, added=writer.added, deactivated=writer.deactivated)


#: Members written per batch; also bounds the IN-lists (PostgreSQL and SQLite both cope, the plans stay simple).
_BATCH = 500
_ANALYSE_FIRST = 1000  # people created before the first refresh of statistics, then 4x each time


@dataclass(frozen=True)
class _Read:
    members: int
    differences_url: str | None


class _IdBits:
    """A set of row ids kept as one bit per id: 125 KB for ids up to a million, whatever the roster's size.

    A set of ints costs about 70 bytes per member, which grew the sync's memory with the roster.
    """

    def __init__(self) -> None:
        self._bits = bytearray()

    def add(self, row_id: int) -> None:
        index = row_id >> 3
        if index >= len(self._bits):
            # Grow by half again, so a rising run of ids costs a few copies, not one per id.
            self._bits.extend(bytes(index + 1 - len(self._bits) + len(self._bits) // 2))
        self._bits[index] |= 1 << (row_id & 7)

    def __contains__(self, row_id: int) -> bool:
        index = row_id >> 3
        return index < len(self._bits) and bool(self._bits[index] & (1 << (row_id & 7)))


class _RosterWriter:
    """Writes a roster to the database batch by batch, keeping only the ids of the enrolled members it saw.

    Works with plain rows and Core statements, never ORM objects, so nothing piles up in the session between
    batches. Per batch: the people known (1), new people (1), changed names (1), the enrolments of the people
    known before (1), new enrolments (1), changed enrolments (1), each only when needed.
    """

    def __init__(self, course_id: int, platform_id: int, *, store_email: bool, started: datetime,
                 context_id: str = "", context_required: bool = False) -> None:
        self.course_id = course_id
        self.platform_id = platform_id
        self.context_id = context_id
        self.context_required = context_required
        self.store_email = store_email
        self.started = started
        # Enrolments created after this (by a launch or another sync meanwhile) are never taken for leavers:
        # the pages read may be older than they are.
        self.last_enrollment_id = db.session.scalar(sa.select(sa.func.max(Enrollment.id))) or 0
        self.seen = _IdBits()
        self.added = 0
        self.deactivated = 0
        self.created = 0  # people this sync inserted
        self.analyse_at = _ANALYSE_FIRST

    def _refresh_statistics(self) -> None:
        # PostgreSQL plans a lookup that runs again and again (psycopg prepares it after five runs) once, with the
        # statistics of that moment: a first sync into a nearly empty table keeps a plan that scans the whole
        # table for every batch (50k members: 32 s instead of 14). New statistics make it plan again.
        self.analyse_at *= 4
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(sa.text("ANALYZE person, enrollment"))
            db.session.commit()

    def read(self, connector: PlatformConnector, url: str) -> _Read:
        """Read the listing at url page by page, writing each batch as it comes; return what it listed."""
        self.seen = _IdBits()  # only a complete read decides who left
        members = 0
        differences_url = None
        pending: list[dict] = []  # at most a batch, plus a page
        for page in membership_pages(connector, url):
            self._check_course(page)
            members += len(page.members)
            differences_url = page.differences_url or differences_url
            pending.extend(page.members)
            while len(pending) >= _BATCH:
                self._write(pending[:_BATCH])
                del pending[:_BATCH]
                # Written and committed at once: no transaction stays open while the next page is on its way.
                # The batches are Core statements, so the session holds only the rows read before the sync (the
                # launch, the course, the platform): expired here, the page's flash read the launch again.
                commit_keeping_rows()
                if self.created >= self.analyse_at:
                    self._refresh_statistics()
        self._write(pending)  # the rest, committed with the leavers and the course's sync time
        return _Read(members, differences_url)

    def _check_course(self, page: MembershipPage) -> None:
        # Our token reads any course of the platform, so a listing must be this course's before anyone is written:
        # a roster URL a teacher typed into a custom parameter could name another course's roster.
        if not self.context_required:
            return  # the URL the platform itself signed for this course
        if page.context_id != self.context_id:
            raise ServiceError("The platform's roster is not this course's roster, so Pathways did not read it. "
                               "If the link sets a custom roster address, remove it.")

    def _write(self, batch: list[dict]) -> None:
        # One entry per person, the last listed winning, as the platform's later entry is the newer one.
        # A `user_id` is kept only as sent, as a launch's `sub` is: cleaned or cut, two people could become one.
        wanted: dict[str, dict] = {}
        for member in batch:
            sub = exact_user_id(member.get("user_id"))
            if sub:
                wanted.pop(sub, None)
                wanted[sub] = member
        if not wanted:
            return
        people = self._people(list(wanted))
        # Someone listed in a role Pathways does not serve (a Mentor, an Observer) is not recorded when new: they
        # would be a name with no enrolment, which the retention purge anonymises, and the next sync would add again.
        # Nor is someone new the platform lists as Inactive or Deleted (a differences listing names leavers): their
        # name and email would be kept for an enrolment that was never active (data minimisation).
        new = [sub for sub in wanted
               if sub not in people and _access(wanted[sub]) is not Access.NONE and _active(wanted[sub])]
        fresh = self._add_people(new, wanted, people)
        # A person deleted by a privacy request in between is not there to update or enrol.
        wanted = {sub: member for sub, member in wanted.items() if sub in people}
        changes = []
        for sub, member in wanted.items():
            person_id, name, email = people[sub]
            new_name = display_name(member) or name
            # Privacy: an email is kept only when the admin turned it on; otherwise one kept before is dropped, as
            # a launch drops it.
            new_email = (email_address(member) or email) if self.store_email else None
            if (new_name, new_email) != (name, email):
                changes.append({"b_id": person_id, "b_name": new_name, "b_email": new_email})
        if changes:
            # In id order, as every other writer locks people (a course deletion, another course's sync), not in
            # the platform's listing order: two of them taking the same rows in other orders can deadlock.
            changes.sort(key=lambda change: change["b_id"])
            person = Person.__table__
            db.session.execute(
                sa.update(person).where(person.c.id == sa.bindparam("b_id"))
                .values(name=sa.bindparam("b_name"), email=sa.bindparam("b_email")),
                changes,
            )
        self._write_enrollments({people[sub][0]: member for sub, member in wanted.items()}, fresh)

    def _people(self, subs: list[str]) -> dict[str, tuple[int, str, str | None]]:
        query = sa.select(Person.id, Person.sub, Person.name, Person.email).where(
            Person.platform_id == self.platform_id, Person.sub.in_(subs)
        )
        return {sub: (person_id, name, email) for person_id, sub, name, email in db.session.execute(query)}

    def _add_people(self, subs: list[str], wanted: dict[str, dict], people: dict) -> set[int]:
        """Insert these people, add them to `people` and return the ids of those this INSERT created."""
        if not subs:
            return set()
        rows = {sub: {"platform_id": self.platform_id, "sub": sub, "name": display_name(wanted[sub]),
                      "email": email_address(wanted[sub]) if self.store_email else None} for sub in subs}
        # One multi-row INSERT ... RETURNING; a person a launch created meanwhile is skipped here, then read.
        inserted = db.session.execute(
            dialect_insert(Person).on_conflict_do_nothing(index_elements=["platform_id", "sub"])
            .returning(Person.__table__.c.id, Person.__table__.c.sub),
            list(rows.values()),
        )
        fresh = set()
        for person_id, sub in inserted:
            people[sub] = (person_id, rows[sub]["name"], rows[sub]["email"])
            fresh.add(person_id)
        self.created += len(fresh)
        missing = [sub for sub in subs if sub not in people]
        if missing:
            people.update(self._people(missing))
        return fresh

    def _write_enrollments(self, members: dict[int, dict], fresh: set[int]) -> None:
        known = {}
        # People this batch created have no enrolment yet (one a launch makes meanwhile meets ON CONFLICT below).
        older = [person_id for person_id in members if person_id not in fresh]
        if older:
            query = sa.select(Enrollment.id, Enrollment.person_id, Enrollment.role, Enrollment.lti_roles,
                              Enrollment.active).where(Enrollment.course_id == self.course_id,
                                                       Enrollment.person_id.in_(older))
            for enrollment_id, person_id, role, lti_roles, active in db.session.execute(query):
                known[person_id] = (enrollment_id, role, lti_roles, active)
        new_rows, changes = [], []
        for person_id, member in members.items():
            roles = member.get("roles") if isinstance(member.get("roles"), list) else []
            access = access_for(roles, in_course=True)  # a roster of this course: its roles are this course's
            if access is Access.NONE:
                # Listed, but no longer in a role Pathways serves (a Learner made Mentor or Observer): an active
                # enrolment ends here, since a differences listing (NRPS 2.0) names the changed member once and
                # mark_leavers never runs after it. Not enrolled when there was none.
                if person_id in known and known[person_id][3]:
                    enrollment_id, role, _, _ = known[person_id]
                    changes.append({"b_id": enrollment_id, "b_role": role, "b_lti_roles": role_labels(roles),
                                    "b_active": False})
                    self.deactivated += 1
                continue
            values = (access.value, role_labels(roles), _active(member))
            self.seen.add(person_id)
            if person_id not in known:
                new_rows.append({"course_id": self.course_id, "person_id": person_id, "role": values[0],
                                 "lti_roles": values[1], "active": values[2]})
                continue
            enrollment_id, *before = known[person_id]
            if tuple(before) != values:
                changes.append({"b_id": enrollment_id, "b_role": values[0], "b_lti_roles": values[1],
                                "b_active": values[2]})
                if before[2] and not values[2]:
                    self.deactivated += 1
        if new_rows:
            # A launch may have enrolled someone meanwhile: theirs is kept (it is as new as this listing).
            inserted = db.session.execute(
                dialect_insert(Enrollment).on_conflict_do_nothing(index_elements=["course_id", "person_id"])
                .returning(Enrollment.__table__.c.person_id),
                new_rows,
            )
            self.added += len(inserted.all())
        if changes:
            enrollment = Enrollment.__table__
            db.session.execute(
                sa.update(enrollment).where(enrollment.c.id == sa.bindparam("b_id"))
                .values(role=sa.bindparam("b_role"), lti_roles=sa.bindparam("b_lti_roles"),
                        active=sa.bindparam("b_active")),
                changes,
            )

    def mark_leavers(self) -> None:
        """Mark inactive the course's active members the complete read did not list (one query per _BATCH)."""
        after = 0
        while True:
            # Keyset pages over the (course, person) index: never the whole course's enrolments at once.
            person_ids = db.session.scalars(
                sa.select(Enrollment.person_id)
                .where(Enrollment.course_id == self.course_id, Enrollment.active.is_(True),
                       Enrollment.person_id > after, Enrollment.id <= self.last_enrollment_id,
                       # Someone who launched since the sync began is a member now, whatever the pages said.
                       sa.or_(Enrollment.last_launch_at.is_(None), Enrollment.last_launch_at < self.started))
                .order_by(Enrollment.person_id).limit(_BATCH)
            ).all()
            leavers = [person_id for person_id in person_ids if person_id not in self.seen]
            if leavers:
                self.deactivated += db.session.execute(
                    sa.update(Enrollment.__table__)
                    .where(Enrollment.course_id == self.course_id, Enrollment.person_id.in_(leavers),
                           Enrollment.active.is_(True))
                    .values(active=False)
                ).rowcount
            if len(person_ids) < _BATCH:
                return
            after = person_ids[-1]


#: The LIS status vocabulary's address: NRPS 2.0 names a status by its term (Active, Inactive, Deleted), as Moodle
#: and Canvas send it, while LIS 2.0 and Caliper write the whole IRI, ".../status#Active".
_LIS_STATUS_IRIS = ("http://purl.imsglobal.org/vocab/lis/v2/status#", "https://purl.imsglobal.org/vocab/lis/v2/status#")


def _active(member: dict) -> bool:
    """Tell whether a roster entry is an active member (NRPS 2.0: `status` is Active when left out).

    A null status is one left out: platforms built on Java or .NET models send unset fields as null, and read as
    "not Active" it marked the whole class inactive. The term is read whatever its case or surrounding spaces, and
    also written as the LIS vocabulary's IRI; any other value (Inactive, Deleted, one we do not know) is not active.
    """
    status = member.get("status")
    if status is None:
        return True
    if not isinstance(status, str):
        return False
    status = status.strip()
    for iri in _LIS_STATUS_IRIS:
        if status.lower().startswith(iri):
            status = status[len(iri):]
            break
    return status.lower() == "active"


def _access(member: dict) -> Access:
    """Return what a roster entry's roles give access to."""
    return access_for(member.get("roles") if isinstance(member.get("roles"), list) else [], in_course=True)


def request_roster_sync(course: Course, *, now: datetime, min_seconds: int) -> bool:
    """Ask the worker to sync the roster if the last sync is older than min_seconds (no commit)."""
    if not course.memberships_url:
        return False
    if course.roster_synced_at is not None and (now - course.roster_synced_at).total_seconds() < min_seconds:
        return False
    if course.roster_sync_due_at is None:
        course.roster_sync_due_at = now
    return True


# How long a claimed roster sync is held: a sync cut off by a killed worker runs again after this long. One still
# running then may be claimed a second time, so it is far longer than a sync takes.
SYNC_LEASE_SECONDS = 600


def run_due_roster_sync(
    *, secret_key: str, http: requests.Session, timeout: float, store_email: bool, now: datetime, retry_seconds: int,
    skip_platforms: Collection[int] = (),
) -> RosterResult | None:
    """Claim one course whose roster sync is due and sync it; None when none is due.

    Courses of the platforms in skip_platforms are left due, untouched (the caller found the platform
    unreachable a moment ago).

    The claim is a conditional UPDATE that leases the sync: it moves roster_sync_due_at past the sync (now plus
    the lease) instead of clearing it, so two workers never sync the same course at once, and a sync cut off by
    a database error or a killed worker is due again once the lease runs out. Only a finished sync clears it.
    A sync the platform did not answer is due again after retry_seconds, or after the platform's Retry-After when
    that is longer (RFC 9110 §10.2.3). One the platform refused for good (RosterUnreadable.refused) or that cannot run
    (a ServiceError: no roster service, another course's roster) is not due again until a teacher launch asks, and
    the teacher's page says it was refused (roster_sync_refused): asked every retry_seconds, it met the same refusal
    for ever, a token request and a roster request each time, and no teacher saw it.
    """
    due = sa.select(Course.id).where(Course.roster_sync_due_at <= now)
    if skip_platforms:
        due = due.where(Course.platform_id.not_in(list(skip_platforms)))
    course_id = db.session.scalar(due.order_by(Course.roster_sync_due_at).limit(1))
    if course_id is None:
        return None
    lease = now + timedelta(seconds=SYNC_LEASE_SECONDS)
    # The course's creation time comes back with the claim: a refusal is noted for this course row, not its id.
    created_at = db.session.scalar(
        sa.update(Course)
        .where(Course.id == course_id, Course.roster_sync_due_at <= now)
        .values(roster_sync_due_at=lease)
        .returning(Course.created_at)
    )
    db.session.commit()
    if created_at is None:
        return None
    try:
        result = sync_roster(course_id, secret_key=secret_key, http=http, timeout=timeout,
                             store_email=store_email, now=now)
    except RosterUnreadable as exc:
        metrics.record_roster_sync(ok=False)
        wait = max(float(retry_seconds), exc.retry_after or 0.0)
        _reschedule(course_id, lease, None if exc.refused else now + timedelta(seconds=wait))
        if exc.refused:
            _note_refusal(course_id, created_at)
        raise
    except ServiceError:
        metrics.record_roster_sync(ok=False)
        _reschedule(course_id, lease, None)
        _note_refusal(course_id, created_at)
        raise
    except Exception:  # a database blip: the sync must run again
        metrics.record_roster_sync(ok=False)
        _reschedule(course_id, lease, now + timedelta(seconds=retry_seconds))
        raise
    # Done: no longer due, unless our lease ran out and another worker holds the sync now.
    db.session.execute(
        sa.update(Course).where(Course.id == course_id, Course.roster_sync_due_at == lease)
        .values(roster_sync_due_at=None)
    )
    db.session.commit()
    return result


#: How long the teacher's page says the last automatic roster update was refused, unless a sync succeeds first.
REFUSAL_SHOWN_SECONDS = 30 * 24 * 3600


def _refusal_key(course_id: int) -> str:
    return f"roster-refused:{course_id}"


def _course_row_mark(created_at: datetime) -> str:
    """Tell one course row from another that later had the same id: its creation time, to the microsecond."""
    return created_at.isoformat()


def _note_refusal(course_id: int, created_at: datetime | None) -> None:
    """Remember (in the shared cache) that the worker's last sync of the course made at created_at was refused, or
    forget it (None).

    The worker does not ask again on its own after a refusal, so the teacher's page says so (roster_sync_refused);
    with the cache down nothing is said, and the teacher's own "Update roster" still shows the reason. The note
    names the course row, not only its id: a course whose data is deleted leaves its note behind (the deletion does
    not reach the cache, which may be down then), and the course made afterwards (the same LMS course launched
    again, or any course on SQLite, which gives the highest id again once its row is gone) must not be told of a
    refusal that was never its own.
    """
    with contextlib.suppress(*CACHE_OUTAGES):
        if created_at is not None:
            cache.set(_refusal_key(course_id), _course_row_mark(created_at), timeout=REFUSAL_SHOWN_SECONDS)
        else:
            cache.delete(_refusal_key(course_id))


def roster_sync_refused(course: Course) -> bool:
    """Tell whether the LMS refused the worker's last automatic roster update of this course (none has worked since)."""
    try:
        return cache.get(_refusal_key(course.id)) == _course_row_mark(course.created_at)
    except CACHE_OUTAGES:
        return False


def _reschedule(course_id: int, lease: datetime, retry_at: datetime | None) -> None:
    """Make a failed sync due again at retry_at (None: when a teacher launch next asks); if the database is down
    too, the lease does it later."""
    try:
        db.session.rollback()
        db.session.execute(
            sa.update(Course).where(Course.id == course_id, Course.roster_sync_due_at == lease)
            .values(roster_sync_due_at=retry_at)
        )
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            db.session.rollback()  # the worker's pass reports the outage and starts a new session
