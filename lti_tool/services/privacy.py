"""Privacy: export and delete a student's or a course's data, purge inactive courses, and read the audit log.

Exports are plain JSON documents (the web also renders them as a readable page). Deletes remove every row a
person has in a course and record, by ids only, that it happened (AuditEntry). A person left with no enrolment
anywhere keeps an anonymous row (other rows may still name them as the teacher who acted), with no name, no
email and a random `sub`, so a later launch from the LMS starts a new, empty person.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..learning.mastery import ALL_SKILLS
from ..lti.claims import DATA_PRIVACY, DEPLOYMENT_ADMIN
from ..lti.roles import stored_course_role
from ..lti.toolconf import place_options
from ..models import (
    AuditEntry,
    Course,
    CourseContent,
    Deployment,
    DiagnosticRun,
    Enrollment,
    Evidence,
    HelpRequest,
    ItemResponse,
    LaunchSession,
    MasteryEvent,
    Person,
    Placement,
    Platform,
    Reflection,
    ReportComment,
    ReviewSchedule,
    ScoreOutbox,
    ServedItem,
    SkillAssignment,
    SkillLineItem,
    SkillMastery,
    StudentGoal,
)
from ..models.base import LARGEST_ROW_ID, id_list, lock_database_for_writing
from ..models.outbox import PENDING
from .content import COURSE_GONE, course_content, course_pack
from .errors import N_, Forbidden, NotFound, ServiceError
from .launches import ENDED_LAUNCH_GRACE, LEGACY_SHARED_CONTEXT, placeholder_course
from .mastery import OVERRIDE_NOTE, OVERRIDE_REASON, lock_learner_row, lock_learner_row_if_there
from .permissions import Action, Actor, actor_of, may, require
from .privacy_words import ReadableExport, readable
from .publishing import lock_learners
from .storage import delete_files, evidence_store
from .typed_answers import forget, held_for

PERSON_FORMAT = "pathways-personal-data"
#: An anonymised person's `sub` begins with this (then random): no LMS launch finds them again.
ANONYMISED_SUB = "deleted-"
COURSE_FORMAT = "pathways-course-data"
FORMAT_VERSION = 1


# ---- results ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StudentRow:
    """One student of the course as the teacher's privacy page lists them."""

    person_id: int
    name: str
    active: bool


@dataclass(frozen=True)
class PrivacyOverview:
    """What the privacy page shows: whose data, and which controls this launch may use."""

    mode: str  # "student" (own data in this course), "teacher" (the course) or "user" (a Data Privacy Launch)
    subject_name: str
    course_title: str
    can_delete: bool
    #: A student exports their own data; someone else's only where the role table allows it.
    can_export: bool = True
    students: list[StudentRow] = field(default_factory=list)
    course_count: int = 0
    subject_known: bool = True
    #: Whether the data is the launcher's own (a student's page, or a privacy launch about themselves).
    own: bool = True


@dataclass(frozen=True)
class Deletion:
    """What a delete removed."""

    courses: int
    rows: int
    pending_grades: int  # grade posts not yet sent to the LMS, now cancelled
    anonymised: int  # people left with no enrolment anywhere, whose name, email and sub were erased
    subject_name: str = ""
    #: Grade posts a worker was sending as they were deleted (its lease had not run out): it drops the ones it has
    #: not posted yet, but one already on its way may still reach the LMS, so they are not counted as cancelled.
    in_flight: int = 0


@dataclass(frozen=True)
class PurgedCourse:
    """A course the retention rule selects."""

    course_id: int
    platform_id: int
    context_id: str
    title: str
    last_launch_at: datetime | None
    students: int


@dataclass(frozen=True)
class PurgeReport:
    """The courses older than the retention period, and whether they were deleted."""

    days: int
    cutoff: datetime | None
    dry_run: bool
    courses: list[PurgedCourse]
    anonymised: int = 0  # people left with no course (or who never had one), whose name, email and sub were erased


# ---- helpers ----------------------------------------------------------------------------------------------

def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _audit(platform_id: int, course_id: int | None, actor_id: int | None, subject_id: int | None, action: str,
           now: datetime) -> None:
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor_id,
                              subject_id=subject_id, action=action, at=now))


def _course_tables() -> list[sa.Table]:
    """Return every table whose rows belong to a course, dependants first (the order deletes need).

    Read from the schema, so a table added later for learning records is never left behind by a delete.
    AuditEntry's course_id is deliberately not a foreign key: the audit log outlives the course.
    """
    return [
        table for table in reversed(db.metadata.sorted_tables)
        if "course_id" in table.c and any(fk.column.table.name == "course" for fk in table.c.course_id.foreign_keys)
    ]


def _person_tables() -> list[sa.Table]:
    """Return every table whose rows belong to one person in one course (enrolment and launches included)."""
    return [table for table in _course_tables() if "person_id" in table.c]


def _require_teacher(launch: LaunchSession) -> None:
    if launch.access != "teacher":
        raise Forbidden(N_("Only teachers can do this."))


class AlreadyDeleted(NotFound):
    """The data was deleted already (a double click, a reload of the form's answer, another tab)."""


def _enrollment_to_delete(course_id: int, platform_id: int, person_id: int) -> Enrollment:
    """Return the student's enrolment, or say it is gone: AlreadyDeleted when this course's log shows their
    deletion, else NotFound (an id from elsewhere learns nothing it would not from any unknown id)."""
    try:
        return _student_enrollment(course_id, platform_id, person_id)
    except NotFound:
        if db.session.scalar(sa.select(AuditEntry.id).where(
                AuditEntry.platform_id == platform_id, AuditEntry.course_id == course_id,
                AuditEntry.subject_id == person_id, AuditEntry.action == "delete_student").limit(1)) is not None:
            raise AlreadyDeleted(N_("That student is not in this course any more: their data here is already "
                                    "deleted.")) from None
        raise


def _student_enrollment(course_id: int, platform_id: int, person_id: int) -> Enrollment:
    """Return a student's enrolment (active or inactive) in the course, or refuse."""
    enrollment = db.session.scalars(
        sa.select(Enrollment).join(Person).where(
            Enrollment.course_id == course_id, Enrollment.person_id == person_id, Enrollment.role == "student",
            Person.platform_id == platform_id,
        )
    ).first()
    if enrollment is None:
        raise NotFound(N_("That student is not in this course."))
    return enrollment


def _anonymise_if_unenrolled(person_ids: Iterable[int], deployment_id: int | None, *,
                             unless_session_after: datetime | None = None, files: list[str] | None = None) -> int:
    """Erase name, email and sub of the given people who have no enrolment left in a course (nor, with
    `unless_session_after`, a launch session alive after that time).

    Nothing else keeps their LMS user id, name or email once this returns: their own launch sessions go, and so
    do other people's Data Privacy Launch sessions about them (`_forget_launches_naming`), in this transaction.
    `files`: the stored files of their rows in the old shared stand-in are added to it for the caller to delete
    just before its commit (or never, for a dry run); without it they are deleted here.

    An enrolment in the shared stand-in course older versions made (LEGACY_SHARED_CONTEXT) of the deployment the
    deletion happens in (`deployment_id`; None: an operator's, every deployment) is no course of theirs: it does
    not keep them from being anonymised, and their rows there go with them. Another deployment's stand-in counts
    as a course: a deletion here does not reach into it.
    """
    erased = 0
    lock_database_for_writing()
    for person_id in sorted(set(person_ids)):
        # Locked before looking: a launch finding this person holds the row (services/launches.py reads it FOR
        # SHARE), so its enrolment and session are seen here once it commits, or it finds the person gone after.
        # No key update (see _lock_people): rows naming them elsewhere are not held up; changing the sub below
        # takes the stronger lock, for the people anonymised only.
        person = db.session.get(Person, person_id, with_for_update={"key_share": True}, populate_existing=True)
        if person is None:
            continue
        enrolled = db.session.scalar(
            sa.select(sa.func.count()).select_from(Enrollment).join(Course, Course.id == Enrollment.course_id)
            .where(Enrollment.person_id == person_id, ~_legacy_shared_course(deployment_id))
        )
        if enrolled or (unless_session_after is not None and db.session.scalar(sa.select(sa.exists().where(
                LaunchSession.person_id == person_id, LaunchSession.expires_at > unless_session_after)))):
            continue
        _erase_from_legacy_shared_courses(person, deployment_id, files)
        # While the sub is still the LMS's: another person's privacy session about them is found by it.
        _forget_launches_naming(person)
        person.name = ""
        person.email = None
        person.sub = ANONYMISED_SUB + secrets.token_hex(12)
        # Their launch sessions anywhere (custom parameters, locale): nothing of theirs outlives the erasure.
        db.session.execute(sa.delete(LaunchSession).where(LaunchSession.person_id == person_id)
                           .execution_options(synchronize_session=False))
        erased += 1
    return erased


def _legacy_shared_course(deployment_id: int | None) -> sa.ColumnElement[bool]:
    """Tell (in SQL, per Course row) whether it is the legacy shared stand-in of the deployment (None: of any)."""
    if deployment_id is None:
        return Course.context_id == LEGACY_SHARED_CONTEXT
    return sa.and_(Course.context_id == LEGACY_SHARED_CONTEXT, Course.deployment_id == deployment_id)


def _erase_from_legacy_shared_courses(person: Person, deployment_id: int | None, keep: list[str] | None) -> None:
    """Delete every row of the person in the deployment's legacy shared stand-in course (and its files).

    No launch reaches those courses any more, so no writer races this (no learner lock). Files go before the
    caller's commit, as in delete_student: here, or (`keep` given) where the caller deletes its own.
    """
    courses = list(db.session.scalars(
        sa.select(Course.id).where(Course.platform_id == person.platform_id, _legacy_shared_course(deployment_id),
                                   _holds_rows_of(person.id))
    ))
    files: list[str] = []
    for course_id in courses:
        files += _file_keys(course_id, person.id)
        _erase_person_in_course(course_id, person.id)
    if keep is not None:
        keep += files
    else:
        delete_files(files)


def _in_legacy_shared_course(person: Person | None, deployment_id: int) -> bool:
    """Tell whether the person still has rows in the deployment's legacy shared stand-in (which a deletion removes)."""
    return person is not None and db.session.scalar(sa.select(sa.exists().where(
        Course.platform_id == person.platform_id, _legacy_shared_course(deployment_id),
        _holds_rows_of(person.id)))) is True


def _holds_rows_of(person_id: int, tables: Iterable[sa.Table] | None = None) -> sa.ColumnElement[bool]:
    """Tell (in SQL, per Course row) whether the course holds a row of the person in one of these person tables."""
    # Asked per course (EXISTS on each table's course_id, person_id index), not as one list of the person's rows:
    # most tables' indexes lead with the course, so a person-first read would scan them whole.
    return sa.or_(*(sa.exists().where(table.c.course_id == Course.id, table.c.person_id == person_id)
                    for table in (_person_tables() if tables is None else tables)))


def _forget_launches_naming(person: Person | None) -> int:
    """Delete the launch sessions whose Data Privacy Launch names this person (details.for_user: their LMS id).

    Another teacher's or an administrator's privacy launch keeps the user id it is about; once that person's data
    is deleted, the id must not stay behind in it. Called before `_anonymise_if_unenrolled` changes the sub (and
    by it). The launcher opens the privacy page again from the LMS if they need it.
    """
    if person is None or not person.sub or person.sub.startswith(ANONYMISED_SUB):
        return 0
    named = LaunchSession.details[("for_user", "user_id")].as_string() == person.sub
    return db.session.execute(
        sa.delete(LaunchSession).where(LaunchSession.platform_id == person.platform_id,
                                       LaunchSession.message_type == DATA_PRIVACY, named)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def _file_keys(course_id: int, person_id: int | None = None) -> list[str]:
    """Return the stored evidence files of a course (or of one person in it), to delete once their rows are gone."""
    query = sa.select(Evidence.file_key).where(Evidence.course_id == course_id, Evidence.file_key.is_not(None))
    if person_id is not None:
        query = query.where(Evidence.person_id == person_id)
    return list(db.session.scalars(query))


def _unsent_grades(where: sa.ColumnElement[bool], now: datetime) -> tuple[int, int]:
    """Return (waiting, being sent) among the unsent grade posts `where` selects, as a deletion finds them.

    A post under a worker's lease that has not run out is being sent: the worker drops it if its row is gone just
    before it posts (jobs/worker.py), but one already on its way cannot be called back.
    """
    sending = sa.and_(ScoreOutbox.lease_token.is_not(None), ScoreOutbox.lease_expires_at > now)
    total, in_flight = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((sending, 1), else_=0)), 0))
        .where(where, ScoreOutbox.status == PENDING)
    ).one()
    return total - in_flight, in_flight


# ---- lock order -------------------------------------------------------------------------------------------
#
# Every deletion here (a student's, a person's in several courses, a course's, the retention purge of many
# courses, the anonymising of people with no course) locks in this one order on PostgreSQL, and each level in
# id order:
#   1. per course, in course id order: its content row, then its learners' "*" rows (by person);
#   2. the people (`_lock_people`), all of them after every course's learners;
#   3. the course rows (`_course_gone`; `_held_course` under a learner row a deletion makes), in course id order;
# and only then strengthens what it holds (a course's DELETE, the new `sub` of a person anonymised).
# A transaction that spans several courses takes level 1 for all of them before level 2. The purge locked
# course by course instead, holding one course's people while it waited for the next course's learners: a
# teacher deleting a student of that next course held the student's learner row there and waited for the
# student, a deadlock that threw away the purge's whole run or the teacher's deletion (a 500). Writers take
# their learner's row first and lock no person (services/mastery.py); a launch holds its person FOR SHARE and
# then writes its course (services/launches.py), so people come before course rows. SQLite has one writer at a
# time (`lock_database_for_writing`) and needs none of it.

def _lock_people(person_ids: list[int]) -> None:
    """Lock these people (PostgreSQL; level 2 of the lock order above, in id order) before their rows go.

    A launch holding one of them (FOR SHARE, services/launches.py) commits first; locked only when anonymising,
    the deletion would hold the enrolment that launch goes on to update while waiting for the person it holds: a
    deadlock, which aborted the launch. FOR NO KEY UPDATE, not FOR UPDATE: a row inserted that names the person
    (FOR KEY SHARE on it: an answer in flight, a write in another course) neither waits for the deletion nor holds
    it up. Nothing to do on SQLite (the caller holds the write lock).
    """
    if person_ids and not lock_database_for_writing():
        db.session.execute(sa.select(Person.id).where(Person.id.in_(id_list(sorted(person_ids))))
                           .order_by(Person.id).with_for_update(key_share=True))


def _lock_learner(course_ids: list[int], person_id: int, now: datetime) -> list[int]:
    """Lock one person's learner rows in these courses (by id), then the person; return the courses still there.

    As every writer of their rows takes that lock: a write already under way commits before this reads what to
    delete, and one after it finds the enrolment gone and refuses (mastery._require_enrolled). A learner row not
    there (nothing written yet, or the course deleted while this waited for it) is made only once the person is
    locked, under a lock on the course (level 3): made first, its foreign key held the course while this waited
    for the person, whom a deletion of that course held while it waited to delete the course, a deadlock.
    """
    missing = [course_id for course_id in course_ids if not lock_learner_row_if_there(course_id, person_id)]
    _lock_people([person_id])
    gone = [course_id for course_id in missing if not _held_course(course_id)]
    for course_id in missing:
        if course_id not in gone:
            lock_learner_row(course_id, person_id, now, enrolled=False)
    return [course_id for course_id in course_ids if course_id not in gone]


def _held_course(course_id: int) -> bool:
    """Tell whether the course is still there, and keep it so (FOR KEY SHARE, as a row naming it would)."""
    return db.session.scalar(sa.select(Course.id).where(Course.id == course_id)
                             .with_for_update(read=True, key_share=True)) is not None


def _erase_person_in_course(course_id: int, person_id: int) -> int:
    """Delete every row of one person in one course; return how many."""
    rows = 0
    for table in _person_tables():
        result = db.session.execute(
            sa.delete(table).where(table.c.course_id == course_id, table.c.person_id == person_id)
        )
        rows += result.rowcount or 0
    return rows


def _erase_student_in_course(course_id: int, person_id: int, now: datetime) -> tuple[int, int, int]:
    """Delete every row of one person in one course; return (rows deleted, grade posts cancelled, being sent)."""
    pending, in_flight = _unsent_grades(
        sa.and_(ScoreOutbox.course_id == course_id, ScoreOutbox.person_id == person_id), now)
    return _erase_person_in_course(course_id, person_id), pending, in_flight


def _lock_course(course_id: int) -> list[int]:
    """Lock what deleting the course deletes, in the order of the other writers; return its people (by id)."""
    return _lock_courses([course_id])[course_id]


def _lock_courses(course_ids: list[int], others: Iterable[int] = ()) -> dict[int, list[int]]:
    """Lock what deleting these courses deletes (levels 1 and 2 of the lock order), and with their people these
    `others`; return each course's people."""
    # SQLite: the write lock first, so no launch enrols anyone in the courses between this read and the deletes.
    if not lock_database_for_writing():
        # PostgreSQL, before any row goes and in the order of the other writers: the content (a refit locks it,
        # then the class's mastery rows), then every learner as a class-wide publish does (an answer in flight
        # holds its learner and commits first; it used to wait for its person below while this waited for its
        # rows: a deadlock, and one of the two lost its work), and every course's before the people.
        for course_id in sorted(course_ids):
            db.session.execute(sa.select(CourseContent.course_id).where(CourseContent.course_id == course_id)
                               .with_for_update())
            lock_learners(course_id)
    people = {course_id: list(db.session.scalars(sa.select(Enrollment.person_id)
                                                 .where(Enrollment.course_id == course_id)
                                                 .order_by(Enrollment.person_id)))
              for course_id in course_ids}
    _lock_people(sorted({*others, *(person_id for members in people.values() for person_id in members)}))
    return people


def _course_gone(course_id: int) -> bool:
    """Tell whether the course's row is gone, read under `_lock_course`'s locks: another deletion (a double click,
    another tab, another purge) that held them first deleted it, and there is nothing left to delete or to log.

    PostgreSQL: the course's row is locked too (FOR NO KEY UPDATE, last, where the deletion's DELETE would take it).
    A course with no content, learner or person row (a course opened and left, whose teacher's data an
    administrator deleted) gives `_lock_course` nothing to wait on: two purges both found it there, each held it
    FOR SHARE (`_used_since`) and waited to delete it for the other, a deadlock that threw one run away. FOR NO KEY
    UPDATE, not FOR UPDATE: a row being inserted that names the course (FOR KEY SHARE) is not held up by it.
    """
    return db.session.scalar(sa.select(Course.id).where(Course.id == course_id)
                             .with_for_update(key_share=True)) is None


def _used_since(course_id: int, cutoff: datetime) -> bool:
    """Tell whether the course was launched at or after `cutoff`, judged under `_lock_course`'s locks.

    The retention purge asks after locking: a course launched after the purge listed it is kept, not deleted under
    the student's feet.
    """
    # FOR SHARE, on the row whatever its time (a WHERE on the time would skip the old version and lock nothing): a
    # launch that stamped the course and has not committed (someone not yet enrolled, whom the people lock does not
    # wait for) commits first, and its time is read.
    last_used = db.session.scalar(sa.select(_last_used(Course)).where(Course.id == course_id)
                                  .with_for_update(read=True))
    return last_used is not None and last_used >= cutoff


def _delete_course_rows(course_id: int, now: datetime) -> tuple[int, int, int]:
    """Delete a locked course and everything in it; return (rows deleted, grades cancelled, being sent)."""
    pending, in_flight = _unsent_grades(ScoreOutbox.course_id == course_id, now)
    placements = sa.select(Placement.id).where(Placement.course_id == course_id)
    rows = db.session.execute(sa.delete(SkillLineItem).where(SkillLineItem.placement_id.in_(placements))).rowcount or 0
    for table in _course_tables():
        rows += db.session.execute(sa.delete(table).where(table.c.course_id == course_id)).rowcount or 0
    rows += db.session.execute(sa.delete(Course).where(Course.id == course_id)).rowcount or 0
    return rows, pending, in_flight


# ---- export -----------------------------------------------------------------------------------------------

def _rows(model: Any, course_id: int, person_id: int, order: Any) -> list[Any]:
    return list(db.session.scalars(
        sa.select(model).where(model.course_id == course_id, model.person_id == person_id).order_by(order, model.id)
    ))


def _evidence_file(e: Evidence) -> dict[str, Any] | None:
    """Return an attached file for an export: its name, type, size and the file itself (base64)."""
    if not e.file_key:
        return None
    try:
        content = base64.b64encode(evidence_store().open(e.file_key)).decode("ascii")
    except FileNotFoundError:
        content = None
    return {"name": e.file_name, "content_type": e.file_type, "bytes": e.file_size, "content_base64": content}


def _why(e: MasteryEvent) -> dict[str, str | None]:
    """Return why a level changed, as the student was told, and for an override the teacher's private note.

    The private note (docs/privacy.md, "Teachers' private notes") is in the student's own export: it is kept in
    Pathways where every teacher of the course reads it, so under FERPA it is part of the education record (not
    a "sole possession" note), and under the GDPR it is personal data about the student, who has the right of
    access. It is labelled as what it is, apart from the note the teacher wrote for the student.
    """
    if e.source != "override":
        return {"reason": e.reason, "note_to_student": e.student_note, "teacher_private_note": None}
    shown = OVERRIDE_NOTE % {"note": e.student_note} if e.student_note else OVERRIDE_REASON
    return {"reason": shown, "note_to_student": e.student_note, "teacher_private_note": e.reason or None}


def _launches(course_id: int, person_id: int) -> list[dict[str, Any]]:
    """Return the person's launch sessions kept in the course: when, which kind, the language, custom parameters.

    Only what the session keeps (lti/claims.py KEPT_CUSTOM for custom parameters); ended sessions go after
    LAUNCH_SESSION_KEEP_DAYS (jobs/worker.py).
    """
    return [
        {"at": _iso(launch.created_at), "ends_at": _iso(launch.expires_at), "message_type": launch.message_type,
         "access": launch.access, "locale": (launch.details or {}).get("locale"),
         "custom_parameters": dict((launch.details or {}).get("custom") or {})}
        for launch in _rows(LaunchSession, course_id, person_id, LaunchSession.created_at)
    ]


def _access_log(course_id: int, person_id: int) -> list[dict[str, Any]]:
    """Return who viewed, exported or changed the person's records in the course: action, time, actor's role.

    The recipients of the record (GDPR art. 15(1)(c)) and FERPA's record of disclosures (34 CFR 99.32), from the
    audit log. Roles, not names: the log keeps ids only, and another person's name is not the subject's data.
    """
    rows = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.at, AuditEntry.actor_id, Enrollment.role)
        .outerjoin(Enrollment, sa.and_(Enrollment.course_id == AuditEntry.course_id,
                                       Enrollment.person_id == AuditEntry.actor_id))
        .where(AuditEntry.course_id == course_id, AuditEntry.subject_id == person_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    return [
        {"action": action, "at": _iso(at),
         "by": "administrator" if actor_id is None else "self" if actor_id == person_id else role or "former member"}
        for action, at, actor_id, role in rows
    ]


def _course_record(course: Course, person_id: int, columns: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """Return everything Pathways holds about one person in one course.

    `columns`: each grade's (placement title, skill id) are added to it, in grades_for_lms's order, for the
    readable page to name its gradebook column (privacy_words) without reading the grades again.
    """
    pack = course_pack(course.id)
    names = {skill.id: skill.name for skill in pack.skills} if pack else {}

    def skill(skill_id: str) -> dict[str, str]:
        return {"skill_id": skill_id, "skill": "All skills" if skill_id == "*" else names.get(skill_id, skill_id)}

    enrollment = db.session.scalars(
        sa.select(Enrollment).where(Enrollment.course_id == course.id, Enrollment.person_id == person_id)
    ).first()
    grades = db.session.execute(
        sa.select(ScoreOutbox, Placement.title).join(Placement, Placement.id == ScoreOutbox.placement_id)
        .where(ScoreOutbox.course_id == course.id, ScoreOutbox.person_id == person_id)
        .order_by(ScoreOutbox.score_timestamp, ScoreOutbox.id)
    ).all()
    if columns is not None:
        columns += [(title, o.skill_id) for o, title in grades]
    return {
        "course": {"context_id": course.context_id, "title": course.title, "label": course.label},
        "enrollment": None if enrollment is None else {
            "role": enrollment.role, "lti_roles": enrollment.lti_roles, "active": enrollment.active,
            "last_launch_at": _iso(enrollment.last_launch_at),
        },
        "current_levels": [
            {**skill(r.skill_id), "level": r.level, "reason": r.reason, "overridden": r.overridden,
             "updated_at": _iso(r.updated_at), "model_state": r.state}
            for r in _rows(SkillMastery, course.id, person_id, SkillMastery.skill_id)
        ],
        "mastery_history": [
            {**skill(e.skill_id), "old_level": e.old_level, "new_level": e.new_level, "source": e.source,
             **_why(e), "by": "teacher" if e.actor_id else "Pathways", "at": _iso(e.at)}
            for e in _rows(MasteryEvent, course.id, person_id, MasteryEvent.at)
        ],
        "responses": [
            {"item_id": r.item_id, "skill_ids": r.skill_ids, "answer": r.answer, "correct": r.correct,
             "hints_used": r.hints_used, "source": r.source, "counted_for_mastery": r.credited,
             "answered_at": _iso(r.answered_at)}
            for r in _rows(ItemResponse, course.id, person_id, ItemResponse.answered_at)
        ],
        "questions_served": [
            {**skill(s.skill_id), "item_id": s.item_id, "parameters": s.params, "source": s.source,
             "hints_shown": s.hints_shown, "counted_for_mastery": s.credit,
             "served_at": _iso(s.served_at), "answered_at": _iso(s.answered_at), "correct": s.correct}
            for s in _rows(ServedItem, course.id, person_id, ServedItem.served_at)
        ],
        "help_requests": [
            {**skill(h.skill_id), "asked_at": _iso(h.asked_at), "resolved_at": _iso(h.resolved_at)}
            for h in _rows(HelpRequest, course.id, person_id, HelpRequest.asked_at)
        ],
        "assigned_by_teacher": [
            {**skill(a.skill_id), "due_on": _iso(a.due_on), "assigned_at": _iso(a.assigned_at)}
            for a in _rows(SkillAssignment, course.id, person_id, SkillAssignment.assigned_at)
        ],
        "goals": [
            {"title": g.title, "why": g.why, "by_date": _iso(g.by_date), "skill_ids": g.skill_ids, "done": g.done,
             "created_at": _iso(g.created_at)}
            for g in _rows(StudentGoal, course.id, person_id, StudentGoal.created_at)
        ],
        "reflections": [
            {"prompt": r.prompt, "text": r.text, "written_at": _iso(r.written_at)}
            for r in _rows(Reflection, course.id, person_id, Reflection.written_at)
        ],
        "evidence": [
            {**skill(e.skill_id), "kind": e.kind, "url": e.url, "text": e.text, "status": e.status,
             "level_awarded": e.level_awarded, "teacher_comment": e.teacher_comment,
             "submitted_at": _iso(e.submitted_at), "reviewed_at": _iso(e.reviewed_at),
             "file": _evidence_file(e)}
            for e in _rows(Evidence, course.id, person_id, Evidence.submitted_at)
        ],
        "family_report_comment": [
            {"text": c.text, "by": "teacher", "updated_at": _iso(c.updated_at)}
            for c in _rows(ReportComment, course.id, person_id, ReportComment.updated_at)
        ],
        "review_schedule": [
            {**skill(r.skill_id), "due_at": _iso(r.due_at), "card": r.card}
            for r in _rows(ReviewSchedule, course.id, person_id, ReviewSchedule.due_at)
        ],
        "placement_checks": [
            {"started_at": _iso(d.started_at), "finished_at": _iso(d.finished_at), "state": d.state,
             "baseline": d.baseline}
            for d in _rows(DiagnosticRun, course.id, person_id, DiagnosticRun.started_at)
        ],
        # Not due_digest: a hash of the due skill ids the grade was worked out on, only for the worker to compare.
        # It holds nothing of the student's beyond what is here already (the comment says how many skills, and
        # assigned_by_teacher and the course's goals say which), and read by a person it says nothing.
        "grades_for_lms": [
            {"skill_id": o.skill_id, "score_given": o.score_given, "score_maximum": o.score_maximum,
             "activity_progress": o.activity_progress, "grading_progress": o.grading_progress,
             "comment": o.comment, "status": o.status, "score_timestamp": _iso(o.score_timestamp),
             "synced_at": _iso(o.synced_at),
             # The LMS's answer to the latest failed attempt, as the teacher's grade page shows it.
             "lms_answer": None if o.last_status is None and not o.last_error else {
                 "http_status": o.last_status, "message": o.last_error}}
            for o, _title in grades
        ],
        "launches": _launches(course.id, person_id),
        "access_log": _access_log(course.id, person_id),
    }


def _person_document(person: Person, courses: Iterable[Course], now: datetime,
                     columns: list[list[tuple[str, str]]] | None = None) -> dict[str, Any]:
    """Return the person's export; `columns` (if given) gets one list per course (see _course_record)."""
    if columns is not None:
        columns[:] = [[] for _course in courses]
    platform = db.session.get(Platform, person.platform_id)
    return {
        "format": PERSON_FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": now.isoformat(),
        "person": {"platform": platform.issuer if platform else None, "user_id": person.sub, "name": person.name,
                   "email": person.email},
        "courses": [_course_record(course, person.id, None if columns is None else columns[n])
                    for n, course in enumerate(courses)],
    }


def _enrolled_courses(person_id: int, where: Any) -> list[Course]:
    """Return the courses (matching `where`) in which the person has any row, enrolled or not.

    Not only through Enrollment: a row written for a person whose enrolment is gone (before writers re-checked
    it under the learner's lock) must still be found by an export or an erase. The union over every person
    table (`_person_tables`, read from the schema) finds it. A privacy or Deep Linking launch's own placeholder
    course holds only that launch's session (and a picker's placements), not data about anyone: no course of theirs.
    Nor is the shared stand-in course older versions made (LEGACY_SHARED_CONTEXT) where the person has only an
    enrolment and launch sessions (opening a privacy page or a picker once): it counts only where it holds
    something more of theirs (a level, an answer …), which their right of access covers.
    """
    learning = [table for table in _person_tables()
                if table.name not in (Enrollment.__tablename__, LaunchSession.__tablename__)]
    return list(db.session.scalars(
        sa.select(Course).where(where, ~placeholder_course(Course.context_id),
                                _holds_rows_of(person_id),
                                sa.or_(Course.context_id != LEGACY_SHARED_CONTEXT, _holds_rows_of(person_id, learning)))
        .order_by(Course.id)
    ))


def export_student(launch: LaunchSession, person_id: int | None, *, now: datetime) -> dict[str, Any]:
    """Return one person's data in the launch's course: the launch's own person, or (teachers) a student."""
    return _export_student(launch, person_id, now)[0]


def read_student_export(launch: LaunchSession, person_id: int | None, *, now: datetime,
                        language: str) -> ReadableExport:
    """Return `export_student`'s document with what its readable page shows beside it, in `language`."""
    columns: list[list[tuple[str, str]]] = []
    document, person_id, courses = _export_student(launch, person_id, now, columns)
    return readable(document, courses, person_id, language, reader_id=launch.person_id, columns=columns)


def _export_student(launch: LaunchSession, person_id: int | None, now: datetime,
                    columns: list[list[tuple[str, str]]] | None = None) -> tuple[dict[str, Any], int, list[Course]]:
    if person_id is None or person_id == launch.person_id:
        person_id = launch.person_id
    else:
        _require_teacher(launch)
        require(actor_of(launch), Action.EXPORT_STUDENT_DATA)
        _student_enrollment(launch.course_id, launch.platform_id, person_id)
    person = db.session.get(Person, person_id)
    document = _person_document(person, [launch.course], now, columns)
    _audit(launch.platform_id, launch.course_id, launch.person_id, person_id, "export", now)
    db.session.commit()
    return document, person_id, [launch.course]


def course_students(launch: LaunchSession) -> list[StudentRow]:
    """Return the course's students, active or not, for the teacher's privacy page."""
    _require_teacher(launch)
    rows = db.session.execute(
        sa.select(Person.id, Person.name, Enrollment.active).join(Enrollment, Enrollment.person_id == Person.id)
        .where(Enrollment.course_id == launch.course_id, Enrollment.role == "student",
               Person.platform_id == launch.platform_id)
        .order_by(Enrollment.active.desc(), Person.name, Person.id)
    )
    return [StudentRow(pid, name or "", bool(active)) for pid, name, active in rows]


def student_name(launch: LaunchSession, person_id: int) -> str:
    """Return a student's display name for the delete form (teachers, this course only)."""
    _require_teacher(launch)
    return _student_enrollment(launch.course_id, launch.platform_id, person_id).person.name or ""


def export_course(launch: LaunchSession, *, now: datetime) -> dict[str, Any]:
    """Return the course pack and every student's records in one JSON document (teachers)."""
    _require_teacher(launch)
    require(actor_of(launch), Action.EXPORT_COURSE_DATA)
    course = launch.course
    content = course_content(course.id)
    members = db.session.execute(
        sa.select(Person, Enrollment).join(Enrollment, Enrollment.person_id == Person.id)
        .where(Enrollment.course_id == course.id, Person.platform_id == launch.platform_id)
        .order_by(Enrollment.role.desc(), Person.name, Person.id)
    ).all()
    document = {
        "format": COURSE_FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": now.isoformat(),
        "course": {"context_id": course.context_id, "title": course.title, "label": course.label},
        "pack": content.pack if content else None,
        "members": [
            {"user_id": p.sub, "name": p.name, "email": p.email, "role": e.role, "lti_roles": e.lti_roles,
             "active": e.active}
            for p, e in members
        ],
        "students": [
            {"user_id": p.sub, "name": p.name, **_course_record(course, p.id)}
            for p, e in members if e.role == "student"
        ],
    }
    _audit(launch.platform_id, course.id, launch.person_id, None, "export_course", now)
    db.session.commit()
    return document


# ---- delete -----------------------------------------------------------------------------------------------

def delete_student(launch: LaunchSession, person_id: int, *, confirmed: bool, now: datetime) -> Deletion:
    """Delete everything a student has in the launch's course (teachers; the form must be confirmed)."""
    _require_teacher(launch)
    require(actor_of(launch), Action.DELETE_STUDENT_DATA)
    enrollment = _enrollment_to_delete(launch.course_id, launch.platform_id, person_id)
    if not confirmed:
        raise ServiceError(N_("Tick the box to confirm that this student's data should be deleted."))
    name = enrollment.person.name or ""
    platform_id, course_id, actor_id = launch.platform_id, launch.course_id, launch.person_id
    deployment_id = launch.deployment_id

    def erase() -> Deletion:
        # The learner's lock, then the person, as every deletion (see "lock order"): a launch holding them goes
        # first. A deletion of the whole course (a teacher's, the purge) that went first leaves nothing to delete.
        if not _lock_learner([course_id], person_id, now):
            db.session.rollback()
            raise NotFound(COURSE_GONE)
        # Read again under the locks: a double-clicked delete that waited for the first one finds the student gone
        # and says so, rather than delete nothing and log a second deletion.
        _enrollment_to_delete(course_id, platform_id, person_id)
        files = _file_keys(course_id, person_id)
        typed = held_for(course_id, person_id)
        rows, pending, in_flight = _erase_student_in_course(course_id, person_id, now)
        _forget_launches_naming(db.session.get(Person, person_id))
        anonymised = _anonymise_if_unenrolled([person_id], deployment_id)
        _audit(platform_id, course_id, actor_id, person_id, "delete_student", now)
        # Files go first: a store that fails stops the deletion (StoreUnavailable, rolled back, a 503 to try
        # again) rather than leave files no row names. A commit failing after it leaves rows whose file reads as
        # missing.
        delete_files(files)
        db.session.commit()
        # After the commit, and only tidying: the launch sessions gone, nothing can read these any more.
        forget(typed)
        return Deletion(courses=1, rows=rows, pending_grades=pending, anonymised=anonymised, subject_name=name,
                        in_flight=in_flight)

    return _again_after_deadlock(erase)


def _again_after_deadlock(erase: Callable[[], Deletion]) -> Deletion:
    """Run a deletion, and once more if PostgreSQL chose it as a deadlock's victim.

    An answer claims its question and then takes the learner's lock; a delete holds that lock and then deletes
    the question: PostgreSQL aborts one of the two. When it is the delete (nothing was deleted, no file either:
    files go just before the commit), the answer has committed by the time it runs again, and its rows go too.
    """
    try:
        return erase()
    except sa.exc.OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != DEADLOCK_DETECTED:
            raise
        db.session.rollback()
        return erase()


DEADLOCK_DETECTED = "40P01"  # PostgreSQL's SQLSTATE for a transaction aborted to break a deadlock


def delete_course(launch: LaunchSession, *, typed_title: str, now: datetime) -> Deletion:
    """Delete the launch's course and everything in it (teachers; the course title must be typed)."""
    _require_teacher(launch)
    require(actor_of(launch), Action.DELETE_COURSE_DATA)
    course = launch.course
    if " ".join(typed_title.split()).casefold() != " ".join(course.title.split()).casefold():
        raise ServiceError(N_("Type the course title exactly as shown to confirm."))
    platform_id, course_id, actor_id, title = launch.platform_id, course.id, launch.person_id, course.title
    # The files are listed under the course's locks: an upload committed before them is named, one after waits.
    people = _lock_course(course_id)
    # Read again under the locks: the second of a double click (or another tab, another teacher) waited for the
    # first, which deleted it all. It used to delete nothing, log a second deletion and report the course removed.
    if _course_gone(course_id):
        db.session.rollback()
        raise AlreadyDeleted(N_("This course's data was already deleted, by an earlier click or another tab: there "
                                "was nothing more to delete."))
    files = _file_keys(course_id)
    typed = held_for(course_id)
    rows, pending, in_flight = _delete_course_rows(course_id, now)
    anonymised = _anonymise_if_unenrolled(people, launch.deployment_id)
    _audit(platform_id, course_id, actor_id, None, "delete_course", now)
    delete_files(files)  # before the commit, as in delete_student
    db.session.commit()
    forget(typed)  # as in delete_student
    return Deletion(courses=1, rows=rows, pending_grades=pending, anonymised=anonymised, subject_name=title,
                    in_flight=in_flight)


# ---- LTI Data Privacy Launch ------------------------------------------------------------------------------

def _privacy_subject(launch: LaunchSession) -> Person | None:
    """Return the person a Data Privacy Launch is about (its for_user claim); students only about themselves."""
    if launch.message_type != DATA_PRIVACY:
        raise NotFound(N_("This page opens from your LMS's data privacy controls."))
    user_id = ((launch.details or {}).get("for_user") or {}).get("user_id")
    if not isinstance(user_id, str) or not user_id:
        return launch.person
    if launch.access != "teacher" and user_id != launch.person.sub and not _deployment_admin(launch):
        raise Forbidden(N_("You can only see your own data."))
    return db.session.scalars(
        sa.select(Person).where(Person.platform_id == launch.platform_id, Person.sub == user_id)
    ).first()


def _deployment_admin(launch: LaunchSession) -> bool:
    """Tell whether the launch came from an institution or system Administrator (lti/roles.py)."""
    return bool((launch.details or {}).get(DEPLOYMENT_ADMIN))


def _privacy_courses(launch: LaunchSession, person: Person) -> list[Course]:
    # The person's own data, or an administrator's request: every course of the launch's deployment.
    return _enrolled_courses(person.id, Course.deployment_id == launch.deployment_id)


def _taught_courses(launch: LaunchSession, person: Person, action: Action) -> list[Course]:
    """Return the courses of the deployment where the launcher may do `action` to this person as their teacher.

    What the launch's roles say does not count here (a privacy launch has no course, and the launcher's LMS
    roles may come from anywhere): the launcher's own active teacher enrolment in each course does, with the
    role table deciding for the role they hold there, and the person must be a student of that course (as in a
    course's own privacy page). The shared stand-in course of launches without a context, which older versions
    made, grants nothing, nor does a placeholder (which has no enrolment anyway).
    """
    teaching = db.session.execute(
        sa.select(Enrollment.course_id, Enrollment.lti_roles).join(Course, Course.id == Enrollment.course_id)
        .where(Enrollment.person_id == launch.person_id, Enrollment.role == "teacher", Enrollment.active.is_(True),
               Course.deployment_id == launch.deployment_id, Course.context_id != LEGACY_SHARED_CONTEXT,
               ~placeholder_course(Course.context_id))
    ).all()
    allowed = [course_id for course_id, labels in teaching
               if may(Actor(launch.person_id, stored_course_role(labels)), action)]
    if not allowed:
        return []
    return list(db.session.scalars(
        sa.select(Course).join(Enrollment, Enrollment.course_id == Course.id)
        .where(Enrollment.person_id == person.id, Enrollment.role == "student", Course.id.in_(allowed))
        .order_by(Course.id)
    ))


def _not_yours() -> Forbidden:
    # The same refusal for a person the launcher teaches nowhere and for an unknown one: it must not tell a
    # teacher whether someone they do not teach uses Pathways.
    return Forbidden(N_("Through your LMS's data privacy controls you can reach another person's data only in "
                        "courses where you teach them and your role allows it, or as an administrator of the LMS."))


def _someone_elses_courses(launch: LaunchSession, person: Person | None, action: Action) -> list[Course]:
    """Return the courses where a teacher's privacy launch may do `action` to another person's data, or refuse."""
    courses = _taught_courses(launch, person, action) if person is not None else []
    if not courses:
        raise _not_yours()
    return courses


def privacy_overview(launch: LaunchSession) -> PrivacyOverview:
    """Return what the privacy page shows for this launch."""
    actor = actor_of(launch)
    if launch.message_type == DATA_PRIVACY:
        person = _privacy_subject(launch)
        own = person is not None and person.id == launch.person_id
        if own or _deployment_admin(launch):
            courses = _privacy_courses(launch, person) if person else []
            return PrivacyOverview(
                mode="user", subject_name=person.name if person else "", course_title="",
                can_delete=launch.access == "teacher"
                and (bool(courses) or _in_legacy_shared_course(person, launch.deployment_id))
                and may(actor, Action.DELETE_STUDENT_DATA),
                can_export=own or may(actor, Action.EXPORT_STUDENT_DATA), course_count=len(courses),
                subject_known=person is not None, own=own,
            )
        # A teacher about someone else: only the courses they teach that person in, each as its role table says.
        exportable = _taught_courses(launch, person, Action.EXPORT_STUDENT_DATA) if person else []
        deletable = _taught_courses(launch, person, Action.DELETE_STUDENT_DATA) if person else []
        if not exportable and not deletable:
            raise _not_yours()
        return PrivacyOverview(
            mode="user", subject_name=person.name, course_title="", can_delete=bool(deletable),
            can_export=bool(exportable), course_count=len({c.id for c in exportable + deletable}), own=False,
        )
    if launch.access == "teacher":
        return PrivacyOverview(mode="teacher", subject_name=launch.person.name, course_title=launch.course.title,
                               own=False,
                               can_delete=may(actor, Action.DELETE_STUDENT_DATA),
                               can_export=may(actor, Action.EXPORT_STUDENT_DATA), students=course_students(launch))
    return PrivacyOverview(mode="student", subject_name=launch.person.name, course_title=launch.course.title,
                           can_delete=False)


def export_privacy_subject(launch: LaunchSession, *, now: datetime) -> dict[str, Any]:
    """Return the data of the user a Data Privacy Launch names: their own, or what the launcher may export."""
    return _export_privacy_subject(launch, now)[0]


def read_privacy_subject_export(launch: LaunchSession, *, now: datetime, language: str) -> ReadableExport:
    """Return `export_privacy_subject`'s document with what its readable page shows beside it, in `language`."""
    columns: list[list[tuple[str, str]]] = []
    document, person_id, courses = _export_privacy_subject(launch, now, columns)
    return readable(document, courses, person_id, language, reader_id=launch.person_id, columns=columns)


def _export_privacy_subject(launch: LaunchSession, now: datetime, columns: list[list[tuple[str, str]]] | None = None
                            ) -> tuple[dict[str, Any], int, list[Course]]:
    person = _privacy_subject(launch)
    if person is not None and person.id == launch.person_id:
        courses = _privacy_courses(launch, person)
    elif _deployment_admin(launch):
        # An institution or system Administrator speaks for the deployment: every course of it.
        require(actor_of(launch), Action.EXPORT_STUDENT_DATA)
        if person is None:
            raise NotFound(N_("Pathways holds no data about this user."))
        courses = _privacy_courses(launch, person)
    else:
        courses = _someone_elses_courses(launch, person, Action.EXPORT_STUDENT_DATA)
    document = _person_document(person, courses, now, columns)
    for course in courses:
        _audit(launch.platform_id, course.id, launch.person_id, person.id, "export", now)
    db.session.commit()
    return document, person.id, courses


def privacy_deletion_scope(launch: LaunchSession) -> tuple[Person, list[Course]]:
    """Return the person a Data Privacy Launch names and the courses this launch may delete their data in, or refuse.

    The confirmation page and the deletion ask the same question, so the page never offers what the POST refuses
    (or the other way round).
    """
    _require_teacher(launch)
    person = _privacy_subject(launch)
    if person is not None and (person.id == launch.person_id or _deployment_admin(launch)):
        require(actor_of(launch), Action.DELETE_STUDENT_DATA)
        return person, _privacy_courses(launch, person)
    if person is None and _deployment_admin(launch):
        raise NotFound(N_("Pathways holds no data about this user."))
    return person, _someone_elses_courses(launch, person, Action.DELETE_STUDENT_DATA)


def delete_privacy_subject(launch: LaunchSession, *, confirmed: bool, now: datetime) -> Deletion:
    """Delete the data of the user a Data Privacy Launch names: in every course of the deployment (their own
    data, or an administrator's request), else only where the launcher teaches them and may delete."""
    person, courses = privacy_deletion_scope(launch)
    if not confirmed:
        raise ServiceError(N_("Tick the box to confirm that this person's data should be deleted."))
    platform_id, actor_id, name = launch.platform_id, launch.person_id, person.name or ""
    return _delete_person_courses(platform_id, person.id, courses, actor_id, now, name, launch.deployment_id)


def _delete_person_courses(platform_id: int, person_id: int, courses: list[Course], actor_id: int | None,
                           now: datetime, name: str, deployment_id: int | None) -> Deletion:
    course_ids = sorted(course.id for course in courses)
    return _again_after_deadlock(lambda: _erase_person_courses(platform_id, person_id, course_ids, actor_id, now,
                                                               name, deployment_id))


def _erase_person_courses(platform_id: int, person_id: int, course_ids: list[int], actor_id: int | None,
                          now: datetime, name: str, deployment_id: int | None) -> Deletion:
    rows = pending = in_flight = 0
    files: list[str] = []
    typed: list[str] = []
    if not course_ids:
        _lock_people([person_id])
    else:
        # Every course's learner lock before reading anything to delete, then the person (see "lock order").
        # Read again under the locks: the second of a double click waited for the first, which deleted it all.
        # It used to delete nothing, log a second deletion in every course and report records removed.
        course_ids = _courses_still_holding(person_id, _lock_learner(course_ids, person_id, now))
        if not course_ids:
            db.session.rollback()  # the learner rows the locks above made
            raise AlreadyDeleted(N_("This person's data was already deleted, by an earlier click or another tab: "
                                    "there was nothing more to delete."))
    for course_id in course_ids:
        files += _file_keys(course_id, person_id)
        typed += held_for(course_id, person_id)
        course_rows, course_pending, course_in_flight = _erase_student_in_course(course_id, person_id, now)
        rows, pending, in_flight = rows + course_rows, pending + course_pending, in_flight + course_in_flight
        _audit(platform_id, course_id, actor_id, person_id, "delete_student", now)
    _forget_launches_naming(db.session.get(Person, person_id))
    anonymised = _anonymise_if_unenrolled([person_id], deployment_id)
    delete_files(files)  # before the commit, as in delete_student
    db.session.commit()
    forget(typed)  # as in delete_student
    return Deletion(courses=len(course_ids), rows=rows, pending_grades=pending, anonymised=anonymised,
                    subject_name=name, in_flight=in_flight)


def _courses_still_holding(person_id: int, course_ids: list[int]) -> list[int]:
    """Return those of the courses that still hold a row of the person, read under their locks.

    The learner-wide mastery row does not count: taking the learner's lock creates it when it is missing (as after
    a deletion), so it says nothing about what was there.
    """
    others = [table for table in _person_tables() if table.name != SkillMastery.__tablename__]
    skill_rows = sa.exists().where(SkillMastery.course_id == Course.id, SkillMastery.person_id == person_id,
                                   SkillMastery.skill_id != ALL_SKILLS)
    return list(db.session.scalars(sa.select(Course.id).where(
        Course.id.in_(course_ids), sa.or_(_holds_rows_of(person_id, others), skill_rows)).order_by(Course.id)))


# ---- administrators (CLI) ---------------------------------------------------------------------------------

def _platform_person(issuer: str, client_id: str, sub: str) -> tuple[Platform, Person]:
    platform = db.session.scalars(
        sa.select(Platform).where(Platform.issuer == issuer, Platform.client_id == client_id)
    ).first()
    if platform is None:
        raise NotFound(f"No platform is registered with issuer {issuer!r} and client id {client_id!r}.")
    person = db.session.scalars(sa.select(Person).where(Person.platform_id == platform.id, Person.sub == sub)).first()
    if person is None:
        raise NotFound(f"Pathways holds no data about user {sub!r} on this platform.")
    return platform, person


def _platform_deployment(platform: Platform, deployment_id: str | None) -> Deployment | None:
    """Return the platform's deployment with this LTI deployment id (None when none is named), or explain."""
    if deployment_id is None:
        return None
    deployment = db.session.scalars(sa.select(Deployment).where(
        Deployment.platform_id == platform.id, Deployment.deployment_id == deployment_id)).first()
    if deployment is None:
        raise NotFound(f"The platform has no deployment {deployment_id!r}.")
    return deployment


def _admin_courses(platform: Platform, person: Person, context_id: str | None,
                   deployment: Deployment | None) -> list[Course]:
    where = Course.platform_id == platform.id
    if deployment is not None:
        where = sa.and_(where, Course.deployment_id == deployment.id)
    if context_id == LEGACY_SHARED_CONTEXT:
        # Named by the operator: the old shared course is then theirs wherever it holds a row of them (an export
        # or a deletion of everything leaves it out unless it holds more than an enrolment; see _enrolled_courses).
        courses = list(db.session.scalars(sa.select(Course).where(
            where, _legacy_shared_course(None), _holds_rows_of(person.id)).order_by(Course.id)))
    elif context_id is not None:
        courses = _enrolled_courses(person.id, sa.and_(where, Course.context_id == context_id))
    else:
        courses = _enrolled_courses(person.id, where)
    if context_id is not None and not courses:
        raise NotFound(f"User {person.sub!r} has no enrolment in course {context_id!r}"
                       + (" of that deployment." if deployment is not None else "."))
    if context_id is not None and len(courses) > 1:
        # LTI makes a context id unique within a deployment only: two installations of Pathways on one platform
        # may each have a "math-7". The operator named one course; an erasure cannot be undone, so ask which.
        names = ", ".join(sorted(repr(db.session.get(Deployment, c.deployment_id).deployment_id) for c in courses))
        raise ServiceError(f"{len(courses)} courses of user {person.sub!r} have the context id {context_id!r}, one "
                           f"in each of the deployments {names}: say which with --deployment-id. Nothing was "
                           "done.")
    return courses


def export_user(issuer: str, client_id: str, sub: str, *, context_id: str | None = None,
                deployment_id: str | None = None, now: datetime) -> dict[str, Any]:
    """Return a user's data on a platform, in one course or in all of them (administrators), optionally only in
    one deployment (its LTI deployment id); a context id found in several deployments needs one."""
    platform, person = _platform_person(issuer, client_id, sub)
    courses = _admin_courses(platform, person, context_id, _platform_deployment(platform, deployment_id))
    document = _person_document(person, courses, now)
    for course in courses:
        _audit(platform.id, course.id, None, person.id, "export", now)
    db.session.commit()
    return document


def delete_user(issuer: str, client_id: str, sub: str, *, context_id: str | None = None,
                deployment_id: str | None = None, now: datetime) -> Deletion:
    """Delete a user's data on a platform, in one course or in all of them (administrators), optionally only in
    one deployment (its LTI deployment id); a context id found in several deployments needs one."""
    platform, person = _platform_person(issuer, client_id, sub)
    deployment = _platform_deployment(platform, deployment_id)
    courses = _admin_courses(platform, person, context_id, deployment)
    # The operator speaks for every deployment (or for the one named): the person's rows in the old stand-in of
    # each deployment spoken for go with them.
    return _delete_person_courses(platform.id, person.id, courses, None, now, person.name,
                                  deployment.id if deployment is not None else None)


def _last_used(course: Any) -> Any:
    """When the course was last launched, or made (the retention purge's measure of use)."""
    return sa.func.coalesce(course.last_launch_at, course.created_at)


def purge_inactive_courses(now: datetime, days: int, dry_run: bool) -> PurgeReport:
    """Delete every course with no launch for `days` days and anonymise who is left with none; 0 keeps everything.

    A dry run does all of it in the transaction, counts, and rolls it back (no file is deleted): its report is
    what a real run would do now, the people it would anonymise included, which no separate reading could
    promise (who is left without a course depends on every course deleted before, in every deployment). It
    holds the locks a real run holds while it runs (SQLite's write lock), and is as quick.
    """
    if days <= 0:
        return PurgeReport(days=days, cutoff=None, dry_run=dry_run, courses=[])
    cutoff = now - timedelta(days=days)
    rows = _idle_courses(cutoff)
    courses: list[PurgedCourse] = []
    files: list[str] = []
    typed: list[str] = []
    anonymised = 0
    # Every listed course's learners before anyone (see "lock order"), not course by course, and the people with
    # no course (anonymised at the end) with theirs: locked after the course rows, one whose launch held them (FOR
    # SHARE) and went on to stamp a course this held waited for the purge while the purge waited for it.
    people = _lock_courses([row.id for row in rows], _courseless_people(now))
    for row in rows:
        course = PurgedCourse(*row[:-1])
        # Deleted since it was listed (a purge run by hand while the worker's ran, or a teacher's deletion): not
        # purged, logged or reported a second time.
        if _course_gone(course.course_id):
            continue
        if _used_since(course.course_id, cutoff):
            continue  # launched since it was listed: in use again
        course_files = _file_keys(course.course_id)  # under the locks, as in delete_course
        typed += held_for(course.course_id)
        _delete_course_rows(course.course_id, now)
        courses.append(course)
        files += course_files
        anonymised += _anonymise_if_unenrolled(people[course.course_id], row.deployment_id, files=files)
        _audit(course.platform_id, course.course_id, None, None, "purge_course", now)
    anonymised += _anonymise_people_without_courses(now, files)
    if dry_run:
        db.session.rollback()
    else:
        delete_files(files)  # before the commit, as in delete_student: a failing store purges nothing this pass
        db.session.commit()
        forget(typed)  # as in delete_student
    return PurgeReport(days=days, cutoff=cutoff, dry_run=dry_run, courses=courses, anonymised=anonymised)


def _idle_courses(cutoff: datetime) -> list[sa.Row]:
    """List (by id, unlocked) the courses last used before `cutoff`: a PurgedCourse's fields, then the deployment."""
    students = (
        sa.select(sa.func.count()).select_from(Enrollment)
        .where(Enrollment.course_id == Course.id, Enrollment.role == "student").scalar_subquery()
    )
    return list(db.session.execute(
        sa.select(Course.id, Course.platform_id, Course.context_id, Course.title, Course.last_launch_at, students,
                  Course.deployment_id)
        .where(_last_used(Course) < cutoff)
        .order_by(Course.id)
    ).all())


def anonymise_people_without_courses(now: datetime) -> int:
    """Anonymise everyone with no course and no launch session alive or recently ended, and commit.

    The worker's housekeeping, whatever PATHWAYS_RETENTION_DAYS says: retention decides how long course data is
    kept, and these people have none (see _anonymise_people_without_courses), so with retention off (the default)
    nothing else would ever erase their name and email.
    """
    files: list[str] = []
    anonymised = _anonymise_people_without_courses(now, files)
    delete_files(files)  # before the commit, as in delete_student
    db.session.commit()
    return anonymised


def _anonymise_people_without_courses(now: datetime, files: list[str]) -> int:
    """Anonymise everyone with no enrolment at all and no launch session alive or ended within ENDED_LAUNCH_GRACE.

    A Data Privacy Launch or a Deep Linking request without a context records the person with their name but
    enrols them nowhere, so no course's purge or deletion ever reaches them: without this they would keep their
    name and email for good. A person belongs to one platform, as do the courses of their enrolments, so an
    enrolment in any course of their platform (an inactive one, the old shared stand-in) keeps them as they are.
    The grace is the placeholder clean-up's: a tab whose session just ended still says so with a link back.
    """
    # Checked again under each person's lock: a launch may have arrived since this list was read.
    return _anonymise_if_unenrolled(_courseless_people(now), None, unless_session_after=now - ENDED_LAUNCH_GRACE,
                                    files=files)


def _courseless_people(now: datetime) -> list[int]:
    """Return (by id) who is not anonymised yet and has no enrolment nor a launch session alive or ended within
    ENDED_LAUNCH_GRACE: `_anonymise_people_without_courses`'s people, to check again under their locks."""
    recent = now - ENDED_LAUNCH_GRACE
    return list(db.session.scalars(sa.select(Person.id).where(
        ~Person.sub.startswith(ANONYMISED_SUB, autoescape=True),
        ~sa.exists().where(Enrollment.person_id == Person.id),
        ~sa.exists().where(LaunchSession.person_id == Person.id, LaunchSession.expires_at > recent),
    ).order_by(Person.id)))


def _pathways_id(text: str) -> int | None:
    """Return the Pathways id `text` names, or None: "²" passes str.isdigit() and int() refuses it, and a number
    past the id columns' range is no id (PostgreSQL refuses it in a query)."""
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= LARGEST_ROW_ID:
        return int(text)
    return None


def audit_entries(*, course: str | None = None, issuer: str | None = None, client_id: str | None = None,
                  deployment_id: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """Return the newest audit entries, optionally of one platform (issuer, client id, or its Pathways id), one
    deployment, or one course (its context id, or its Pathways id); a context id that several courses have needs
    them told apart."""
    query = sa.select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(max(1, limit))
    courses = sa.select(Course.id, Platform.issuer, Platform.client_id, Deployment.deployment_id).join(
        Platform, Platform.id == Course.platform_id).join(Deployment, Deployment.id == Course.deployment_id)
    if issuer is not None and client_id is None and _pathways_id(issuer) is not None:
        # A Pathways platform id (an issuer is a URL, never a number): a removed platform's entries are found so.
        query = query.where(AuditEntry.platform_id == int(issuer))
        courses = courses.where(Platform.id == int(issuer))
    elif issuer is not None or client_id is not None:
        platforms = sa.select(Platform.id).where(
            *([Platform.issuer == issuer] if issuer is not None else []),
            *([Platform.client_id == client_id] if client_id is not None else []))
        if not db.session.scalar(sa.select(sa.exists(platforms))):
            raise NotFound("No platform is registered with that issuer and client id. A removed platform's entries "
                           "are found by its Pathways id: `pathways platform remove` printed it, and the "
                           "platform_removed entry of `pathways audit list` shows it (platform N); then give "
                           "--platform N.")
        query = query.where(AuditEntry.platform_id.in_(platforms))
        courses = courses.where(Platform.id.in_(platforms))
    if deployment_id is not None:
        courses = courses.where(Deployment.deployment_id == deployment_id)
        if course is None:
            query = query.where(AuditEntry.course_id.in_(courses.with_only_columns(Course.id)))
    if course is not None:
        # A context id is unique within a deployment only: other deployments and platforms may have a course
        # with the same one, whose entries are not the ones asked for.
        matches = db.session.execute(courses.where(Course.context_id == course).order_by(Course.id)).all()
        if len(matches) > 1:
            places = "; ".join(place_options(m.issuer, m.client_id, m.deployment_id) for m in matches)
            raise ServiceError(f"{len(matches)} courses have the context id {course!r}; say which one with: {places}")
        ids = {m.id for m in matches}
        if _pathways_id(course) is not None:
            # Deleted courses are gone from `course`; their entries are still found by id.
            ids.add(int(course))
        query = query.where(AuditEntry.course_id.in_(ids))
    return list(db.session.scalars(query))
