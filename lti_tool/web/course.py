"""Pages inside a launched course: /c/<launch_id>/ shows the teacher or student view."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g, render_template, session

from ..services.launches import course_roster, open_launch

bp = Blueprint("course", __name__, url_prefix="/c/<launch_id>")


@bp.url_value_preprocessor
def load_launch(endpoint, values):
    """Resolve the launch session every page in this blueprint acts within."""
    launch_id = values.pop("launch_id") if values else None
    held = session.get("launches", [])
    g.launch = open_launch(launch_id, held if isinstance(held, list) else [], now=_now())


@bp.url_defaults
def add_launch_id(endpoint, values):
    if "launch_id" not in values and getattr(g, "launch", None) is not None:
        values["launch_id"] = g.launch.id


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@bp.get("/")
def home():
    """Show the teacher's course page or the student's own page."""
    launch = g.launch
    if launch.access == "teacher":
        return render_template("teacher/home.html", launch=launch, roster=course_roster(launch))
    return render_template("student/home.html", launch=launch)
