"""Student practice and the teacher's class view, inside a launch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext
from markupsafe import Markup, escape

from ..extensions import db
from ..learning.mastery import Level, newly_mastered
from ..learning.skills import Skill
from ..models.base import utcnow
from ..services.classroom import heatmap, needs_help_count
from ..services.errors import N_, Forbidden, NotFound, ServiceError
from ..services.feedback import NOT_YOURS, answered_result
from ..services.help import MISSES_BEFORE_HELP, ask_teacher, asked_for_help, learning_activities
from ..services.mastery import override_level, record_answer, require_pack
from ..services.next_up import next_up
from ..services.permissions import Action, actor_of, may
from ..services.plan import ClassRow, class_overview
from ..services.serving import items_for_skill, question_can_count, serve_next
from .classroom import answers_page
from .course import addresses, answers_question, launch_blueprint, require_student, require_teacher
from .form_input import row_id
from .hints import HintAsked, hint_asked, hint_redirect, hints_to_show, typed_back
from .i18n import HEATMAP_CELL, heatmap_words, localized, page_language, person_name, translated
from .plan_page import plan_address, skill_anchor, unit_list_items
from .skill_map import map_dots, map_edges, map_name_lines, student_map_boxes

bp = launch_blueprint("learning", __name__)
LEVELS = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]




def _skill(pack, skill_id: str):
    skill = pack.skills_by_id.get(skill_id)
    if skill is None:
        abort(404)
    return skill


@bp.get("/practice/<skill_id>")
def practice(skill_id: str):
    """Show the student's question for a skill, one at a time: the server chooses and keeps it."""
    return _practice_page(skill_id, typed_back())


def _practice_page(skill_id: str, typed: HintAsked | None = None):
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    skill = _skill(pack, skill_id)
    question = serve_next(g.launch.course_id, person_id, skill_id, pack, now=utcnow())
    hinted = hint_redirect(typed, question, "learning.practice", skill_id=skill_id)
    if hinted is not None:
        return hinted
    # None for a skill with questions: the one left to serve is open in the placement check (serving.serve_next).
    in_placement = question is None and bool(items_for_skill(pack, skill_id))
    asked = asked_for_help(g.launch.course_id, person_id, now=utcnow()).get(skill_id) if question else None
    return render_template("student/practice.html", launch=g.launch, skill=skill, in_placement=in_placement,
                           item=question.item if question else None, question=question, help_asked_at=asked,
                           plan_href=plan_address(pack, skill_id),
                           hints=hints_to_show(question), typed_answer=typed.answer_for(question) if typed else "")


@bp.post("/practice/<skill_id>")
@answers_question  # the question comes with the launch
def answer(skill_id: str):
    """Check the answer and show feedback; mastery updates as the student goes (or show one more hint)."""
    asked = hint_asked()
    if asked is not None:
        return _practice_page(skill_id, asked)
    person_id = require_student()
    language = page_language()
    pack = require_pack(g.launch.course_id, language)
    skill = _skill(pack, skill_id)
    course_id = g.launch.course_id  # read before the answer's commit expires the launch row
    served_id = request.form.get("served", type=row_id)
    try:
        if served_id is None:
            raise NotFound(N_("That question was not given to you here. Here is a question that was."))
        result = record_answer(course_id, person_id, served_id, request.form.get("answer", ""), now=utcnow(),
                               language=language, page="practice")
    except ServiceError as exc:
        flash(translated(exc), "error")
        return redirect(url_for("learning.practice", skill_id=skill_id), code=303)
    # Post/Redirect/Get: the feedback is a page of its own, so Back, Forward and reload show it again (no "Confirm
    # Form Resubmission"). A second post of the question gets its first answer's feedback, said so (`again`).
    return redirect(url_for("learning.answered", skill_id=skill.id, served_id=served_id,
                            again=1 if result.repeated else None), code=303)


@bp.get("/practice/<skill_id>/answered/<int:served_id>")
def answered(skill_id: str, served_id: int):
    """Show the feedback on a practice question the student answered, from what the answer stored (serves nothing,
    changes nothing); a question of theirs still open is shown on its practice page."""
    person_id = require_student()
    language = page_language()
    pack = require_pack(g.launch.course_id, language)
    skill = _skill(pack, skill_id)
    course_id = g.launch.course_id
    found = answered_result(course_id, person_id, served_id, source="practice", language=language,
                            repeated=bool(request.args.get("again")))
    if found is None:
        return redirect(url_for("learning.practice", skill_id=skill_id), code=303)
    result, served_for = found
    if served_for != skill_id:
        raise NotFound(NOT_YOURS)
    # Two misses (or more) in a row: more of the same questions is not working, so offer other ways to learn it.
    # (The run was read with the answer: no statement more.)
    stuck = not result.correct and result.misses_in_a_row >= MISSES_BEFORE_HELP
    mastered = bool(newly_mastered(result.changes))
    now = utcnow()
    view = next((view for view in result.views if view.skill_id == skill_id), None)
    needs = view.needs if view is not None else None
    new_needed = needs.new_questions if needs is not None and not needs.more else 0
    # The level needs only right answers on questions not got right yet (or on other items), and none of those can
    # be served now (the missed ones wait out a break): "Next question" would serve questions that cannot move it,
    # right answer after right answer, so the page leads to another skill. Only then is the history read.
    # Only another sitting is missing for Mastered: the page says to take a break and come back, so it leads to
    # another skill too, as the plan puts the skill last, rather than focusing "Next question" (answers now cannot
    # reach Mastered: a student pressing Enter went on right answer after right answer with nothing to show).
    resting = not mastered and view is not None and view.another_sitting
    waiting = (not mastered and not resting and view is not None
               and (view.other_items or 0 < new_needed == needs.answers)
               and not question_can_count(course_id, person_id, skill_id, pack, now=now))
    # Only the step the page offers, not the whole plan (services/next_up.py).
    lead_on = waiting or resting
    following = next_up(course_id, person_id, skill_id, now=now, language=language) if mastered or lead_on else None
    return render_template("student/feedback.html", launch=g.launch, skill=skill, item=result.item, result=result,
                           activities=learning_activities(pack, skill_id) if stuck else [], stuck=stuck,
                           mastered=mastered, next_up=following, waiting=waiting, lead_on=lead_on,
                           help_asked_at=asked_for_help(course_id, person_id, now=now).get(skill_id) if stuck else None,
                           plan_href=plan_address(pack, skill_id))


@bp.post("/practice/<skill_id>/ask")
def ask(skill_id: str):
    """Ask my teacher: put the student on the teacher's needs-help list with this skill."""
    person_id = require_student()
    pack = require_pack(g.launch.course_id, page_language())
    name = ask_teacher(g.launch.course_id, person_id, skill_id, pack, now=utcnow())
    flash(gettext("Your teacher will see that you asked for help with %(skill)s.", skill=name), "success")
    # Asked from a plan step (after misses in a row, it says to learn the skill another way before more questions):
    # back to the plan, not on to a question. Only that fixed word is read, never an address from the form.
    if request.form.get("back") == "plan":
        return redirect(url_for("course.home"), code=303)
    return redirect(url_for("learning.practice", skill_id=skill_id), code=303)


# The skill map's repeated parts (web/skill_map.py), for templates/_skill_map.html.
bp.add_app_template_filter(map_name_lines, "map_name_lines")
bp.add_app_template_global(map_edges, "map_edges")
bp.add_app_template_global(map_dots, "map_dots")
bp.add_app_template_global(student_map_boxes, "student_map_boxes")
# The plan page's list of units (web/plan_page.py), for templates/student/home.html.
bp.add_app_template_global(unit_list_items, "unit_list_items")
bp.add_app_template_filter(skill_anchor, "skill_anchor")


@bp.app_template_global("practice_hrefs")
def practice_hrefs(skill_ids: Iterable[str]) -> list[str]:
    """Return each skill's practice address, as url_for gives it (the plan page's next steps link to them)."""
    return addresses("learning.practice", "skill_id", "practice", skill_ids)


def _around_person(url: str) -> tuple[str, str]:
    """Split an address built for the stand-in student 0 (`.../students/0...`) around that id."""
    before, after = url.split("/students/0", 1)  # the launch id before it is one path segment: no "/" in it
    return before + "/students/", after


def _html(text: str) -> str:
    return str(escape(text))


#: What a class-view cell adds to the level a student holds where their placement check suggests they know the skill.
PLACED_MARK = N_("placement check: likely knows it")


@bp.app_template_global("heatmap_body")
def heatmap_body(rows: Sequence[ClassRow], skills: Sequence[Skill],
                 placed: Mapping[int, frozenset[str]] | None = None) -> Markup:
    """Return the heatmap's body rows: the student's name, a cell per skill (level in words and a label), a count.

    Built here rather than in a template loop: 3,000 students on 16 skills are 48,000 cells, and a Jinja cell (an
    escape per value, a link and a label) cost about 15 µs. Each skill's cell for each level is escaped once per
    page, in three pieces around the row's student id (in the link) and name (in the label); a row only adds the
    pieces to one list, joined at the end (str.format on each row's pattern cost four times as much).

    `placed` names, per student, the skills their placement check stands in for: those cells add the words
    `PLACED_MARK` to the level (the student's page and plan count the skill as known, to confirm with practice).
    """
    words, label = heatmap_words()
    mark = gettext(PLACED_MARK)
    placed = placed or {}
    if label.count("%(name)s") != 1:
        label = HEATMAP_CELL  # a catalogue entry that drops or repeats the student's name: the English label
    label_before, label_after = label.split("%(name)s")
    student_before, student_after = _around_person(url_for("classroom.student", person_id=0))
    head = f'<tr><th scope="row"><a href="{_html(student_before)}', f'{_html(student_after)}">'
    cells: list[tuple[str, dict[Level, tuple[str, str, str]]]] = []
    for skill in skills:
        href_before, href_after = _around_person(url_for("classroom.answers", person_id=0, skill_id=skill.id))
        by_level = {}
        for level in Level:
            values = {"level": words[level.value], "skill": skill.name}
            by_level[level] = (f'\n    <td class="level-cell level-{level.rank}"><a href="{_html(href_before)}',
                               f'{_html(href_after)}" aria-label="{_html(label_before % values)}',
                               f'{_html(label_after % values)}">{_html(words[level.value])}</a></td>')
            by_level[level, True] = (f'\n    <td class="level-cell level-{level.rank} placed-cell"><a href="'
                                     f'{_html(href_before)}', by_level[level][1],
                                     f'{_html(label_after % values)}">{_html(words[level.value])}</a>'
                                     f' <span class="placed-mark">{_html(mark)}</span></td>')
        cells.append((skill.id, by_level))
    counts: dict[int, str] = {}  # "3 of 16" per count, looked up once
    not_started = Level.NOT_STARTED
    unnamed = _html(person_name(""))  # the page's words for a name the LMS did not share, looked up once
    html: list[str] = []
    for row in rows:
        pid, name, levels = str(row.person_id), _html(row.name) if row.name else unnamed, row.levels
        html += (head[0], pid, head[1], name, "</a></th>")
        known = placed.get(row.person_id)
        if known is None:  # most rows: no cell marked, nothing asked per cell beyond the level
            for skill_id, by_level in cells:
                before_pid, before_name, after_name = by_level[levels.get(skill_id, not_started)]
                html += (before_pid, pid, before_name, name, after_name)
        else:
            for skill_id, by_level in cells:
                level = levels.get(skill_id, not_started)
                before_pid, before_name, after_name = by_level[(level, True) if skill_id in known else level]
                html += (before_pid, pid, before_name, name, after_name)
        count = counts.get(row.proficient)
        if count is None:
            count = counts[row.proficient] = _html(gettext("%(num)d of %(total)d", num=row.proficient,
                                                           total=len(skills)))
        html.append(f"\n    <td>{count}</td></tr>\n")
    # Every fixed piece went through _html() when it was built, and every name too: nothing here is unescaped.
    return Markup("".join(html))  # noqa: S704


@bp.get("/class")
def class_view():
    """Show the class heatmap: students by skills, with levels in words as well as colour."""
    require_teacher()
    return _class_page()


def _class_page(typed: Mapping[str, str] | None = None, error_field: str | None = None, status: int = 200):
    view = heatmap(
        g.launch.course_id, g.launch.platform_id, sort=request.args.get("sort", ""), unit=request.args.get("unit", ""),
        skill=request.args.get("skill", ""), below=request.args.get("below", ""), language=page_language(),
    )
    return render_template("teacher/class.html", launch=g.launch, heatmap=view, skills=view.skills, rows=view.rows,
                           levels=LEVELS, help_count=needs_help_count(g.launch.course_id, g.launch.platform_id,
                                                                     now=utcnow()),
                           typed=typed or {}, error_field=error_field,
                           may_export=may(actor_of(g.launch), Action.EXPORT_STUDENT_DATA)), status


@bp.post("/class/override")
def override():
    """Set a student's level on a skill, with a note."""
    require_teacher()
    person_id = request.form.get("person_id", type=row_id)
    skills, rows = class_overview(g.launch.course_id, g.launch.platform_id, page_language())
    students = {row.person_id: row.name for row in rows}
    try:
        # The class view's menus start at "Choose …": what was left unchosen is named, never a 404 or a default.
        if not request.form.get("person_id", "").strip():
            raise ServiceError(N_("Choose a student."), form_field="person_id")
        if person_id not in students:
            abort(404)  # only students of this launch's course
        if not request.form.get("skill_id", "").strip():
            raise ServiceError(N_("Choose a skill from this course."), form_field="skill_id")
        if not request.form.get("level", "").strip():
            raise ServiceError(N_("Choose one of the levels."), form_field="level")
        view = override_level(g.launch.course_id, person_id, request.form.get("skill_id", ""),
                              request.form.get("level", ""), note=request.form.get("note", ""),
                              note_to_student=request.form.get("note_to_student", ""), actor=actor_of(g.launch),
                              now=utcnow())
    except Forbidden:
        raise  # the role may not set levels: a refusal page, not a message on a page it cannot use
    except ServiceError as exc:
        # The form comes back as the teacher filled it in: after a redirect it would start again at the first
        # student, skill and level, and the next "Set level" would change someone else's level.
        db.session.rollback()
        flash(translated(exc), "error")
        typed = {key: request.form.get(key, "") for key in ("person_id", "skill_id", "level", "note",
                                                            "note_to_student")}
        if request.form.get("back") == "answers":
            return answers_page(person_id, typed["skill_id"], typed=typed, error_field=exc.form_field, status=422)
        return _class_page(typed=typed, error_field=exc.form_field, status=422)
    # Name the student too: the form starts again at the first student, so the teacher setting several levels
    # in a row reads here whose level changed; and the skill as the page names it (the teacher's language).
    skill = next((s.name for s in skills if s.id == view.skill_id), view.name)
    flash(gettext("Level set to %(level)s for %(student)s on %(skill)s.", level=localized(view.level),
                  student=person_name(students[person_id]), skill=skill), "success")
    if request.form.get("back") == "answers":
        # Set from a student's answers on the skill: back to those answers, where the change now shows.
        return redirect(url_for("classroom.answers", person_id=person_id,
                                skill_id=request.form.get("skill_id", "")), code=303)
    return redirect(url_for("learning.class_view"), code=303)
