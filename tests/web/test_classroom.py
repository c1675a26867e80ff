"""The teacher's class pages: heatmap sort and filter, needs help now, groups, a student's plan and report, CSV."""

from __future__ import annotations

import csv
import html
import io
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import answer_wrong_until_stuck, launch_with_presentation, submit_form, teacher_of_another_course
from tests.support import open_in_launch as _get
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
FIRST_UNIT = PACK.units[0]
OTHER_UNIT = PACK.units[1]
NAMES = {s.id: s.name for s in PACK.skills}


def _heatmap_rows(page) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", page.text, re.S).group(1)
    return re.findall(r'<th scope="row"><a [^>]*>([^<]+)</a></th>', body)


def _person_ids(page) -> dict[str, int]:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    return {name.replace("&#39;", "'"): int(pid) for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select)}


def _override(page, person_id: int, skill_id: str, level: str):
    done = submit_form(page, "/class/override", person_id=str(person_id), skill_id=skill_id, level=level,
                       note="Seen in class")
    assert f"Level set to {level}" in done.text
    return done


def _audit(tool, action: str):
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import AuditEntry

        return list(db.session.scalars(db.select(AuditEntry).where(AuditEntry.action == action)))


def test_teacher_sorts_and_filters_the_heatmap_by_level_unit_and_skill(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")  # Priya Shah
    sandbox.launch("student-2")  # Liam O'Connor
    view = _get(teacher, tool, "/class")
    ids = _person_ids(view)
    skill = FIRST_UNIT.skills[0]
    view = _override(view, ids["Priya Shah"], skill, "Mastered")
    assert _heatmap_rows(_get(teacher, tool, "/class")) == ["Liam O&#39;Connor", "Priya Shah"]

    by_skill = _get(teacher, tool, "/class", sort="skill-high", skill=skill)
    assert _heatmap_rows(by_skill) == ["Priya Shah", "Liam O&#39;Connor"]
    assert _heatmap_rows(_get(teacher, tool, "/class", sort="most")) == ["Priya Shah", "Liam O&#39;Connor"]

    below = _get(teacher, tool, "/class", skill=skill, below="Proficient")
    assert _heatmap_rows(below) == ["Liam O&#39;Connor"]
    assert "Showing 1 of 2 students" in below.text

    unit = _get(teacher, tool, "/class", unit=OTHER_UNIT.id)
    assert NAMES[OTHER_UNIT.skills[0]] in unit.text
    head = re.search(r"<thead>(.*?)</thead>", unit.text, re.S).group(1)
    assert NAMES[skill] not in head
    assert '<label for="hm-sort">Sort by</label>' in unit.text


def test_heatmap_row_escapes_a_students_name_and_links_every_cell_to_that_student(sandbox, tool):
    # The body rows are filled in per student from patterns built once per page: markup, braces and % in a
    # name must come out as text, and every link must carry that student's id.
    odd = "Zoë <b>{pid}</b> & 100% {name}"
    tool.platform.add_user("s-odd", roles=["Learner"], name=odd, context_id="math-7")
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    sandbox.launch("s-odd")
    view = _get(teacher, tool, "/class")
    shown = html.escape(odd)
    person = _person_ids(view)[shown]
    assert "<b>" not in re.search(r"<tbody>(.*?)</tbody>", view.text, re.S).group(1)
    row = next(r for r in re.findall(r'<tr><th scope="row">.*?</tr>', view.text, re.S) if shown in r)
    assert f'<th scope="row"><a href="{_launch_path(view)}/students/{person}">{shown}</a></th>' in row
    cells = re.findall(r'<td class="level-cell level-0"><a href="([^"]+)/skills/([^"/]+)" aria-label="([^"]+)">'
                       r"Not started</a></td>", row)
    assert sorted(skill for _, skill, _ in cells) == sorted(NAMES)  # one cell per skill, the level in words
    assert {student for student, _, _ in cells} == {f"{_launch_path(view)}/students/{person}"}
    assert [label for _, _, label in cells] == [
        f"Not started: {shown}&#39;s answers on {html.escape(NAMES[skill])}" for _, skill, _ in cells]
    assert f"<td>0 of {len(NAMES)}</td></tr>" in row


def _launch_path(page) -> str:
    return re.search(r"/c/[^/]+", page.url).group(0)


def test_student_who_keeps_getting_one_skill_wrong_is_stuck_in_needs_help_now(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student-2")  # Liam opens Pathways today: active, not stuck
    skill_id, feedback = answer_wrong_until_stuck(sandbox.launch("student"), tool)
    assert all("Not quite." in page.text for page in feedback)

    needs = _get(teacher, tool, "/class/needs-help")
    assert needs.status_code == 200
    assert "Priya Shah" in needs.text
    assert f"Stuck on {NAMES[skill_id]}" in needs.text
    assert ">stuck<" in needs.text
    assert "Liam" not in needs.text


def test_teacher_gets_groups_of_three_to_five_with_reasons_and_prints_an_edited_arrangement(sandbox, tool):
    for i in range(6):
        tool.platform.add_user(f"s{i}", roles=["Learner"], name=f"Extra Student {i}", context_id="math-7")
    teacher = _teacher(sandbox)
    synced = submit_form(teacher, "/roster/sync")
    assert "Roster updated" in synced.text
    view = _get(teacher, tool, "/class")
    ids = _person_ids(view)
    assert len(ids) == 11
    _override(view, ids["Priya Shah"], FIRST_UNIT.skills[0], "Proficient")

    groups = _get(teacher, tool, "/class/groups", skill=FIRST_UNIT.skills[0], kind="same-need")
    sizes = [int(n) for n in re.findall(r"\((\d+) students?\)", groups.text)]
    assert sum(sizes) == 11 and len(sizes) >= 2
    # Priya, Proficient, is kept out of the groups that are introduced to the skill: a group of her own.
    assert sizes.count(1) == 1 and all(3 <= size <= 5 for size in sizes if size != 1)
    reasons = re.findall(r'<p class="group-reason">([^<]+)</p>', groups.text)
    assert len(reasons) == len(sizes) and all(reasons)
    assert any("not started on" in r for r in reasons)
    assert any(r.startswith("This student is Proficient with") for r in reasons)

    mixed = _get(teacher, tool, "/class/groups", skill=FIRST_UNIT.skills[0], kind="mixed")
    assert all(3 <= int(n) <= 5 for n in re.findall(r"\((\d+) students\)", mixed.text))
    assert "A mix of levels" in mixed.text

    new_group = str(len(sizes) + 1)
    # (Not Priya: she is a group of her own already, so moving her would only renumber it.)
    printed = submit_form(groups, "/class/groups/print", **{f"group_{ids['Extra Student 0']}": new_group})
    assert printed.status_code == 200
    assert "Arranged by the teacher" in printed.text
    assert f"Group {new_group} " in printed.text
    css = teacher.http.get(tool.url("/static/css/pathways.css"), timeout=30).text
    assert "@media print" in css


def test_class_csv_has_a_header_and_a_row_per_student_and_neutralises_formulas(sandbox, tool):
    tool.platform.add_user("s-formula", roles=["Learner"], name="=HYPERLINK(\"http://evil\")", context_id="math-7")
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    sandbox.launch("s-formula")
    response = _get(teacher, tool, "/class/export.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][0] == "Student" and rows[0][1] == PACK.skills[0].name
    assert len(rows) == 3
    names = sorted(row[0] for row in rows[1:])
    assert names == ["'=HYPERLINK(\"http://evil\")", "Priya Shah"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert len(_audit(tool, "export_class_csv")) == 1


def test_teacher_opens_a_students_plan_and_family_report_and_each_view_is_audited(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    view = _get(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    _override(view, priya, FIRST_UNIT.skills[0], "Mastered")

    page = _get(teacher, tool, f"/students/{priya}")
    assert page.status_code == 200
    assert "Priya Shah" in page.text
    assert "Next steps, as Priya Shah sees them" in page.text
    assert "Set by a teacher." in page.text and "Set by your teacher" not in page.text  # about the student, not to them
    assert "Seen in class" in page.text  # the teacher's own note, in the history
    assert "Mastery history" in page.text and "Override" in page.text
    assert "0 questions answered" in page.text
    entries = _audit(tool, "view_student")
    assert [(e.subject_id, e.course_id is not None, e.actor_id is not None) for e in entries] == [(priya, True, True)]

    report = _get(teacher, tool, f"/students/{priya}/report")
    assert report.status_code == 200
    assert "Progress report for Priya Shah" in report.text
    assert "Here is how Priya Shah is doing" in report.text and "How you can help at home" in report.text
    assert NAMES[FIRST_UNIT.skills[0]] in report.text
    assert "Save as PDF" in report.text
    assert [e.subject_id for e in _audit(tool, "view_report")] == [priya]


def test_students_cannot_open_the_teachers_class_pages(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    priya = _person_ids(_get(teacher, tool, "/class"))["Priya Shah"]
    for path in ("/class/needs-help", "/class/groups", "/class/export.csv", f"/students/{priya}",
                 f"/students/{priya}/report"):
        assert _get(student, tool, path).status_code in (403, 404), path
    assert _audit(tool, "view_student") == [] and _audit(tool, "export_class_csv") == []


def test_teacher_of_another_course_cannot_open_a_student_of_this_course(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    priya = _person_ids(_get(teacher, tool, "/class"))["Priya Shah"]
    other = teacher_of_another_course(sandbox)
    assert _get(other, tool, f"/students/{priya}").status_code == 404
    assert _get(other, tool, f"/students/{priya}/report").status_code == 404
    assert _get(teacher, tool, "/students/999999").status_code == 404
    assert _audit(tool, "view_student") == []


def _flash(page) -> str:
    """The success message shown above the page (templates/_flashes.html)."""
    shown = re.search(r'<div class="flashes-shown"[^>]*>(.*?)</div>', page.text, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", shown)).strip()


def test_setting_a_level_says_whose_and_on_which_skill_in_the_teachers_language(sandbox, tool):
    """The override form starts again at the first student after each change: the message names the student."""
    teacher = _teacher(sandbox)
    sandbox.launch("student")  # Priya Shah
    sandbox.launch("student-2")  # Liam O'Connor
    page = _get(teacher, tool, "/class")
    done = _override(page, _person_ids(page)["Liam O'Connor"], "frac-equivalent", "Proficient")
    assert _flash(done) == "Level set to Proficient for Liam O'Connor on Equivalent fractions."

    spanish = launch_with_presentation(sandbox, "teacher", locale="es")
    page = _get(spanish, tool, "/class")
    done = submit_form(page, "/class/override", person_id=str(_person_ids(page)["Priya Shah"]),
                       skill_id="frac-equivalent", level="Mastered", note="Visto en clase")
    assert "Priya Shah" in _flash(done)
    # The skill as the Spanish page names it, not the pack's English name.
    assert "Fracciones equivalentes" in _flash(done) and "Equivalent fractions" not in _flash(done)
