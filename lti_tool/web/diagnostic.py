"""The student's placement check: one question at a time, no marks per question, then a starting point."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from ..models.base import utcnow
from ..services import diagnostic
from ..services.errors import ServiceError
from .course import launch_blueprint, require_student
from .i18n import page_language, translated

bp = launch_blueprint("diagnostic", __name__)

#: What each conclusion of the check (learning.diagnostic.Belief) means, in the student's words.
BELIEF_WORDS = {
    "known": "The check says you know this",
    "likely known": "The check says you probably know this",
    "not yet": "A good place to start",
    "likely not yet": "Comes later, after what it builds on",
    "not checked": "Not checked yet",
}


@bp.get("/diagnostic")
def start():
    """Show the placement check's current question."""
    person_id = require_student()
    if not diagnostic.can_start(g.launch.course_id, person_id):
        return _not_needed()
    question = diagnostic.current_question(g.launch.course_id, person_id, now=utcnow(), language=page_language())
    if question is None:
        return redirect(url_for("diagnostic.result"), code=303)
    return render_template("student/diagnostic.html", launch=g.launch, question=question)


@bp.post("/diagnostic")
def answer():
    """Take one answer (no right/wrong shown: it is a placement check) and move on."""
    person_id = require_student()
    if not diagnostic.can_start(g.launch.course_id, person_id):
        return _not_needed()
    try:
        over = diagnostic.answer_question(g.launch.course_id, person_id, request.form.get("item_id", ""),
                                          request.form.get("answer", ""), not_sure="not_sure" in request.form,
                                          now=utcnow(), language=page_language())
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("diagnostic.start"), code=303)
    return redirect(url_for("diagnostic.result" if over else "diagnostic.start"), code=303)


def _not_needed():
    # An old link or tab: the student's practice already shows where they are, so no check starts (its misses
    # could only pull down a level they have shown).
    flash(gettext("You don’t need the placement check: your practice already shows where you are."), "success")
    return redirect(url_for("course.home"), code=303)


@bp.post("/diagnostic/finish")
def finish():
    """Stop the check early and place the student from the answers so far."""
    person_id = require_student()
    if not diagnostic.finish_early(g.launch.course_id, person_id, now=utcnow()):
        return redirect(url_for("diagnostic.start"), code=303)
    return redirect(url_for("diagnostic.result"), code=303)


@bp.post("/diagnostic/skip")
def skip():
    """Skip the check for now; the plan starts from the beginning of the skill map."""
    diagnostic.skip(g.launch.course_id, require_student(), now=utcnow())
    flash(gettext("No problem: your plan starts at the beginning. Practice will soon show where you are."), "success")
    return redirect(url_for("course.home"), code=303)


@bp.get("/diagnostic/result")
def result():
    """Show where the student is starting, skill by skill, in plain words."""
    person_id = require_student()
    outcome = diagnostic.result(g.launch.course_id, person_id, page_language(), now=utcnow())
    if outcome is None:
        return redirect(url_for("diagnostic.start"), code=303)
    return render_template("student/diagnostic_result.html", launch=g.launch, result=outcome, words=BELIEF_WORDS,
                           can_take=outcome.skipped and diagnostic.can_start(g.launch.course_id, person_id))
