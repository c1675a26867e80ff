"""Student practice and the teacher's class view, inside a launch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from ..learning.mastery import Level
from ..models.base import utcnow
from ..services.classroom import heatmap, needs_help_count
from ..services.errors import N_, Forbidden, NotFound, ServiceError
from ..services.help import MISSES_BEFORE_HELP, ask_teacher, learning_activities
from ..services.mastery import override_level, record_answer, require_pack
from ..services.permissions import actor_of
from ..services.plan import class_overview, plan_for
from ..services.serving import misses_in_a_row, serve_next
from .course import launch_blueprint, require_student, require_teacher
from .i18n import localized, page_language, translated
from .skill_map import map_edges, map_name_lines, student_map_boxes

bp = launch_blueprint("learning", __name__)
LEVELS = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]




def _skill(pack, skill_id: str):
    skill = next((s for s in pack.skills if s.id == skill_id), None)
    if skill is None:
        abort(404)
    return skill


@bp.get("/practice/<skill_id>")
def practice(skill_id: str):
    """Show the student's question for a skill, one at a time: the server chooses and keeps it."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    skill = _skill(pack, skill_id)
    question = serve_next(g.launch.course_id, person_id, skill_id, pack, now=utcnow())
    item = question.item if question else None
    hints = max(0, min(request.args.get("hints", 0, type=int), len(item.hints) if item else 0))
    return render_template("student/practice.html", launch=g.launch, skill=skill, item=item, question=question,
                           hints=hints)


@bp.post("/practice/<skill_id>")
def answer(skill_id: str):
    """Check the answer and show feedback; mastery updates as the student goes."""
    person_id = require_student()
    language = page_language()
    pack = require_pack(g.launch.course_id, language)
    skill = _skill(pack, skill_id)
    course_id = g.launch.course_id  # read before the answer's commit expires the launch row
    served_id = request.form.get("served", type=int)
    try:
        if served_id is None:
            raise NotFound(N_("That question was not given to you here. Here is a question that was."))
        result = record_answer(course_id, person_id, served_id, request.form.get("answer", ""),
                               hints_used=request.form.get("hints", 0, type=int), now=utcnow(), language=language)
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("learning.practice", skill_id=skill_id), code=303)
    # Two misses in a row: more of the same questions is not working, so offer other ways to learn it.
    # (A right answer ends any run of misses, so only a wrong one needs the count.)
    stuck = not result.correct and misses_in_a_row(course_id, person_id, skill_id) >= MISSES_BEFORE_HELP
    mastered = any(new is Level.MASTERED and old is not Level.MASTERED for _, old, new in result.changes)
    next_up = None
    if mastered:
        steps = plan_for(course_id, person_id, now=utcnow(), language=language).next_steps
        next_up = next((step for step in steps if step.skill_id != skill_id), None)
    return render_template("student/feedback.html", launch=g.launch, skill=skill, item=result.item, result=result,
                           activities=learning_activities(pack, skill_id) if stuck else [], stuck=stuck,
                           mastered=mastered, next_up=next_up)


@bp.post("/practice/<skill_id>/ask")
def ask(skill_id: str):
    """Ask my teacher: put the student on the teacher's needs-help list with this skill."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    name = ask_teacher(g.launch.course_id, person_id, skill_id, pack, now=utcnow())
    flash(gettext("Your teacher will see that you asked for help with %(skill)s.", skill=name), "success")
    return redirect(url_for("learning.practice", skill_id=skill_id), code=303)


# The skill map's repeated parts (web/skill_map.py), for templates/_skill_map.html.
bp.add_app_template_filter(map_name_lines, "map_name_lines")
bp.add_app_template_global(map_edges, "map_edges")
bp.add_app_template_global(student_map_boxes, "student_map_boxes")


@bp.app_template_global("answer_urls")
def answer_urls(skills: Sequence[Any]) -> dict[str, str]:
    """Return each skill's answer-history address for a stand-in student (person 0), built once per page.

    The heatmap puts each row's student in (`/students/0/` is the first such segment): one url_for per cell was
    about half of the page's CPU for a large class.
    """
    return {skill.id: url_for("classroom.answers", person_id=0, skill_id=skill.id) for skill in skills}


@bp.get("/class")
def class_view():
    """Show the class heatmap: students by skills, with levels in words as well as colour."""
    require_teacher()
    view = heatmap(
        g.launch.course_id, g.launch.platform_id, sort=request.args.get("sort", ""), unit=request.args.get("unit", ""),
        skill=request.args.get("skill", ""), below=request.args.get("below", ""),
    )
    return render_template("teacher/class.html", launch=g.launch, heatmap=view, skills=view.skills, rows=view.rows,
                           levels=LEVELS, help_count=needs_help_count(g.launch.course_id, g.launch.platform_id,
                                                                     now=utcnow()))


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
                              note_to_student=request.form.get("note_to_student", ""), actor=actor_of(g.launch),
                              now=utcnow())
    except Forbidden:
        raise  # the role may not set levels: a refusal page, not a message on a page it cannot use
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(gettext("Level set to %(level)s for %(name)s.", level=localized(view.level), name=view.name), "success")
    if request.form.get("back") == "answers":
        # Set from a student's answers on the skill: back to those answers, where the change now shows.
        return redirect(url_for("classroom.answers", person_id=person_id,
                                skill_id=request.form.get("skill_id", "")), code=303)
    return redirect(url_for("learning.class_view"), code=303)
