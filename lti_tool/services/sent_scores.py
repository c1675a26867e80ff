"""What Pathways already sent each student on each line item, read once for a batch of scores to post.

Canvas treats a score as the student's submission: the first one a student gets on a line item is their
submission, later ones only re-grade it, and a comment is news only when it changed (lti/ags.py). That
history is the outbox's synced rows for the same student and line item URL (a recreated column starts anew).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from ..extensions import db
from ..models import ScoreOutbox
from ..models.outbox import SYNCED

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
    clear, and on Canvas the score itself would become a submission in the teacher's "Needs grading" list. "May
    have reached" counts every numbered score a worker tried (attempts > 0, whatever became of it) as well as those
    synced: one a worker holds right now, or one whose answer was lost, may be in the gradebook, and leaving its
    number there would be worse than an extra Pending score. Per student and column (placement and skill), in
    one statement however many rows.
    """
    blank = [row for row in rows if row.score_given is None]
    if not blank:
        return set()
    reached = {
        (found.placement_id, found.skill_id, found.person_id)
        for found in db.session.execute(
            sa.select(_OUTBOX.c.placement_id, _OUTBOX.c.skill_id, _OUTBOX.c.person_id).distinct()
            .where(_OUTBOX.c.placement_id.in_(sorted({row.placement_id for row in blank})),
                   _OUTBOX.c.skill_id.in_(sorted({row.skill_id for row in blank})),
                   _OUTBOX.c.person_id.in_(sorted({row.person_id for row in blank})),
                   _OUTBOX.c.score_given.is_not(None),
                   sa.or_(_OUTBOX.c.status == SYNCED, _OUTBOX.c.attempts > 0))
        )
    }
    return {row.id for row in blank if (row.placement_id, row.skill_id, row.person_id) not in reached}
