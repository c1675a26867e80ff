"""What Pathways already sent each student on each line item, read once for a batch of scores to post.

Canvas treats a score as the student's submission: the first one a student gets on a line item is their
submission, later ones only re-grade it, and a comment is news only when it changed (lti/ags.py). That
history is the outbox's synced rows for the same student and line item URL (a recreated column starts anew).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import ScoreOutbox
from ..models.outbox import PENDING, SUPERSEDED, SYNCED
from .grades import PENDING_MANUAL

_OUTBOX = ScoreOutbox.__table__


def last_sent_comments(posts: Sequence[tuple[ScoreOutbox, str]]) -> dict[int, str]:
    """Return {row id: comment of the latest score sent} for the rows whose student already got a score there.

    posts pairs each outbox row with the line item URL it is about to be posted to. A row missing from the
    answer is the student's first score on that line item. One statement however many rows, over the
    (placement, skill, person) index.
    """
    if not posts:
        return {}
    rows = [row for row, _ in posts]
    ranked = (
        sa.select(_OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id, _OUTBOX.c.lineitem_url,
                  _OUTBOX.c.comment,
                  sa.func.row_number().over(
                      partition_by=(_OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id,
                                    _OUTBOX.c.lineitem_url),
                      order_by=(_OUTBOX.c.score_timestamp.desc(), _OUTBOX.c.id.desc())).label("newest"))
        .where(_OUTBOX.c.placement_id.in_(sorted({row.placement_id for row in rows})),
               _OUTBOX.c.skill_id.in_(sorted({row.skill_id for row in rows})),
               _OUTBOX.c.person_id.in_(sorted({row.person_id for row in rows})),
               _OUTBOX.c.lineitem_url.in_(sorted({url for _, url in posts})),
               _OUTBOX.c.status == SYNCED)
        .subquery()
    )
    sent = {
        (found.placement_id, found.skill_id, found.person_id, found.lineitem_url): found.comment or ""
        for found in db.session.execute(sa.select(ranked).where(ranked.c.newest == 1))
    }
    out = {}
    for row, url in posts:
        comment = sent.get((row.placement_id, row.skill_id, row.person_id, url))
        if comment is not None:
            out[row.id] = comment
    return out


def nothing_to_clear(rows: Sequence[ScoreOutbox]) -> set[int]:
    """Return the ids of these scores without a number whose student no numbered score of ours may have reached.

    A score without scoreGiven only clears a number sent before; with none there is nothing in the gradebook to
    clear, and on Canvas the score itself would become a submission in the teacher's "Needs grading" list. Per
    student and column (placement and skill), in one statement however many rows; see _MAY_HAVE_REACHED for what
    counts.
    """
    blank = [row for row in rows if row.score_given is None]
    unreached = never_reached({(row.placement_id, row.skill_id, row.person_id) for row in blank})
    return {row.id for row in blank if (row.placement_id, row.skill_id, row.person_id) in unreached}


def never_reached(targets: Collection[tuple[int, str, int]]) -> set[tuple[int, str, int]]:
    """Return which of these (placement, skill, person) columns no numbered score of ours may have reached.

    A score without a number queued for one of them is not sent (nothing_to_clear): the worker's rule, read here
    too by whoever tells the teacher how many scores are on their way. One statement however many targets.
    """
    if not targets:
        return set()
    reached = {
        (found.placement_id, found.skill_id, found.person_id)
        for found in db.session.execute(
            sa.select(_OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id).distinct()
            .where(_OUTBOX.c.placement_id.in_(sorted({target[0] for target in targets})),
                   _OUTBOX.c.skill_id.in_(sorted({target[1] for target in targets})),
                   _OUTBOX.c.person_id.in_(sorted({target[2] for target in targets})),
                   _OUTBOX.c.score_given.is_not(None),
                   _MAY_HAVE_REACHED)
        )
    }
    return set(targets) - reached


# Whether a numbered score of ours may be in the gradebook: a post of it to the LMS began. Told from facts no later
# step erases. It was synced. Or its attempt count is above 0: claim() counts the attempt before the post, and the
# worker gives it back only when no post began (jobs/worker.py: not sent because its platform hung on another score or
# its lease ran out first; or the pass failed before posting it, _release, which keeps the attempt of a post that
# began when a failed commit lost its outcome; a worker that dies gives nothing back). Or an attempt ended with the
# LMS's answer or our reason to try again or give up (last_status, last_error): every recorded attempt not synced
# writes one, so every failed row has one, and a score not sent writes none and keeps the one it had (_record). The
# teacher's retry resets the attempt count (it paces the backoff and caps the tries at our own errors;
# grades.retry_failed) but only of failed rows, and keeps last_status and last_error. It errs one way only, where a
# number left in the gradebook would be worse than an extra Pending score: a row a worker holds right now (its post
# may begin at any moment) and an attempt that failed before its post (finding the gradebook column) count too. Per
# column target, not line item URL: a column made again in the LMS at worst gets one Pending score it did not need.
_MAY_HAVE_REACHED = sa.or_(_OUTBOX.c.status == SYNCED, _OUTBOX.c.attempts > 0, _OUTBOX.c.last_status.is_not(None),
                           _OUTBOX.c.last_error.is_not(None))


def shown_waiting_for_review(course_id: int, person_ids: Collection[int]) -> set[int]:
    """Return which of these students' grades the LMS gradebook shows (or is about to) as waiting for review.

    The newest score on one of their columns says PendingManual and is sent or on its way. Not a course without a
    graded link (no column), nor a score without a number that the worker leaves unsent (`nothing_to_clear`: nothing
    is due yet), so the evidence page claims it only where it is true.
    """
    if not person_ids:
        return set()
    newest: dict[tuple[int, str, int], ScoreOutbox] = {}
    for row in db.session.scalars(
        sa.select(ScoreOutbox)
        .where(ScoreOutbox.course_id == course_id, ScoreOutbox.person_id.in_(sorted(person_ids)),
               ScoreOutbox.status != SUPERSEDED)
        .order_by(ScoreOutbox.score_timestamp, ScoreOutbox.id)
    ):
        newest[(row.placement_id, row.skill_id, row.person_id)] = row
    waiting = [row for row in newest.values()
               if row.grading_progress == PENDING_MANUAL and row.status in (PENDING, SYNCED)]
    unsent = nothing_to_clear(waiting)
    return {row.person_id for row in waiting if row.id not in unsent}
