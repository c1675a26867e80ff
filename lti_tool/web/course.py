"""Pages inside a launched course: /c/<launch_id>/ shows the teacher or student view."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TypeVar

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..extensions import csrf
from ..learning.diagnostic import MAX_ITEMS as PLACEMENT_QUESTIONS
from ..lti.ags import scopes_allow_results
from ..lti.claims import DATA_PRIVACY, way_back_to_lms
from ..models import LaunchSession
from ..models.base import utcnow
from ..security import forms_post_only_to, frame_for_launch
from ..services.classroom import needs_help_count
from ..services.content import (
    PackProblems,
    course_pack,
    export_pack,
    import_demo_pack,
    import_pack,
    read_pack_upload,
)
from ..services.diagnostic import pending_status as placement_check_status
from ..services.errors import N_, Forbidden, ServiceError
from ..services.grades import (
    ColumnMissing,
    GradeSyncStatus,
    compare_results,
    grade_sync_status,
    restore_column,
    retry_failed,
)
from ..services.help import asked_for_help
from ..services.launches import (
    LaunchExpired,
    course_roster,
    current_placement,
    end_launch,
    is_placeholder,
    open_launch,
    open_launch_by_token,
    refused_service_fixes,
    sign_launch_token,
    tab_matches,
)
from ..services.permissions import Action, actor_of, require
from ..services.placements import (
    ALREADY_ANSWERED,
    DeepLinkReturn,
    OptionSettings,
    PlacementOption,
    accepts_line_items,
    accepts_multiple,
    answer_deep_link,
    decline_deep_link,
    deep_link_settings,
    gradebook_gaps,
    picker_zone,
    placement_options,
    typed_moment,
)
from ..services.plan import plan_for
from ..services.publishing import unit_skills
from ..services.roster import roster_sync_refused, sync_roster
from .form_input import row_id
from .i18n import localized, message_text, page_language, translated
from .launch import MAX_LAUNCHES_PER_BROWSER
from .pending_messages import keep_pending_messages, take_pending_messages

F = TypeVar("F", bound=Callable)


def launch_blueprint(name: str, import_name: str) -> Blueprint:
    """Return a blueprint whose pages all act within the launch named in their URL (/c/<launch_id>/...)."""
    blueprint = Blueprint(name, import_name, url_prefix="/c/<launch_id>")
    # CSRF is checked in csrf_for_launch below, once we know whether the session or a launch token authorised
    # the request (the documented Flask-WTF pattern: exempt, then call csrf.protect() yourself).
    csrf.exempt(blueprint)

    @blueprint.url_value_preprocessor
    def load_launch(endpoint, values):
        launch_id = values.pop("launch_id") if values else None
        held = session.get("launches", [])
        held = held if isinstance(held, list) else []
        page = g._get_current_object()  # asked through its proxy once (see add_launch_id)
        page.launch_token = None
        page.asked_launch_id = launch_id  # for the page's language, should the launch not be readable (i18n.py)
        answering = _answering(endpoint)
        # The session's own launch needs no token: the form is not read for one here, so a body too large to read
        # (an evidence file over the limit) is refused later, with the launch open for the page that says so.
        token = None if launch_id in held else request.args.get("lt") or request.form.get("lt")
        # A session in use slides forward (up to its absolute end): see services.launches._slide.
        config = current_app.config
        window = {"window": config["LAUNCH_SESSION_SECONDS"], "longest": config["LAUNCH_SESSION_MAX_SECONDS"]}
        if launch_id in held or not token:
            launch = page.launch = open_launch(launch_id, held, now=utcnow(), answering=answering,
                                               signed_out_ids=_signed_out_here(), **window)
            page.launch_platform_id = launch.platform_id  # an error page still knows its LMS (errors.py)
            frame_for_launch(launch.details)  # the LMS page its signed return URLs name may frame it
            _launch_pages_only(endpoint, launch)
            return
        # A cookie-less launch (platform storage): the signed token in the URL or form stands in for the session.
        # It lives minutes; each page renews it, and so does a tab in use (keep_alive), so only an idle tab runs out.
        secret_key = config["SECRET_KEY"]
        page.launch, page.launch_binding = open_launch_by_token(
            launch_id, token, secret_key=secret_key, max_age=config["LAUNCH_TOKEN_SECONDS"], now=utcnow(),
            answering=answering, **window)
        page.launch_token = sign_launch_token(page.launch.id, secret_key, page.launch_binding)
        page.launch_platform_id = page.launch.platform_id
        frame_for_launch(page.launch.details)
        _launch_pages_only(endpoint, page.launch)
        take_pending_messages()  # "Saved" and the like, which a session cookie would have brought

    # A cookie-less tab's messages wait on its launch session for the next page (web/pending_messages.py).
    blueprint.after_request(keep_pending_messages)

    @blueprint.before_request
    def csrf_for_launch():
        # A launch token is a secret a cross-site page cannot know, so carrying it proves the form is ours;
        # with a session, Flask-WTF's token (kept in that session) must be there as before.
        checks_on = current_app.config.get("WTF_CSRF_ENABLED", True) and current_app.config.get(
            "WTF_CSRF_CHECK_DEFAULT", True)
        if g.launch_token is None and checks_on:
            try:
                csrf.protect()
            except CSRFError as refused:
                if refused.description != "The CSRF token has expired.":
                    raise
                # The form's token outlived its limit while the session did not (a changed setting): the same
                # page as a session that ran out, with what was typed, rather than a bare 400.
                expired, g.launch, g.launch_token = g.launch, None, None  # drawn as a launch that ran out
                raise LaunchExpired(expired) from None
        elif g.launch_token is not None and request.method not in ("GET", "HEAD", "OPTIONS") and not tab_matches(
                g.launch_binding, request.form.get("ts")):
            # The token names a launch, but only the tab that made it knows the secret the page's script adds.
            raise Forbidden(N_("This page belongs to a launch made in another browser tab. Open Pathways again "
                               "from your course."))

    @blueprint.context_processor
    def role_checks():
        # Pages hide what the launch's role may not do (services/permissions.py still refuses it).
        from ..services.permissions import Action, actor_of, may

        def allowed(action: str) -> bool:
            launch = getattr(g, "launch", None)
            return launch is not None and may(actor_of(launch), Action[action])

        return {"may": allowed}

    @blueprint.context_processor
    def launch_token_for_forms():
        # GET forms replace their action's query string: they need `lt` as a hidden field to keep it.
        page = g._get_current_object()
        token = getattr(page, "launch_token", None)
        # The page's script (_tab_binding.html) renews the token while the tab is in use. The address carries no
        # `lt` (the script posts the newest one), and there is none to give once the launch is gone (errors.py).
        keep_alive = url_for("course.keep_alive", lt=None) if token and page.get("launch") is not None else None
        return {"launch_token": token, "keep_alive_url": keep_alive}

    @blueprint.url_defaults
    def add_launch_id(endpoint, values):
        # The context's own `g`, asked through its proxy once: a page builds a dozen addresses, and each look-up
        # through the proxy (four here) cost more than the rest of this function.
        page = g._get_current_object()
        launch = getattr(page, "launch", None)
        if "launch_id" not in values and launch is not None:
            values["launch_id"] = launch.id
        token = getattr(page, "launch_token", None)
        if token and "lt" not in values:
            values["lt"] = token

    return blueprint


#: What a Data Privacy Launch may open: the notice, the named person's data and its deletion (and leaving).
PRIVACY_LAUNCH_ENDPOINTS = frozenset({
    "course.home",  # only redirects to the privacy page
    "course.sign_out",
    "course.keep_alive",
    "course.no_such_page",  # a 404 in the launch's own words, as its other pages would say it
    "privacy.home",
    "privacy.my_data_json",
    "privacy.my_data_html",
    "privacy.confirm_user_delete",
    "privacy.user_delete",
})


#: What a Deep Linking request without a context may open: the picker and its answer (and leaving). Its course is
#: a placeholder of its own, no course of the platform's: no roster, content or settings to see or change there.
DEEP_LINKING_PLACEHOLDER_ENDPOINTS = frozenset({
    "course.home",  # only redirects to the picker
    "course.deep_link",
    "course.deep_link_answer",
    "course.deep_link_cancel",
    "course.sign_out",
    "course.keep_alive",
    "course.no_such_page",
})


def _launch_pages_only(endpoint: str | None, launch: LaunchSession) -> None:
    """Refuse a Data Privacy Launch's session, or any session on a placeholder course, every page but its own."""
    if launch.message_type == DATA_PRIVACY:
        if endpoint not in PRIVACY_LAUNCH_ENDPOINTS:
            # It is about a person, not a course.
            raise Forbidden(N_("This launch opened only Pathways's data privacy controls. Open Pathways from your "
                               "course for the rest."))
    elif is_placeholder(launch.course) and endpoint not in DEEP_LINKING_PLACEHOLDER_ENDPOINTS:
        raise Forbidden(N_("This launch opened only the page for adding Pathways to your LMS course. Open "
                           "Pathways from your course for the rest."))


def answers_question(view: F) -> F:
    """Mark a view that answers the question its form names ("served"): the launch reads that question with it."""
    view.answers_question = True  # type: ignore[attr-defined]
    return view


def _answering(endpoint: str | None) -> int | None:
    """Return the id of the question a marked view's post answers (see `answers_question`), or None."""
    if request.method != "POST" or not getattr(current_app.view_functions.get(endpoint or ""), "answers_question",
                                               False):
        return None
    return request.form.get("served", type=row_id)


def addresses(endpoint: str, argument: str, segment: str, ids: Iterable[str]) -> list[str]:
    """Return url_for(endpoint, **{argument: id}) for each id, with one url_for for them all.

    A plan page links a hundred units and its next steps; a url_for each was a tenth of its time. The address of
    the id "0" (whose path ends `/<segment>/0`) is built once, and each id goes where "0" was, as the route's
    converter puts it.
    """
    before, after = url_for(endpoint, **{argument: "0"}).split(f"/{segment}/0", 1)
    before += f"/{segment}/"
    converter = current_app.url_map.converters["default"](current_app.url_map)
    return [before + converter.to_url(value) + after for value in ids]


#: What no URL quoting changes (RFC 3986's unreserved characters): a value of only these is its own quoted form.
_UNRESERVED = re.compile(r"[A-Za-z0-9._~-]+")


def query_addresses(endpoint: str, argument: str, values: Iterable[str]) -> list[str]:
    """Return url_for(endpoint, **{argument: value}) for each value, `argument` in the query string (`?argument=`).

    As `addresses`, for an argument that is not part of the route: the address of the value "0" is built once, and
    a value that quoting leaves as it is goes where "0" was; any other value gets its own url_for.
    """
    values = list(values)
    if not values:
        return []
    before, marker, after = url_for(endpoint, **{argument: "0"}).partition(f"{argument}=0")
    if not marker or before[-1:] not in ("?", "&") or after[:1] not in ("", "&"):
        return [url_for(endpoint, **{argument: value}) for value in values]
    return [f"{before}{argument}={value}{after}" if _UNRESERVED.fullmatch(value)
            else url_for(endpoint, **{argument: value}) for value in values]


def require_teacher() -> None:
    """Refuse students on teacher pages."""
    if g.launch.access != "teacher":
        raise Forbidden("Only teachers can open this page.")


#: A student's page a teacher opens (a copied link, a student's address, a page's history), by its endpoint: the
#: teacher's page about the same thing, with the arguments of the student's address it keeps, and its anchor.
TEACHER_PAGE_FOR: dict[str, tuple[str, tuple[str, ...], str]] = {
    "agency.goals": ("course_map.editor", (), "#goals-heading"),
    "agency.edit_goal": ("course_map.editor", (), "#goals-heading"),
    "agency.evidence": ("agency.evidence_queue", (), ""),
    "agency.reflect": ("agency.reflections", (), ""),
    "learning.practice": ("classroom.trouble", ("skill_id",), ""),
    "learning.answered": ("classroom.trouble", ("skill_id",), ""),
}


def require_student() -> int:
    """Keep student pages to students; return the student's person id.

    A teacher is not shown a refusal with no way on: a page that has a teacher's counterpart (`TEACHER_PAGE_FOR`)
    takes them there; any other (review, placement check, unit check, or a student's form sent) says in a plain
    sentence whose page it is and links to the class view and the course page. Everyone else is refused (403).
    """
    if g.launch.access == "teacher":
        abort(_teacher_way_on())
    if g.launch.access != "student":
        abort(403)
    # The page header names the student: read now, as an answer's commit expires the launch (and its person),
    # and reading them again after it would cost statements on the answer path.
    g.student_name = g.launch.person.name or ""
    return g.launch.person_id


def _teacher_way_on() -> Response:
    """Where a teacher who opened a student's page goes instead (`require_student`)."""
    target = TEACHER_PAGE_FOR.get(request.endpoint or "") if request.method in ("GET", "HEAD") else None
    if target is not None:
        endpoint, kept, anchor = target
        values = request.view_args or {}
        return redirect(url_for(endpoint, **{name: values[name] for name in kept}) + anchor, code=303)
    # Not a refusal: nothing is wrong with the teacher's access. A form sent from a student's page is not taken,
    # and the page says so as every refused form does (the error flash takes the focus and heads the title).
    if request.method in ("GET", "HEAD"):
        return make_response(render_template("teacher/student_page.html", launch=g.launch), 200)
    flash(gettext("Nothing was saved: only students send this page's forms."), "error")
    return make_response(render_template("teacher/student_page.html", launch=g.launch), 403)


bp = launch_blueprint("course", __name__)


@dataclass(frozen=True)
class StudentGrades:
    """One student's rows of the course page's "Grades sent to the LMS", with how many stand which way."""

    person_id: int
    name: str
    rows: list[GradeSyncStatus]
    synced: int
    pending: int
    failed: int


def grades_by_student(grades: list[GradeSyncStatus]) -> list[StudentGrades]:
    """Group the grade rows by student: those with a failed grade first, then those with one waiting, then by name.

    With a gradebook column per skill a class has hundreds of rows: a teacher looks for the few that need them.
    """
    rows: dict[int, list[GradeSyncStatus]] = {}
    for row in grades:
        rows.setdefault(row.person_id, []).append(row)
    groups = []
    for person_id, mine in rows.items():
        states = Counter(row.state for row in mine)
        groups.append(StudentGrades(person_id, mine[0].name, mine, states["synced"], states["pending"],
                                    states["failed"]))
    # An unnamed student ("name not shared") after the named ones, as the roster lists them.
    groups.sort(key=lambda s: (not s.failed, not s.pending, not s.name, s.name.casefold(), s.person_id))
    return groups



@bp.get("/")
def home():
    """Show the teacher's course page or the student's own page."""
    launch = g.launch
    if launch.message_type == DATA_PRIVACY:
        # A privacy launch is about the person's data, not a course: it only opens the privacy pages.
        return redirect(url_for("privacy.home"), code=303)
    if is_placeholder(launch.course):
        # A Deep Linking request without a context: the picker is all it opens (the way back of its error pages).
        return redirect(url_for("course.deep_link"), code=303)
    placement = current_placement(launch)
    pack = course_pack(launch.course_id)
    if launch.access == "teacher":
        grades = grade_sync_status(launch.course_id)
        # A skill's own gradebook column is named by the skill, in the page's language, not by its id in the pack.
        named = course_pack(launch.course_id, page_language()) if pack and any(r.skill_id for r in grades) else None
        return render_template("teacher/home.html", launch=launch, roster=course_roster(launch), placement=placement,
                               refused_services=refused_service_fixes(launch),
                               roster_refused=roster_sync_refused(launch.course),
                               skill_names={s.id: s.name for s in named.skills} if named else {},
                               pack=pack, grades=grades, grade_groups=grades_by_student(grades),
                               gradebook_gaps=gradebook_gaps(launch.course_id),
                               # Without result.readonly the LMS refuses to show its gradebook: no button that fails.
                               results_readable=scopes_allow_results(launch.course.ags_scopes),
                               help_count=needs_help_count(launch.course_id, launch.platform_id, now=utcnow()))
    # Only skills the pack has: a copied link's skills (pathways_unit_skills) may name ones this course's pack lacks,
    # and a unit of none would read as "everything mastered". None of them left: the whole plan, as publishing grades.
    unit = (unit_skills(placement, pack.skills_by_id) if placement and pack else []) or None
    # The page shows one unit's map and table: the one asked for (`?unit=`, from the page's list of units), else
    # the one the student is working in; a unit placement shows its own skills.
    plan = plan_for(launch.course_id, launch.person_id, now=utcnow(), unit_skill_ids=unit,
                    unit_title=placement.title if unit else "", language=page_language(),
                    unit=request.args.get("unit", "", type=str)) if pack else None
    # Nothing to do until the teacher sets the course up: say so, and offer the way back to the LMS with it.
    not_set_up = "" if plan else gettext("Your teacher has not set up this course in Pathways yet. Check back soon.")
    # The placement check and review boxes come from what the plan and the launch already read.
    return render_template("student/home.html", launch=launch, placement=placement, plan=plan,
                           not_set_up=not_set_up,
                           lms_url=way_back_to_lms(launch.details, not_set_up, as_error=False) if not_set_up else "",
                           reviews_due=plan.reviews_due if plan else [],
                           # A step that offers "Ask my teacher" (after misses in a row) says instead that the
                           # student asked, if they did (services/help.py); read only then, so the plan page keeps
                           # its five statements.
                           help_asked_on=asked_for_help(launch.course_id, launch.person_id, now=utcnow())
                           if plan and any(step.missed_lately for step in plan.next_steps) else {},
                           diagnostic_pending=placement_check_status(launch.course_id, launch.person_id,
                                                                    shown_work=plan.shown_work if plan else None),
                           placement_questions=PLACEMENT_QUESTIONS)


@bp.post("/sign-out")
def sign_out():
    """End this launch session in this browser and say how to come back."""
    end_launch(g.launch, now=utcnow())
    held = session.get("launches", [])
    if isinstance(held, list) and g.launch.id in held:
        session["launches"] = [i for i in held if i != g.launch.id]
        # Remembered in this browser's own cookie, so its Back to a page of this launch says it signed out.
        session[SIGNED_OUT_HERE] = (_signed_out_here() + [g.launch.id])[-MAX_LAUNCHES_PER_BROWSER:]
    g.signed_out = True
    # The LMS page the launch came from, when it named one: a window Pathways opened on its own is no dead end.
    return render_template("lti/signed_out.html", lms_url=way_back_to_lms(
        g.launch.details, gettext("You have signed out of Pathways"), as_error=False))


#: The session key listing the launches this browser signed out of (newest last).
SIGNED_OUT_HERE = "signed_out"


def _signed_out_here() -> list[str]:
    """The launches this browser signed out of, as its session cookie lists them."""
    listed = session.get(SIGNED_OUT_HERE, [])
    return [i for i in listed if isinstance(i, str)] if isinstance(listed, list) else []


@bp.post("/keep-alive")
def keep_alive():
    """Give a cookie-less tab in use a fresh launch token, so a long time typing on one page does not end it.

    load_launch has checked the token, the launch session's own limits (its sliding window and absolute end, which
    the new token cannot outlive: every page opens the session too) and, for a POST, the tab's secret; it has
    signed the new token. A session launch needs nothing: its session slides with every page.
    """
    if g.launch_token is None:
        return "", 204
    response = jsonify(lt=g.launch_token, seconds=current_app.config["LAUNCH_TOKEN_SECONDS"])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/content/demo")
def use_demo_pack():
    """Start the course from the demo course pack that ships with Pathways."""
    require_teacher()
    now = utcnow()
    pack = import_demo_pack(g.launch.course_id, now=now)
    flash(gettext("The course now uses “%(title)s”: %(num)d skills.", title=pack.course.title, num=len(pack.skills)),
          "success")
    return redirect(url_for("course.home"), code=303)


@bp.post("/content/import")
def import_content():
    """Replace the course's content with an uploaded course pack (JSON)."""
    require_teacher()
    upload = request.files.get("pack")
    try:
        pack = import_pack(g.launch.course_id, read_pack_upload(upload.read()) if upload else None, now=utcnow())
    except PackProblems as exc:
        _flash_pack_problems(exc.problems)
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(gettext("Imported “%(title)s”: %(num)d skills.", title=pack.course.title, num=len(pack.skills)),
              "success")
        for warning in pack.warnings():
            flash(message_text(warning), "warning")
    return redirect(url_for("course.home"), code=303)


#: A refused pack's problems listed one by one up to this many: flashes travel in the session cookie (4 KB).
MAX_PROBLEMS_SHOWN = 10


def _flash_pack_problems(problems: list[str]) -> None:
    """Say the pack was not imported and why, each problem in the page's language."""
    flash(ngettext("The course pack was not imported: it has %(num)d problem.",
                   "The course pack was not imported: it has %(num)d problems.", len(problems)), "error")
    flash_problems(problems)


def flash_problems(problems: Sequence[object]) -> None:
    """Flash each problem in the page's language, the first MAX_PROBLEMS_SHOWN of them, then how many more."""
    for problem in problems[:MAX_PROBLEMS_SHOWN]:
        flash(message_text(problem), "error")
    if len(problems) > MAX_PROBLEMS_SHOWN:
        rest = len(problems) - MAX_PROBLEMS_SHOWN
        flash(ngettext("… and %(num)d more problem.", "… and %(num)d more problems.", rest), "error")


@bp.get("/content/export")
def export_content():
    """Download the course's content as a course pack."""
    require_teacher()
    body = json.dumps(export_pack(g.launch.course_id), indent=2, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="course-pack.json"'})


@bp.get("/deep-link")
def deep_link():
    """Let the teacher choose what to add to the LMS course (Deep Linking)."""
    return _picker_page()


def _placement_options(launch: LaunchSession) -> list[PlacementOption]:
    """Return the picker's options in the teacher's language: the units as the pack translates them, the plan's
    catalogued words translated here (a Spanish teacher read "My learning plan" and the units in English)."""
    return placement_options(launch, page_language(), localized)


def _picker_page(typed: MultiDict[str, str] | None = None, error_field: str | None = None, status: int = 200):
    """Draw the Deep Linking picker; after a refusal, with `typed` (the form sent) filled back in."""
    launch = g.launch
    settings = deep_link_settings(launch)
    return render_template(
        "teacher/deep_link.html",
        launch=launch,
        options=_placement_options(launch),
        # Check boxes only where the platform said it takes several links; radio buttons otherwise (DL 2.0 §4.4.1).
        multiple=accepts_multiple(settings),
        # accept_lineitem false: the platform ignores line items, so no column is offered (DL 2.0 §4.4.1).
        gradebook_column=accepts_line_items(settings),
        answered=launch.deep_link_answered_at is not None,
        # A request without a context has no course page to go on to; one from a course does.
        course_page=not is_placeholder(launch.course),
        typed=typed, chosen=typed.getlist("option") if typed else None, error_field=error_field,
    ), status


@bp.post("/deep-link")
def deep_link_answer():
    """Sign the teacher's choice and post it back to the LMS."""
    launch = g.launch
    keys = request.form.getlist("option")
    try:
        typed_maximum = _typed_points("score_maximum")
        # Empty means the default; 0 goes on to the service, which says what a column's points may be.
        score_maximum = 100.0 if typed_maximum is None else typed_maximum
        # The dates were typed in the teacher's own time zone, which the picker's script names (UTC without it).
        zone = picker_zone(request.form.get("time_zone"), request.form.get("utc_offset"))
        settings_by_key = {key: _option_settings(key, zone) for key in keys}
    except _TypedValueError as exc:
        # The picker comes back as the teacher filled it in (titles, points, dates of every option), not emptied.
        flash(str(exc), "error")
        return _picker_page(request.form, exc.field, 422)
    try:
        answer = answer_deep_link(
            launch,
            [(key, request.form.get(f"title_{key}", "")) for key in keys],
            with_gradebook_column=request.form.get("gradebook") == "on",
            score_maximum=score_maximum,
            secret_key=current_app.config["SECRET_KEY"],
            base_url=current_app.config["BASE_URL"],
            now=utcnow(),
            settings_by_key=settings_by_key,
            language=page_language(),
            localize=localized,
        )
    except ServiceError as exc:
        flash(translated(exc), "error")
        if exc.template == ALREADY_ANSWERED:
            return redirect(url_for("course.deep_link"), code=303)  # nothing left to fill in: the page says so
        return _picker_page(request.form, exc.form_field, 422)
    return _deep_link_return_page(answer)


@bp.post("/deep-link/cancel")
def deep_link_cancel():
    """Send the LMS an answer with nothing in it, so a teacher who opened the picker by mistake gets back."""
    try:
        answer = decline_deep_link(g.launch, secret_key=current_app.config["SECRET_KEY"], now=utcnow())
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("course.deep_link"), code=303)
    return _deep_link_return_page(answer)


class _TypedValueError(ValueError):
    """A value typed in the picker that cannot be read; the message is in the page's language."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _typed_points(field: str) -> float | None:
    """Return the points typed in the field (None when it is empty); the service checks the range."""
    text = (request.form.get(field) or "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        raise _TypedValueError(gettext("Points must be a number."), field) from None


def _option_settings(key: str, zone: tzinfo) -> OptionSettings:
    """Read one option's points and dates from the picker form (datetime-local, typed in `zone`)."""
    def moment(name: str) -> datetime | None:
        text = request.form.get(f"{name}_{key}") or ""
        try:
            return typed_moment(text, zone)
        except ValueError:
            raise _TypedValueError(gettext("“%(text)s” is not a date and time.", text=text.strip()),
                                   f"{name}_{key}") from None

    return OptionSettings(score_maximum=_typed_points(f"points_{key}"),
                          available_from=moment("available_from"), available_until=moment("available_until"),
                          due=moment("due"))


@bp.post("/roster/sync")
def roster_sync():
    """Read the course roster from the platform now (teachers only)."""
    require_teacher()
    launch = g.launch
    try:
        result = sync_roster(
            launch.course_id,
            secret_key=current_app.config["SECRET_KEY"],
            http=current_app.extensions["pathways_http"],
            timeout=current_app.config["SERVICE_TIMEOUT_SECONDS"],
            store_email=current_app.config["STORE_EMAIL"],
            now=utcnow(),
        )
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(
            ngettext("Roster updated: %(num)d member, %(added)d new, %(gone)d no longer active.",
                     "Roster updated: %(num)d members, %(added)d new, %(gone)d no longer active.",
                     result.members, added=result.added, gone=result.deactivated),
            "success",
        )
    return redirect(url_for("course.home"), code=303)


@bp.post("/grades/retry")
def retry_grades():
    """Queue failed grade posts again (after the teacher fixed the cause in the LMS)."""
    require_teacher()
    require(actor_of(g.launch), Action.RETRY_GRADES)
    count = retry_failed(g.launch.course_id, now=utcnow(), person_id=request.form.get("person_id", type=row_id))
    flash(ngettext("%(num)d grade queued to send again.", "%(num)d grades queued to send again.", count), "success")
    return redirect(url_for("course.home") + "#grades-heading", code=303)


def _graded_placement(placement_id: int) -> GradeSyncStatus:
    """Return the course's placement that reports grades to the LMS (404 for any other id)."""
    placement = next((p for p in grade_sync_status(g.launch.course_id) if p.placement_id == placement_id), None)
    if placement is None:
        abort(404)
    return placement


@bp.get("/grades/compare/<int:placement_id>")
def compare_grades(placement_id: int):
    """Read the LMS gradebook back and show where it differs from Pathways (a teacher changed it there).

    Only reads, in Pathways and in the LMS (a prefetch or a crawler may follow the link): a column the LMS does not
    have is said to be missing, with a form that makes it (make_column).
    """
    require_teacher()
    placement = _graded_placement(placement_id)
    try:
        rows = compare_results(placement_id, secret_key=current_app.config["SECRET_KEY"],
                               http=current_app.extensions["pathways_http"],
                               timeout=current_app.config["SERVICE_TIMEOUT_SECONDS"])
    except ColumnMissing as missing:
        return render_template("teacher/compare.html", launch=g.launch, title=placement.placement_title, rows=[],
                               placement_id=placement_id, missing=missing)
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("course.home"), code=303)
    return render_template("teacher/compare.html", launch=g.launch, title=placement.placement_title, rows=rows,
                           placement_id=placement_id, missing=None)


@bp.post("/grades/compare/<int:placement_id>/column")
def make_column(placement_id: int):
    """Find or create the placement's gradebook column in the LMS (again), then show the gradebook check."""
    require_teacher()
    require(actor_of(g.launch), Action.RETRY_GRADES)
    placement = _graded_placement(placement_id)
    page_language()  # read now, as course_delete does: the course's data deleted meanwhile takes the launch along
    try:
        restore_column(placement_id, secret_key=current_app.config["SECRET_KEY"],
                       http=current_app.extensions["pathways_http"],
                       timeout=current_app.config["SERVICE_TIMEOUT_SECONDS"])
    except ServiceError as exc:
        flash(translated(exc), "error")
    else:
        flash(gettext("The gradebook column for “%(title)s” is in the LMS.", title=placement.placement_title),
              "success")
    return redirect(url_for("course.compare_grades", placement_id=placement_id), code=303)


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def no_such_page(unknown: str):
    """Answer an address under a launch that no page has (an old bookmark, a mistyped link) within the launch.

    Without this the 404 was drawn outside it: in English whatever the LMS's language, with no way back to the
    course, and with frame-ancestors 'self' only, so the LMS's frame showed the browser's "refused to connect".
    Reaching here, the launch is open (load_launch), so the error page speaks its language, names its course home
    and is framed as its other pages are. A POST (a form from a page that has gone) is answered as a GET is. An
    address a page has, asked with a method that page does not take, stays a 405, drawn in the launch too.
    """
    taken = _methods_pages_take(request.path)
    if taken and ("GET" if request.method == "HEAD" else request.method) not in taken:
        raise MethodNotAllowed(valid_methods=sorted(taken))
    abort(404)


def _methods_pages_take(path: str) -> set[str]:
    """The methods some page other than this catch-all answers at path (it takes GET and POST everywhere)."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    taken = set()
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except HTTPException:
            continue
        if rule.endpoint != request.endpoint:
            taken.add(method)
    return taken


def _deep_link_return_page(answer: DeepLinkReturn) -> str:
    """Draw the page that posts the signed answer to the LMS: its one form may post there and nowhere else."""
    forms_post_only_to(answer.return_url)
    return render_template("lti/deep_link_return.html", answer=answer)
