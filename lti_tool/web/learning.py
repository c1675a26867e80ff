"""Student practice and the teacher's class view, inside a launch."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..services.classroom import heatmap
from ..services.errors import ServiceError
from ..services.mastery import override_level, record_answer, require_pack
from ..services.plan import class_overview, next_item
from .course import launch_blueprint, require_teacher
from .i18n import translated

bp = launch_blueprint("learning", __name__)
LEVELS = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _student() -> int:
    if g.launch.access != "student":
        abort(403)
    return g.launch.person_id


@bp.get("/practice/<skill_id>")
def practice(skill_id: str):
    """Show the next question for a skill, one at a time."""
    person_id = _student()
    pack = require_pack(g.launch.course_id)
    skill = next((s for s in pack.skills if s.id == skill_id), None)
    if skill is None:
        abort(404)
    item = next_item(g.launch.course_id, person_id, skill_id)
    hints = max(0, min(request.args.get("hints", 0, type=int), len(item.hints) if item else 0))
    return render_template("student/practice.html", launch=g.launch, skill=skill, item=item, hints=hints)


@bp.post("/practice/<skill_id>")
def answer(skill_id: str):
    """Check the answer and show feedback; mastery updates as the student goes."""
    person_id = _student()
    pack = require_pack(g.launch.course_id)
    skill = next((s for s in pack.skills if s.id == skill_id), None)
    if skill is None:
        abort(404)
    item_id = request.form.get("item_id", "")
    try:
        result = record_answer(g.launch.course_id, person_id, item_id, request.form.get("answer", ""),
                               hints_used=request.form.get("hints", 0, type=int), source="practice", now=_now())
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("learning.practice", skill_id=skill_id), code=303)
    item = pack.item(item_id)
    return render_template("student/feedback.html", launch=g.launch, skill=skill, item=item, result=result)


@bp.get("/class")
def class_view():
    """Show the class heatmap: students by skills, with levels in words as well as colour."""
    require_teacher()
    view = heatmap(
        g.launch.course_id, g.launch.platform_id, sort=request.args.get("sort", ""), unit=request.args.get("unit", ""),
        skill=request.args.get("skill", ""), below=request.args.get("below", ""),
    )
    return render_template("teacher/class.html", launch=g.launch, heatmap=view, skills=view.skills, rows=view.rows,
                           levels=LEVELS)


@bp.post("/class/override")
def override():
    """Set a student's level on a skill, with a note."""
    require_teacher()
    person_id = request.form.get("person_id", type=int)
    students = {row.person_id for row in class_overview(g.launch.course_id, g.launch.platform_id)[1]}
    if person_id not in students:
        abort(404)  # only students of this launch's course
    try:
        view = override_level(g.launch.course_id, person_id, request.form.get("skill_id", ""),
                              request.form.get("level", ""), note=request.form.get("note", ""),
                              actor_id=g.launch.person_id, now=_now())
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(f"Level set to {view.level.value} for {view.name}.", "success")
    return redirect(url_for("learning.class_view"), code=303)
