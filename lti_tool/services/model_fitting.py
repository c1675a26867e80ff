"""Fit each course's mastery model from its own answers, on a schedule and on demand (learning/fitting.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..learning.fitting import fit_course, params_from_stored, stored
from ..learning.mastery import ALL_SKILLS, MasteryModel, Response, SkillState
from ..models import CourseContent, ItemResponse, SkillMastery, WorkerHeartbeat
from ..models.base import lock_database_for_writing
from .errors import N_, NotFound, ServiceError
from .mastery import forget_model


@dataclass(frozen=True)
class FitSummary:
    """What a fit did, for the CLI, the teacher's page and the worker's log."""

    course_id: int
    revision: int
    responses: int
    learners: int
    fitted: bool


def _epoch(moment: datetime) -> float:
    # Stored times are naive UTC.
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).timestamp()


def _histories(course_id: int) -> dict[str, list[Response]]:
    query = (
        sa.select(ItemResponse.person_id, ItemResponse.item_id, ItemResponse.skill_ids, ItemResponse.correct,
                  ItemResponse.answered_at, ItemResponse.source)
        .where(ItemResponse.course_id == course_id)
        .order_by(ItemResponse.person_id, ItemResponse.answered_at, ItemResponse.id)
    )
    histories: dict[str, list[Response]] = {}
    for person_id, item_id, skill_ids, correct, at, source in db.session.execute(query):
        # Replayed as the answer was recorded (services.mastery.record_answer), so the fit sees the features served.
        histories.setdefault(str(person_id), []).append(
            Response(item_id, tuple(skill_ids or ()), bool(correct), at=_epoch(at), learner_wide=source != "diagnostic")
        )
    return histories


class FitRunning(ServiceError):
    """Another fit of the course's model (the worker's, the teacher's button, `pathways course fit`) is running."""

    status = 409


# Names our advisory locks apart from any other application's on the same database ("PWFT").
_FIT_LOCK_CLASS = 0x50574654
# Courses being fitted in this process: the claim on SQLite, which has no advisory locks.
_fitting_here: set[int] = set()
_fitting_here_lock = threading.Lock()


@contextmanager
def fit_claim(course_id: int) -> Iterator[bool]:
    """Claim the fit of the course for the block; yield False when another fit holds the claim.

    On PostgreSQL the claim is a session advisory lock on a connection of its own, held while the fit runs:
    it never blocks a writer of the course, and a process that dies mid-fit loses it with its connection, so
    the course is fitted again at a later check instead of staying claimed. On SQLite (one host, the demo) it is
    held in this process only.
    """
    if db.engine.dialect.name != "postgresql":
        with _fitting_here_lock:
            taken = course_id in _fitting_here
            _fitting_here.add(course_id)
        if taken:
            yield False
            return
        try:
            yield True
        finally:
            with _fitting_here_lock:
                _fitting_here.discard(course_id)
        return
    with db.engine.connect() as conn:
        lock = sa.text("SELECT pg_try_advisory_lock(CAST(:k AS integer), CAST(:id AS integer))")
        got = bool(conn.execute(lock, {"k": _FIT_LOCK_CLASS, "id": course_id}).scalar())
        conn.commit()  # no transaction stays open during the fit: the lock belongs to the session
        try:
            yield got
        finally:
            if got:
                try:
                    conn.execute(sa.text("SELECT pg_advisory_unlock(CAST(:k AS integer), CAST(:id AS integer))"),
                                 {"k": _FIT_LOCK_CLASS, "id": course_id})
                    conn.commit()
                except sa.exc.SQLAlchemyError:
                    conn.invalidate()  # closing the connection ends the lock; the pool must not keep it


FIT_RUNNING = N_("The model of this course is being refitted right now. Check this page again in a few minutes.")


def fit_course_model(course_id: int, now: datetime, *, keep_going: Callable[[], bool] | None = None) -> FitSummary:
    """Fit the course's model from its stored answers, store it as a new revision, and refresh the estimates.

    Levels are not recomputed here: they move on a learner's next answer, so a refit never changes a grade
    by itself; the shown estimates are refreshed so every page shows the new model's number. Raises FitRunning
    while another fit of the course runs, and learning.mastery.FitStopped when keep_going() says stop (nothing
    is stored then).
    """
    with fit_claim(course_id) as claimed:
        if not claimed:
            raise FitRunning(FIT_RUNNING)
        return _fit_claimed(course_id, now, keep_going)


def fit_if_due(course_id: int, now: datetime, every: timedelta, *,
               keep_going: Callable[[], bool] | None = None) -> FitSummary | None:
    """Fit the course's model if it is still due once claimed (see courses_due_for_fit); None otherwise.

    The worker's way in: the list of due courses may be minutes old, and another worker or the teacher may
    have fitted the course since, or be fitting it now.
    """
    with fit_claim(course_id) as claimed:
        if not claimed:
            return None
        db.session.commit()  # a fresh transaction: see fits committed since the list was read
        fitted_at = db.session.scalar(sa.select(CourseContent.model_fitted_at)
                                      .where(CourseContent.course_id == course_id))
        if not _due(course_id, fitted_at, now, every):
            db.session.commit()
            return None
        return _fit_claimed(course_id, now, keep_going)


# The teacher's "Refit now" asks the worker for a fit (a large course takes minutes, longer than a web request
# may run). The request is a time on the course's content row (refit_requested_at), written by one UPDATE that
# only ever moves it later, so two teachers asking at once, or a worker finishing a fit while another teacher
# asks, cannot lose one another's request. A request is never cleared: it is done once a fit, or a failed attempt,
# has begun after it (refit_tried_at, or model_fitted_at for a fit stored before that column existed). In the
# database, a request survives a flushed or restarted cache.
# The page tells the teacher when no worker pass has run for this long: `pathways run`, or a deployment without
# `pathways worker`, would never do a requested fit.
WORKER_SEEN_SECONDS = 300


def _open_request() -> sa.ColumnElement[bool]:
    """The course's request is open: no fit or failed attempt has begun since it was made."""
    content = CourseContent
    return sa.and_(
        content.refit_requested_at.is_not(None),
        sa.or_(content.refit_tried_at.is_(None), content.refit_tried_at < content.refit_requested_at),
        # Only a fit begun after the request includes every answer given before it. A fit's time is whole seconds,
        # so one begun in the same second counts as before: at worst the course is fitted once more.
        sa.or_(content.model_fitted_at.is_(None), content.model_fitted_at <= content.refit_requested_at),
    )


def _failure_shown() -> sa.ColumnElement[bool]:
    """The last requested fit failed, no teacher has asked again since, and no fit has been stored since."""
    content = CourseContent
    return sa.and_(
        content.refit_failed_at.is_not(None),
        content.refit_tried_at.is_not(None),
        sa.or_(content.refit_requested_at.is_(None), content.refit_requested_at <= content.refit_tried_at),
        # A stored fit clears the failure in its own UPDATE (_fit_claimed); this covers a fit from before 0027.
        sa.or_(content.model_fitted_at.is_(None), content.model_fitted_at <= content.refit_tried_at),
    )


def request_refit(course_id: int, now: datetime) -> None:
    """Ask the worker to refit the course's model at its next pass (the teacher's "Refit now").

    One UPDATE, never a read and a write back: of two requests at once the later time stays (the row lock orders
    them), and an earlier one arriving late does not move it back past a fit begun meanwhile. A course without
    content has nothing to fit, and nothing is written. A database outage gives the 503 "try again" page.
    """
    db.session.execute(
        sa.update(CourseContent)
        .where(CourseContent.course_id == course_id,
               sa.or_(CourseContent.refit_requested_at.is_(None), CourseContent.refit_requested_at < now))
        # Keep the content's own updated_at: a request is not an edit of the course.
        .values(refit_requested_at=now, updated_at=CourseContent.updated_at)
    )
    db.session.commit()


def open_refit_requests() -> list[int]:
    """Return the courses whose teacher's request is open, the longest waiting first (one query, on an index of
    the courses ever asked for). The worker's pass and its fit thread each call it with their own session."""
    return list(db.session.scalars(
        sa.select(CourseContent.course_id).where(_open_request())
        .order_by(CourseContent.refit_requested_at, CourseContent.course_id)
    ))


def record_refit_failure(course_id: int, tried: datetime, failed: datetime) -> None:
    """Keep, for the teacher's page, that the requested fit begun at `tried` failed (or ran out of time) at `failed`.

    It also closes the requests made before `tried`: a fit that fails every time must not run at every pass.
    Called by the holder of the course's fit claim, so no other fit's time is overwritten.
    """
    db.session.execute(
        sa.update(CourseContent).where(CourseContent.course_id == course_id)
        .values(refit_tried_at=tried, refit_failed_at=failed, updated_at=CourseContent.updated_at)
    )
    db.session.commit()


def refit_requested(course_id: int) -> datetime | None:
    """Return when a teacher asked for a refit not done yet, or None."""
    return refit_status(course_id)[0]


def refit_status(course_id: int) -> tuple[datetime | None, datetime | None]:
    """Return when a teacher asked for a refit not done yet, and when the last requested refit failed (None unless
    no fit has begun and no teacher has asked again since): one query of the content row, for the model page."""
    # At most one is set: an open request began after the last attempt, a failure shown did not.
    row = db.session.execute(
        sa.select(sa.case((_open_request(), CourseContent.refit_requested_at)),
                  sa.case((_failure_shown(), CourseContent.refit_failed_at)))
        .where(CourseContent.course_id == course_id)
    ).first()
    return (None, None) if row is None else (row[0], row[1])


def worker_seen(now: datetime) -> bool:
    """Return whether a worker pass ran in the last WORKER_SEEN_SECONDS (each pass updates its heartbeat row)."""
    # Not course data: the heartbeat rows say only that a worker process is running.
    last = db.session.scalar(sa.select(sa.func.max(WorkerHeartbeat.last_pass_at)))
    return last is not None and now - last < timedelta(seconds=WORKER_SEEN_SECONDS)


def fit_running(course_id: int) -> bool:
    """Return whether a fit of the course holds its claim now (see fit_claim), without taking the claim."""
    if db.engine.dialect.name != "postgresql":
        with _fitting_here_lock:
            return course_id in _fitting_here
    # A two-key advisory lock shows in pg_locks as classid, objid and objsubid 2.
    held = sa.text("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = CAST(:k AS oid) "
                   "AND objid = CAST(:id AS oid) AND objsubid = 2 AND granted LIMIT 1")
    return db.session.execute(held, {"k": _FIT_LOCK_CLASS, "id": course_id}).first() is not None


def fit_if_requested(course_id: int, now: datetime, *, keep_going: Callable[[], bool] | None = None,
                     stopping: Callable[[], bool] | None = None) -> FitSummary | None:
    """Fit the course's model if a teacher's request is still open once claimed; None otherwise.

    Nothing is removed: the fit, begun at `now`, closes every request made before it (see refit_requested). A fit
    that fails or runs out of time is recorded for the teacher's page (record_refit_failure) before the claim is
    let go, so a fit another worker starts next is not overwritten by it; one stopped because its worker is
    stopping (`stopping()` true) is not a failure. The error is raised again for the caller to log.
    """
    with fit_claim(course_id) as claimed:
        if not claimed:
            return None
        db.session.commit()  # a fresh transaction: see fits committed since the request was read
        requested = refit_requested(course_id)
        db.session.commit()
        if requested is None:
            return None
        try:
            return _fit_claimed(course_id, now, keep_going)
        except Exception as exc:
            db.session.rollback()
            if stopping is None or not stopping():
                try:
                    record_refit_failure(course_id, now, datetime.now(UTC).replace(tzinfo=None))
                except sa.exc.SQLAlchemyError:
                    # The database is away (likely why the fit failed): the request stays open, and the fit is
                    # tried again at a later pass. The fit's own error is the one to log; the caller discards the
                    # session.
                    pass
            raise exc


def _fit_claimed(course_id: int, now: datetime, keep_going: Callable[[], bool] | None) -> FitSummary:
    content = db.session.get(CourseContent, course_id)
    if content is None:
        raise NotFound(N_("Your teacher has not set up this course in Pathways yet."))
    options = {"keep_going": keep_going} if keep_going else {}
    histories = _histories(course_id)
    # The answers are read: end the read transaction, so no snapshot or lock is held while the fit computes.
    db.session.commit()
    result = fit_course(histories, **options)
    # Lock the row only to number and store the fit (fitting can take a while): two fits at once, say the
    # teacher's button and the worker, get distinct revisions and the later one wins. On SQLite (whose claim holds
    # within one process only) the write lock does what FOR UPDATE does on PostgreSQL.
    lock_database_for_writing()
    locked = db.session.execute(
        sa.select(CourseContent.model_revision).where(CourseContent.course_id == course_id).with_for_update()
    ).scalar_one()
    revision = (locked or 0) + 1
    fitted_at = now.replace(microsecond=0)
    data = stored(result, revision=revision, fitted_at=fitted_at.isoformat())
    # Keep the content's own updated_at: a refit is not an edit of the course. Whoever fitted it (worker, schedule,
    # CLI), the teachers' requests made before `now` are done and a failure is over, with the fit in one UPDATE.
    db.session.execute(
        sa.update(CourseContent)
        .where(CourseContent.course_id == course_id)
        .values(model_params=data, model_revision=revision, model_fitted_at=fitted_at, refit_tried_at=now,
                refit_failed_at=None, updated_at=CourseContent.updated_at)
    )
    _refresh_estimates(course_id, MasteryModel(params_from_stored(data)))
    db.session.commit()
    forget_model(course_id)
    return FitSummary(course_id, revision, result.responses, result.learners, result.fitted)


def _refresh_estimates(course_id: int, model: MasteryModel) -> None:
    # Locked while the estimates are rewritten: a student's answer committed meanwhile must not be overwritten
    # with the state read before it (FOR UPDATE waits for it and reads the committed row). In the order every
    # writer locks a learner's rows ("*", which sorts first, then the skills) and a class-wide publish locks the
    # learners (by person), so this never holds a row another locker needs while waiting for one it holds.
    rows = db.session.scalars(
        sa.select(SkillMastery).where(SkillMastery.course_id == course_id)
        .order_by(SkillMastery.person_id, SkillMastery.skill_id).with_for_update()
    ).all()
    overall = {row.person_id: SkillState.from_dict(row.state) for row in rows if row.skill_id == ALL_SKILLS}
    for row in rows:
        if row.skill_id == ALL_SKILLS or not row.state.get("attempts"):
            continue
        state = SkillState.from_dict(row.state)
        states = {row.skill_id: state}
        if row.person_id in overall:
            states[ALL_SKILLS] = overall[row.person_id]
        row.state = {**row.state, "estimate": model.log_odds(states, "", [row.skill_id])}


def courses_due_for_fit(now: datetime, every: timedelta) -> list[int]:
    """Return courses with answers since their last fit (or never fitted) whose last fit is older than `every`."""
    # Never fitted first, then the longest unfitted: a backlog is worked off oldest first.
    courses = db.session.execute(
        sa.select(CourseContent.course_id, CourseContent.model_fitted_at)
        .order_by(CourseContent.model_fitted_at.is_not(None), CourseContent.model_fitted_at, CourseContent.course_id)
    ).all()
    return [course_id for course_id, fitted_at in courses if _due(course_id, fitted_at, now, every)]


def _due(course_id: int, fitted_at: datetime | None, now: datetime, every: timedelta) -> bool:
    if fitted_at is not None and now - fitted_at < every:
        return False
    newer = sa.select(ItemResponse.id).where(ItemResponse.course_id == course_id)
    if fitted_at is not None:
        newer = newer.where(ItemResponse.answered_at > fitted_at)
    return db.session.execute(newer.limit(1)).first() is not None


def model_status(course_id: int) -> dict | None:
    """Return the course's stored fit without its parameters (revision, date, answers, learners), or None."""
    content = db.session.get(CourseContent, course_id)
    if content is None:
        return None
    data = (content.model_params or {}) if content.model_revision is not None else {}
    return {
        "revision": data.get("revision", 0),
        "fitted_at": data.get("fitted_at"),
        "responses": data.get("responses"),
        "learners": data.get("learners"),
        "fitted": bool(data.get("fitted")),
    }
