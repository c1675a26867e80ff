"""Grades for the LMS gradebook (AGS 2.0): queue scores in an outbox, line items, sync status, read-back.

Nothing may be lost: a mastery change writes a score_outbox row in the caller's transaction, and the worker
(lti_tool.jobs.worker) posts it later with retries. Spec: https://www.imsglobal.org/spec/lti-ags/v2p0/
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa

from ..extensions import db
from ..learning.mastery import ALL_SKILLS
from ..lti import ags
from ..lti.deep_linking import MASTERY_TAG
from ..lti.services import SCOPE_PERMISSIONS, PlatformConnector, ServiceCallError
from ..models import Course, Enrollment, Person, Placement, Platform, ScoreOutbox, SkillLineItem, SkillMastery
from ..models.base import lock_database_for_writing
from ..models.outbox import FAILED, NOTHING_TO_CLEAR, PENDING, SUPERSEDED, SYNCED, newer_row_exists
from ..text import LABEL_LIMIT, cut
from .errors import N_, NotFound, ServiceError
from .roster import platform_connector

# Our line items carry this tag (and the placement's resource_id), so find_or_create finds them again.
PLACEMENT_TAG = MASTERY_TAG  # the same tag Deep Linking gives the column, so find_or_create finds it
SKILL_TAG_PREFIX = "pathways-skill:"
COMMENT_LIMIT = 250
# AGS timestamps must strictly increase per user and line item. Moodle keeps a score's time in whole seconds
# (gradebookservices: strtotime) and refuses (409) one not in a later second than the last, so a score follows the
# previous one for its target by at least a second, even when both changed within the same second.
SCORE_STEP = timedelta(seconds=1)
FULLY_GRADED = "FullyGraded"
PENDING_MANUAL = "PendingManual"
# A score without scoreGiven: not graded yet, a grade comes later (AGS 2.0 §3.4 gradingProgress). Posted only over a
# number of ours, to clear it.
PENDING_GRADE = "Pending"


@dataclass(frozen=True)
class GradeSyncStatus:
    """Where one student's grade for one placement (or skill line item) stands with the LMS."""

    person_id: int
    name: str
    user_id: str
    placement_id: int
    placement_title: str
    skill_id: str
    # "synced", "pending", "failed", "nothing_to_clear" (a score without a number the worker did not send: none
    # of ours was in the gradebook), or "none" (nothing queued yet).
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
    return cut(text, COMMENT_LIMIT)


@dataclass(frozen=True)
class NewScore:
    """One score to queue for a student on a placement's line item (or one skill's line item of it)."""

    placement: Placement
    person_id: int
    # None: no grade yet. Sent without scoreGiven (the cell shows ungraded, not 0) only to clear a number sent
    # before; the worker does not send it when there is none (sent_scores.nothing_to_clear).
    score_given: float | None
    score_maximum: float
    activity_progress: str
    grading_progress: str
    comment: str
    skill_id: str = ""
    # A due-so-far score's due set (learning.grading.due_digest), kept on its row for the sweep; else None.
    due_digest: str | None = None

    @property
    def target(self) -> tuple[int, str, int]:
        """The line item and student this score is for: scores for one target replace each other."""
        return (self.placement.id, self.skill_id, self.person_id)


def new_score(
    placement: Placement,
    person_id: int,
    *,
    score_given: float | None,
    score_maximum: float | None = None,
    skill_names: Sequence[str] = (),
    pending_manual: bool = False,
    completed: bool = False,
    skill_id: str = "",
    basis: str = "",
    due_digest: str | None = None,
    activity_progress: str | None = None,
) -> NewScore:
    """Return the score a mastery change gives a student on a placement (or one skill's column of it).

    `activity_progress`: the AGS 2.0 §3.4 value the levels give (learning.grading.activity_progress): Initialized for
    a student who has started none of its skills (or whose levels a teacher set back), Started, InProgress or
    Completed. Without it, Completed when `completed`, else InProgress.
    """
    comment = skills_comment(skill_names)
    if basis:
        # What the number is made of first ("Graded on the 4 skills due so far"), then the skills reached.
        comment = f"{basis}. {comment}" if comment else basis
        comment = cut(comment, COMMENT_LIMIT)
    return NewScore(
        placement=placement,
        person_id=person_id,
        score_given=score_given,
        score_maximum=placement.score_maximum if score_maximum is None else score_maximum,
        activity_progress=activity_progress or ("Completed" if completed else "InProgress"),
        grading_progress=(PENDING_MANUAL if pending_manual else FULLY_GRADED if score_given is not None
                          else PENDING_GRADE),
        comment=comment,
        skill_id=skill_id,
        due_digest=due_digest,
    )


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
    One score of `queue_scores`, whose rules these are.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    score = new_score(placement, person_id, score_given=score_given, score_maximum=score_maximum,
                      skill_names=skill_names, pending_manual=pending_manual, completed=completed,
                      skill_id=skill_id, basis=basis)
    ids = _queue([score], now=now, returning=True)
    return db.session.get(ScoreOutbox, ids[0]) if ids else None


def queue_scores(scores: Sequence[NewScore], *, now: datetime, written: list[NewScore] | None = None) -> int:
    """Write outbox rows for these scores (at most one per student and line item), in the caller's transaction.

    No commit. Returns how many rows were written; `written`, if given, gets the scores they were written for. A
    constant number of statements however many students, placements and skill columns the scores are for: the
    newest row of every target (one read), the new rows (one batched INSERT) and the older waiting rows they replace
    marked superseded (one UPDATE); and when a score found unchanged was worked out on another due set, that set
    recorded on its row (one batched UPDATE).
    """
    if len({score.target for score in scores}) != len(scores):
        raise ValueError("queue_scores takes at most one score per student and line item")
    return len(_queue(scores, now=now, returning=False, written=written)) if scores else 0


def _scope(scores: Sequence[NewScore]) -> dict[str, list]:
    """Return the statements' parameters covering every target of these scores (and at most a few more rows).

    The three lists lead the (placement, skill, person) index, so the rows are looked up, not scanned. A unit's
    placement paired with a skill outside the unit is no target: those rows are read and ignored.
    """
    return {"placement_ids": sorted({int(s.placement.id) for s in scores}),
            "skill_ids": sorted({s.skill_id for s in scores}),
            "person_ids": sorted({int(s.person_id) for s in scores})}


def _unchanged(score: NewScore, latest: sa.Row | None) -> bool:
    """True when the newest row already carries exactly this score (waiting, posted, or found to need no post).

    The due set it was worked out on is not compared: another set giving the same number and comment changes nothing
    in the gradebook, so nothing is posted, and _queue records the new set on that row (see _REDIGEST).
    """
    return (
        latest is not None
        and latest.status in (PENDING, SYNCED, NOTHING_TO_CLEAR)
        and (latest.score_given, latest.score_maximum, latest.activity_progress, latest.grading_progress)
        == (score.score_given, score.score_maximum, score.activity_progress, score.grading_progress)
        and latest.comment == score.comment
    )


def _queue(scores: Sequence[NewScore], *, now: datetime, returning: bool,
           written: list[NewScore] | None = None) -> list[int]:
    """Write the changed scores' rows and supersede the waiting rows they replace; the new ids if returning.

    Without returning, the ids are not read back and the list only counts the rows. `written` gets the scores
    whose rows were written.
    """
    latest = {(row.placement_id, row.skill_id, row.person_id): row
              for row in db.session.execute(_NEWEST_ROWS, _scope(scores))}
    rows, changed, redigested = [], [], []
    for score in scores:
        newest = latest.get(score.target)
        if _unchanged(score, newest):
            if newest.due_digest != score.due_digest:
                redigested.append({"row_id": newest.id, "digest": score.due_digest})
            continue
        changed.append(score)
        # AGS timestamps strictly increase per student and line item, by whole seconds (see SCORE_STEP).
        stamp = now if newest is None else max(now, newest.score_timestamp + SCORE_STEP)
        rows.append({
            "course_id": score.placement.course_id, "placement_id": score.placement.id, "person_id": score.person_id,
            "skill_id": score.skill_id, "lineitem_url": None if score.skill_id else score.placement.lineitem_url,
            "score_given": score.score_given, "score_maximum": score.score_maximum,
            "activity_progress": score.activity_progress, "grading_progress": score.grading_progress,
            "comment": score.comment, "due_digest": score.due_digest, "score_timestamp": stamp, "status": PENDING,
            "attempts": 0, "next_attempt_at": now, "duplicate": False, "created_at": now,
        })
    if written is not None:
        written.extend(changed)
    if redigested:
        db.session.execute(_REDIGEST, redigested)
    if not rows:
        return []
    if returning:  # queue_score's one row, to hand back
        ids = [db.session.execute(_INSERT_RETURNING, row).scalar_one() for row in rows]
    else:
        db.session.execute(_INSERT, rows)
        ids = [0] * len(rows)
    waiting = [score for score in changed if (row := latest.get(score.target)) is not None and row.status == PENDING]
    if not waiting:
        # No target had a score waiting (the worker had sent them all): nothing to supersede. (An older row whose
        # lease ran out under a newer one is never claimed; the worker's stale pass marks it.)
        return ids
    db.session.execute(_SUPERSEDE, {**_scope(waiting), "now": now})
    return ids


def lock_learners_of(row_ids: Collection[int]) -> None:
    """Take the learner locks of these outbox rows' students (services/mastery.lock_learner_row), in one order.

    Every writer that queues a score holds its student's lock from reading the target's newest time (_queue) to
    its commit. The worker takes it too before giving a row a later time: else the later time, written while such
    a writer's row was not committed yet, could rank above that newer row, and the older score would be the one
    posted. On SQLite the database's write lock does it (one writer at a time). Learners without a "*" row have no
    scores being queued to wait for.
    """
    if row_ids and not lock_database_for_writing():
        db.session.execute(_LOCK_LEARNERS_OF, {"row_ids": sorted(row_ids)})


# The statements, built once: building them (the window's subquery, the stale-row condition) cost more CPU than
# running them.
_OUTBOX = ScoreOutbox.__table__
_IN_SCOPE = sa.and_(
    # Ids are written into the statement (see models.base.id_list); the skill ids are text, so they are bound.
    _OUTBOX.c.placement_id.in_(sa.bindparam("placement_ids", type_=sa.Integer, expanding=True, literal_execute=True)),
    _OUTBOX.c.skill_id.in_(sa.bindparam("skill_ids", expanding=True)),
    _OUTBOX.c.person_id.in_(sa.bindparam("person_ids", type_=sa.Integer, expanding=True, literal_execute=True)),
)
_RANKED = (
    # What a new score is compared with: the newest row (any state) of its target.
    sa.select(_OUTBOX.c.id, _OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id, _OUTBOX.c.status,
              _OUTBOX.c.score_given, _OUTBOX.c.score_maximum, _OUTBOX.c.activity_progress,
              _OUTBOX.c.grading_progress, _OUTBOX.c.comment, _OUTBOX.c.due_digest, _OUTBOX.c.score_timestamp,
              sa.func.row_number().over(
                  partition_by=(_OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id),
                  order_by=(_OUTBOX.c.score_timestamp.desc(), _OUTBOX.c.id.desc())).label("newest"))
    .where(_IN_SCOPE)
    .subquery()
)
_NEWEST_ROWS = sa.select(_RANKED).where(_RANKED.c.newest == 1)
_INSERT = sa.insert(_OUTBOX)
_INSERT_RETURNING = sa.insert(_OUTBOX).returning(_OUTBOX.c.id)
# A score found unchanged that was worked out on another due set (a skill assigned to the student swapped for
# another, both reached): the gradebook's value stands, so nothing is posted, but its newest row now says which set
# it stands for. Re-posting it instead would send the LMS the same score again; leaving the old set would have the
# worker's sweep (publishing.requeue_if_due_changed) flag the student again every hour, for good. A row from before
# migration 0026 (no set known) gets its set the same way. One executemany for the batch.
# A row a worker holds locked right now (posting it) is skipped, not waited for, as _SUPERSEDE does: the worker
# records its rows in its own order, so waiting could deadlock with it; a skipped row gets its set at the next
# publish or sweep.
_REDIGEST = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(
        sa.select(_OUTBOX.c.id).where(_OUTBOX.c.id == sa.bindparam("row_id")).with_for_update(skip_locked=True)))
    .values(due_digest=sa.bindparam("digest"))
    .execution_options(synchronize_session=False)
)
# Every waiting row the new ones replace is now older than a row that is not superseded: one UPDATE marks them all
# (the worker's own rule for a stale row). A row a worker holds right now is left alone: it is posted, then the
# newer one overwrites it. Rows another writer has locked (a teacher's republish superseding the same rows) are
# skipped, not waited for, so two writers never wait on each other in opposite orders; the worker never posts a
# row a newer one replaces.
_SUPERSEDE = (
    sa.update(_OUTBOX)
    .where(_OUTBOX.c.id.in_(
        sa.select(_OUTBOX.c.id)
        .where(_IN_SCOPE, _OUTBOX.c.status == PENDING,
               sa.or_(_OUTBOX.c.lease_expires_at.is_(None), _OUTBOX.c.lease_expires_at < sa.bindparam("now")),
               newer_row_exists())
        .with_for_update(skip_locked=True)
        .scalar_subquery()))
    .values(status=SUPERSEDED, lease_token=None, lease_expires_at=None)
    .execution_options(synchronize_session=False)
)
# The learners' "*" rows (services/mastery._LOCK_LEARNER_ROW) of some outbox rows, locked.
_MASTERY = SkillMastery.__table__
_LOCK_LEARNERS_OF = (
    sa.select(_MASTERY.c.id)
    .join(_OUTBOX, sa.and_(_OUTBOX.c.course_id == _MASTERY.c.course_id, _OUTBOX.c.person_id == _MASTERY.c.person_id))
    .where(_OUTBOX.c.id.in_(sa.bindparam("row_ids", expanding=True)), _MASTERY.c.skill_id == ALL_SKILLS)
    .order_by(_MASTERY.c.course_id, _MASTERY.c.person_id)  # one order: two lockers of several never deadlock
    .with_for_update(of=_MASTERY)
)


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


NO_COLUMNS = ("The LMS does not let Pathways create gradebook columns in this course. Add Pathways with Deep "
              "Linking (the LMS then creates the column), create the column in the LMS, or ask an LMS administrator "
              f"to give Pathways permission to {SCOPE_PERMISSIONS[ags.SCOPE_LINEITEM]} in its tool settings (LTI "
              f"Advantage scope {ags.SCOPE_LINEITEM}).")


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
    known = _known_column(placement, skill_id)
    if known:
        return known
    course = _course_of(placement)
    may_create = _scopes_allow_column(course, skill_id)
    if connector is None:
        if http is None:
            raise ValueError("ensure_lineitem needs a connector or an http session")
        connector = connector_for_course(course, secret_key=secret_key, http=http, timeout=timeout)
    may_create = _granted_column(connector, skill_id, may_create)
    tag = _column_tag(skill_id)
    if may_create:
        url = ags.find_or_create_lineitem(
            connector,
            course.lineitems_url,
            resource_id=placement.resource_id,
            tag=tag,
            # A skill's column is named after the skill and scored 0-4 (Attempted 1 … Mastered 4) of 4.
            label=column_title(course.id, placement.title, skill_id),
            score_maximum=4.0 if skill_id else placement.score_maximum,
            resource_link_id=None if skill_id else placement.resource_link_id,
        )
    else:
        # Read-only (Moodle's "grade sync only"): the column the LMS made from our Deep Linking line item
        # carries our resourceId and tag, so it is found before any launch of that link names it.
        url = ags.find_lineitem(connector, course.lineitems_url, placement.resource_id, tag)
        if url is None:
            raise ServiceError(NO_COLUMNS)
    if skill_id:
        db.session.add(SkillLineItem(placement_id=placement_id, skill_id=skill_id, lineitem_url=url))
    elif not db.session.execute(sa.update(Placement).where(Placement.id == placement_id).values(lineitem_url=url)
                                ).rowcount:
        # The placement went while the LMS was asked (its course's data deleted in another tab): set on the loaded
        # row, the address met no row at the commit (StaleDataError, a 500 page). There is nothing to keep it for.
        # No rollback: nothing is written, and it would expire the launch, which went with the course (as in
        # content._lock_course_for_import); the request's end ends the transaction.
        raise NotFound("This placement is not known to Pathways.")
    try:
        db.session.commit()
    except sa.exc.IntegrityError:
        # Another worker stored the same skill's line item first; find_or_create settled on the same one.
        db.session.rollback()
    return url


def _known_column(placement: Placement, skill_id: str) -> str | None:
    """Return the line item URL we keep for the placement (or its skill), if any."""
    if not skill_id:
        return placement.lineitem_url
    return db.session.scalars(
        sa.select(SkillLineItem.lineitem_url).where(
            SkillLineItem.placement_id == placement.id, SkillLineItem.skill_id == skill_id
        )
    ).first()


def _scopes_allow_column(course: Course, skill_id: str) -> bool:
    """Return whether the course's scopes let us create the column; raise when they let us neither make nor find it."""
    if not course.lineitems_url:
        raise ServiceError("The platform did not offer its gradebook service (AGS) for this course.")
    may_create = not course.ags_scopes or ags.SCOPE_LINEITEM in course.ags_scopes
    may_read = not course.ags_scopes or ags.SCOPE_LINEITEM_READONLY in course.ags_scopes
    # Read-only line items help only a placement's own column (the LMS made it from our Deep Linking line item);
    # no LMS makes a per-skill one.
    if not may_create and (skill_id or not may_read):
        raise ServiceError(NO_COLUMNS)
    return may_create


def _granted_column(connector: PlatformConnector, skill_id: str, may_create: bool) -> bool:
    """Return whether the token endpoint lets us create the column; raise when it lets us neither create nor find it."""
    if may_create and not connector.grants(ags.AGS_SCOPES, ags.SCOPE_LINEITEM):
        # The launch offered the scope but the token endpoint left it out (RFC 6749 §5.1: Moodle grants only what
        # the tool's settings allow; the course's scopes may be older than a change there). Creating the column would
        # only be refused: look for the one the LMS made, else say which permission the administrator must give.
        if skill_id or not connector.grants(ags.AGS_SCOPES, ags.SCOPE_LINEITEM_READONLY):
            raise ServiceError(NO_COLUMNS)
        return False
    return may_create


def _column_tag(skill_id: str) -> str:
    return SKILL_TAG_PREFIX + skill_id if skill_id else PLACEMENT_TAG


def forget_lineitem(placement_id: int, skill_id: str, lineitem_url: str) -> None:
    """Forget a line item the platform no longer has (deleted in the LMS) wherever we kept its URL; commits.

    The placement's (or skill's) line item and the waiting scores queued for it let go of the URL, so the next
    ensure_lineitem() finds or creates the column again and those scores follow it. Only where the URL is still
    this one: a launch may have named a new column meanwhile.
    """
    if skill_id:
        db.session.execute(
            sa.delete(SkillLineItem)
            .where(SkillLineItem.placement_id == placement_id, SkillLineItem.skill_id == skill_id,
                   SkillLineItem.lineitem_url == lineitem_url)
            .execution_options(synchronize_session=False)
        )
    else:
        db.session.execute(
            sa.update(Placement)
            .where(Placement.id == placement_id, Placement.lineitem_url == lineitem_url)
            .values(lineitem_url=None)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.update(ScoreOutbox)
        .where(ScoreOutbox.placement_id == placement_id, ScoreOutbox.skill_id == skill_id,
               ScoreOutbox.lineitem_url == lineitem_url, ScoreOutbox.status == PENDING)
        .values(lineitem_url=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def column_title(course_id: int, placement_title: str, skill_id: str) -> str:
    """Return the title Pathways gives a gradebook column: the placement's, with the skill's name for a skill's."""
    title = f"{placement_title} – {_skill_name(course_id, skill_id)}" if skill_id else placement_title
    return cut(title, LABEL_LIMIT)


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


def _retryable(query: sa.Select) -> list[ScoreOutbox]:
    return list(db.session.scalars(query))


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
    rows = _retryable(query)
    # The column a row failed on may be gone (deleted in the LMS): it goes to its placement's column as it is now,
    # as a newly queued score would (a skill's column is looked up by the worker).
    columns = {placement_id: url for placement_id, url in db.session.execute(
        sa.select(Placement.id, Placement.lineitem_url).where(Placement.id.in_({row.placement_id for row in rows}))
    )} if rows else {}
    retried = 0
    for row in rows:
        # Only while it is still failed: a double-clicked retry that read it failed before the first one committed
        # would otherwise clear the lease of the worker now posting it, and the score could go out twice.
        # The count starts again (the backoff, the tries at our own errors); last_status and last_error stay: they
        # tell that this score may already be in the LMS (sent_scores.nothing_to_clear).
        retried += db.session.execute(
            sa.update(ScoreOutbox).where(ScoreOutbox.id == row.id, ScoreOutbox.status == FAILED).values(
                status=PENDING, lineitem_url=None if row.skill_id else columns.get(row.placement_id), attempts=0,
                next_attempt_at=now, lease_token=None, lease_expires_at=None),
            execution_options={"synchronize_session": False},
        ).rowcount or 0
    db.session.commit()
    return retried


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


class ColumnMissing(ServiceError):
    """The LMS has no gradebook column for the placement: none was made yet, or it was deleted there (`gone`)."""

    def __init__(self, *, gone: bool, may_create: bool) -> None:
        super().__init__("The LMS has no gradebook column for this placement.")
        self.gone = gone
        self.may_create = may_create  # whether the LMS lets Pathways make it (restore_column)


def _column_to_read(placement: Placement, course: Course, connector: PlatformConnector, skill_id: str) -> str:
    """Return the address of the placement's column in the LMS without making it or keeping what was found.

    The one we keep, else the LMS's column with our resourceId and tag (as ensure_lineitem finds it, GETs only).
    Raises ColumnMissing when the LMS has none, ServiceError when Pathways may not look for one.
    """
    known = _known_column(placement, skill_id)
    if known:
        return known
    may_create = _granted_column(connector, skill_id, _scopes_allow_column(course, skill_id))
    found = ags.find_lineitem(connector, course.lineitems_url, placement.resource_id, _column_tag(skill_id))
    if found is None:
        raise ColumnMissing(gone=False, may_create=may_create)
    return found


def _may_create_column(course: Course, connector: PlatformConnector, skill_id: str) -> bool:
    """Tell whether the LMS lets Pathways make the column (scopes offered and granted)."""
    try:
        return _granted_column(connector, skill_id, _scopes_allow_column(course, skill_id))
    except ServiceError:
        return False


def restore_column(
    placement_id: int, *, secret_key: str, http: requests.Session, timeout: float, skill_id: str = ""
) -> str:
    """Find or create the placement's gradebook column in the LMS, again if it was deleted there; commits.

    What the worker does before a score, on the teacher's request (the gradebook check only reads). Returns its URL.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    connector = connector_for_course(_course_of(placement), secret_key=secret_key, http=http, timeout=timeout)
    known = _known_column(placement, skill_id)
    try:
        # Only a column the LMS says is gone (404, 410) is let go of; one we may not look at is kept.
        if known and ags.may_read_lineitems(connector) and not ags.lineitem_exists(connector, known):
            forget_lineitem(placement_id, skill_id, known)
        return ensure_lineitem(placement_id, connector=connector, skill_id=skill_id)
    except ServiceCallError as exc:
        raise ServiceError(N_("The gradebook column could not be made in the LMS: %(reason)s Try again later."),
                           reason=ags.platform_message(exc)) from exc


NO_RESULTS = N_("The LMS does not let Pathways read its gradebook in this course, so the grades cannot be "
                "compared here. Check them in the LMS.")


def compare_results(
    placement_id: int, *, secret_key: str, http: requests.Session, timeout: float, skill_id: str = ""
) -> list[ResultComparison]:
    """Read the LMS's results for a placement's line item and set them beside our latest synced scores.

    Only reads, here and in the LMS: a column the LMS does not have raises ColumnMissing, and restore_column
    makes it when the teacher asks. Platforms may rescale (resultMaximum differs from our scoreMaximum), so scores
    are compared as fractions.
    """
    placement = db.session.get(Placement, placement_id)
    if placement is None:
        raise NotFound("This placement is not known to Pathways.")
    course = _course_of(placement)
    connector = connector_for_course(course, secret_key=secret_key, http=http, timeout=timeout)
    if not ags.may_read_results(connector):
        # AGS 2.0 §3.3.2: results are read only under result.readonly; asking anyway only earns a refusal.
        raise ServiceError(NO_RESULTS)
    try:
        if not connector.grants(ags.AGS_SCOPES, ags.SCOPE_RESULT_READONLY):
            raise ServiceError(NO_RESULTS)  # the launch offered the scope, the token endpoint did not grant it
        # Finding the column is a platform call too: an LMS that is down fails here first.
        lineitem_url = _column_to_read(placement, course, connector, skill_id)
        try:
            results = {r.user_id: r for r in ags.read_results(connector, lineitem_url)}
        except ServiceCallError as exc:
            # The column may have been deleted in the LMS. Without a line item scope it can be neither looked at
            # nor made again: the 404 stands. Gone, it is not made again here (a GET changes nothing, in Pathways or
            # in the LMS): the teacher asks for it (restore_column), or the worker does before its next score.
            if exc.status != 404 or not ags.may_read_lineitems(connector):
                raise
            if ags.lineitem_exists(connector, lineitem_url):
                raise
            raise ColumnMissing(gone=True, may_create=_may_create_column(course, connector, skill_id)) from exc
    except ServiceCallError as exc:
        raise ServiceError(N_("The gradebook could not be read from the platform: %(reason)s Try again later."),
                           reason=ags.platform_message(exc)) from exc
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
