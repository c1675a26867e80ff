"""The teacher's class pages: needs help now, flexible groups, assignments, one student's plan and report, CSV."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext, ngettext
from markupsafe import Markup

from ..models.base import utcnow
from ..services.activity import SORT_COLUMNS, class_activity
from ..services.answers import answer_history, trouble_spots
from ..services.assignments import WHOLE_CLASS, assign_skills, current_assignments, remove_assignment
from ..services.classroom import (
    GROUP_KINDS,
    arrange_groups,
    class_csv,
    needs_help,
    student_detail,
    suggest_groups,
)
from ..services.errors import N_, Forbidden, NotFound, ServiceError
from ..services.family_report import (
    COMMENT_LIMIT,
    FamilyReport,
    class_family_reports,
    family_report,
    save_report_comment,
)
from ..services.help import asked_again, mark_helped, open_requests
from ..services.permissions import Action, actor_of, may, require
from ..services.plan import class_overview
from ..services.skill_map import class_skill_map
from ..services.time_zones import course_today
from .course import launch_blueprint, require_teacher
from .form_input import row_id
from .i18n import DEFAULT, SUPPORTED, language_of, page_language, person_name, translated

bp = launch_blueprint("classroom", __name__)
LEVELS = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]



@bp.get("/class/needs-help")
def help_now():
    """List the students who need help now, each with the reason."""
    require_teacher()
    entries = needs_help(g.launch.course_id, g.launch.platform_id, now=utcnow(), language=page_language())
    return render_template("teacher/needs_help.html", launch=g.launch, entries=entries,
                           may_mark_helped=may(actor_of(g.launch), Action.ASSESS))


@bp.post("/class/needs-help/helped")
def helped():
    """Close a student's "ask my teacher" requests once the teacher has helped them."""
    require_teacher()
    require(actor_of(g.launch), Action.ASSESS)  # before the list is worked out (mark_helped checks it too)
    person_id = request.form.get("person_id", type=row_id)
    entries = needs_help(g.launch.course_id, g.launch.platform_id, now=utcnow())
    if person_id not in {entry.person_id for entry in entries}:
        # Only students of this launch's course who are on the list; one who left it meanwhile (a double click,
        # another teacher's click) is already helped: back to the list, not an error page.
        return redirect(_helped_page(person_id) if person_id else url_for("classroom.help_now"), code=303)
    # The requests the page showed (not one the student sent since); a page from before they were sent: every one.
    # Ids none of which reads as a row close nothing (not every request, which is for pages that sent no ids).
    shown = request.form.getlist("request_id", type=row_id) if "request_id" in request.form else None
    # And when the page said each was asked: one asked again since is a new ask, left open (services/help.py).
    asked_at = _shown_times(shown or [])
    now = utcnow()
    if mark_helped(g.launch.course_id, person_id, actor=actor_of(g.launch), now=now, request_ids=shown,
                   shown=asked_at):
        flash(gettext("Marked as helped."), "success")
    if asked_again(g.launch.course_id, person_id, asked_at, now=now):
        name = next(entry.name for entry in entries if entry.person_id == person_id)
        flash(gettext("%(name)s asked for help again after this page was shown: that request is still open.",
                      name=person_name(name)), "warning")
    return redirect(_helped_page(person_id), code=303)


def _shown_times(request_ids: list[int]) -> dict[int, datetime]:
    """Read the form's asked_at_<id> fields: when the page said each shown request was asked (a page from before
    they were sent has none, and its requests close whenever they were asked)."""
    times = {}
    for request_id in request_ids:
        value = request.form.get(f"asked_at_{request_id}")
        if value is None:
            continue
        try:
            when = datetime.fromisoformat(value)
            # The columns are naive UTC; a time with an offset (no page of ours sends one) is read as that instant.
            times[request_id] = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when
        except (ValueError, OverflowError):
            times[request_id] = datetime.min  # unreadable: any time the request has is later, so it stays open
    return times


def _helped_page(person_id: int) -> str:
    """Where "Mark as helped" leads back to: the student's page when pressed there, else the needs-help list."""
    if request.form.get("back") == "student":
        return url_for("classroom.student", person_id=person_id)
    return url_for("classroom.help_now")


@bp.get("/class/activity")
def activity():
    """Show each student's recent activity: last active, questions answered, time on task; sortable by column."""
    require_teacher()
    table = class_activity(g.launch.course_id, g.launch.platform_id, now=utcnow(),
                           sort=request.args.get("sort", ""), direction=request.args.get("dir", ""))
    return render_template("teacher/activity.html", launch=g.launch, table=table, columns=SORT_COLUMNS)


@bp.get("/class/map")
def skill_map():
    """Draw the skill map with, on each skill, how many students are Proficient or above and ready to learn it."""
    require_teacher()
    view = class_skill_map(g.launch.course_id, g.launch.platform_id, page_language())
    return render_template("teacher/skill_map.html", launch=g.launch, view=view)


@bp.get("/class/groups")
def groups():
    """Suggest small groups for the next lesson from readiness on the chosen skills."""
    require_teacher()
    grouping = suggest_groups(g.launch.course_id, g.launch.platform_id, skill_ids=request.args.getlist("skill"),
                              kind=request.args.get("kind", ""), language=page_language())
    # Today in the course's time zone: no group's due date before it, as on the Assignments page.
    return render_template("teacher/groups.html", launch=g.launch, grouping=grouping, kinds=GROUP_KINDS,
                           arranged=False, today=course_today(g.launch.course_id, utcnow()))


@bp.post("/class/groups/print")
def print_groups():
    """Show the teacher's edited groups as a page to print; nothing is stored."""
    require_teacher()
    placement = {}
    for key, value in request.form.items():
        if key.startswith("group_"):
            try:  # row_id, not str.isdigit() then int(): "²" passes isdigit and int() refuses it
                placement[row_id(key[6:])] = row_id(value)
            except ValueError:
                continue  # no student's id or no group's number: ignored, as arrange_groups ignores the others
    grouping = arrange_groups(g.launch.course_id, g.launch.platform_id, skill_ids=request.form.getlist("skill"),
                              kind=request.form.get("kind", ""), placement=placement)
    return render_template("teacher/groups.html", launch=g.launch, grouping=grouping, kinds=GROUP_KINDS,
                           arranged=True)


@bp.get("/class/export.csv")
def export_csv():
    """Download the class table (students by skills) as CSV: every student's name and levels, so only for a role
    that may take students' data out of Pathways (not a guest instructor's nor a content developer's)."""
    require_teacher()
    require(actor_of(g.launch), Action.EXPORT_STUDENT_DATA)
    body = class_csv(g.launch.course_id, g.launch.platform_id, actor_id=g.launch.person_id, now=utcnow())
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="class-levels.csv"'})


@bp.get("/students/<int:person_id>")
def student(person_id: int):
    """Show one student's plan as they see it, their levels with reasons, and their mastery history."""
    require_teacher()
    detail = student_detail(g.launch.course_id, g.launch.platform_id, person_id, actor_id=g.launch.person_id,
                            now=utcnow(), language=page_language())
    # The student's open "ask my teacher" requests, as the needs-help list shows them (one statement more).
    names = {view.skill_id: view.name for view in detail.plan.skills}
    asked = [(row.id, names.get(row.skill_id, row.skill_id), row.asked_at) for row in
             open_requests(g.launch.course_id, [detail.person_id], now=utcnow()).get(detail.person_id, [])]
    return render_template("teacher/student.html", launch=g.launch, detail=detail, asked=asked,
                           may_mark_helped=may(actor_of(g.launch), Action.ASSESS))


@bp.get("/students/<int:person_id>/report")
def report(person_id: int):
    """Show a printable progress report for the student's family, in the language the teacher chose for it."""
    require_teacher()
    actor = actor_of(g.launch)
    result = family_report(g.launch.course_id, g.launch.platform_id, person_id, actor=actor, now=utcnow(),
                           language_for=_report_language(request.args.get("lang")))
    return render_template("teacher/report.html", launch=g.launch, report=result, person_id=person_id,
                           language=result.language, languages=SUPPORTED, article=_article(result, level=1),
                           may_comment=may(actor, Action.ASSESS), comment_limit=COMMENT_LIMIT)


@bp.post("/students/<int:person_id>/report/comment")
def report_comment(person_id: int):
    """Keep the teacher's comment for the family report, then show the report again in the same language."""
    require_teacher()
    language = language_of(request.form.get("lang")) or DEFAULT
    try:
        save_report_comment(g.launch.course_id, g.launch.platform_id, person_id, request.form.get("comment", ""),
                            actor=actor_of(g.launch), now=utcnow())
    except (Forbidden, NotFound):
        raise  # a role that may not comment, or a student not in this course: a refusal page
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(gettext("Comment saved."), "success")
    return redirect(url_for("classroom.report", person_id=person_id, lang=language), code=303)


@bp.get("/class/reports")
def print_reports():
    """Show every student's family report on one page to print, one student per sheet."""
    require_teacher()
    # No choice means each family's own language (from the student's last launch), else English.
    chosen = language_of(request.args.get("lang"))
    reports = class_family_reports(g.launch.course_id, g.launch.platform_id, actor=actor_of(g.launch), now=utcnow(),
                                   language_for=_report_language(chosen))
    articles = [_article(r, level=2) for r in reports]
    return render_template("teacher/class_reports.html", launch=g.launch, articles=articles, language=chosen or "",
                           languages=SUPPORTED)


def _report_language(choice: str | None) -> Callable[[str | None], str]:
    """Return how to pick a report's language: the teacher's choice, else the student's launch one, else English."""
    return lambda launch_locale: language_of(choice) or language_of(launch_locale) or DEFAULT


def _article(report: FamilyReport, *, level: int) -> Markup:
    """Render the report's body in the family's language; the page around it keeps the teacher's."""
    with force_locale(report.language):
        html = render_template("teacher/_family_report.html", report=report, language=report.language, h=level)
    # Jinja autoescaped every value while rendering it; marking the finished HTML safe only stops a second escape.
    return Markup(html)  # noqa: S704


@bp.get("/students/<int:person_id>/skills/<skill_id>")
def answers(person_id: int, skill_id: str):
    """Show a student's answers on one skill in order, with the level changes between them, and the override form."""
    require_teacher()
    return answers_page(person_id, skill_id)


def answers_page(person_id: int, skill_id: str, typed: Mapping[str, str] | None = None,
                 error_field: str | None = None, status: int = 200) -> tuple[str, int]:
    """Draw a student's answers on a skill, with the override form as `typed` filled it in (after a refusal)."""
    history = answer_history(g.launch.course_id, g.launch.platform_id, person_id, skill_id,
                             actor=actor_of(g.launch), now=utcnow(), language=page_language())
    return render_template("teacher/answers.html", launch=g.launch, history=history, levels=LEVELS,
                           typed=typed or {}, error_field=error_field), status


@bp.get("/class/skills/<skill_id>/trouble-spots")
def trouble(skill_id: str):
    """Show the skill's questions the class misses most, with the most common wrong answers."""
    require_teacher()
    spots = trouble_spots(g.launch.course_id, g.launch.platform_id, skill_id, actor=actor_of(g.launch),
                          language=page_language())
    return render_template("teacher/trouble_spots.html", launch=g.launch, spots=spots)


@bp.get("/class/assignments")
def assignments():
    """Show the form to assign skills, and the current assignments with a way to remove each."""
    require_teacher()
    return _assignments_page()


def _assignments_page(typed: Mapping[str, object] | None = None, error_field: str | None = None,
                      status: int = 200) -> tuple[str, int]:
    """Draw the Assignments page, with the form as `typed` filled it in (after a refusal)."""
    skills, rows = class_overview(g.launch.course_id, g.launch.platform_id, page_language())
    return render_template("teacher/assignments.html", launch=g.launch, skills=skills, rows=rows,
                           assignments=current_assignments(g.launch.course_id, g.launch.platform_id,
                                                           page_language()),
                           today=course_today(g.launch.course_id, utcnow()), typed=typed or {},
                           error_field=error_field), status


@bp.post("/class/assignments")
def assign():
    """Assign the chosen skills to a student, a group or the whole class, with an optional due date."""
    require_teacher()
    target = request.form.get("target", "")
    # The student menu starts at "Choose a student" (value ""): nothing chosen is no one, never the first student.
    who = WHOLE_CLASS if target == WHOLE_CLASS else [
        person_id for person_id in request.form.getlist("person_id", type=row_id) if person_id >= 0]
    try:
        due_on = _due_date(request.form.get("due_on", ""))
        count = assign_skills(g.launch.course_id, g.launch.platform_id, skill_ids=request.form.getlist("skill_id"),
                              person_ids=who, due_on=due_on, actor=actor_of(g.launch), now=utcnow())
    except (Forbidden, NotFound):
        raise  # a role that may not assign, or a student or skill not in this course: a refusal page
    except ServiceError as exc:
        flash(translated(exc), "error")
        if target == "group":
            # From the Groups page, whose form is the group's own: back to the same suggestion (its skills and
            # kind of groups), where the teacher can choose another date; the Assignments page has no such form.
            return redirect(_same_groups(), code=303)
        # The form comes back as the teacher filled it in (a redirect would lose the skills ticked and the date).
        typed = {"skill_ids": request.form.getlist("skill_id"), "target": target,
                 "person_id": request.form.get("person_id", ""), "due_on": request.form.get("due_on", "")}
        return _assignments_page(typed=typed, error_field=exc.form_field, status=422)
    assigned = ngettext("Assigned to %(num)d student.", "Assigned to %(num)d students.", count)
    if target == "group":
        # Back to the same groups, where the teacher assigns the next group (not to the Assignments page, from which
        # they had to find Groups and tick the skills again), told which group was just assigned.
        group = request.form.get("group", "")
        flash(ngettext("Group %(number)s: assigned to %(num)d student.",
                       "Group %(number)s: assigned to %(num)d students.", count, number=int(group))
              if group.isdecimal() and len(group) <= 4 else assigned, "success")
        return redirect(_same_groups(), code=303)
    flash(assigned, "success")
    return redirect(url_for("classroom.assignments"), code=303)


def _same_groups() -> str:
    """Return the Groups page for the skills and kind of groups the group form was sent from."""
    return url_for("classroom.groups", skill=request.form.getlist("skill_id"), kind=request.form.get("kind", ""))


@bp.post("/class/assignments/<int:assignment_id>/remove")
def unassign(assignment_id: int):
    """Remove one student's assignment; the skill leaves the top of their plan."""
    require_teacher()
    try:
        remove_assignment(g.launch.course_id, assignment_id, confirmed=request.form.get("confirm") == "yes",
                          actor=actor_of(g.launch))
    except ServiceError as exc:
        if exc.status != 400:
            raise
        flash(translated(exc), "error")
        return redirect(url_for("classroom.assignments"), code=303)
    flash(gettext("Assignment removed."), "success")
    return redirect(url_for("classroom.assignments"), code=303)


def _due_date(text: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ServiceError(N_("Write the due date as year-month-day, like 2026-12-31, or leave it empty."),
                           form_field="due_on") from exc
