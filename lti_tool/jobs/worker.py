"""The outbox worker: post queued AGS scores to the platforms, with leases, retries and backoff.

A pass claims a batch of due rows by writing a lease (token and expiry) in one atomic UPDATE; on PostgreSQL
the rows are picked with `FOR UPDATE SKIP LOCKED`, so several workers share the outbox without waiting on
each other. A worker that dies leaves only leases behind: once they expire, another pass takes the rows
again. Every score carries its own timestamp, so posting one twice changes no grade; on Canvas, where a score can
be a submission, a score that may have landed already is sent as a re-grade (lti/ags.py checked_against_canvas).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import requests
import sqlalchemy as sa
from flask import Flask

from .. import metrics
from ..errors import DATABASE_OUTAGES, database_conflict, database_read_only
from ..extensions import db
from ..lti import ags
from ..lti.keys import SecretKeyMismatch
from ..lti.services import PlatformConnector, ServiceCallError
from ..models import Course, Person, Placement, ScoreOutbox
from ..models.base import commit_keeping_rows, utcnow
from ..models.outbox import FAILED, NOTHING_TO_CLEAR, PENDING, SUPERSEDED, SYNCED, newer_row_exists
from ..services import grades, sent_scores
from ..services.errors import ServiceError

log = logging.getLogger(__name__)

# Settings the worker reads, with the defaults used when settings.py does not list them (yet).
DEFAULTS: dict[str, Any] = {
    "WORKER_BATCH": 50,
    "WORKER_LEASE_SECONDS": 300,
    "WORKER_CONCURRENCY": 4,
    "WORKER_POLL_SECONDS": 2,
    "GRADE_MAX_ATTEMPTS": 12,
    "GRADE_RETRY_BASE_SECONDS": 2,
    "GRADE_RETRY_MAX_SECONDS": 900,
    "LAUNCH_SESSION_KEEP_DAYS": 30,
    "MODEL_FIT_MAX_SECONDS": 1800,
}
# How long a stopping worker waits for its fit thread to notice (it checks between learners and epochs).
FIT_STOP_WAIT_SECONDS = 5.0
_TABLE = ScoreOutbox.__table__


def setting(app: Flask, name: str) -> Any:
    """Return a worker setting from the app's config, falling back to our default."""
    value = app.config.get(name)
    return DEFAULTS[name] if value is None else value


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, never sooner than the platform's Retry-After."""

    base_seconds: float = 2.0
    max_seconds: float = 900.0
    # Tries a `--once` drain waits for; transient failures are retried for ever (the grade is never dropped).
    max_attempts: int = 12

    def delay(self, attempts: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Return how long to wait before attempt number attempts + 1."""
        # The exponent is capped: a grade retried for days (never given up on) must not overflow the float.
        exponential = min(self.max_seconds, self.base_seconds * 2 ** min(max(attempts - 1, 0), 30))
        # Full spread around the exponential step, so rows that failed together do not retry together.
        jittered = exponential * (rng or random).uniform(0.5, 1.5)
        return max(jittered, retry_after or 0.0)


@dataclass
class DrainStats:
    """What a drain did."""

    claimed: int = 0
    posted: int = 0
    # The platform already had a newer score of ours (409): a repeated post, counted, harmless. A 409 for a score
    # still the newest is retried with a later time instead (counted in retries_scheduled).
    duplicates: int = 0
    superseded: int = 0
    # Scores without a number not sent: no number of ours had reached the student's column (nothing to clear).
    not_needed: int = 0
    retries_scheduled: int = 0
    failed: int = 0
    token_requests: int = 0
    passes: int = 0
    roster_syncs: int = 0
    courses_purged: int = 0
    models_fitted: int = 0
    launches_deleted: int = 0
    # People with no course left and no recent launch session whose name, email and LMS user id were erased.
    people_anonymised: int = 0
    # Scores queued because a target date passed (a due-so-far grade worked out before it).
    due_grades_queued: int = 0
    errors: dict[str, int] = field(default_factory=dict)


@dataclass
class _Outcome:
    row_id: int
    status: str
    attempts: int
    duplicate: bool = False
    lineitem_url: str | None = None
    next_attempt_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    # Claimed but never sent (its platform hung on another score, its lease ran out first, or it had nothing to
    # clear): the attempt claim() counted is given back, and nothing is said about an attempt never made.
    unsent: bool = False
    # A later time for a score the platform refused as not later than the one it holds (see _refused_as_not_later).
    score_timestamp: datetime | None = None


@dataclass(eq=False)
class _Job:
    row: ScoreOutbox
    connector: PlatformConnector
    url: str
    score: ags.Score
    platform_id: int
    # When the row's lease runs out (read in the app thread: the posting threads never touch ORM rows).
    lease_ends: datetime | None = None


NOT_SENT = "Not sent: the platform did not answer another score in the same batch; retrying later."
#: Refusals that ask the client, not the one call, to wait (RFC 6585 §4 429 and RFC 9110 §15.6.4 503, with the
#: Retry-After they carry): the platform gets no other score from this worker until then.
SLOW_DOWN = (429, 503)
COLUMN_GONE = "The LMS no longer has this gradebook column (HTTP 404); it may have been deleted there."
COLUMN_GONE_AGAIN = ("The LMS refused the score (HTTP 404, reason: lineitem_gone) also for the gradebook column "
                     "Pathways found or made again in place of a deleted one. Check the activity's grade settings "
                     "in the LMS, then retry.")


class _NotSent(ServiceCallError):
    """A score held back because its platform stopped answering: no attempt was made, so none is counted."""


class _LeaseOver(ServiceCallError):
    """A score held back because this worker's lease would run out during the post: not tried, due again now."""


def _send(job: _Job) -> ServiceCallError | None:
    """Post one score; return the error instead of raising it (this runs in the posting threads)."""
    try:
        score = ags.checked_against_canvas(job.connector, job.url, job.score)
        metrics.timed_grade_post(ags.post_score, job.connector, job.url, score)
    except ServiceCallError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - an odd answer is retried later, never left unrecorded
        return unexpected("posting the score", exc)
    return None


# Failures of this worker's own setup, not of a row: the database is away, or PATHWAYS_SECRET_KEY no longer opens
# the signing key. They fail the pass, which gives the batch back without using an attempt (_Health.failed).
_NOT_THE_ROWS = (sa.exc.SQLAlchemyError, SecretKeyMismatch)


def unexpected(doing: str, exc: Exception) -> ServiceCallError:
    """Turn an error we did not foresee into a failed attempt: no status, so it is retried with backoff.

    The message names only the error's class: its text may quote the platform's answer, which a teacher's page
    and our logs never show.
    """
    return ServiceCallError(f"Unexpected error while {doing} (reason: {exc.__class__.__name__}).")




# Rows a pass checks for a newer score: the front of the queue, in the order claim() takes rows. Checking the
# whole backlog cost seconds per pass at 20k waiting rows (issue 14); the front is what is about to be posted,
# and claim() itself never takes a stale row, so the rest is marked as it comes forward.
SUPERSEDE_WINDOW = 500


def supersede_stale(now: datetime, window: int = SUPERSEDE_WINDOW) -> int:
    """Mark waiting rows at the front of the queue that have a newer row for the same target superseded; commits.

    queue_scores() already supersedes older rows as it writes new ones; this catches rows two writers queued
    at once. Each pass looks at `window` rows (an indexed range on status and next_attempt_at), so its cost
    does not grow with the backlog.
    """
    front = (
        sa.select(_TABLE.c.id)
        .where(
            _TABLE.c.status == PENDING,
            sa.or_(_TABLE.c.lease_expires_at.is_(None), _TABLE.c.lease_expires_at < now),
        )
        .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id)
        .limit(window)
    )
    stale = (
        sa.select(_TABLE.c.id)
        .where(_TABLE.c.id.in_(front.scalar_subquery()), newer_row_exists())
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = db.session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id.in_(stale))
        .values(status=SUPERSEDED, lease_token=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount or 0


@dataclass(frozen=True)
class Patience:
    """How long a `--once` drain keeps trying a row: until it has had `attempts` tries.

    A row that has had them is taken only if it was due already when the drain began (the drain tries every due
    row once); one this drain rescheduled is left pending for the next worker. _next_wake alone only stops waiting
    for such rows: a pass whose chores outlast the backoff found the row due again at its next claim, so the number
    of tries hung on the machine's speed, and once every pass did, `--once` tried an LMS that is down for ever.
    """

    attempts: int
    began: datetime


def claim(
    batch: int, lease_seconds: float, now: datetime | None = None, patience: Patience | None = None
) -> tuple[str, list[ScoreOutbox]]:
    """Lease up to batch due rows to this worker and return (lease token, rows); commits.

    One UPDATE both picks and leases the rows, so two workers never get the same row while its lease runs.
    """
    now = now or utcnow()
    token = str(uuid.uuid4())
    conditions = [
        _TABLE.c.status == PENDING,
        _TABLE.c.next_attempt_at <= now,
        sa.or_(_TABLE.c.lease_expires_at.is_(None), _TABLE.c.lease_expires_at < now),
        # Never post a score a newer one replaces, even beyond the window supersede_stale() checked.
        sa.not_(newer_row_exists()),
    ]
    if patience is not None:
        conditions.append(sa.or_(_TABLE.c.attempts < patience.attempts, _TABLE.c.next_attempt_at <= patience.began))
    due = (
        sa.select(_TABLE.c.id)
        .where(*conditions)
        .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id.in_(due))
        .values(
            lease_token=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            attempts=_TABLE.c.attempts + 1,
        )
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    rows = list(
        db.session.scalars(
            sa.select(ScoreOutbox).where(ScoreOutbox.lease_token == token).order_by(ScoreOutbox.id)
        )
    )
    return token, rows


def _record(token: str, outcomes: list[_Outcome]) -> list[_Outcome]:
    """Write the outcomes of a batch, only for rows this worker still holds; commits. Returns them as written."""
    now = utcnow()
    # Before any row is written (one lock order: learner, then outbox row): a score being queued for the student
    # now is committed before the check below, which then sees it (grades.lock_learners_of).
    grades.lock_learners_of([outcome.row_id for outcome in outcomes if outcome.score_timestamp is not None])
    written = []
    for outcome in outcomes:
        values: dict[str, Any] = {"status": outcome.status, "lease_token": None, "lease_expires_at": None}
        if not outcome.unsent:
            # A score not sent keeps the answer to its last attempt: the teacher's page still shows it, and
            # sent_scores.nothing_to_clear reads from it that a number may be in the gradebook after a retry reset
            # the attempt count. Nor does it write one of its own: no post of it began (_MAY_HAVE_REACHED).
            values.update(last_status=outcome.last_status, last_error=outcome.last_error)
        if outcome.lineitem_url:
            values["lineitem_url"] = outcome.lineitem_url
        if outcome.status == SYNCED:
            values.update(synced_at=now, duplicate=outcome.duplicate)
        if outcome.next_attempt_at is not None:
            values["next_attempt_at"] = outcome.next_attempt_at
        if outcome.unsent:
            values["attempts"] = _TABLE.c.attempts - 1
        # The lease guard: if our lease ran out and another worker took the row, its word wins.
        held = [_TABLE.c.id == outcome.row_id, _TABLE.c.lease_token == token]
        if outcome.score_timestamp is not None:
            # A later time only while no newer score of ours was queued meanwhile: it must not overtake that one.
            later = db.session.execute(
                sa.update(_TABLE)
                .where(*held, sa.not_(newer_row_exists()))
                .values(**values, score_timestamp=outcome.score_timestamp)
                .execution_options(synchronize_session=False)
            )
            if later.rowcount:
                written.append(outcome)
                continue
            values["status"] = SUPERSEDED
            values.pop("next_attempt_at")
            outcome = replace(outcome, status=SUPERSEDED, next_attempt_at=None)
        db.session.execute(
            sa.update(_TABLE).where(*held).values(**values).execution_options(synchronize_session=False)
        )
        written.append(outcome)
    db.session.commit()
    return written


class _Poster:
    """Post one batch: resolve line items (in the app thread), then send the scores (in a thread pool)."""

    def __init__(self, app: Flask, http: requests.Session, policy: RetryPolicy, pool: ThreadPoolExecutor,
                 lease_seconds: float = DEFAULTS["WORKER_LEASE_SECONDS"]) -> None:
        self.app = app
        self.http = http
        self.policy = policy
        self.pool = pool
        self.lease_token: str | None = None  # the batch's, as claim() wrote it (see _still_leased)
        # Ids of the batch's rows whose post began: if the pass fails before their outcomes are written, they keep
        # their attempt (_release), for the LMS may have taken the score.
        self.began: set[int] = set()
        # Keyed by platform and the course's AGS scopes: courses of one platform share tokens and connections
        # unless the platform offers them different scopes.
        self.connectors: dict[tuple[int, tuple[str, ...]], PlatformConnector] = {}
        self.lineitems: dict[tuple[int, str], str] = {}
        # Per platform id: when (time.monotonic) a platform that said 429 or 503 may be sent scores again.
        self.resume_at: dict[int, float] = {}
        self.timeout = float(app.config.get("SERVICE_TIMEOUT_SECONDS") or 10)
        # A post starts only with this much of its row's lease left: three calls' deadlines (an access token, on
        # Canvas a results read, then the post: see _send), or half the lease when an operator set a shorter one.
        self.lease_needed = timedelta(seconds=min(3 * self.timeout, lease_seconds / 2))

    def connector(self, course_id: int) -> PlatformConnector:
        course = db.session.get(Course, course_id)
        if course is None:
            raise ServiceError("The course of this score no longer exists.")
        key = (course.platform_id, tuple(sorted(course.ags_scopes or ())))
        connector = self.connectors.get(key)
        if connector is None:
            connector = grades.connector_for_course(
                course, secret_key=self.app.config["SECRET_KEY"], http=self.http, timeout=self.timeout
            )
            self.connectors[key] = connector
        return connector

    @property
    def token_requests(self) -> int:
        return sum(c.token_requests for c in self.connectors.values())

    def _failure(self, row: ScoreOutbox, exc: ServiceCallError, now: datetime) -> _Outcome:
        message = ags.platform_message(exc)
        if exc.status == 409:
            return self._refused_as_not_later(row, message, now)
        if exc.transient or (exc.status is None and row.attempts < self.policy.max_attempts):
            # A platform that does not answer, or asks us to come back, is never given up on: an LMS down for
            # maintenance for hours must still get the grade (capped backoff). Our own trouble with no status (an
            # origin not registered, no signing key, an odd answer) gets max_attempts tries, then the teacher sees
            # it failed and can resend it once it is fixed.
            wait = self.policy.delay(row.attempts, exc.retry_after)
            return _Outcome(
                row.id, PENDING, row.attempts, next_attempt_at=now + timedelta(seconds=wait),
                last_status=exc.status, last_error=message,
            )
        if exc.status is None:
            return _Outcome(row.id, FAILED, row.attempts, last_error=f"Gave up after {row.attempts} attempts: "
                                                                      f"{message}")
        return _Outcome(row.id, FAILED, row.attempts, last_status=exc.status, last_error=message)

    def _refused_as_not_later(self, row: ScoreOutbox, message: str, now: datetime) -> _Outcome:
        """A 409: the platform holds a score for this student and column with the same or a later time.

        Canvas says so with a 400, read as this 409 (lti/services.py _status_of, reason score_not_later).

        Harmless when a newer score of ours replaces this one (AGS 2.0 §3.4.1: the platform keeps the latest).
        Otherwise the time it holds may be its own, not ours: Moodle stamps a score without a number, or a teacher's
        edit in its gradebook, with its clock, and refuses every score not later than that (gradebookservices
        scores.php). A tool whose clock is behind would never get the student's newest grade there, so the score is
        sent again with a later time, with backoff, and fails for the teacher to see after max_attempts tries.
        """
        if db.session.scalar(sa.select(_TABLE.c.id).where(_TABLE.c.id == row.id, newer_row_exists())) is not None:
            return _Outcome(row.id, SYNCED, row.attempts, duplicate=True, last_status=409)
        # A 409 after tries that got no answer may be our own post that landed: it is sent again however many tries
        # an outage took; past max_attempts only a 409 answering the previous resend fails it.
        if row.attempts >= self.policy.max_attempts and row.last_status == 409:
            return _Outcome(row.id, FAILED, row.attempts, last_status=409,
                            last_error=f"Gave up after {row.attempts} attempts: {message}")
        wait = self.policy.delay(row.attempts)
        return _Outcome(row.id, PENDING, row.attempts, next_attempt_at=now + timedelta(seconds=wait), last_status=409,
                        last_error=message, score_timestamp=max(now, row.score_timestamp) + grades.SCORE_STEP)

    def run(self, rows: list[ScoreOutbox]) -> list[_Outcome]:
        now = utcnow()
        self.lease_token = rows[0].lease_token if rows else None
        self.began = set()
        outcomes: list[_Outcome] = []
        jobs: list[_Job] = []
        # Read before anything commits: a row read again later shows the lease of whichever worker holds it now.
        leases = {row.id: row.lease_expires_at for row in rows}
        users = {
            p.id: p.sub
            for p in db.session.scalars(sa.select(Person).where(Person.id.in_({r.person_id for r in rows})))
        }
        # Before any platform call: a score without a number that clears nothing is not sent (nor its column made).
        blank = sent_scores.nothing_to_clear(rows)
        for row in rows:
            if row.id in blank:
                outcomes.append(_Outcome(row.id, NOTHING_TO_CLEAR, row.attempts, unsent=True))
                continue
            try:
                connector = self.connector(row.course_id)
                url = row.lineitem_url or self._lineitem(row, connector)
                platform_id = db.session.get(Course, row.course_id).platform_id
                jobs.append(_Job(row, connector, url, grades.score_of(row, users[row.person_id]), platform_id,
                                 lease_ends=leases[row.id]))
            except ServiceCallError as exc:
                outcomes.append(self._failure(row, exc, now))
            except ServiceError as exc:
                outcomes.append(_Outcome(row.id, FAILED, row.attempts, last_error=exc.message))
            except _NOT_THE_ROWS:
                raise  # the pass fails and gives the batch back without using attempts
            except Exception as exc:  # noqa: BLE001 - one platform's odd answer must not stop the other rows
                # Counted as this row's failed attempt, so a row that always fails moves back in the queue instead
                # of failing the pass, and the batch with it, for ever.
                _discard_changes()
                outcomes.append(self._failure(row, unexpected("finding the gradebook column", exc), now))
        # Canvas makes a student's every score a new submission unless told otherwise: what each student's line
        # item already got, read once for the batch, marks only the first one (lti/ags.py score_extensions); a
        # first one Canvas may already have from an attempt whose answer we lost is checked as it is sent (_send).
        sent = sent_scores.last_sent_comments([(job.row, job.url) for job in jobs])
        for job in jobs:
            job.score = replace(job.score, last_sent_comment=sent.get(job.row.id))
        # Fetch each platform's token once before fanning out, so parallel posts do not each ask for one.
        for connector in {id(j.connector): j.connector for j in jobs}.values():
            try:
                connector.get_access_token(ags.AGS_SCOPES, needed=[ags.SCOPE_SCORE])
            except ServiceCallError:
                pass  # each post will meet the same error and be rescheduled or failed on its own

        not_found: list[tuple[_Job, ServiceCallError]] = []
        for job, error in self._send_by_platform(jobs).items():
            if error is not None and error.status == 404:
                not_found.append((job, error))
            else:
                outcomes.append(self._outcome(job, error))
        if not_found:
            outcomes += self._follow_deleted_lineitems(not_found)
        return outcomes

    def _outcome(self, job: _Job, error: ServiceCallError | None) -> _Outcome:
        if error is None:
            return _Outcome(job.row.id, SYNCED, job.row.attempts, lineitem_url=job.url)
        if isinstance(error, _LeaseOver):
            # Not tried, so no attempt is counted and nothing is said; recorded only if no worker took the row.
            return _Outcome(job.row.id, PENDING, job.row.attempts, lineitem_url=job.url, next_attempt_at=utcnow(),
                            unsent=True)
        if isinstance(error, _NotSent):
            # Not tried either: never given up on, and nothing is said (the row keeps its last attempt's answer).
            # Waits as long as after a failed attempt, so the silent platform is not asked again at once, and never
            # less than the Retry-After of a platform that asked us to slow down.
            wait = self.policy.delay(job.row.attempts, error.retry_after)
            return _Outcome(job.row.id, PENDING, job.row.attempts, lineitem_url=job.url,
                            next_attempt_at=utcnow() + timedelta(seconds=wait), unsent=True)
        outcome = self._failure(job.row, error, utcnow())
        outcome.lineitem_url = job.url
        return outcome

    def _follow_deleted_lineitems(self, not_found: list[tuple[_Job, ServiceCallError]]) -> list[_Outcome]:
        """Resend, once, the scores whose line item answered 404, to the column found or made in its place.

        A teacher may delete the column in the LMS (AGS 2.0: platforms may delete line items); every later score
        for it would meet the same 404. The column is looked up again by our resourceId and tag, and made again
        where the platform lets us; a second 404 fails the row instead of looping.
        """
        now = utcnow()
        outcomes: list[_Outcome] = []
        resend: list[_Job] = []
        replaced: dict[str, str | ServiceCallError | ServiceError | None] = {}
        for job, error in not_found:
            if not ags.may_read_lineitems(job.connector):
                # A score-only link (AGS 2.0 §3.1.1.3) can neither look at its column nor find or make another:
                # the platform's 404 is all there is to go on. The URL is kept: the link's next launch names the
                # column the LMS has for it, if any.
                outcomes.append(_Outcome(job.row.id, FAILED, job.row.attempts, lineitem_url=job.url,
                                         last_status=404, last_error=COLUMN_GONE))
                continue
            if job.url not in replaced:
                replaced[job.url] = self._replace_lineitem(job)
            found = replaced[job.url]
            if isinstance(found, str):
                # A column made again is new to the student: their first score there is their submission.
                resend.append(dataclasses.replace(job, url=found,
                                                  score=dataclasses.replace(job.score, last_sent_comment=None)))
            elif found is None:  # the column is still there: the 404 was about something else
                outcomes.append(self._outcome(job, error))
            elif isinstance(found, ServiceCallError):
                outcomes.append(self._failure(job.row, found, now))
            else:
                outcomes.append(_Outcome(job.row.id, FAILED, job.row.attempts, last_status=404,
                                         last_error=f"{COLUMN_GONE} {found.message}"))
        for job, error in self._send_by_platform(resend).items():
            if error is not None and error.status == 404:
                outcomes.append(_Outcome(job.row.id, FAILED, job.row.attempts, lineitem_url=job.url,
                                         last_status=404, last_error=COLUMN_GONE_AGAIN))
            else:
                outcomes.append(self._outcome(job, error))
        return outcomes

    def _replace_lineitem(self, job: _Job) -> str | ServiceCallError | ServiceError | None:
        """Return the line item in place of job.url if the platform deleted it, None if it still has it."""
        try:
            if ags.lineitem_exists(job.connector, job.url):
                return None
            grades.forget_lineitem(job.row.placement_id, job.row.skill_id, job.url)
            self.lineitems = {key: url for key, url in self.lineitems.items() if url != job.url}
            return self._lineitem(job.row, job.connector)
        except (ServiceCallError, ServiceError) as exc:
            return exc
        except _NOT_THE_ROWS:
            raise
        except Exception as exc:  # noqa: BLE001 - as in run(): a failed attempt of these rows, not of the pass
            _discard_changes()
            return unexpected("finding the gradebook column again", exc)

    def _still_leased(self, jobs: list[_Job]) -> list[_Job]:
        """Return the jobs whose rows are still in the outbox under this batch's lease (one query), just before posting.

        The batch is posted from rows read at claim(): a teacher who deletes the student's data meanwhile deletes
        the row, and its score must not reach the LMS after that. A row another worker leased since is theirs to
        post.
        """
        if not jobs:
            return jobs
        # Ids from the identity map: a row deleted since a commit expired it could not be loaded to read them.
        ids = {job: sa.inspect(job.row).identity[0] for job in jobs}
        # A new transaction: on SQLite a read transaction keeps seeing the database as it was when it began.
        commit_keeping_rows()
        held = set(db.session.scalars(
            sa.select(_TABLE.c.id).where(_TABLE.c.id.in_(ids.values()), _TABLE.c.lease_token == self.lease_token)))
        if len(held) < len(ids):
            log.info("%d score(s) not posted: deleted or leased again since this batch claimed them",
                     len(ids) - len(held))
        return [job for job in jobs if ids[job] in held]

    def _send_by_platform(self, jobs: list[_Job]) -> dict[_Job, ServiceCallError | None]:
        """Post the scores, at most WORKER_PLATFORM_CONCURRENCY at a time per platform.

        A platform that does not answer (timeout, refused connection) holds at most that many threads for one
        timeout: its other scores in this batch are not sent but rescheduled, so the batch, and the grades of
        other platforms in it, are not held up by it.
        """
        jobs = self._still_leased(jobs)
        ids = {job: sa.inspect(job.row).identity[0] for job in jobs}  # read here: the lanes never touch ORM rows
        per_platform = max(1, int(setting(self.app, "WORKER_PLATFORM_CONCURRENCY")))
        queues: dict[int, deque[_Job]] = {}
        for job in jobs:
            queues.setdefault(job.platform_id, deque()).append(job)
        results: dict[_Job, ServiceCallError | None] = {}
        lock = threading.Lock()

        def lane(queue: deque[_Job], silent: threading.Event) -> None:
            while True:
                with lock:
                    if not queue:
                        return
                    job = queue.popleft()
                    held = self.resume_at.get(job.platform_id, 0.0) - time.monotonic()
                if silent.is_set():
                    error: ServiceCallError | None = _NotSent(NOT_SENT)
                elif held > 0:
                    error = _NotSent(NOT_SENT, retry_after=held)
                elif not self._lease_covers(job):
                    error = _LeaseOver("the lease ran out")
                else:
                    with lock:
                        self.began.add(ids[job])
                    error = _send(job)
                    if error is not None and error.unreachable:
                        silent.set()
                    if error is not None and error.status in SLOW_DOWN:
                        # Its other scores would only add to the load it refused (Canvas counts throttled calls
                        # too): they wait, in this batch and the next passes, for as long as it asked.
                        pause = self.policy.base_seconds if error.retry_after is None else error.retry_after
                        with lock:
                            self.resume_at[job.platform_id] = max(self.resume_at.get(job.platform_id, 0.0),
                                                                  time.monotonic() + pause)
                with lock:
                    results[job] = error

        lanes = []
        for queue in queues.values():
            silent = threading.Event()
            lanes += [self.pool.submit(lane, queue, silent) for _ in range(min(per_platform, len(queue)))]
        for future in lanes:
            future.result()
        return results

    def _lease_covers(self, job: _Job) -> bool:
        """Tell whether the row's lease outlasts a post started now.

        Line item lookups and a slow platform's earlier posts can use up a batch's lease; once it has run out,
        another worker may claim the row and post it too, and two posts in flight at once cannot see each other
        (on Canvas a student's first score would become two submissions).
        """
        return job.lease_ends is None or utcnow() + self.lease_needed < job.lease_ends

    def _lineitem(self, row: ScoreOutbox, connector: PlatformConnector) -> str:
        key = (row.placement_id, row.skill_id)
        url = self.lineitems.get(key)
        if url is None:
            placement = db.session.get(Placement, row.placement_id)
            if placement is None:
                raise ServiceError("The placement of this score no longer exists.")
            url = grades.ensure_lineitem(row.placement_id, connector=connector, skill_id=row.skill_id)
            self.lineitems[key] = url
        return url


def _next_wake(now: datetime, patience: int | None = None) -> float | None:
    """Return seconds until some pending row may be claimed, or None when nothing is pending.

    With patience, rows already tried that many times are not waited for: they stay pending for the next
    worker, so `pathways worker --once` ends during a long LMS outage instead of retrying for ever.
    """
    waiting = _TABLE.c.status == PENDING
    if patience is not None:
        waiting = sa.and_(waiting, _TABLE.c.attempts < patience)
    due = db.session.execute(
        sa.select(
            sa.func.min(_TABLE.c.next_attempt_at), sa.func.min(_TABLE.c.lease_expires_at), sa.func.count()
        ).where(waiting)
    ).one()
    db.session.commit()  # end the read transaction, so the next pass sees other workers' writes
    if not due[2]:
        return None
    times = [t for t in due[:2] if t is not None]
    return max(0.0, min((t - now).total_seconds() for t in times)) if times else 0.0


def drain(
    app: Flask,
    *,
    once: bool = True,
    batch: int | None = None,
    lease_seconds: float | None = None,
    max_attempts: int | None = None,
    concurrency: int | None = None,
    poll_seconds: float | None = None,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
    http: requests.Session | None = None,
    on_pass: Callable[[DrainStats], None] | None = None,
) -> DrainStats:
    """Post due outbox rows until the outbox is empty (once) or until stopped; return what happened.

    With once=True, rows waiting for a retry are waited for and tried until they have had max_attempts tries (a
    row past them is tried once if due, see Patience), so on return every row is synced, failed, superseded or
    still pending after max_attempts transient failures (or max_seconds ran out). With once=False the worker polls
    for new rows until `stop` is set; it never gives up on a transient failure.
    """
    batch = int(batch or setting(app, "WORKER_BATCH"))
    lease = float(lease_seconds or setting(app, "WORKER_LEASE_SECONDS"))
    poll = float(poll_seconds or setting(app, "WORKER_POLL_SECONDS"))
    policy = RetryPolicy(
        base_seconds=float(setting(app, "GRADE_RETRY_BASE_SECONDS")),
        max_seconds=float(setting(app, "GRADE_RETRY_MAX_SECONDS")),
        max_attempts=int(max_attempts or setting(app, "GRADE_MAX_ATTEMPTS")),
    )
    stop = stop or threading.Event()
    deadline = time.monotonic() + max_seconds if max_seconds else None
    patience = Patience(policy.max_attempts, utcnow()) if once else None
    stats = DrainStats()
    # Platform calls obey the outbound rules (lti/outbound.py) whichever session a caller passes.
    http = http or app.extensions["pathways_http"]
    workers = max(1, int(concurrency or setting(app, "WORKER_CONCURRENCY")))
    with app.app_context(), ThreadPoolExecutor(workers, thread_name_prefix="pathways-post") as pool:
        poster = _Poster(app, http, policy, pool, lease)
        health = _Health(poll, float(setting(app, "WORKER_BACKOFF_MAX_SECONDS")))
        due_sweep = _DueSweep()
        fits = _ModelFits(app)
        try:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                stats.passes += 1
                token = None
                try:
                    stats.superseded += supersede_stale(utcnow())
                    token, rows = claim(batch, lease, patience=patience)
                    if rows:
                        stats.claimed += len(rows)
                        outcomes = poster.run(rows)
                        outcomes = _record(token, outcomes)
                        token = None
                        _count(stats, outcomes)
                        _log_outcomes(outcomes)
                        stats.token_requests = poster.token_requests
                    # Grades first: a roster service that hangs or a slow chore delays the next pass, not these
                    # grades (and each pass's roster syncs are bounded, see _roster_syncs).
                    stats.roster_syncs += _roster_syncs(app, http)
                    stats.courses_purged += _retention(app)
                    stats.people_anonymised += _people_without_courses()
                    # Started, not run: a fit runs in its own thread while the next passes post grades.
                    fits.start()
                    stats.models_fitted += fits.collect()
                    stats.launches_deleted += _ended_launches(app)
                    stats.due_grades_queued += _due_grades(due_sweep)
                    if not rows:
                        wait = _next_wake(utcnow(), policy.max_attempts if once else None)
                    health.passed()
                except Exception as exc:  # noqa: BLE001 - the worker outlives outages; see _Health.failed
                    wait = health.failed(exc, token, poster.began)
                    stats.errors[health.reason] = stats.errors.get(health.reason, 0) + 1
                    stop.wait(wait if deadline is None else min(wait, max(0.0, deadline - time.monotonic())))
                    continue
                if rows:
                    if on_pass:
                        on_pass(stats)
                    continue
                if wait is None and once and due_sweep.after is None:
                    break
                wait = poll if wait is None else min(wait, poll)
                if due_sweep.after is not None:
                    wait = 0.0  # a sweep is under way: its next batch now
                if deadline is not None:
                    wait = min(wait, max(0.0, deadline - time.monotonic()))
                stop.wait(max(wait, 0.01))
            if once and not stop.is_set():
                # `--once` does the round of fits it started before it exits (max_seconds still bounds it).
                fits.wait(None if deadline is None else max(0.0, deadline - time.monotonic()))
        finally:
            fits.close(FIT_STOP_WAIT_SECONDS)
            stats.models_fitted += fits.collect()
            db.session.remove()
    stats.token_requests = poster.token_requests
    return stats


def describe_failure(exc: BaseException) -> str:
    """Return a plain, log-safe reason for a failed pass (no personal data, no remote bodies)."""
    from ..extensions import CACHE_OUTAGES
    from ..lti.keys import SecretKeyMismatch

    if isinstance(exc, SecretKeyMismatch):
        return str(exc)
    if isinstance(exc, sa.exc.SQLAlchemyError) and database_conflict(exc):
        return f"another change to the same data was under way ({exc.__class__.__name__}: a deadlock, lock timeout " \
               "or busy database)"
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"the database is unreachable or refused the work ({exc.__class__.__name__})"
    if isinstance(exc, CACHE_OUTAGES):
        return f"the cache (Redis) is unreachable ({exc.__class__.__name__})"
    if isinstance(exc, requests.RequestException | OSError):
        return f"a network error ({exc.__class__.__name__})"
    return f"an unexpected error ({exc.__class__.__name__})"


class _Health:
    """What this worker tells operators: a log line per new kind of failure, and a heartbeat row per pass."""

    def __init__(self, poll: float, backoff_max: float) -> None:
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:120]
        self.poll = max(poll, 0.05)
        self.backoff_max = max(backoff_max, self.poll)
        self.failures = 0
        self.reason = ""
        self._last_beat = 0.0

    def passed(self) -> None:
        """Note a pass that worked: say so if it ends an outage, and update the heartbeat (once a second)."""
        if self.failures:
            log.info("worker recovered after %d failed pass(es)", self.failures)
            self.failures, self.reason = 0, ""
            self._last_beat = 0.0
        if time.monotonic() - self._last_beat >= 1.0:
            self._beat(last_pass_at=utcnow(), last_error=None, last_error_at=None)
            self._last_beat = time.monotonic()

    def failed(self, exc: BaseException, lease_token: str | None, began: Collection[int] = ()) -> float:
        """Log the failure (once while it lasts), give back leased rows, and return how long to wait.

        began: ids of the rows whose post began in the failed pass (see _release).
        """
        reason = describe_failure(exc)
        self.failures += 1
        # One line per kind of outage: a database going away surfaces as several driver error classes.
        if reason.split(" (")[0] != self.reason.split(" (")[0]:
            if reason.startswith("an unexpected error"):
                log.error("worker pass failed: %s; retrying with backoff", reason, exc_info=exc)
            else:
                log.error("worker pass failed: %s; retrying with backoff", reason)
            self.reason = reason
        _discard_session()
        if lease_token is not None:
            _release(lease_token, began)
        self._beat(last_error=reason[:300], last_error_at=utcnow())
        return min(self.backoff_max, self.poll * 2 ** (self.failures - 1))

    def _beat(self, **values: Any) -> None:
        from ..models import WorkerHeartbeat

        try:
            table = WorkerHeartbeat.__table__
            updated = db.session.execute(
                sa.update(table).where(table.c.worker_id == self.worker_id).values(**values)
            ).rowcount
            if not updated:
                db.session.execute(sa.insert(table).values(worker_id=self.worker_id, started_at=utcnow(), **values))
                # Each process start makes a row; forget workers silent for a week so the table stays small.
                week_ago = utcnow() - timedelta(days=7)
                db.session.execute(
                    sa.delete(table).where(sa.func.coalesce(table.c.last_pass_at, table.c.started_at) < week_ago)
                )
            db.session.commit()
        except sa.exc.SQLAlchemyError:
            _discard_session()  # the heartbeat is news, not work: a database outage just leaves it stale


def _discard_changes() -> None:
    """Roll back what a failed step left unwritten, so the batch's outcomes do not commit it."""
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass


def _discard_session() -> None:
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
    db.session.remove()


def _release(token: str, began: Collection[int] = ()) -> None:
    """Give back the rows leased by a pass that failed; the attempt counts only for a row whose post began.

    A post that began may have reached the LMS though its outcome was never written (the commit failed): its attempt
    is what tells sent_scores.nothing_to_clear that our number may be in the gradebook.
    """
    attempts: Any = _TABLE.c.attempts - 1
    if began:
        attempts = sa.case((_TABLE.c.id.in_(sorted(began)), _TABLE.c.attempts), else_=attempts)
    try:
        db.session.execute(
            sa.update(_TABLE)
            .where(_TABLE.c.lease_token == token, _TABLE.c.status == PENDING)
            .values(lease_token=None, lease_expires_at=None, attempts=attempts)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        _discard_session()  # the database is down too: the lease expires and the rows are taken again


def _log_outcomes(outcomes: list[_Outcome]) -> None:
    """Log each grade post by row id and outcome: ids and statuses only, never names or scores."""
    for outcome in outcomes:
        if outcome.status == SYNCED:
            log.info("grade %d posted%s (attempt %d)", outcome.row_id,
                     " (already in the LMS)" if outcome.duplicate else "", outcome.attempts)
        elif outcome.status == NOTHING_TO_CLEAR:
            log.info("grade %d not sent: no grade yet, and none of ours in the gradebook to clear", outcome.row_id)
        elif outcome.status == PENDING:
            log.warning("grade %d not posted (%s); retrying at %s", outcome.row_id,
                        outcome.last_status or ("not tried" if outcome.unsent else "no answer"),
                        f"{outcome.next_attempt_at:%H:%M:%S}")
        elif outcome.status == SUPERSEDED:
            log.info("grade %d not sent again: a newer score replaces it", outcome.row_id)
        else:
            log.warning("grade %d failed after %d attempt(s) (%s)", outcome.row_id, outcome.attempts,
                        outcome.last_status or "refused")


# A pass starts no new roster sync after this long: the next pass's grade posts wait for the syncs in this one.
ROSTER_SYNC_BUDGET_SECONDS = 30.0


def _roster_syncs(app: Flask, http: requests.Session, budget: float = ROSTER_SYNC_BUDGET_SECONDS) -> int:
    """Run the roster syncs teacher launches asked for, for at most `budget` seconds; return how many ran.

    Once a platform's roster service does not answer (a timeout, a refused connection, a 5xx), its other courses
    are left due for the next pass: each would only wait out the same timeout, one after another.
    """
    from ..services.errors import ServiceError
    from ..services.roster import RosterUnreadable, run_due_roster_sync

    done = 0
    unreachable: set[int] = set()
    ends = time.monotonic() + budget
    while time.monotonic() < ends:
        try:
            result = run_due_roster_sync(
                secret_key=app.config["SECRET_KEY"], http=http, timeout=float(setting(app, "SERVICE_TIMEOUT_SECONDS")),
                store_email=bool(app.config.get("STORE_EMAIL")), now=utcnow(),
                retry_seconds=int(setting(app, "ROSTER_SYNC_MIN_SECONDS")), skip_platforms=unreachable,
            )
        except RosterUnreadable as exc:
            log.warning("roster sync failed: %s", exc.message)
            if exc.unreachable:
                unreachable.add(exc.platform_id)
            continue
        except ServiceError as exc:
            log.warning("roster sync failed: %s", exc.message)
            continue
        if result is None:
            break
        done += 1
    return done


def _first_to_mark(marker: str, seconds: int) -> bool:
    """Set a shared marker for `seconds` unless it is set; True for the one worker that set it.

    With the cache (Redis) unreachable no worker can tell whether another ran the chore, so none runs it this
    pass: housekeeping waits for the cache to come back, grade posts and roster syncs (in the database) do not.
    """
    from ..extensions import CACHE_OUTAGES, cache

    try:
        added = bool(cache.add(marker, 1, timeout=seconds))
    except CACHE_OUTAGES as exc:
        if marker not in _MARKERS_UNREACHABLE:  # one line per outage, not one per pass
            log.warning("skipping %s until the cache is back: %s", marker, describe_failure(exc))
            _MARKERS_UNREACHABLE.add(marker)
        return False
    if marker in _MARKERS_UNREACHABLE:
        log.info("the cache is back: %s runs again", marker)
        _MARKERS_UNREACHABLE.discard(marker)
    return added


# Markers whose chore is waiting for the cache; only to keep the log to one line per outage.
_MARKERS_UNREACHABLE: set[str] = set()


# Retention runs at most this often per worker; purging is a daily chore, not a per-pass one.
RETENTION_EVERY_SECONDS = 3600


def _retention(app: Flask) -> int:
    """Purge courses idle longer than RETENTION_DAYS, at most once an hour across all workers."""
    from ..services.privacy import purge_inactive_courses

    days = int(app.config.get("RETENTION_DAYS") or 0)
    # cache.add is atomic: only the worker that adds the marker purges this hour.
    if days <= 0 or not _first_to_mark("retention-purge-ran", RETENTION_EVERY_SECONDS):
        return 0
    from ..services.storage import StoreUnavailable

    try:
        report = purge_inactive_courses(utcnow(), days, dry_run=False)
    except StoreUnavailable:
        # The evidence store is down: nothing was purged (files go before rows). Try again at the next hour's
        # pass rather than hold up this pass's grade posts.
        db.session.rollback()
        log.warning("retention: the evidence store is unavailable; purging again in an hour")
        return 0
    if report.courses:
        log.info("retention: purged %d course(s) idle for %d days", len(report.courses), days)
    return len(report.courses)


def _people_without_courses() -> int:
    """Anonymise the people left with no course, at most once an hour across all workers, retention on or off.

    Someone who only opened a Data Privacy Launch, or a Deep Linking request without a context, is enrolled
    nowhere: no course's deletion or purge reaches them, and with retention off (the default) they kept their
    name and email for good. A failure is logged and left to the next hour, as grade posts must not wait.
    """
    from ..services.privacy import anonymise_people_without_courses
    from ..services.storage import StoreUnavailable

    if not _first_to_mark("courseless-people-ran", RETENTION_EVERY_SECONDS):
        return 0
    try:
        anonymised = anonymise_people_without_courses(utcnow())
    except (StoreUnavailable, sa.exc.SQLAlchemyError) as exc:
        _discard_session()
        log.warning("anonymising people with no course failed: %s; trying again in an hour", describe_failure(exc))
        return 0
    if anonymised:
        log.info("anonymised %d person(s) left with no course", anonymised)
    return anonymised


# Looking for courses to refit runs at most this often per worker pool; the fits themselves are daily.
MODEL_FIT_CHECK_SECONDS = 600


class _ModelFits:
    """Refit the mastery model of due courses in a thread of this worker's own, one course at a time.

    A large course's fit takes minutes of CPU (about 95 s for an ASSISTments-sized history); run in the pass,
    it held up every grade post behind it. The fit thread has its own app context, so its own database session.
    Each course is claimed (services/model_fitting.py fit_claim) and checked again before it is fitted, so two
    workers, or a worker and `pathways course fit`, never fit one course at once. A fit that fails, runs longer
    than MODEL_FIT_MAX_SECONDS or is stopped with the worker stores nothing (a new revision is written only at
    the end) and leaves the course due, so a later check fits it again.

    The teacher's "Refit now" only asks (a large course outlasts a web request): every pass that finds an open
    request (one indexed query of course_content) starts a round, and a round fits requested courses first and
    again between scheduled ones. A requested fit that fails or runs out of time is kept for the teacher's page
    (and not tried again until asked again).
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.hours = float(setting(app, "MODEL_FIT_HOURS") or 0)
        self.max_seconds = float(setting(app, "MODEL_FIT_MAX_SECONDS") or 0)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self._done = 0
        self._lock = threading.Lock()

    def busy(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        """Start a round of fits if none is running here: teachers' requests at every pass, and the scheduled
        fits if no worker looked in the last MODEL_FIT_CHECK_SECONDS."""
        from ..services.model_fitting import open_refit_requests

        if self.busy():
            return
        try:
            requested = bool(open_refit_requests())
        except sa.exc.SQLAlchemyError as exc:
            # Housekeeping like the others after the grades: the requests wait in the database for the next pass.
            _discard_session()
            log.warning("model fit: reading the teachers' refit requests failed: %s; reading them again next pass",
                        describe_failure(exc))
            requested = False
        # cache.add is atomic: one worker looks per period; the claims keep rounds that overlap apart.
        scheduled = self.hours > 0 and _first_to_mark("model-fit-ran", MODEL_FIT_CHECK_SECONDS)
        if not requested and not scheduled:
            return
        # A daemon: a stopped worker does not wait for a fit (it stores nothing unless it finishes).
        self.thread = threading.Thread(target=self._round, args=(scheduled,), name="pathways-model-fit",
                                       daemon=True)
        self.thread.start()

    def collect(self) -> int:
        """Return how many fits finished since the last call."""
        with self._lock:
            done, self._done = self._done, 0
        return done

    def wait(self, seconds: float | None) -> None:
        if self.thread is not None:
            self.thread.join(seconds)

    def close(self, seconds: float) -> None:
        """Stop the fit running (it stops at its next learner or epoch and stores nothing), waiting a little."""
        self.stop.set()
        self.wait(seconds)

    def _round(self, scheduled: bool) -> None:
        from ..services.model_fitting import courses_due_for_fit

        with self.app.app_context():
            try:
                self._requested()
                due = courses_due_for_fit(utcnow(), timedelta(hours=self.hours)) if scheduled else []
                for course_id in due:
                    if self.stop.is_set():
                        break
                    self._fit(course_id)
                    # A teacher waiting on the page goes before the rest of a long scheduled round.
                    self._requested()
            except Exception as exc:  # noqa: BLE001 - the worker outlives a failed round; the next check retries
                log.warning("model fit: looking for courses to fit failed: %s; checking again later",
                            describe_failure(exc))
            finally:
                _discard_session()

    def _requested(self) -> None:
        """Fit the courses teachers asked for, oldest request first, until none is left or the worker stops."""
        from ..services.model_fitting import open_refit_requests

        tried: set[int] = set()
        while not self.stop.is_set():
            # Read again after each fit: a teacher may have asked meanwhile. Each course once a round: one that
            # another worker is fitting stays requested, and is looked at again at the next pass. A database error
            # ends the round (see _round); the requests wait in the database for the next one.
            waiting = [course_id for course_id in open_refit_requests() if course_id not in tried]
            if not waiting:
                return
            tried.add(waiting[0])
            self._fit(waiting[0], requested=True)

    def _fit(self, course_id: int, *, requested: bool = False) -> None:
        from ..learning.mastery import FitStopped
        from ..services.model_fitting import fit_if_due, fit_if_requested

        ends = time.monotonic() + self.max_seconds if self.max_seconds > 0 else None

        def keep_going() -> bool:
            return not self.stop.is_set() and (ends is None or time.monotonic() < ends)

        now = utcnow()
        try:
            if requested:
                summary = fit_if_requested(course_id, now, keep_going=keep_going, stopping=self.stop.is_set)
            else:
                summary = fit_if_due(course_id, now, timedelta(hours=self.hours), keep_going=keep_going)
        except FitStopped:
            _discard_session()
            if self.stop.is_set():
                log.info("model fit: course %d stopped with the worker; it is fitted at a later check", course_id)
            else:  # a requested one is recorded for the teacher's page (fit_if_requested), not tried at every pass
                log.warning("model fit: course %d took longer than %g s and was abandoned (raise "
                            "PATHWAYS_MODEL_FIT_MAX_SECONDS, or run `pathways course fit`)", course_id,
                            self.max_seconds)
            return
        except Exception as exc:  # noqa: BLE001 - one course's failed fit must not stop the others or the worker
            # A requested fit's failure is recorded already (fit_if_requested); the schedule tries again.
            _discard_session()
            reason = describe_failure(exc)
            log.warning("model fit: course %d failed: %s; it is fitted again at a later check", course_id, reason,
                        exc_info=exc if reason.startswith("an unexpected error") else None)
            return
        if summary is None:
            return  # fitted or being fitted elsewhere since the round began
        log.info("model fit: course %d revision %d on %d answers by %d learners%s", course_id, summary.revision,
                 summary.responses, summary.learners, "" if summary.fitted else " (too few: kept the prior)")
        with self._lock:
            self._done += 1


# Launch sessions a pass deletes at most: one indexed DELETE, the same cost whatever the backlog (issue 14).
LAUNCH_DELETE_BATCH = 500


def _ended_launches(app: Flask) -> int:
    """Delete launch sessions ended more than LAUNCH_SESSION_KEEP_DAYS ago, a batch per pass.

    A failure here (a lock timeout, a deadlock with a delete of a person's data) is logged and left to the next
    pass: grade posts must not wait for housekeeping. A database that is down fails claim() next, as before.
    """
    from ..services.launches import ENDED_LAUNCH_GRACE, delete_ended_launches

    kept = max(timedelta(days=float(setting(app, "LAUNCH_SESSION_KEEP_DAYS"))), ENDED_LAUNCH_GRACE)
    try:
        return delete_ended_launches(utcnow() - kept, LAUNCH_DELETE_BATCH)
    except sa.exc.SQLAlchemyError as exc:
        _discard_session()
        log.warning("deleting ended launch sessions failed: %s; trying again next pass", describe_failure(exc))
        return 0


# A sweep of the due-so-far courses starts at most this often across workers: dates are whole days, so an hour's
# delay after midnight (UTC) is the most a grade waits for a date that passed.
DUE_GRADES_EVERY_SECONDS = 3600
# Courses a pass checks at most; a sweep goes on at the next pass, so grade posts never wait for a whole sweep.
DUE_GRADES_BATCH = 20


@dataclass
class _DueSweep:
    """Where this worker's sweep of due-so-far courses stands: None between sweeps, else the last course done."""

    after: int | None = None
    # Passes in a row whose batch failed on the database; after DUE_GRADES_TRIES the sweep waits for the next period.
    failures: int = 0


DUE_GRADES_TRIES = 3


def _database_away(exc: BaseException) -> bool:
    """Tell whether a database error says the database is unreachable or busy (worth the same course again).

    An integrity or data error in one course's rows would fail the same way on every try: that course is skipped.
    """
    return isinstance(exc, DATABASE_OUTAGES) or database_read_only(exc) or bool(
        getattr(exc, "connection_invalidated", False))


def _due_grades(sweep: _DueSweep, batch: int = DUE_GRADES_BATCH) -> int:
    """Check a batch of due-so-far courses for grades worked out before a target date passed and requeue them.

    One worker starts a sweep per period (the shared marker); it goes on batch by batch, one per pass. A database
    that is unreachable or busy leaves the sweep where it was, for the next pass; any other error in one course (its
    data included) is logged and that course skipped (the next sweep looks at it again), so one broken course never
    stops the others or the worker.
    """
    from ..services.publishing import due_so_far_courses, requeue_if_due_changed

    if sweep.after is None:
        if not _first_to_mark("due-grades-ran", DUE_GRADES_EVERY_SECONDS):
            return 0
        sweep.after = 0
    queued = 0
    try:
        courses = due_so_far_courses(after=sweep.after, limit=batch)
        for course_id in courses:
            try:
                queued += requeue_if_due_changed(course_id, now=utcnow())
            except Exception as exc:  # noqa: BLE001 - one course's odd data must not stop the sweep
                if _database_away(exc):
                    raise  # the database, not this course: the sweep waits where it is
                _discard_session()
                log.error("due-so-far grades of course %d not checked: %s", course_id, describe_failure(exc))
            sweep.after = course_id
    except sa.exc.SQLAlchemyError as exc:
        _discard_session()
        sweep.failures += 1
        if sweep.failures >= DUE_GRADES_TRIES:  # not for ever: `worker --once` must end, the next period retries
            sweep.after, sweep.failures = None, 0
        log.warning("checking due-so-far grades failed: %s; trying again later", describe_failure(exc))
        return queued
    sweep.failures = 0
    if len(courses) < batch:
        sweep.after = None  # the sweep is done; the next starts with the next period
    if queued:
        log.info("queued %d score(s) for target dates that passed", queued)
    return queued


def _count(stats: DrainStats, outcomes: list[_Outcome]) -> None:
    for outcome in outcomes:
        if outcome.status == SYNCED:
            stats.posted += 1
            stats.duplicates += outcome.duplicate
        elif outcome.status == NOTHING_TO_CLEAR:
            stats.not_needed += 1
        elif outcome.status == PENDING:
            stats.retries_scheduled += 1
        elif outcome.status == SUPERSEDED:
            stats.superseded += 1
        elif outcome.status == FAILED:
            stats.failed += 1
        if outcome.last_status is not None or outcome.last_error:
            reason = str(outcome.last_status or "no answer")
            stats.errors[reason] = stats.errors.get(reason, 0) + 1


def start_background_worker(app: Flask) -> tuple[threading.Thread, threading.Event]:
    """Run the worker in a daemon thread of this process (`pathways demo`); set the event to stop it."""
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                drain(app, once=False, stop=stop)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the demo's worker for good
                log.exception("The outbox worker stopped; restarting it in a few seconds")
                stop.wait(5)

    thread = threading.Thread(target=run, name="pathways-worker", daemon=True)
    thread.start()
    return thread, stop
