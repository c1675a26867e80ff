"""The teacher's view of the course's mastery model: which fit it runs on, and a button to ask for a refit."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext

from ..services.errors import ServiceError
from ..services.model_fitting import (
    FIT_RUNNING,
    FitRunning,
    fit_running,
    model_status,
    refit_status,
    request_refit,
    worker_seen,
)
from ..services.permissions import Action, actor_of, require
from .course import launch_blueprint, require_teacher
from .i18n import translated

bp = launch_blueprint("model_fit", __name__)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored times are naive UTC


@bp.get("/teacher/model")
def status():
    """Show whether the course runs on the starting model or on a fit of its own answers, and a refit under way."""
    require_teacher()
    course_id = g.launch.course_id
    running = fit_running(course_id)
    requested, failed = (None, None) if running else refit_status(course_id)
    return render_template("teacher/model.html", launch=g.launch, status=model_status(course_id), running=running,
                           requested=requested, failed=failed,
                           worker_seen=worker_seen(_now()), fit_hours=_schedule())


def _schedule() -> int | None:
    """Return the hours between the worker's refits of a course with new answers, or None when scheduled refits
    are off (MODEL_FIT_HOURS 0, as jobs/worker.py _ModelFits reads it)."""
    hours = float(current_app.config.get("MODEL_FIT_HOURS") or 0)
    # Whole hours from the environment; an override in code may give a fraction, shown as the nearest hour.
    return max(1, round(hours)) if hours > 0 else None


@bp.post("/teacher/model")
def refit():
    """Ask the worker to refit the course's model soon, instead of waiting for the scheduled fit.

    Not fitted here: a large course's fit takes minutes, and the web server ends a request after 30 seconds.
    """
    require_teacher()
    require(actor_of(g.launch), Action.EDIT_CONTENT)
    course_id = g.launch.course_id
    try:
        if fit_running(course_id):
            raise FitRunning(FIT_RUNNING)
        request_refit(course_id, _now())
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        if worker_seen(_now()):
            flash(gettext("Pathways will refit this course's model in the next few minutes. This page shows the new "
                          "fit when it is done."), "success")
        else:
            flash(gettext("Your request is saved, but Pathways' background worker, which does refits, has not run "
                          "in the last few minutes. The refit happens when it runs again: if this page does not "
                          "show a new fit within the hour, tell your Pathways administrator."), "success")
    return redirect(url_for("model_fit.status"), code=303)
