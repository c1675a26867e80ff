"""Fit each course's mastery model from its own answers, on a schedule and on demand (learning/fitting.py)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..extensions import CACHE_OUTAGES, cache, db
from ..learning.fitting import fit_course, params_from_stored, stored
from ..learning.mastery import ALL_SKILLS, MasteryModel, Response, SkillState
from ..models import CourseContent, ItemResponse, SkillMastery, WorkerHeartbeat
from ..models.base import lock_database_for_writing
from .errors import N_, TRY_AGAIN, NotFound, ServiceError, TryAgain
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
# may run). Each course's request is its own cache entry, written whole (one atomic set on Redis, the file cache
# and the in-process cache alike) and never read back to be rewritten, so two teachers asking at once, or a worker
# finishing a fit while another teacher asks, cannot lose one another's request. A request is never deleted
# either: it is done once a fit, or a failed attempt, has begun after it (the course's REFIT_TRIED entry, or
# course_content's model_fitted_at), and expires after a week. A table would make requests survive
# a flushed cache too, but none fits without a migration: one lost with the cache only means the page stops
# showing it and the teacher asks again; a fit is never lost, as the course stays due for the scheduled fits.
REFIT_REQUEST = "model-refit-request:{course_id}"
# The course's last fit: {"tried": when it began, to the microsecond (model_fitted_at keeps whole seconds),
# "failed": when a requested one gave up, or None}. Written only by the holder of the course's fit claim.
REFIT_TRIED = "model-refit-tried:{course_id}"
# A fresh random value after every request: a worker reads every course's request entry again only when it has
# changed since its last read (a request written after that read changes it again, so none is missed).
REFIT_REQUESTS_CHANGED = "model-refit-requests-changed"
REFIT_REQUEST_SECONDS = 7 * 24 * 3600
# The page tells the teacher when no worker pass has run for this long: `pathways run`, or a deployment without
# `pathways worker`, would never do a requested fit.
WORKER_SEEN_SECONDS = 300


def request_refit(course_id: int, now: datetime) -> None:
    """Ask the worker to refit the course's model at its next pass (the teacher's "Refit now")."""
    try:
        taken = cache.set(REFIT_REQUEST.format(course_id=course_id), now.isoformat(), timeout=REFIT_REQUEST_SECONDS)
        # After the request itself: a worker that read the old value reads the requests again at its next pass.
        taken = taken and cache.set(REFIT_REQUESTS_CHANGED, secrets.token_hex(8), timeout=REFIT_REQUEST_SECONDS)
    except CACHE_OUTAGES as exc:
        raise TryAgain(TRY_AGAIN) from exc
    if not taken:  # the file cache could not write its file
        raise TryAgain(TRY_AGAIN)


@dataclass(frozen=True)
class _RefitState:
    requested: datetime | None
    tried: datetime | None  # when the last fit began
    failed: datetime | None  # when it gave up, if it was a requested one that failed


def _when(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _refit_states(course_ids: list[int]) -> dict[int, _RefitState]:
    """Read the courses' request and last-fit entries (one read on Redis); raises CACHE_OUTAGES."""
    if not course_ids:
        return {}
    keys = [REFIT_REQUEST.format(course_id=c) for c in course_ids] + [REFIT_TRIED.format(course_id=c)
                                                                      for c in course_ids]
    values = cache.get_many(*keys)
    states = {}
    for n, course_id in enumerate(course_ids):
        failure = values[len(course_ids) + n]
        failure = failure if isinstance(failure, dict) else {}
        states[course_id] = _RefitState(_when(values[n]), _when(failure.get("tried")), _when(failure.get("failed")))
    return states


def _open(state: _RefitState, fitted_at: datetime | None) -> datetime | None:
    """Return when the request was made if no fit or failed attempt has begun since, else None."""
    requested = state.requested
    if requested is None or (state.tried is not None and state.tried >= requested):
        return None
    # Only a fit begun after the request includes every answer given before it. A fit's time is whole seconds,
    # so one begun in the same second counts as before: at worst the course is fitted once more.
    return None if fitted_at is not None and fitted_at > requested else requested


def _fitted_at(course_ids: list[int]) -> dict[int, datetime | None]:
    return dict(db.session.execute(sa.select(CourseContent.course_id, CourseContent.model_fitted_at)
                                   .where(CourseContent.course_id.in_(course_ids))).all())


def _open_requests(course_ids: list[int] | None) -> list[int]:
    """Return the given courses (None: every course with content) whose request is open, the longest waiting
    first; raises CACHE_OUTAGES."""
    if course_ids is None:
        course_ids = list(db.session.scalars(sa.select(CourseContent.course_id)))
    states = {c: s for c, s in _refit_states(course_ids).items() if s.requested is not None}
    fitted = _fitted_at(list(states)) if states else {}
    waiting = {c: when for c, s in states.items() if c in fitted and (when := _open(s, fitted[c])) is not None}
    return sorted(waiting, key=lambda course_id: (waiting[course_id], course_id))


class RefitRequests:
    """One worker's view of the teachers' open requests, kept between its passes.

    Every course's entry is read at the first look and whenever a request was made since the last read
    (REFIT_REQUESTS_CHANGED); otherwise only the courses last seen waiting are looked at again, so a pass with
    nothing asked reads one cache entry. Thread-safe: the worker's pass and its fit thread both look.
    """

    _UNREAD = object()

    def __init__(self) -> None:
        self._seen: object = self._UNREAD
        self._waiting: list[int] = []
        self._lock = threading.Lock()

    def waiting(self) -> list[int]:
        """Return the courses with an open request, the longest waiting first; [] with the cache away."""
        with self._lock:
            try:
                # Read before the requests: one made after this read changes it again, and is read next time.
                changed = cache.get(REFIT_REQUESTS_CHANGED)
                everything = changed != self._seen
                found = _open_requests(None if everything else self._waiting)
            except CACHE_OUTAGES:
                return []  # what was known is kept: the next look after the outage reads it again
            self._seen, self._waiting = changed, found
            return list(found)


def record_refit_failure(course_id: int, tried: datetime, failed: datetime) -> None:
    """Keep, for the teacher's page, that the requested fit begun at `tried` failed (or ran out of time) at `failed`.

    It also closes the requests made before `tried`: a fit that fails every time must not run at every pass.
    """
    _record_fit(course_id, tried, failed)


def _record_fit(course_id: int, tried: datetime, failed: datetime | None) -> None:
    try:
        cache.set(REFIT_TRIED.format(course_id=course_id),
                  {"tried": tried.isoformat(), "failed": failed.isoformat() if failed else None},
                  timeout=REFIT_REQUEST_SECONDS)
    except CACHE_OUTAGES:
        pass  # model_fitted_at still closes the requests a stored fit began after; a failure is tried again


def refit_requested(course_id: int) -> datetime | None:
    """Return when a teacher asked for a refit not done yet, or None."""
    return refit_status(course_id)[0]


def refit_status(course_id: int) -> tuple[datetime | None, datetime | None]:
    """Return when a teacher asked for a refit not done yet, and when the last requested refit failed (None unless
    no fit has begun and no teacher has asked again since): one cache read and one query, for the model page."""
    try:
        state = _refit_states([course_id])[course_id]
    except CACHE_OUTAGES:
        return None, None
    if state.requested is None and state.failed is None:
        return None, None
    fitted_at = _fitted_at([course_id]).get(course_id)
    requested = None if state.requested is None else _open(state, fitted_at)
    return requested, None if requested is not None else _failed(state, fitted_at)


def _failed(state: _RefitState, fitted_at: datetime | None) -> datetime | None:
    if state.tried is None or state.failed is None:
        return None
    if state.requested is not None and state.requested > state.tried:
        return None  # asked again since: the page shows that request instead
    # A fit stored since replaced the entry (_fit_claimed); its later time is the fallback when the cache was away.
    return None if fitted_at is not None and fitted_at > state.tried else state.failed


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
        except Exception:
            db.session.rollback()
            if stopping is None or not stopping():
                record_refit_failure(course_id, now, datetime.now(UTC).replace(tzinfo=None))
            raise


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
    # Keep the content's own updated_at: a refit is not an edit of the course.
    db.session.execute(
        sa.update(CourseContent)
        .where(CourseContent.course_id == course_id)
        .values(model_params=data, model_revision=revision, model_fitted_at=fitted_at,
                updated_at=CourseContent.updated_at)
    )
    _refresh_estimates(course_id, MasteryModel(params_from_stored(data)))
    db.session.commit()
    forget_model(course_id)
    # Whoever fitted it (worker, schedule, CLI): the requests made before `now` are done, and a failure is over.
    _record_fit(course_id, now, None)
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
