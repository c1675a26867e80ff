"""The teacher's course-map editor: skills, units, activities, questions and goals; imports and exports."""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from ..models.base import utcnow
from ..services.content import course_pack
from ..services.course_map import (
    ACTIVITY_KIND_NAMES,
    ITEM_TYPE_NAMES,
    MapError,
    delete_item,
    delete_record,
    delete_skill,
    export_text,
    form_values,
    import_file,
    save_activity,
    save_course_details,
    save_goal,
    save_item,
    save_skill,
    save_unit,
    skills_in_map_order,
    start_course,
)
from ..services.errors import NotFound, ServiceError
from .agency import flash_goals_after_end
from .course import flash_problems, launch_blueprint, require_teacher
from .i18n import N_, localized, message_text, translated

bp = launch_blueprint("course_map", __name__)

KIND_PATTERN = "any(course, skill, unit, activity, item, goal)"
# Fields sent as several checkboxes with the same name.
MULTI_FIELDS = ("skills", "prerequisites")
# Reader notes are shown in full up to this many; a large framework can produce hundreds.
MAX_NOTES = 20



def _form() -> dict:
    values: dict = {key: request.form.get(key, "") for key in request.form if key not in MULTI_FIELDS}
    values.update({key: request.form.getlist(key) for key in MULTI_FIELDS})
    return values


@bp.before_request
def teachers_only() -> None:
    require_teacher()


@bp.get("/teacher/map")
def editor():
    """Show the course map: skills in map order with prerequisites, units, activities, goals."""
    pack = course_pack(g.launch.course_id)
    return render_template("teacher/map.html", launch=g.launch, pack=pack,
                           skills=skills_in_map_order(pack) if pack else [], kinds=ACTIVITY_KIND_NAMES,
                           advice=[message_text(note) for note in pack.warnings()] if pack else [])


@bp.post("/teacher/map/start")
def start():
    """Start an empty course map with just a title."""
    try:
        pack = start_course(g.launch.course_id, request.form.get("title", ""), now=utcnow())
    except MapError as exc:
        _flash_problems(exc)
    else:
        flash(gettext("Started “%(title)s”. Add its skills next.", title=pack.course.title), "success")
    return redirect(url_for("course_map.editor"), code=303)


@bp.route(f"/teacher/map/<{KIND_PATTERN}:kind>", methods=["GET", "POST"])
def edit(kind: str):
    """Show the form for one part of the map (new when there is no id) and save it."""
    record_id = request.args.get("id") or None
    activity_id = request.args.get("activity") or None
    course_id = g.launch.course_id
    problems: list[tuple[str, str | None]] = []  # (the problem in the page's language, the form field it is about)
    if request.method == "POST":
        values = _form()
        try:
            saved = _save(kind, course_id, record_id, activity_id, values)
        except MapError as exc:
            problems = [(message_text(problem), getattr(problem, "field", None)) for problem in exc.problems]
        else:
            flash(gettext(_SAVED_NEW[kind] if record_id is None else _SAVED[kind]), "success")
            if kind == "goal":
                flash_goals_after_end(course_id)
            return redirect(_after_save(kind, saved, activity_id), code=303)
    pack = course_pack(course_id)
    # The heading names the record as saved, not as the refused form has it (perhaps with an empty name).
    saved_values = form_values(pack, kind, record_id, activity_id) if record_id and pack else None
    if request.method == "GET":
        values = saved_values or form_values(pack, kind, record_id, activity_id)
    # Each field a problem is about points at the problem (the list's item problem-<n>), the first at the first.
    field_errors: dict[str, str] = {}
    for number, (_, field) in enumerate(problems, 1):
        if field:
            field_errors.setdefault(field, f"problem-{number}")
    activity = next((a for a in pack.activities if a.id == (activity_id or record_id)), None) if pack else None
    if kind == "item" and activity is None:
        raise NotFound(N_("This course has no such activity; it may have been deleted."))
    skills = skills_in_map_order(pack) if pack else []
    if kind == "item":
        # A question practises some of its activity's skills, never others.
        skills = [skill for skill in skills if skill.id in activity.skills]
    return render_template(
        f"teacher/map_{kind}.html", launch=g.launch, pack=pack, kind=kind, record_id=record_id, values=values,
        problems=problems, activity=activity, skills=skills, saved=saved_values or values,
        field_errors=field_errors, focus_field=problems[0][1] if problems else None,
        kinds=ACTIVITY_KIND_NAMES, item_types=ITEM_TYPE_NAMES,
    ), (400 if problems else 200)


@bp.post(f"/teacher/map/<{KIND_PATTERN}:kind>/delete")
def delete(kind: str):
    """Delete one part of the map, or explain what still uses it."""
    record_id = request.form.get("id", "")
    activity_id = request.form.get("activity", "")
    course_id = g.launch.course_id
    confirmed = request.form.get("confirm") == "yes"
    try:
        if kind == "skill":
            name = delete_skill(course_id, record_id, confirmed=confirmed, now=utcnow())
        elif kind == "item":
            name = delete_item(course_id, activity_id, record_id, confirmed=confirmed, now=utcnow())
        else:
            name = delete_record(course_id, kind, record_id, confirmed=confirmed, now=utcnow())
    except MapError as exc:
        _flash_problems(exc)
        back = {"id": record_id, "activity": activity_id or None}
        return redirect(url_for("course_map.edit", kind=kind, **back), code=303)
    flash(gettext(_DELETED[kind], name=name), "success")
    if kind == "item":
        return redirect(url_for("course_map.edit", kind="activity", id=activity_id), code=303)
    return redirect(url_for("course_map.editor") + f"#{_ANCHORS.get(kind, '')}", code=303)


@bp.post("/teacher/map/import")
def import_upload():
    """Import a course pack (JSON), a Moodle competency CSV or a CASE package (JSON) uploaded by the teacher."""
    upload = request.files.get("pack")
    if upload is None or not upload.filename:
        flash(gettext("Choose a file to import first."), "error")
        return redirect(url_for("course_map.editor"), code=303)
    try:
        result = import_file(g.launch.course_id, upload.filename, upload.read(), now=utcnow())
    except ServiceError as exc:
        # First what happened (nothing), then what to fix: a list of problems alone left the teacher wondering
        # whether half the file went in.
        flash(gettext("Nothing was imported from “%(file)s”: the course map is unchanged. What to fix in the file:",
                      file=upload.filename[:120]), "error")
        _flash_problems(exc)
        return redirect(url_for("course_map.editor"), code=303)
    if result.merged:
        flash(ngettext("Added %(num)d skill from the %(source)s to “%(title)s”; "
                       "activities and questions are unchanged.",
                       "Added %(num)d skills from the %(source)s to “%(title)s”; "
                       "activities and questions are unchanged.",
                       result.skills_added, source=localized(result.source), title=result.pack.course.title),
              "success")
    else:
        flash(gettext("Imported “%(title)s” from the %(source)s: %(skills)d skills, %(activities)d activities.",
                      title=result.pack.course.title, source=localized(result.source), skills=len(result.pack.skills),
                      activities=len(result.pack.activities)), "success")
    for note in result.notes[:MAX_NOTES]:
        flash(gettext("Note: %(note)s", note=message_text(note)), "info")
    if len(result.notes) > MAX_NOTES:
        flash(gettext("… and %(num)d more notes like these.", num=len(result.notes) - MAX_NOTES), "info")
    # The author's advice (skills with few distinct questions), as `pathways course import` prints it; the editor
    # keeps it in view until it no longer applies.
    for warning in result.pack.warnings()[:MAX_NOTES]:
        flash(message_text(warning), "warning")
    return redirect(url_for("course_map.editor"), code=303)


@bp.get("/teacher/map/export.<any(json, csv):fmt>")
def export(fmt: str):
    """Download the course pack (JSON) or its skills as a Moodle competency-framework CSV."""
    body = export_text(g.launch.course_id, fmt)
    if fmt == "csv":
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": 'attachment; filename="skills.csv"'})
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="course-pack.json"'})


# Whole sentences per kind, so each language can agree them with its own word for the thing.
_SAVED_NEW = {"course": N_("Saved the new course details."), "skill": N_("Saved the new skill."),
              "unit": N_("Saved the new unit."), "activity": N_("Saved the new activity."),
              "item": N_("Saved the new question."), "goal": N_("Saved the new goal.")}
_SAVED = {"course": N_("Saved the course details."), "skill": N_("Saved the skill."), "unit": N_("Saved the unit."),
          "activity": N_("Saved the activity."), "item": N_("Saved the question."), "goal": N_("Saved the goal.")}
_DELETED = {"course": N_("Deleted the course details “%(name)s”."), "skill": N_("Deleted the skill “%(name)s”."),
            "unit": N_("Deleted the unit “%(name)s”."), "activity": N_("Deleted the activity “%(name)s”."),
            "item": N_("Deleted the question “%(name)s”."), "goal": N_("Deleted the goal “%(name)s”.")}
_ANCHORS = {"skill": "skills-heading", "unit": "units-heading", "activity": "activities-heading",
            "goal": "goals-heading"}


def _save(kind: str, course_id: int, record_id: str | None, activity_id: str | None, values: dict) -> str:
    now = utcnow()
    if kind == "course":
        return save_course_details(course_id, values, now=now)
    if kind == "item":
        return save_item(course_id, activity_id or "", record_id, values, now=now)
    saver = {"skill": save_skill, "unit": save_unit, "activity": save_activity, "goal": save_goal}[kind]
    return saver(course_id, record_id, values, now=now)


def _after_save(kind: str, saved_id: str, activity_id: str | None) -> str:
    if kind == "item":
        return url_for("course_map.edit", kind="activity", id=activity_id) + "#items-heading"
    if kind == "activity":
        pack = course_pack(g.launch.course_id)
        activity = next((a for a in pack.activities if a.id == saved_id), None) if pack else None
        if activity is not None and activity.kind == "practice":
            return url_for("course_map.edit", kind="activity", id=saved_id) + "#items-heading"
    return url_for("course_map.editor") + f"#{_ANCHORS.get(kind, 'course-heading')}"


def _flash_problems(exc: ServiceError) -> None:
    problems = getattr(exc, "problems", None)
    if problems:
        flash_problems(list(problems))  # capped: flashes travel in the session cookie (4 KB)
    else:
        flash(translated(exc), "error")
