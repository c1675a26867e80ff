"""Test actions for grades: a course with its roster and a placement, scores queued, the worker run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.jobs import worker
from lti_tool.jobs.worker import DrainStats, drain
from lti_tool.lti.services import ServiceCallError
from lti_tool.models import Course, Enrollment, Person, Placement, Platform, ScoreOutbox
from lti_tool.models.base import utcnow
from lti_tool.services.grades import queue_score
from lti_tool.services.roster import sync_roster

# Settings that make retries quick and timeouts short enough for tests.
FAST_RETRIES: dict[str, Any] = {
    "GRADE_RETRY_BASE_SECONDS": 0.01,
    "GRADE_RETRY_MAX_SECONDS": 0.2,
    "SERVICE_TIMEOUT_SECONDS": 0.5,
    "WORKER_POLL_SECONDS": 0.05,
}


@dataclass
class Gradebook:
    """One course in Pathways and the sandbox LMS, with a placement that reports to the LMS gradebook."""

    tool: Any
    course_id: int
    context_id: str
    placement_id: int
    people: dict[str, int]
    lms: Any = None  # the sandbox platform of this course (default: the tool's own sandbox)

    @property
    def platform(self):
        return self.lms or self.tool.platform

    def queue(self, sub: str, score: float, *, now=None, **options: Any) -> int | None:
        """Record a mastery change for a student the way a use case would: queue, then commit."""
        with self.tool.app.app_context():
            row = queue_score(self.placement_id, self.people[sub], score_given=score, now=now or utcnow(), **options)
            db.session.commit()
            return row.id if row else None

    def drain(self, **options: Any) -> DrainStats:
        """Run the worker until the outbox is settled."""
        options.setdefault("max_seconds", 60)
        return drain(self.tool.app, once=True, **options)

    def rows(self) -> list[ScoreOutbox]:
        with self.tool.app.app_context():
            rows = list(db.session.scalars(
                sa.select(ScoreOutbox).where(ScoreOutbox.course_id == self.course_id).order_by(ScoreOutbox.id)
            ))
            db.session.expunge_all()
            return rows

    def placement(self) -> Placement:
        with self.tool.app.app_context():
            placement = db.session.get(Placement, self.placement_id)
            db.session.expunge(placement)
            return placement

    def lms_scores(self, lineitem_url: str | None = None) -> dict[str, dict]:
        """Return the LMS gradebook column of the placement: {user id: latest score}."""
        url = lineitem_url or self.placement().lineitem_url
        return self.platform.latest_scores(self.context_id).get(url, {})

    def posts_received(self, lineitem_url: str | None = None) -> list[dict]:
        """Return every score the LMS accepted for the placement's column, oldest first."""
        return self.platform.scores.get(lineitem_url or self.placement().lineitem_url, [])

    def grade_tokens(self) -> int:
        """Return how many access tokens for the grade services (AGS) the LMS granted."""
        return len([r for r in self.platform.token_requests if r["ok"] and any("lti-ags" in s for s in r["scopes"])])


def open_gradebook(tool, sandbox, *, lineitem_url: str | None = None, score_maximum: float = 100.0) -> Gradebook:
    """Launch as the teacher, read the roster over NRPS, and add a placement "Fractions" to the course."""
    # The launch fetches the platform's keys within the service deadline; only the worker's calls are timed here.
    worker_timeout = tool.app.config["SERVICE_TIMEOUT_SECONDS"]
    tool.app.config["SERVICE_TIMEOUT_SECONDS"] = 10
    page = sandbox.launch("teacher")
    tool.app.config["SERVICE_TIMEOUT_SECONDS"] = worker_timeout
    assert page.status_code == 200, page.text[:500]
    with tool.app.app_context():
        course = db.session.scalars(
            sa.select(Course).join(Platform, Platform.id == Course.platform_id)
            .where(Platform.issuer == sandbox.platform.issuer)
        ).one()
        with requests.Session() as http:
            sync_roster(course.id, secret_key=tool.app.config["SECRET_KEY"], http=http, timeout=10,
                        store_email=False, now=utcnow())
        placement = Placement(course_id=course.id, resource_id="unit-fractions", title="Fractions", kind="unit",
                              skill_ids=["fractions", "ratios"], score_maximum=score_maximum,
                              lineitem_url=lineitem_url)
        db.session.add(placement)
        db.session.commit()
        people = {
            p.sub: p.id
            for p in db.session.scalars(
                sa.select(Person).join(Enrollment, Enrollment.person_id == Person.id)
                .where(Enrollment.course_id == course.id)
            )
        }
        return Gradebook(tool, course.id, course.context_id, placement.id, people, lms=sandbox.platform)


def later(seconds: float):
    """Return a naive-UTC moment some seconds from now."""
    return utcnow() + timedelta(seconds=seconds)


@contextmanager
def gradebook_in_another_lms(tool, name: str, *, setup=None) -> Iterator[Gradebook]:
    """Open a gradebook in a second sandbox LMS whose issuer names it (served under /<name>, e.g. /canvas).

    setup(lms) runs before the teacher's launch, to make the LMS play a platform's habits.
    """
    from tests.support import SandboxActions, start_registered_lms

    key = name.lower()
    lms, server = start_registered_lms(tool, name, f"{key}-client", f"{key}-dep", path="/" + key)
    assert key in lms.issuer
    if setup:
        setup(lms)

    class _Via:  # SandboxActions drives the platform a tool fixture names
        platform = lms

    try:
        yield open_gradebook(tool, SandboxActions(_Via()))
    finally:
        server.shutdown()
        server.server_close()


def one_pass_unanswered(book: Gradebook, monkeypatch: pytest.MonkeyPatch) -> tuple[DrainStats, list[str]]:
    """Run one worker pass in which the LMS answers no score post (a timeout); return its stats and whose post was tried.

    With WORKER_PLATFORM_CONCURRENCY=1, the first post's silence holds back the batch's other scores (not sent).
    """
    tried: list[str] = []

    def no_answer(job: Any) -> ServiceCallError:
        tried.append(job.score.user_id)
        return ServiceCallError("The platform did not answer in time.", unreachable=True)

    one_pass = threading.Event()
    with monkeypatch.context() as patched:
        patched.setattr(worker, "_send", no_answer)
        stats = book.drain(stop=one_pass, on_pass=lambda _: one_pass.set())
    return stats, tried
