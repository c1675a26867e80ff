"""The teacher's view of the course's mastery model: which fit it runs on, and a button to refit it now."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext

from ..services.errors import ServiceError
from ..services.model_fitting import fit_course_model, model_status
from .course import launch_blueprint, require_teacher
from .i18n import translated

bp = launch_blueprint("model_fit", __name__)


@bp.get("/teacher/model")
def status():
    """Show whether the course runs on the starting model or on a fit of its own answers."""
    require_teacher()
    return render_template("teacher/model.html", launch=g.launch, status=model_status(g.launch.course_id))


@bp.post("/teacher/model")
def refit():
    """Fit the course's model from its answers now, instead of waiting for the daily fit."""
    require_teacher()
    try:
        summary = fit_course_model(g.launch.course_id, datetime.now(UTC).replace(tzinfo=None))
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        if summary.fitted:
            flash(gettext("Refitted on %(responses)d answers by %(learners)d students.", responses=summary.responses,
                          learners=summary.learners), "success")
        else:
            flash(gettext("Only %(responses)d answers so far: the course keeps the starting model.",
                          responses=summary.responses), "success")
    return redirect(url_for("model_fit.status"), code=303)
