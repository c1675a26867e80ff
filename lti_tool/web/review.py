"""The student's mixed review: due skills come back one question each, then a short summary of what held."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext

from ..learning.mastery import newly_mastered
from ..models.base import utcnow
from ..services.errors import N_, NotFound, ServiceError
from ..services.feedback import answered_result
from ..services.mastery import record_answer, require_pack
from ..services.reviews import (
    due_reviews,
    named_missed,
    next_review_question,
    open_review_question,
    review_goes_on,
    review_question,
    review_results,
    review_skills,
    review_standing,
)
from .course import launch_blueprint, require_student
from .form_input import row_id
from .hints import HintAsked, hint_asked, hint_redirect, hints_to_show, typed_back
from .i18n import page_language, translated

bp = launch_blueprint("review", __name__)


@bp.get("/review")
def question():
    """Show the review's current question, or the summary once the sitting (`run`) is over; without a sitting named,
    the button that starts one (`start`)."""
    run = request.args.get("run", type=row_id)
    if run is not None:
        return _question_page(run, typed_back())
    # Starting serves the sitting's first question, so only the button's POST (with its CSRF token) does it: the
    # session cookie is SameSite=None (the LMS frames us), and another site could embed this address.
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    due = review_skills(pack, due_reviews(g.launch.course_id, person_id, utcnow()))
    if not due:
        return _nothing_due()
    names = {s.id: s.name for s in pack.skills}
    return render_template("student/review_start.html", launch=g.launch,
                           reviews_due=[names.get(s, s) for s in due])


@bp.post("/review/start")
def start():
    """Start a review sitting: serve its first question and show it."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    served = next_review_question(g.launch.course_id, person_id, pack, run=None, now=utcnow())
    if served is None:
        return _nothing_due()
    return redirect(url_for("review.question", run=served.id), code=303)


def _nothing_due():
    flash(gettext("Nothing to review right now: your skills are fresh."), "success")
    return redirect(url_for("course.home"), code=303)


@bp.post("/review/next")
def next_question():
    """Serve the sitting's next question (the feedback page's "Next review question") and show it.

    A POST with its CSRF token: serving writes, and the session cookie goes with another site's GET.
    """
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    run = request.form.get("run", type=row_id)
    if run is None:
        raise NotFound(N_("That review was not given to you here."))
    if next_review_question(g.launch.course_id, person_id, pack, run=run, now=utcnow()) is None:
        return redirect(url_for("review.summary", run=run), code=303)
    return redirect(url_for("review.question", run=run), code=303)


def _question_page(run: int | None, typed: HintAsked | None = None):
    """Show the sitting's open question (served already: this serves nothing), else the button that serves its next
    one (`next_question`), else its summary."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    if run is None:
        return redirect(url_for("review.question"), code=303)
    served = open_review_question(g.launch.course_id, person_id, pack, run=run, now=utcnow())
    hinted = hint_redirect(typed, served, "review.question", run=run)
    if hinted is not None:
        return hinted
    if served is None:
        if review_goes_on(g.launch.course_id, person_id, pack, run=run, now=utcnow()):
            return render_template("student/review_next.html", launch=g.launch, run=run)
        return redirect(url_for("review.summary", run=run), code=303)
    item = served.item
    skill = next((s for s in pack.skills if s.id in item.skills), None)
    return render_template("student/review.html", launch=g.launch, question=served, item=item, skill=skill,
                           hints=hints_to_show(served), run=run,
                           typed_answer=typed.answer_for(served) if typed else "")


@bp.post("/review")
def answer():
    """Check a review answer (it counts as the skill's review) and show feedback (or show one more hint)."""
    asked = hint_asked()
    if asked is not None:
        return _question_page(request.form.get("run", type=row_id), asked)
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    run = request.form.get("run", type=row_id)
    served_id = request.form.get("served", type=row_id)
    try:
        if served_id is None:
            raise NotFound(N_("That question was not given to you here. Here is a question that was."))
        review_question(g.launch.course_id, person_id, served_id, pack)
        result = record_answer(g.launch.course_id, person_id, served_id, request.form.get("answer", ""),
                               now=utcnow(), language=page_language())
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("review.question", run=run), code=303)
    # Post/Redirect/Get: Back, Forward and reload show the feedback page again, not "Confirm Form Resubmission".
    return redirect(url_for("review.answered", served_id=served_id, run=run or served_id,
                            again=1 if result.repeated else None), code=303)


@bp.get("/review/answered/<int:served_id>")
def answered(served_id: int):
    """Show the feedback on a review question the student answered, from what the answer stored (serves nothing,
    changes nothing: the "Next review question" button's POST serves the next)."""
    person_id = require_student()
    language = page_language()
    pack = require_pack(g.launch.course_id, language)
    run = request.args.get("run", type=row_id) or served_id
    found = answered_result(g.launch.course_id, person_id, served_id, source="review", language=language,
                            repeated=bool(request.args.get("again")))
    if found is None:
        return redirect(url_for("review.question", run=run), code=303)
    result, _ = found
    # Whether there is more, not served yet: the "Next review question" button's POST serves it (a student who stops
    # here leaves no question open).
    more = review_goes_on(g.launch.course_id, person_id, pack, run=run, now=utcnow())
    skill = next((s for s in pack.skills if s.id in result.skill_ids), None)
    # A review that brings a skill back to Mastered is celebrated as on the other pages (the next review question,
    # not "Next up", is what this page offers).
    mastered = newly_mastered(result.changes)
    return render_template("student/review_feedback.html", launch=g.launch, item=result.item, skill=skill,
                           result=result, run=run, more=more, mastered=mastered)


@bp.get("/review/summary")
def summary():
    """Show which skills held and which need more practice, with the way back to the plan."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    run = request.args.get("run", type=row_id)
    results = review_results(g.launch.course_id, person_id, pack, run=run) if run else []
    # A review missed in an earlier sitting the student left (not in this one's results) still comes back: said here.
    missed = named_missed(pack, review_standing(g.launch.course_id, person_id, utcnow())[1],
                          leave_out={r.skill_id for r in results})
    return render_template("student/review_summary.html", launch=g.launch, missed=missed,
                           held=[r for r in results if r.held], again=[r for r in results if not r.held])
