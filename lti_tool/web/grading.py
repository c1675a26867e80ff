"""The teacher's grading settings: scheme and optional per-skill gradebook columns."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from ..services.errors import ServiceError
from ..services.permissions import actor_of
from ..services.publishing import grading_settings, set_grading
from .course import launch_blueprint, require_teacher
from .i18n import translated

bp = launch_blueprint("grading", __name__)


@bp.get("/teacher/grading")
def settings():
    """Show how mastery turns into grades for this course."""
    require_teacher()
    return render_template("teacher/grading.html", launch=g.launch, current=grading_settings(g.launch.course_id))


@bp.post("/teacher/grading")
def save():
    """Save the grading scheme and whether each skill gets its own column."""
    require_teacher()
    try:
        set_grading(g.launch.course_id, actor=actor_of(g.launch), scheme=request.form.get("scheme", ""),
                    per_skill=request.form.get("per_skill") == "on")
    except ServiceError as exc:
        if exc.status == 403:
            raise  # a refused role gets the plain 403 page, not a flash
        flash(translated(exc), "error")
    else:
        flash("Grading settings saved. They apply from the next change of level.", "success")
    return redirect(url_for("grading.settings"), code=303)
