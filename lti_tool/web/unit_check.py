"""The student's unit check: a short mix of questions across one unit's skills, then what moved."""

from __future__ import annotations

from collections.abc import Iterable

from flask import flash, g, redirect, render_template, request, url_for

from ..learning.mastery import Level, newly_mastered
from ..models.base import utcnow
from ..services import unit_check
from ..services.errors import N_, NotFound, ServiceError
from ..services.feedback import NOT_YOURS, answered_result
from ..services.mastery import record_answer, require_pack
from ..services.next_up import next_up
from .course import addresses, launch_blueprint, require_student
from .form_input import row_id
from .hints import HintAsked, hint_asked, hint_redirect, hints_to_show, typed_back
from .i18n import page_language, translated

bp = launch_blueprint("unit_check", __name__)


@bp.app_template_global("unit_check_hrefs")
def unit_check_hrefs(unit_ids: Iterable[str]) -> list[str]:
    """Return each unit's address that starts its unit check, as url_for gives it (the plan offers a check on every
    unit begun, each a button posting there)."""
    return addresses("unit_check.start", "unit_id", "unit-check", unit_ids)


def _open(unit_id: str):
    """Return (the student's person id, the course pack, the unit's title), or refuse teachers and unknown units."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())  # its texts in the page's language
    unit = next((u for u in pack.units if u.id == unit_id), None)
    if unit is None:
        run = request.values.get("run", type=row_id)
        if run is not None:  # a sitting of a unit the teacher took out since: it ends here
            unit_check.close_stranded(g.launch.course_id, person_id, pack, run, now=utcnow())
        raise NotFound(N_("That unit is not part of this course."))
    return person_id, pack, unit.title


@bp.get("/unit-check/<unit_id>")
def question(unit_id: str):
    """Show the unit check's next question: of the sitting named (`run`), else of the one under way, else a button
    that starts one (`start`)."""
    person_id, pack, title = _open(unit_id)
    run = request.args.get("run", type=row_id)
    if run is not None:
        return _question_page(unit_id, run, typed_back())
    # Starting serves a sitting, so only the button's POST (with its CSRF token) does it: the session cookie is
    # SameSite=None (the LMS frames us), and another site could start one by embedding this address.
    run = unit_check.open_run(g.launch.course_id, person_id, pack, unit_id)
    if run is None:
        return render_template("student/unit_check.html", launch=g.launch, question=None, unit_id=unit_id,
                               unit_title=title)
    return redirect(url_for("unit_check.question", unit_id=unit_id, run=run), code=303)


@bp.post("/unit-check/<unit_id>/start")
def start(unit_id: str):
    """Start the unit check (or go on with the one under way) and show its next question."""
    person_id, pack, _ = _open(unit_id)
    started = unit_check.start(g.launch.course_id, person_id, pack, unit_id, now=utcnow())
    if started.ended:  # "Continue" found the sitting stranded: say why this check starts at question 1
        flash(translated(unit_check.Stranded(unit_check.ENDED)), "info")
    return redirect(url_for("unit_check.question", unit_id=unit_id, run=started.run), code=303)


def _new_check(unit_id: str, stranded: unit_check.Stranded):
    """Say that the course changed under the student's sitting, and start the unit's new check: at once from a form
    (a POST, its CSRF token checked), else from the start page's button (a GET must not start one)."""
    flash(translated(stranded), "info")
    if request.method == "POST":
        return start(unit_id)
    return redirect(url_for("unit_check.question", unit_id=unit_id), code=303)


def _question_page(unit_id: str, run: int, typed: HintAsked | None = None):
    person_id, pack, title = _open(unit_id)
    try:
        served, number, total = unit_check.current_question(g.launch.course_id, person_id, pack, unit_id, run,
                                                            now=utcnow())
    except unit_check.Stranded as stranded:
        return _new_check(unit_id, stranded)
    hinted = hint_redirect(typed, served, "unit_check.question", unit_id=unit_id, run=run)
    if hinted is not None:
        return hinted
    if served is None:
        return redirect(url_for("unit_check.summary", unit_id=unit_id, run=run), code=303)
    item = served.item
    skill = next((s for s in pack.skills if s.id in item.skills), None)
    return render_template("student/unit_check.html", launch=g.launch, question=served, item=item, skill=skill,
                           hints=hints_to_show(served), run=run, unit_id=unit_id, unit_title=title, number=number,
                           total=total, typed_answer=typed.answer_for(served) if typed else "")


@bp.post("/unit-check/<unit_id>")
def answer(unit_id: str):
    """Check a unit-check answer: evidence for its skills, like practice, marked as the unit check."""
    run = request.form.get("run", type=row_id)
    asked = hint_asked()
    if asked is not None and run is not None:
        return _question_page(unit_id, run, asked)
    person_id, pack, _ = _open(unit_id)
    course_id = g.launch.course_id  # read before the answer's commit expires the launch row
    served_id = request.form.get("served", type=row_id)
    try:
        if served_id is None or run is None:
            raise NotFound(N_("That question was not given to you here. Here is a question that was."))
        unit_check.unit_question(course_id, person_id, pack, unit_id, run, served_id, now=utcnow())
        result = record_answer(course_id, person_id, served_id, request.form.get("answer", ""), now=utcnow(),
                               language=page_language())
    except unit_check.Stranded as stranded:
        return _new_check(unit_id, stranded)
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("unit_check.question", unit_id=unit_id, run=run), code=303)
    # Post/Redirect/Get: Back, Forward and reload show the feedback page again, not "Confirm Form Resubmission".
    return redirect(url_for("unit_check.answered", unit_id=unit_id, served_id=served_id, run=run,
                            again=1 if result.repeated else None), code=303)


@bp.get("/unit-check/<unit_id>/answered/<int:served_id>")
def answered(unit_id: str, served_id: int):
    """Show the feedback on a unit-check question the student answered, from what the answer stored (serves
    nothing, changes nothing)."""
    person_id, pack, title = _open(unit_id)
    run = request.args.get("run", type=row_id)
    if run is None:
        raise NotFound(NOT_YOURS)
    found = answered_result(g.launch.course_id, person_id, served_id, source="unit_check", language=page_language(),
                            repeated=bool(request.args.get("again")))
    if found is None:
        return redirect(url_for("unit_check.question", unit_id=unit_id, run=run), code=303)
    result, _ = found
    # A sitting the course changed under goes on too: its "Next question" says so and starts the unit's new check.
    more = unit_check.goes_on(g.launch.course_id, person_id, pack, unit_id, run)
    skill = next((s for s in pack.skills if s.id in result.skill_ids), None)
    # One answer can raise several skills; the next question, not "Next up", is what this page offers.
    mastered = newly_mastered(result.changes)
    return render_template("student/unit_check_feedback.html", launch=g.launch, item=result.item, skill=skill,
                           result=result, run=run, more=more, unit_id=unit_id, unit_title=title, mastered=mastered)


@bp.get("/unit-check/<unit_id>/summary")
def summary(unit_id: str):
    """Show each skill of the unit check: how many were right, and which levels moved."""
    person_id, pack, title = _open(unit_id)
    run = request.args.get("run", type=row_id)
    results = unit_check.results(g.launch.course_id, person_id, pack, unit_id, run) if run else []
    mastered = [r for r in results if r.after is Level.MASTERED and r.before is not Level.MASTERED]
    following = next_up(g.launch.course_id, person_id, mastered[0].skill_id, now=utcnow(),
                        language=page_language()) if mastered else None
    return render_template("student/unit_check_summary.html", launch=g.launch, unit_title=title, results=results,
                           raised=[r for r in results if r.after.rank > r.before.rank], mastered=mastered,
                           next_up=following)
