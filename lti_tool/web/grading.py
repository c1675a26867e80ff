"""The teacher's grading settings: scheme and optional per-skill gradebook columns."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from ..models.base import utcnow
from ..services.errors import ServiceError
from ..services.permissions import actor_of
from ..services.placements import course_placements
from ..services.publishing import Resent, grading_settings, republish_course, set_grading
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
        resent = set_grading(g.launch.course_id, actor=actor_of(g.launch), scheme=request.form.get("scheme", ""),
                             per_skill=request.form.get("per_skill") == "on", now=utcnow())
    except ServiceError as exc:
        if exc.status == 403:
            raise  # a refused role gets the plain 403 page, not a flash
        flash(translated(exc), "error")
    else:
        flash(gettext("Grading settings saved."), "success")
        if resent is not None:
            # Its own message, not joined to the one above: two sentences translated apart do not make one (the
            # catalog's word order and punctuation stay each message's own).
            for message, category in _resent_messages(resent):
                flash(message, category)
    return redirect(url_for("grading.settings"), code=303)


@bp.post("/teacher/grading/resend")
def resend():
    """Recalculate every student's grades under the current scheme and resend those that changed."""
    require_teacher()
    for message, category in _resent_messages(republish_course(g.launch.course_id, actor=actor_of(g.launch),
                                                               now=utcnow())):
        flash(message, category)
    return redirect(url_for("grading.settings"), code=303)


def _resent_messages(resent: Resent) -> list[tuple[str, str]]:
    """Say what a recalculation sends to the LMS: only the scores on their way count as sent (each with its category).

    Each sentence is a message of its own: a count's plural form is the catalog's, and sentences translated apart
    are not joined into one.
    """
    if resent.sending:
        messages = [(ngettext("Grades recalculated: %(num)d updated score is on its way to the LMS.",
                              "Grades recalculated: %(num)d updated scores are on their way to the LMS.",
                              resent.sending), "success")]
        if resent.not_due:
            # Scores without a number where none of ours is in the gradebook: the worker does not send them.
            messages.append((ngettext(
                "%(num)d other score was not sent because nothing is due yet for it; it will be sent once "
                "something is due.",
                "%(num)d other scores were not sent because nothing is due yet for them; they will be sent once "
                "something is due.", resent.not_due), "info"))
        return messages
    if resent.not_due:
        return [(ngettext("Grades recalculated: nothing was sent to the LMS. Nothing is due yet, so %(num)d score has "
                        "no grade to send; it will be sent once something is due.",
                        "Grades recalculated: nothing was sent to the LMS. Nothing is due yet, so %(num)d scores "
                        "have no grade to send; they will be sent once something is due.", resent.not_due), "info")]
    if not course_placements(g.launch.course_id):
        # "0 updated scores" read as if grades had been checked against a column; there is none to send to.
        return [(gettext("No grade was sent: this course has no Pathways column in the LMS gradebook yet. To make one, "
                       "add Pathways to the course through your LMS's picker (Deep Linking) with points."), "warning")]
    return [(gettext("Grades recalculated: no grade changed, so nothing was sent to the LMS."), "success")]
