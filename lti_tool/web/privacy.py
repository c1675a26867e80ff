"""Privacy pages inside a launch: the notice, data downloads, and deleting a student's or the course's data."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from ..models.base import utcnow
from ..services.errors import ServiceError
from ..services.permissions import Action, actor_of, require
from ..services.privacy import (
    AlreadyDeleted,
    delete_course,
    delete_privacy_subject,
    delete_student,
    export_course,
    export_privacy_subject,
    export_student,
    privacy_deletion_scope,
    privacy_overview,
    read_privacy_subject_export,
    read_student_export,
    student_name,
)
from ..services.privacy_words import ReadableExport
from .course import launch_blueprint, require_teacher
from .i18n import page_language, person_name, translated

bp = launch_blueprint("privacy", __name__)



def _download(document: dict[str, Any], filename: str) -> Response:
    body = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _readable(export: ReadableExport) -> str:
    # Opened in the LMS's frame too: it leads back to the privacy page it was opened from.
    return render_template("privacy/export.html", document=export.document, readable=export.courses,
                           words=export.words, own=export.own, headings=export.headings,
                           back=url_for("privacy.home"))


@bp.get("/privacy/")
def home():
    """Show what Pathways stores and the data controls this launch may use."""
    return render_template("privacy/home.html", launch=g.launch, overview=privacy_overview(g.launch),
                           retention_days=current_app.config.get("RETENTION_DAYS", 0))


@bp.get("/privacy/my-data.json")
def my_data_json():
    """Download your own data in this course (or, in a Data Privacy Launch, the named user's) as JSON."""
    if g.launch.message_type == "DataPrivacyLaunchRequest":
        return _download(export_privacy_subject(g.launch, now=utcnow()), "pathways-data.json")
    return _download(export_student(g.launch, None, now=utcnow()), "pathways-my-data.json")


@bp.get("/privacy/my-data.html")
def my_data_html():
    """Show your own data as a readable page you can print or save."""
    if g.launch.message_type == "DataPrivacyLaunchRequest":
        return _readable(read_privacy_subject_export(g.launch, now=utcnow(), language=page_language()))
    return _readable(read_student_export(g.launch, None, now=utcnow(), language=page_language()))


@bp.get("/privacy/students/<int:person_id>.json")
def student_json(person_id: int):
    """Download a student's data in this course as JSON (teachers)."""
    require_teacher()
    return _download(export_student(g.launch, person_id, now=utcnow()), f"pathways-student-{person_id}.json")


@bp.get("/privacy/students/<int:person_id>.html")
def student_html(person_id: int):
    """Show a student's data in this course as a readable page (teachers)."""
    require_teacher()
    return _readable(read_student_export(g.launch, person_id, now=utcnow(), language=page_language()))


@bp.get("/privacy/students/<int:person_id>/delete")
def confirm_student_delete(person_id: int):
    """Ask the teacher to confirm deleting a student's data."""
    require_teacher()
    require(actor_of(g.launch), Action.DELETE_STUDENT_DATA)
    return render_template("privacy/delete_student.html", launch=g.launch, person_id=person_id,
                           name=student_name(g.launch, person_id))


@bp.post("/privacy/students/<int:person_id>/delete")
def student_delete(person_id: int):
    """Delete everything the student has in this course (teachers)."""
    require_teacher()
    try:
        done = delete_student(g.launch, person_id, confirmed=request.form.get("confirm") == "yes", now=utcnow())
    except AlreadyDeleted as exc:
        # Most often the second of a double click, which waited for the first: back to the list, which no longer
        # names the student, rather than an error page.
        flash(translated(exc), "info")
        return redirect(url_for("privacy.home"), code=303)
    except ServiceError as exc:
        if exc.status != 400:
            raise
        flash(translated(exc), "error")
        return redirect(url_for("privacy.confirm_student_delete", person_id=person_id), code=303)
    flash(gettext("Deleted the data of %(name)s in this course: %(rows)d records, %(pending)d unsent grade updates.",
                  name=person_name(done.subject_name), rows=done.rows, pending=done.pending_grades), "success")
    if done.in_flight:
        flash(_being_sent(done.in_flight), "warning")
    return redirect(url_for("privacy.home"), code=303)


def _being_sent(count: int) -> str:
    # The worker drops a deleted student's grades it has not posted yet; one already on its way cannot be stopped.
    return ngettext("%(num)d grade update was already being sent to the LMS gradebook, so it may still arrive there.",
                    "%(num)d grade updates were already being sent to the LMS gradebook, so they may still arrive "
                    "there.", count)


@bp.get("/privacy/course.json")
def course_json():
    """Download the course pack and every student's records as one JSON document (teachers)."""
    require_teacher()
    return _download(export_course(g.launch, now=utcnow()), "pathways-course-data.json")


@bp.get("/privacy/course/delete")
def confirm_course_delete():
    """Ask the teacher to type the course title before deleting the course's data."""
    require_teacher()
    # A role that may not delete gets the refusal here, not a form whose button can only be refused.
    require(actor_of(g.launch), Action.DELETE_COURSE_DATA)
    return render_template("privacy/delete_course.html", launch=g.launch)


@bp.post("/privacy/course/delete")
def course_delete():
    """Delete the course and everything in it (teachers)."""
    require_teacher()
    page_language()  # read now, as user_delete does: a second click finds the launch gone with the course
    try:
        done = delete_course(g.launch, typed_title=request.form.get("title", ""), now=utcnow())
    except AlreadyDeleted as exc:
        # The second of a double click (or another tab), which waited for the first: the browser shows this answer,
        # so it says the data is deleted, not an error page. The launch went with the course.
        g.launch = None
        return render_template("privacy/deleted.html", done=None, what="course", already=translated(exc))
    except ServiceError as exc:
        if exc.status != 400:
            raise
        flash(translated(exc), "error")
        return redirect(url_for("privacy.confirm_course_delete"), code=303)
    # The launch went with the course: nothing on this page may read or link back into it.
    g.launch = None
    return render_template("privacy/deleted.html", done=done, what="course")


@bp.get("/privacy/user/delete")
def confirm_user_delete():
    """Ask the administrator to confirm deleting the user a Data Privacy Launch names."""
    require_teacher()
    privacy_deletion_scope(g.launch)  # refuses exactly what the deletion would refuse
    return render_template("privacy/delete_user.html", launch=g.launch, overview=privacy_overview(g.launch))


@bp.post("/privacy/user/delete")
def user_delete():
    """Delete the named user's data in every course of this deployment (teachers and administrators)."""
    require_teacher()
    # The page's language, read now: a deletion that finds the data gone already rolls back, and the launch it
    # would read the language from went with that earlier deletion.
    page_language()
    try:
        done = delete_privacy_subject(g.launch, confirmed=request.form.get("confirm") == "yes", now=utcnow())
    except AlreadyDeleted as exc:
        # Most often the second of a double click, which waited for the first: the browser shows this answer, so it
        # says the data is deleted (not an error page). The launch is gone with the first deletion.
        g.launch = None
        return render_template("privacy/deleted.html", done=None, what="user", already=translated(exc))
    except ServiceError as exc:
        if exc.status != 400:
            raise
        flash(translated(exc), "error")
        return redirect(url_for("privacy.confirm_user_delete"), code=303)
    # Deleting one's own data ends one's own launch too.
    g.launch = None
    return render_template("privacy/deleted.html", done=done, what="user")
