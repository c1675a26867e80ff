"""Student agency pages (own goals and pacing, evidence, reflections) and the teacher's review pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO

from flask import Response, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext
from werkzeug.exceptions import RequestEntityTooLarge

from ..extensions import db
from ..learning.local_days import zone_names
from ..learning.mastery import Level
from ..models.base import utcnow
from ..services import evidence as evidence_service
from ..services import goals as goals_service
from ..services import reflections as reflections_service
from ..services.errors import ServiceError
from ..services.launches import token_names_launch
from ..services.permissions import actor_of
from ..services.plan import class_overview
from ..services.sent_scores import shown_waiting_for_review
from ..services.storage import describe_size
from ..services.time_zones import course_zone_name, set_course_zone
from .course import launch_blueprint, query_addresses, require_student, require_teacher
from .i18n import localized, page_language, person_name, translated

bp = launch_blueprint("agency", __name__)


def _form_refused(exc: ServiceError) -> None:
    """Before a refused form comes back filled in: end the refused write and let not-found be the error page.

    A refusal can come after the learner's lock was taken (their data deleted meanwhile, the goal limit), so
    the transaction ends before the page is drawn: nothing it began is kept, and no lock is held while drawing.
    """
    db.session.rollback()
    if exc.status == 404:
        raise exc


@bp.app_template_global("evidence_hrefs")
def evidence_hrefs(skill_ids: Iterable[str]) -> dict[str, str]:
    """Return each skill's evidence form address, as url_for gives it (the plan page's next steps link to them)."""
    skill_ids = list(skill_ids)
    return dict(zip(skill_ids, query_addresses("agency.evidence", "skill_id", skill_ids), strict=True))


#: Room in an upload's body for the form's other fields and the multipart framing, beyond the file itself.
UPLOAD_FORM_ROOM = 64 * 1024


@bp.app_url_value_preprocessor
def allow_evidence_upload(endpoint, values):
    # The evidence form alone may send a file: it gets a body limit of the file limit plus the form, every
    # other request keeps MAX_CONTENT_LENGTH. This runs before the blueprint's own preprocessor, which is the
    # first to read the form (for a launch token), so the raised limit is in place before any parsing.
    # Only for a request that can belong to the launch in its URL: this browser's session holds it, or the query
    # carries a launch token signed for it (a cookie-less tab's form posts to an address with `lt`). Anyone else's
    # body is refused at the small limit before it is read, instead of megabytes parsed to find no launch.
    if endpoint == "agency.submit_evidence" and request.method == "POST" and _may_be_of_launch(
            (values or {}).get("launch_id")):
        request.max_content_length = max(int(current_app.config["EVIDENCE_MAX_BYTES"]) + UPLOAD_FORM_ROOM,
                                         int(current_app.config["MAX_CONTENT_LENGTH"] or 0))


def _may_be_of_launch(launch_id: object) -> bool:
    """Tell whether this request can belong to the launch: held by the session, or named by the query's token."""
    if not isinstance(launch_id, str):
        return False
    held = session.get("launches", [])
    if isinstance(held, list) and launch_id in held:
        return True
    return token_names_launch(request.args.get("lt"), launch_id, secret_key=current_app.config["SECRET_KEY"])


@bp.errorhandler(RequestEntityTooLarge)
def evidence_too_large(exc: RequestEntityTooLarge):
    # A file far over the limit: the body is refused before it is read, so what the student wrote cannot come
    # back (the page's own check stops most such files before they are sent). Say what happened on the form
    # itself, not on a dead-end error page.
    launch = getattr(g, "launch", None)
    if request.endpoint != "agency.submit_evidence" or launch is None or launch.access != "student":
        from ..errors import PLAIN, error_page

        return error_page(413, PLAIN[413], exc.name)
    size = describe_size(int(current_app.config["EVIDENCE_MAX_BYTES"]))
    flash(gettext("That file is too large: files can be up to %(size)s. Nothing was sent, and what you wrote "
                  "could not be kept: choose a smaller file (or send a link to it) and write your text again.",
                  size=size), "error")
    return _evidence_page(launch.person_id, chosen=request.args.get("skill_id", ""), status=413, error_field="file")


@bp.app_template_filter("reflection_prompt")
def reflection_prompt(kept: str) -> str:
    """Return a kept reflection prompt in the page's language (the skill's name as it was kept)."""
    parts = reflections_service.reflection_prompt_parts(kept)
    if parts is None:
        return kept
    prompt, skill = parts
    return (gettext(reflections_service.AFTER_PRACTISING, prompt=gettext(prompt), skill=skill) if skill
            else gettext(prompt))


@bp.app_template_global("evidence_waiting")
def evidence_waiting() -> int:
    """Return how much evidence waits for review, for the link on the teacher's course page."""
    launch = getattr(g, "launch", None)
    if launch is None or launch.access != "teacher":
        return 0
    return evidence_service.pending_evidence_count(launch.course_id, launch.platform_id)


# --- Student: goals and pacing -------------------------------------------------------------------------------


def _goal_form() -> dict:
    return {"title": request.form.get("title", ""), "why": request.form.get("why", ""),
            "by_date": request.form.get("by_date", ""), "skill_ids": request.form.getlist("skill_ids")}


def _goals_page(person_id: int, *, editing: goals_service.GoalView | None = None, typed: dict | None = None,
                error_field: str | None = None):
    """Render the goals page; after a refusal, the form comes back with what the student typed (`typed`)."""
    page = goals_service.goals_page(g.launch.course_id, person_id, now=utcnow(), language=page_language())
    return render_template("student/goals.html", launch=g.launch, page=page, editing=editing, typed=typed,
                           error_field=error_field)


@bp.get("/goals")
def goals():
    """Show the course's goals, the student's own goals and their pace.

    A teacher who opens it (a copied link, a student's address) is taken to where the course's goals are edited,
    the course map (which offers to start one while the course has none; `require_student`).
    """
    return _goals_page(require_student())


@bp.post("/goals")
def add_goal():
    """Add a goal of the student's own."""
    person_id = require_student()
    try:
        goal = goals_service.add_goal(g.launch.course_id, person_id, **_goal_form(), now=utcnow())
    except ServiceError as exc:
        # The form comes back filled in, not through a redirect that would throw away what the student wrote.
        _form_refused(exc)
        flash(translated(exc), "error")
        return _goals_page(person_id, typed=_goal_form(), error_field=exc.form_field)
    flash(gettext("Goal added: %(title)s", title=goal.title), "success")
    return redirect(url_for("agency.goals"), code=303)


@bp.get("/goals/<int:goal_id>/edit")
def edit_goal(goal_id: int):
    """Show the goals page with one of the student's goals open for editing."""
    person_id = require_student()
    editing = goals_service.my_goal(g.launch.course_id, person_id, goal_id, now=utcnow(),
                                    language=page_language())
    return _goals_page(person_id, editing=editing)


@bp.post("/goals/<int:goal_id>")
def save_goal(goal_id: int):
    """Save the changes to one of the student's goals."""
    person_id = require_student()
    try:
        goal = goals_service.update_goal(g.launch.course_id, person_id, goal_id, **_goal_form(), now=utcnow())
    except ServiceError as exc:
        _form_refused(exc)
        flash(translated(exc), "error")
        editing = goals_service.my_goal(g.launch.course_id, person_id, goal_id, now=utcnow(),
                                        language=page_language())
        return _goals_page(person_id, editing=editing, typed=_goal_form(), error_field=exc.form_field)
    flash(gettext("Goal saved: %(title)s", title=goal.title), "success")
    return redirect(url_for("agency.goals"), code=303)


@bp.post("/goals/<int:goal_id>/done")
def goal_done(goal_id: int):
    """Mark a goal done, or not done again."""
    person_id = require_student()
    try:
        goal = goals_service.set_goal_done(g.launch.course_id, person_id, goal_id,
                                           request.form.get("done") != "0", now=utcnow())
    except ServiceError as exc:
        _form_refused(exc)  # the goal or the student's data is gone: the error page, with the lock let go
        raise
    flash(gettext("Well done: “%(title)s” is done.", title=goal.title) if goal.done
          else gettext("“%(title)s” is open again.", title=goal.title), "success")
    return redirect(url_for("agency.goals"), code=303)


@bp.post("/goals/<int:goal_id>/delete")
def delete_goal(goal_id: int):
    """Delete one of the student's goals."""
    person_id = require_student()
    try:
        title = goals_service.delete_goal(g.launch.course_id, person_id, goal_id,
                                          confirmed=request.form.get("confirm") == "yes", now=utcnow())
    except ServiceError as exc:
        _form_refused(exc)
        flash(translated(exc), "error")
        return _goals_page(person_id, error_field=f"confirm-{goal_id}")
    flash(gettext("Goal deleted: %(title)s", title=title), "success")
    return redirect(url_for("agency.goals"), code=303)


# --- Student: evidence and reflections -----------------------------------------------------------------------


def _evidence_page(person_id: int, *, chosen: str, typed: dict[str, str] | None = None, status: int = 200,
                   error_field: str | None = None):
    language = page_language()
    return render_template("student/evidence.html", launch=g.launch, error_field=error_field,
                           skills=goals_service.course_skills(g.launch.course_id, language),
                           chosen=chosen, kinds=evidence_service.EVIDENCE_KINDS, typed=typed or {},
                           mine=evidence_service.my_evidence(g.launch.course_id, person_id, language=language),
                           max_file_bytes=int(current_app.config["EVIDENCE_MAX_BYTES"]),
                           max_file_size=describe_size(int(current_app.config["EVIDENCE_MAX_BYTES"]))), status


@bp.get("/evidence")
def evidence():
    """Show the evidence form and the student's evidence with the teacher's replies."""
    person_id = require_student()
    # The way the student chose on the plan ("write it", "record it") comes chosen; without one, none is.
    return _evidence_page(person_id, chosen=request.args.get("skill_id", ""),
                          typed={"kind": request.args.get("kind", "")})


@bp.post("/evidence")
def submit_evidence():
    """Send evidence for a skill to the teacher."""
    person_id = require_student()
    attached = request.files.get("file")
    upload = (attached.filename or "", attached.read()) if attached and attached.filename else None
    typed = {name: request.form.get(name, "") for name in ("skill_id", "kind", "url", "text")}
    try:
        sent = evidence_service.submit_evidence(g.launch.course_id, person_id, skill_id=typed["skill_id"],
                                                kind=typed["kind"], url=typed["url"], text=typed["text"],
                                                upload=upload, now=utcnow(), language=page_language())
    except ServiceError as exc:
        # The form comes back with what the student wrote (a file must be chosen again: browsers let no page
        # fill a file field); a 503 when the file store failed rather than the student's input.
        _form_refused(exc)
        flash(translated(exc), "error")
        return _evidence_page(person_id, chosen=typed["skill_id"], typed=typed,
                              status=exc.status if exc.status >= 500 else 200,
                              error_field=exc.form_field or ("file" if upload else None))
    flash(gettext("Sent to your teacher: your evidence for %(skill)s.", skill=sent.skill_name), "success")
    return redirect(url_for("agency.evidence"), code=303)


@bp.get("/evidence/<int:evidence_id>/file")
def evidence_file(evidence_id: int):
    """Send an evidence file, or the byte range a player asks for, to its student or to the course's teachers."""
    found = evidence_service.evidence_file(g.launch.course_id, g.launch.platform_id, evidence_id,
                                           actor=actor_of(g.launch), now=utcnow())
    # Only the asked bytes are read, and the file is closed before the response leaves: a player that drops a
    # range half-way (every seek does) leaves no open file behind, whatever server runs Pathways.
    try:
        part = _asked_part(found.size)
        if part is not None:
            start, stop, partial = part
            found.file.seek(start)
            body = _read(found.file, stop - start)
    finally:
        found.file.close()
    if part is None:
        # To a player, not a person: the file's length (RFC 9110 15.5.17), no error page.
        response = Response(status=416, headers={"Content-Range": f"bytes */{found.size}"})
    else:
        response = Response(body, status=206 if partial else 200, content_type=found.content_type)
        if partial:
            response.headers["Content-Range"] = f"bytes {start}-{stop - 1}/{found.size}"
        disposition = "inline" if found.inline else "attachment"
        response.headers["Content-Disposition"] = f'{disposition}; filename="{found.download_name}"'
        # Even opened on its own, the file can run nothing and load nothing.
        response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Safari's player will not scrub a film from a server that does not say it serves byte ranges.
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _asked_part(size: int) -> tuple[int, int, bool] | None:
    """Return the bytes [start, stop) to send and whether that is the part a Range asked for (a 206), or None
    when the Range asks only past the end.

    No Range, one Werkzeug cannot parse, several ranges at once or an If-Range (the file has no validator to
    match) get the whole file, as RFC 9110 14.2 allows a server to answer.
    """
    asked = request.range
    if asked is None or len(asked.ranges) != 1 or "If-Range" in request.headers:
        return 0, size, False
    bounds = asked.range_for_length(size)
    return None if bounds is None else (*bounds, True)


def _read(file: IO[bytes], count: int) -> bytes:
    """Read count bytes (a store may hand them over in pieces), fewer only at the end of the file."""
    pieces, left = [], count
    while left > 0:
        piece = file.read(left)
        if not piece:
            break
        pieces.append(piece)
        left -= len(piece)
    return b"".join(pieces)


def _reflect_page(person_id: int, *, chosen: str, typed: dict[str, str] | None = None,
                  error_field: str | None = None):
    return render_template("student/reflect.html", launch=g.launch,
                           prompts=reflections_service.REFLECTION_PROMPTS,
                           skills=goals_service.course_skills(g.launch.course_id, page_language()),
                           chosen=chosen, typed=typed, error_field=error_field,
                           mine=reflections_service.my_reflections(g.launch.course_id, person_id))


@bp.get("/reflect")
def reflect():
    """Show the reflection prompts and the student's earlier reflections."""
    return _reflect_page(require_student(), chosen=request.args.get("skill_id", ""))


@bp.post("/reflect")
def write_reflection():
    """Keep the student's reflection."""
    person_id = require_student()
    prompts = reflections_service.REFLECTION_PROMPTS
    typed = {f"answer_{n}": request.form.get(f"answer_{n}", "") for n in range(len(prompts))}
    answers = {prompt: typed[f"answer_{n}"] for n, prompt in enumerate(prompts)}
    try:
        reflections_service.write_reflection(g.launch.course_id, person_id, answers,
                                             skill_id=request.form.get("skill_id", ""), now=utcnow())
    except ServiceError as exc:
        # The form comes back with what the student wrote, as the evidence form does.
        _form_refused(exc)
        flash(translated(exc), "error")
        return _reflect_page(person_id, chosen=request.form.get("skill_id", ""), typed=typed,
                             error_field=exc.form_field)
    flash(gettext("Thanks: your reflection is saved. Your teacher can read it."), "success")
    return redirect(url_for("agency.reflect"), code=303)


# --- Teacher -------------------------------------------------------------------------------------------------


@bp.get("/teacher/evidence")
def evidence_queue():
    """Show the evidence waiting for review, oldest first, and the latest reviewed."""
    require_teacher()
    return _evidence_queue_page()


def _evidence_queue_page(*, status: int = 200, refused: dict[str, object] | None = None) -> tuple[str, int]:
    """Draw the review queue; `refused` is a review form that came back refused, with what the teacher typed."""
    pending, reviewed = evidence_service.evidence_queue(g.launch.course_id, g.launch.platform_id,
                                                        language=page_language())
    # Whose gradebook grade says "waiting for review": only where a score saying so went (or is going) to the LMS.
    waiting = shown_waiting_for_review(g.launch.course_id, {item.person_id for item in pending})
    # Each student's level on the skill now, as the class view shows it: accepting never lowers it, so it is what
    # the teacher weighs the work against.
    class_levels = {row.person_id: row.levels for row in class_overview(g.launch.course_id, g.launch.platform_id)[1]}
    level_now = {item.id: class_levels.get(item.person_id, {}).get(item.skill_id, Level.NOT_STARTED)
                 for item in pending}
    refused = refused or {}
    error_field = (f"{refused['form']}-{refused['field']}-{refused['id']}"
                   if refused.get("field") and refused.get("id") in level_now else None)
    return render_template("teacher/evidence_queue.html", launch=g.launch, pending=pending, reviewed=reviewed,
                           waiting_in_gradebook=waiting, level_now=level_now,
                           levels=evidence_service.AWARDABLE_LEVELS, refused=refused,
                           error_field=error_field), status


def _review_refused(exc: ServiceError, evidence_id: int, form: str) -> tuple[str, int]:
    """Bring the queue back with a refused review's message and what the teacher typed, never losing the comment.

    A 400 whose form is drawn again, as a refused student form is: a redirect dropped the comment (a tampered
    level came back as a 200 queue with an empty comment box).
    """
    _form_refused(exc)
    flash(translated(exc), "error")
    return _evidence_queue_page(status=400, refused={
        "id": evidence_id, "form": form, "field": exc.form_field,
        "level": request.form.get("level", ""), "comment": request.form.get("comment", "")})


@bp.post("/teacher/evidence/<int:evidence_id>/accept")
def accept_evidence(evidence_id: int):
    """Accept evidence at a level."""
    require_teacher()
    try:
        done = evidence_service.accept_evidence(g.launch.course_id, g.launch.platform_id, evidence_id,
                                                level=request.form.get("level", ""),
                                                comment=request.form.get("comment", ""), actor=actor_of(g.launch),
                                                now=utcnow(), language=page_language())
    except ServiceError as exc:
        if exc.status != 400:  # not found or not allowed: the error page, not a flash
            raise
        return _review_refused(exc, evidence_id, "accept")
    _flash_accepted(done)
    return redirect(url_for("agency.evidence_queue"), code=303)


def _flash_accepted(done: evidence_service.EvidenceView) -> None:
    """Confirm an accept with the level the student has now, as every other page shows it."""
    if done.level_now is not None and done.level_now != done.level_awarded:
        # Accepted below the level the student has: saying "at Familiar" would contradict every other page.
        flash(gettext("Accepted %(name)s’s evidence for %(skill)s. Their level stays %(level)s: accepting evidence "
                      "never lowers a level.", name=person_name(done.name), skill=done.skill_name,
                      level=localized(done.level_now)), "success")
    else:
        flash(gettext("Accepted %(name)s’s evidence for %(skill)s at %(level)s.", name=person_name(done.name),
                      skill=done.skill_name, level=localized(done.level_awarded)), "success")


@bp.post("/teacher/evidence/<int:evidence_id>/return")
def return_evidence(evidence_id: int):
    """Return evidence to the student with a comment."""
    require_teacher()
    try:
        done = evidence_service.return_evidence(g.launch.course_id, g.launch.platform_id, evidence_id,
                                                comment=request.form.get("comment", ""), actor=actor_of(g.launch),
                                                now=utcnow(), language=page_language())
    except ServiceError as exc:
        if exc.status != 400:
            raise
        return _review_refused(exc, evidence_id, "return")
    flash(gettext("Returned %(name)s’s evidence for %(skill)s with your comment.", name=person_name(done.name),
                  skill=done.skill_name), "success")
    return redirect(url_for("agency.evidence_queue"), code=303)


@bp.get("/teacher/reflections")
def reflections():
    """Show the class's reflections, newest first."""
    require_teacher()
    rows = reflections_service.class_reflections(g.launch.course_id, g.launch.platform_id,
                                                 actor_id=g.launch.person_id, now=utcnow())
    return render_template("teacher/reflections.html", launch=g.launch, reflections=rows)


@bp.get("/teacher/settings")
def settings():
    """Show the course settings (the end date pacing plans towards, the course's time zone)."""
    require_teacher()
    return _settings_page(ends_on=goals_service.course_end(g.launch.course_id))


def _settings_page(**values: object) -> str:
    return render_template("teacher/settings.html", launch=g.launch, zones=zone_names(),
                           time_zone=course_zone_name(g.launch.course_id), **values)


@bp.post("/teacher/settings")
def save_settings():
    """Save the course end date."""
    require_teacher()
    try:
        end = goals_service.set_course_end(g.launch.course_id, request.form.get("ends_on", ""), now=utcnow())
    except ServiceError as exc:
        flash(translated(exc), "error")
        if exc.status != 400:  # no course content yet: nothing to set
            return redirect(url_for("agency.settings"), code=303)
        # The form comes back with the refused date marked, as the teacher typed it.
        return _settings_page(ends_on=None, typed_ends_on=request.form.get("ends_on", ""),
                              error_field=exc.form_field)
    flash(gettext("The course ends on %(date)s.", date=end.isoformat()) if end else
          gettext("The course has no end date now."), "success")
    flash_goals_after_end(g.launch.course_id)
    return redirect(url_for("agency.settings"), code=303)


@bp.post("/teacher/settings/time-zone")
def save_time_zone():
    """Save the course's time zone, in which its goal and due dates fall."""
    require_teacher()
    try:
        name = set_course_zone(g.launch.course_id, request.form.get("time_zone", ""))
    except ServiceError as exc:
        flash(translated(exc), "error")
        if exc.status != 400:  # the course's data was deleted meanwhile: no form to show again
            return redirect(url_for("agency.settings"), code=303)
        return _settings_page(ends_on=goals_service.course_end(g.launch.course_id), error_field=exc.form_field)
    flash(gettext("The course's dates now follow the time zone %(zone)s.", zone=name), "success")
    return redirect(url_for("agency.settings"), code=303)


def flash_goals_after_end(course_id: int) -> None:
    """Tell the teacher plainly when a course goal's date falls after the course end (students see it by the end)."""
    for title in goals_service.goals_after_course_end(course_id):
        flash(gettext("The goal “%(title)s” is dated after the course ends: students see it due when the course ends. "
                      "Change its date in the course map, or the course end date here.", title=title), "error")
