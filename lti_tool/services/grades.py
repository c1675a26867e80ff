"""Grades for the LMS gradebook (AGS 2.0): queue scores in an outbox, line items, sync status, read-back.

Nothing may be lost: a mastery change writes a score_outbox row in the caller's transaction, and the worker
(lti_tool.jobs.worker) posts it later with retries. Spec: https://www.imsglobal.org/spec/lti-ags/v2p0/
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa

from ..extensions import db
from ..lti import ags
from ..lti.deep_linking import MASTERY_TAG
from ..lti.services import PlatformConnector, ServiceCallError
from ..models import Course, Enrollment, Person, Placement, Platform, ScoreOutbox, SkillLineItem
from ..models.outbox import FAILED, PENDING, SUPERSEDED, SYNCED
from .errors import NotFound, ServiceError
from .roster import platform_connector

# Our line items carry this tag (and the placement's resource_id), so find_or_create finds them again.
PLACEMENT_TAG = MASTERY_TAG  # the same tag Deep Linking gives the column, so find_or_create finds it
SKILL_TAG_PREFIX = "pathways-skill:"
COMMENT_LIMIT = 250
# AGS timestamps must strictly increase per user and line item; a microsecond is the finest step we store.
TICK = timedelta(microseconds=1)
FULLY_GRADED = "FullyGraded"
PENDING_MANUAL = "PendingManual"


@dataclass(frozen=True)
class GradeSyncStatus:
    """Where one student's grade for one placement (or skill line item) stands with the LMS."""

    person_id: int
    name: str
    user_id: str
    placement_id: int
    placement_title: str
    skill_id: str
    # "synced", "pending", "failed", or "none" (nothing queued yet).
    state: str
    score_given: float | None = None
    score_maximum: float | None = None
    grading_progress: str | None = None
    # Why it failed (the platform's words), or why the last attempt of a pending row did not land.
    message: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    synced_at: datetime | None = None
    outbox_id: int | None = None


@dataclass(frozen=True)
class ResultComparison:
    """Our latest synced score next to the LMS's current result for one student."""

    person_id: int
    name: str
    user_id: str
    ours: float | None
    ours_maximum: float | None
    lms: float | None
    lms_maximum: float | None
    # True when a teacher (or anything else) changed the grade in the LMS after we posted it.
    mismatch: bool


def skills_comment(skill_names: Iterable[str]) -> str:
    """Return the short score comment naming the skills, cut to what gradebooks show."""
    names = [n for n in skill_names if n]
    if not names:
        return ""
    text = "Pathways mastery: " + ", ".join(names)
    return text if len(text) <= COMMENT_LIMIT else text[: COMMENT_LIMIT - 1] + "…"


def _latest_row(placement_id: int, skill_id: str, person_id: int) -> ScoreOutbox | None:
    return db.session.scalars(
        sa.select(ScoreOutbox)
        .where(
            ScoreOutbox.placement_id == placement_id,
            ScoreOutbox.skill_id == skill_id,
            ScoreOutbox.person_id == person_id,
        )
        .order_by(ScoreOutbox.score_timestamp.desc(), ScoreOutbox.id.desc())
        .limit(1)
    ).first()


def queue_score(
    placement_id: int,
    person_id: int,
    *,
    score_given: float,
    now: datetime,
    score_maximum: float | None = None,
    skill_names: Sequence[str] = (),
    pending_manual: bool = False,
    completed: bool = False,
    skill_id: str = "",
    basis: str = "",
) -> ScoreOutbox | None:
    """Write an outbox row for a student's new mastery score, in the caller's transaction (no commit).

    Call it in the same transaction as the mastery change, then commit both together. Returns None when
    the newest row for this student and line item already carries exactly this score (posting it again
    would change nothing). Older rows still waiting are marked superseded: only the newest is posted.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    maximum = placement.score_maximum if score_maximum is None else score_maximum
    activity = "Completed" if completed else "InProgress"
    grading = PENDING_MANUAL if pending_manual else FULLY_GRADED
    comment = skills_comment(skill_names)
    if basis:
        # What the number is made of first ("Graded on the 4 skills due so far"), then the skills reached.
        comment = f"{basis}. {comment}" if comment else basis
        comment = comment if len(comment) <= COMMENT_LIMIT else comment[: COMMENT_LIMIT - 1] + "…"
    latest = _latest_row(placement_id, skill_id, person_id)
    if (
        latest is not None
        and latest.status in (PENDING, SYNCED)
        and (latest.score_given, latest.score_maximum, latest.activity_progress, latest.grading_progress)
        == (score_given, maximum, activity, grading)
        and latest.comment == comment
    ):
        return None
    stamp = now if latest is None or latest.score_timestamp < now else latest.score_timestamp + TICK
    # A row a worker holds right now is left alone: it is posted, then this newer one overwrites it.
    db.session.execute(
        sa.update(ScoreOutbox)
        .where(
            ScoreOutbox.placement_id == placement_id,
            ScoreOutbox.skill_id == skill_id,
            ScoreOutbox.person_id == person_id,
            ScoreOutbox.status == PENDING,
            sa.or_(ScoreOutbox.lease_expires_at.is_(None), ScoreOutbox.lease_expires_at < now),
        )
        .values(status=SUPERSEDED, lease_token=None, lease_expires_at=None)
    )
    row = ScoreOutbox(
        course_id=placement.course_id,
        placement_id=placement_id,
        person_id=person_id,
        skill_id=skill_id,
        lineitem_url=placement.lineitem_url if not skill_id else None,
        score_given=score_given,
        score_maximum=maximum,
        activity_progress=activity,
        grading_progress=grading,
        comment=comment,
        score_timestamp=stamp,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        duplicate=False,
        created_at=now,
    )
    db.session.add(row)
    db.session.flush()
    return row


def connector_for_course(
    course: Course, *, secret_key: str, http: requests.Session, timeout: float
) -> PlatformConnector:
    """Return a service connector for the platform a course lives on."""
    platform = db.session.get(Platform, course.platform_id)
    if platform is None:
        raise NotFound("The platform of this course is no longer registered.")
    connector = platform_connector(platform, secret_key=secret_key, http=http, timeout=timeout)
    connector.ags_scopes = set(course.ags_scopes) if course.ags_scopes else None
    return connector


def _course_of(placement: Placement) -> Course:
    course = db.session.get(Course, placement.course_id)
    if course is None:
        raise NotFound("This course is not known to Pathways.")
    return course


def ensure_lineitem(
    placement_id: int,
    *,
    connector: PlatformConnector | None = None,
    secret_key: str = "",
    http: requests.Session | None = None,
    timeout: float = 10,
    skill_id: str = "",
) -> str:
    """Return the placement's line item URL (or a skill's), finding or creating it on the platform; commits.

    A line item from Deep Linking or the launch is used as is. Otherwise we look for one with our
    resourceId and tag (AGS 2.0 §3.2.4 filters) and create it if there is none, so repeating this is safe.
    Raises ServiceCallError when the platform cannot be reached, ServiceError when it offers no AGS.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    if not skill_id and placement.lineitem_url:
        return placement.lineitem_url
    if skill_id:
        known = db.session.scalars(
            sa.select(SkillLineItem).where(
                SkillLineItem.placement_id == placement_id, SkillLineItem.skill_id == skill_id
            )
        ).first()
        if known is not None:
            return known.lineitem_url
    course = _course_of(placement)
    if not course.lineitems_url:
        raise ServiceError("The platform did not offer its gradebook service (AGS) for this course.")
    if course.ags_scopes and ags.SCOPE_LINEITEM not in course.ags_scopes:
        raise ServiceError(
            "The LMS does not let Pathways create gradebook columns in this course. Add Pathways with "
            "Deep Linking (the LMS then creates the column), or create the column in the LMS."
        )
    if connector is None:
        if http is None:
            raise ValueError("ensure_lineitem needs a connector or an http session")
        connector = connector_for_course(course, secret_key=secret_key, http=http, timeout=timeout)
    url = ags.find_or_create_lineitem(
        connector,
        course.lineitems_url,
        resource_id=placement.resource_id,
        tag=SKILL_TAG_PREFIX + skill_id if skill_id else PLACEMENT_TAG,
        # A skill's column is named after the skill and scored 0-4 (Attempted 1 … Mastered 4) of 4.
        label=f"{placement.title} – {_skill_name(course.id, skill_id)}" if skill_id else placement.title,
        score_maximum=4.0 if skill_id else placement.score_maximum,
        resource_link_id=None if skill_id else placement.resource_link_id,
    )
    if skill_id:
        db.session.add(SkillLineItem(placement_id=placement_id, skill_id=skill_id, lineitem_url=url))
    else:
        placement.lineitem_url = url
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another worker stored the same skill's line item first; find_or_create settled on the same one.
        db.session.rollback()
    return url


def _skill_name(course_id: int, skill_id: str) -> str:
    from .content import course_pack

    pack = course_pack(course_id)
    return next((s.name for s in pack.skills if s.id == skill_id), skill_id) if pack else skill_id


def score_of(row: ScoreOutbox, user_id: str) -> ags.Score:
    """Return the AGS score an outbox row stands for."""
    return ags.Score(
        user_id=user_id,
        score_given=row.score_given,
        score_maximum=row.score_maximum,
        activity_progress=row.activity_progress,
        grading_progress=row.grading_progress,
        timestamp=row.score_timestamp,
        comment=row.comment,
    )


def retry_failed(
    course_id: int, *, now: datetime, outbox_ids: Sequence[int] | None = None, person_id: int | None = None
) -> int:
    """Put failed score rows of a course back in the queue (the teacher's "retry"); commits; returns how many.

    Only rows that are still the newest for their student and line item are retried: an older failure is
    already replaced by a newer score.
    """
    newer = sa.orm.aliased(ScoreOutbox)
    query = sa.select(ScoreOutbox).where(
        ScoreOutbox.course_id == course_id,
        ScoreOutbox.status == FAILED,
        ~sa.exists().where(
            newer.placement_id == ScoreOutbox.placement_id,
            newer.skill_id == ScoreOutbox.skill_id,
            newer.person_id == ScoreOutbox.person_id,
            newer.status != SUPERSEDED,
            newer.score_timestamp > ScoreOutbox.score_timestamp,
        ),
    )
    if outbox_ids is not None:
        query = query.where(ScoreOutbox.id.in_(list(outbox_ids)))
    if person_id is not None:
        query = query.where(ScoreOutbox.person_id == person_id)
    rows = list(db.session.scalars(query))
    for row in rows:
        row.status = PENDING
        row.attempts = 0
        row.next_attempt_at = now
        row.lease_token = None
        row.lease_expires_at = None
    db.session.commit()
    return len(rows)


def grade_sync_status(course_id: int) -> list[GradeSyncStatus]:
    """Return, per active student and placement (and skill line item), how their grade stands with the LMS.

    Sorted by placement title, then student name. Students with nothing queued appear with state "none".
    """
    from .placements import course_placements  # placements queues grades (through publishing): import late

    placements = course_placements(course_id)
    # Columns, not Enrollment and Person objects: the course page shows a row per student and placement.
    students = {
        person_id: (name, sub)
        for person_id, name, sub in db.session.execute(
            sa.select(Person.id, Person.name, Person.sub)
            .join(Enrollment, Enrollment.person_id == Person.id)
            .where(Enrollment.course_id == course_id, Enrollment.role == "student", Enrollment.active.is_(True))
        )
    }
    # Only each line item's newest row per student (the one shown): the outbox keeps every synced score of the
    # course's term. The person comes with it, for those who left the course since (their grades are still
    # seen to land, or not).
    newest = (
        sa.select(ScoreOutbox.id,
                  sa.func.row_number().over(
                      partition_by=(ScoreOutbox.placement_id, ScoreOutbox.skill_id, ScoreOutbox.person_id),
                      order_by=(ScoreOutbox.score_timestamp.desc(), ScoreOutbox.id.desc())).label("newest"))
        .where(ScoreOutbox.course_id == course_id, ScoreOutbox.status != SUPERSEDED)
        .subquery()
    )
    latest: dict[tuple[int, str, int], sa.Row] = {}
    for row in db.session.execute(
        sa.select(ScoreOutbox.id, ScoreOutbox.placement_id, ScoreOutbox.skill_id, ScoreOutbox.person_id,
                  ScoreOutbox.status, ScoreOutbox.score_given, ScoreOutbox.score_maximum,
                  ScoreOutbox.grading_progress, ScoreOutbox.last_error, ScoreOutbox.attempts,
                  ScoreOutbox.next_attempt_at, ScoreOutbox.synced_at, Person.name, Person.sub)
        .join(newest, sa.and_(newest.c.id == ScoreOutbox.id, newest.c.newest == 1))
        .join(Person, Person.id == ScoreOutbox.person_id)
    ):
        latest[(row.placement_id, row.skill_id, row.person_id)] = row
        students.setdefault(row.person_id, (row.name, row.sub))
    out: list[GradeSyncStatus] = []
    for placement in placements:
        keys = {(placement.id, "", person_id) for person_id in students} | {
            k for k in latest if k[0] == placement.id
        }
        for key in keys:
            name, sub = students[key[2]]
            row = latest.get(key)
            base = {
                "person_id": key[2],
                "name": name or "",  # pages say "(name not shared)" in their language
                "user_id": sub,
                "placement_id": placement.id,
                "placement_title": placement.title,
                "skill_id": key[1],
            }
            if row is None:
                out.append(GradeSyncStatus(**base, state="none"))
                continue
            out.append(
                GradeSyncStatus(
                    **base,
                    state=row.status,
                    score_given=row.score_given,
                    score_maximum=row.score_maximum,
                    grading_progress=row.grading_progress,
                    message=row.last_error if row.status != SYNCED else None,
                    attempts=row.attempts,
                    next_attempt_at=row.next_attempt_at if row.status == PENDING else None,
                    synced_at=row.synced_at,
                    outbox_id=row.id,
                )
            )
    out.sort(key=lambda s: (s.placement_title, s.skill_id, s.name.lower(), s.person_id))
    return out


def _fraction(score: float | None, maximum: float | None) -> float | None:
    if score is None or not maximum:
        return None
    return score / maximum


def compare_results(
    placement_id: int, *, secret_key: str, http: requests.Session, timeout: float, skill_id: str = ""
) -> list[ResultComparison]:
    """Read the LMS's results for a placement's line item and set them beside our latest synced scores.

    Platforms may rescale (resultMaximum differs from our scoreMaximum), so scores are compared as fractions.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    course = _course_of(placement)
    connector = connector_for_course(course, secret_key=secret_key, http=http, timeout=timeout)
    lineitem_url = ensure_lineitem(placement_id, connector=connector, skill_id=skill_id)
    try:
        results = {r.user_id: r for r in ags.read_results(connector, lineitem_url)}
    except ServiceCallError as exc:
        raise ServiceError(f"The gradebook could not be read from the platform: {ags.platform_message(exc)}") from exc
    synced: dict[int, ScoreOutbox] = {}
    for row in db.session.scalars(
        sa.select(ScoreOutbox)
        .where(
            ScoreOutbox.placement_id == placement_id,
            ScoreOutbox.skill_id == skill_id,
            ScoreOutbox.status == SYNCED,
        )
        .order_by(ScoreOutbox.score_timestamp, ScoreOutbox.id)
    ):
        synced[row.person_id] = row
    people = {p.id: p for p in db.session.scalars(sa.select(Person).where(Person.id.in_(list(synced))))}
    out = []
    for person_id, row in synced.items():
        person = people[person_id]
        result = results.get(person.sub)
        lms, lms_max = (result.result_score, result.result_maximum) if result else (None, None)
        ours_fraction, lms_fraction = _fraction(row.score_given, row.score_maximum), _fraction(lms, lms_max)
        mismatch = (ours_fraction is None) != (lms_fraction is None) or (
            ours_fraction is not None and lms_fraction is not None and abs(ours_fraction - lms_fraction) > 1e-6
        )
        out.append(
            ResultComparison(
                person_id, person.name or "", person.sub, row.score_given, row.score_maximum, lms, lms_max,
                mismatch,
            )
        )
    out.sort(key=lambda c: (c.name.lower(), c.person_id))
    return out
