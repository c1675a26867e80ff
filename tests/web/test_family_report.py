"""Family reports (issue 13): written to the family in their language, the teacher's comment, print-all."""

from __future__ import annotations

import html
import re
from datetime import date

import sqlalchemy as sa
from babel.dates import format_date

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.localization import localize
from lti_tool.models import AuditEntry, CourseContent, ReportComment
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import submit_form, teacher_of_another_course
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
FIRST_SKILL = PACK.units[0].skills[0]
NAMES = {s.id: s.name for s in PACK.skills}
SPANISH_NAMES = {s.id: s.name for s in localize(PACK, "es").skills}
COMMENT = "Priya explains her thinking clearly.\nTen minutes of practice at home twice a week will help."


def _post(page, tool, path: str, **data):
    base = re.search(r"/c/[^/]+", page.url).group(0)
    response = page.http.post(tool.url(base + path), data=data, timeout=30)
    response.http = page.http
    return response


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def _person_ids(page) -> dict[str, int]:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    return {html.unescape(name): int(pid) for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select)}


def _article(page) -> str:
    return html.unescape(re.search(r"<article class=\"report\".*?</article>", page.text, re.S).group(0))


def _first_due(tool) -> date:
    """The first goal date of the pack as the course stored it: the demo pack counts its dates from the day of
    import, so a date computed when this module loads is a day off when midnight falls in between."""
    with tool.app.app_context():
        pack = db.session.scalars(sa.select(CourseContent.pack)).one()
    return date.fromisoformat(next(goal["due"] for goal in pack["goals"] if goal.get("due")))


def _comments(tool) -> list[str]:
    with tool.app.app_context():
        return list(db.session.scalars(sa.select(ReportComment.text)))


def test_teacher_writes_a_comment_and_the_family_reads_the_report_with_it_in_english_and_in_spanish(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    view = _get(teacher, tool, "/class")
    priya = _person_ids(view)["Priya Shah"]
    submit_form(view, "/class/override", person_id=str(priya), skill_id=FIRST_SKILL, level="Mastered",
                note="Seen in class")

    report = _get(teacher, tool, f"/students/{priya}/report")
    assert report.status_code == 200
    due = _first_due(tool)
    body = _article(report)
    assert 'lang="en"' in body and '<html lang="en">' in report.text
    assert "Here is how Priya Shah is doing" in body and "How you can help at home" in body
    assert "Can do this reliably, even weeks after learning it." in body  # what a level means for a parent
    # One truth per skill: the class view's level, written for the family, never the student's own reasons.
    mastered = body.split("Mastered (can do it reliably, even weeks later):")[1].split("</ul>")[0]
    assert NAMES[FIRST_SKILL] in mastered
    assert "1 of the" in body
    assert f"(by {format_date(due, 'long', locale='en')})" in re.sub(r"<[^>]+>", "", body)  # a goal's due date
    assert "You're" not in body and "your " not in body.lower()  # about the child, to the family

    saved = submit_form(report, "/report/comment", comment=COMMENT)
    assert saved.status_code == 200 and "Comment saved." in saved.text
    assert COMMENT in _article(saved)
    assert _comments(tool) == [COMMENT]

    spanish = _get(teacher, tool, f"/students/{priya}/report", lang="es")
    body = _article(spanish)
    assert body.startswith('<article class="report" lang="es"')
    assert '<html lang="en">' in spanish.text  # the teacher's page around the report stays in English
    assert "Así le va a Priya Shah" in body and "Cómo puede ayudar en casa" in body
    assert "Una nota del docente" in body and COMMENT in body
    assert "Dominado" in body and "How you can help" not in body
    # The course pack's own Spanish: skill names in the family's language too.
    assert SPANISH_NAMES[FIRST_SKILL] in body and NAMES[FIRST_SKILL] not in body
    assert f"para el {format_date(due, 'long', locale='es')}" in body
    assert "Your comment for the family" in spanish.text  # the form is the teacher's, in the teacher's language
    # Saving again from the Spanish report comes back to the Spanish report.
    again = submit_form(spanish, "/report/comment", comment=COMMENT + " Gracias.")
    assert 'lang="es"' in _article(again) and _comments(tool) == [COMMENT + " Gracias."]

    cleared = submit_form(again, "/report/comment", comment="   ")
    assert "Una nota del docente" not in _article(cleared) and _comments(tool) == []
    with tool.app.app_context():
        audited = db.session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == "comment_report"))
        assert list(audited) == [priya, priya, priya]


def test_the_report_starts_in_the_students_launch_language_and_print_all_in_each_familys(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student", locale="es-MX")  # Priya's LMS speaks Spanish
    sandbox.launch("student-2", locale="en-GB")
    names = _person_ids(_get(teacher, tool, "/class"))
    priya, liam = names["Priya Shah"], next(pid for name, pid in names.items() if name.startswith("Liam"))

    assert 'lang="es"' in _article(_get(teacher, tool, f"/students/{priya}/report"))
    assert 'lang="en"' in _article(_get(teacher, tool, f"/students/{liam}/report"))
    assert 'lang="en"' in _article(_get(teacher, tool, f"/students/{priya}/report", lang="en"))

    everyone = _get(teacher, tool, "/class/reports")
    found = re.findall(r'<article class="report" lang="(\w+)" aria-labelledby="report-(\d+)"', everyone.text)
    langs = {pid: lang for lang, pid in found}
    assert langs == {str(priya): "es", str(liam): "en"}
    all_spanish = _get(teacher, tool, "/class/reports", lang="es")
    assert set(re.findall(r'<article class="report" lang="(\w+)"', all_spanish.text)) == {"es"}
    assert '<option value="es" lang="es" selected>' in all_spanish.text


def test_print_all_has_every_enrolled_student_one_per_page_and_is_linked_from_the_class_view(sandbox, tool):
    teacher = _teacher(sandbox)
    teacher = submit_form(teacher, "roster/sync")
    view = _get(teacher, tool, "/class")
    students = _person_ids(view)
    assert len(students) == 5
    link = re.search(r'href="([^"]*/class/reports)"', view.text).group(1)
    assert link.endswith("/class/reports")

    priya = students["Priya Shah"]
    submit_form(_get(teacher, tool, f"/students/{priya}/report"), "/report/comment", comment=COMMENT)
    page = _get(teacher, tool, "/class/reports")
    assert page.status_code == 200
    assert page.text.count('<div class="report-page">') == 5
    text = html.unescape(page.text)
    for name, pid in students.items():
        assert f'id="report-{pid}">Progress report for {name}</h2>' in text
    assert COMMENT in text and text.count("A note from the teacher") == 1
    css = page.http.get(tool.url("/static/css/pathways.css"), timeout=30).text
    assert ".report-page + .report-page { break-before: page;" in css  # each student starts a new sheet
    with tool.app.app_context():
        seen = db.session.scalars(sa.select(AuditEntry.subject_id).where(AuditEntry.action == "view_report"))
        # Priya's report was read twice before (to write the comment, and after saving it), then everyone's once.
        assert sorted(seen) == sorted([priya, priya, *students.values()])


def test_who_may_write_a_comment_follows_the_role_table_and_every_post_needs_its_csrf_token(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    priya = _person_ids(_get(teacher, tool, "/class"))["Priya Shah"]

    ta = sandbox.launch("ta")
    ta_report = _get(ta, tool, f"/students/{priya}/report")
    saved = submit_form(ta_report, "/report/comment", comment="From the teaching assistant.")
    assert "Comment saved." in saved.text and _comments(tool) == ["From the teaching assistant."]

    tool.platform.add_user("dev", roles=["ContentDeveloper"], name="Dana Dev", context_id="math-7")
    dev = sandbox.launch("dev")
    dev_report = _get(dev, tool, f"/students/{priya}/report")
    assert dev_report.status_code == 200 and "does not allow you to write comments" in dev_report.text
    assert "<textarea" not in dev_report.text
    refused = _post(dev, tool, f"/students/{priya}/report/comment", csrf_token=_csrf(dev_report), comment="Mine")
    assert refused.status_code == 403

    mine = _post(student, tool, f"/students/{priya}/report/comment", csrf_token=_csrf(student), comment="Great")
    assert mine.status_code in (403, 404)
    assert _get(student, tool, "/class/reports").status_code in (403, 404)

    forged = _post(teacher, tool, f"/students/{priya}/report/comment", comment="No token")
    assert forged.status_code == 400
    too_long = submit_form(_get(teacher, tool, f"/students/{priya}/report"), "/report/comment", comment="x" * 2001)
    assert "2000 characters or fewer" in too_long.text
    assert _comments(tool) == ["From the teaching assistant."]


def test_another_courses_teacher_cannot_read_or_comment_on_this_courses_student(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    priya = _person_ids(_get(teacher, tool, "/class"))["Priya Shah"]
    other = teacher_of_another_course(sandbox)

    assert _get(other, tool, f"/students/{priya}/report").status_code == 404
    refused = _post(other, tool, f"/students/{priya}/report/comment", csrf_token=_csrf(other), comment="Hello")
    assert refused.status_code == 404 and _comments(tool) == []
    theirs = _get(other, tool, "/class/reports")
    assert theirs.status_code == 200 and "Priya Shah" not in theirs.text
    assert "There are no students in this course yet." in theirs.text


def test_the_comment_is_in_the_students_data_export(sandbox, tool):
    teacher = _teacher(sandbox)
    sandbox.launch("student")
    priya = _person_ids(_get(teacher, tool, "/class"))["Priya Shah"]
    submit_form(_get(teacher, tool, f"/students/{priya}/report"), "/report/comment", comment=COMMENT)
    exported = _get(teacher, tool, f"/privacy/students/{priya}.json").json()
    (course,) = exported["courses"]
    assert [c["text"] for c in course["family_report_comment"]] == [COMMENT]
    page = _get(teacher, tool, f"/privacy/students/{priya}.html")
    assert "The teacher's comment on the family report" in html.unescape(page.text) and COMMENT in html.unescape(page.text)


def test_a_student_whose_lms_shares_no_name_is_named_in_the_reports_own_language(sandbox, tool):
    teacher = _teacher(sandbox)
    tool.platform.add_user("s-anon", roles=["Learner"], context_id="math-7")  # the LMS sends no name claims
    sandbox.launch("s-anon", locale="es")
    sandbox.launch("student", locale="en")
    students = _person_ids(_get(teacher, tool, "/class"))
    anon = students["(name not shared)"]  # the teacher's class view, in the teacher's English

    spanish = _article(_get(teacher, tool, f"/students/{anon}/report"))
    assert 'lang="es"' in spanish
    assert "Informe de progreso de (nombre no compartido)" in spanish
    assert "name not shared" not in spanish
    english = _get(teacher, tool, f"/students/{anon}/report", lang="en")
    assert "Progress report for (name not shared)" in _article(english)
    assert "<title>Family report: (name not shared)" in html.unescape(english.text)

    # Print-all writes each family's report in its own language, the placeholder included.
    everyone = html.unescape(_get(teacher, tool, "/class/reports").text)
    articles = dict(re.findall(r'<article class="report" lang="\w+" aria-labelledby="report-(\d+)">(.*?)</article>',
                               everyone, re.S))
    assert "Informe de progreso de (nombre no compartido)" in articles[str(anon)]
    assert "name not shared" not in articles[str(anon)]
    assert "Progress report for Priya Shah" in articles[str(students["Priya Shah"])]
