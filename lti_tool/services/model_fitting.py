"""Fit each course's mastery model from its own answers, on a schedule and on demand (learning/fitting.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..learning.fitting import fit_course, params_from_stored, stored
from ..learning.mastery import ALL_SKILLS, MasteryModel, Response, SkillState
from ..models import CourseContent, ItemResponse, SkillMastery
from .errors import N_, NotFound
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


def fit_course_model(course_id: int, now: datetime) -> FitSummary:
    """Fit the course's model from its stored answers, store it as a new revision, and refresh the estimates.

    Levels are not recomputed here: they move on a learner's next answer, so a refit never changes a grade
    by itself; the shown estimates are refreshed so every page shows the new model's number.
    """
    content = db.session.get(CourseContent, course_id)
    if content is None:
        raise NotFound(N_("Your teacher has not set up this course in Pathways yet."))
    result = fit_course(_histories(course_id))
    # Lock the row only to number and store the fit (fitting can take a while): two fits at once, say the
    # teacher's button and the worker, get distinct revisions and the later one wins.
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
    due = []
    for course_id, fitted_at in db.session.execute(sa.select(CourseContent.course_id, CourseContent.model_fitted_at)):
        if fitted_at is not None and now - fitted_at < every:
            continue
        newer = sa.select(ItemResponse.id).where(ItemResponse.course_id == course_id)
        if fitted_at is not None:
            newer = newer.where(ItemResponse.answered_at > fitted_at)
        if db.session.execute(newer.limit(1)).first() is not None:
            due.append(course_id)
    return due


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
