"""The teacher's class activity table and skill map, and the student's own map on their plan (issue 13)."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import sqlalchemy as sa

from tests.support import served_answer, submit_form

LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
#: The demo's first next step for a new student, which _practise answers.
PRACTISED = "frac-equivalent"


def _get(page, tool, path: str):
    response = page.http.get(tool.url(re.search(r"/c/[^/?]+", page.url).group(0) + path), timeout=30)
    response.http = page.http
    return response


def _practise(sandbox, tool, who: str, answers: int):
    """Launch as a student and answer the first next step's questions over HTTP."""
    plan = sandbox.launch(who)
    path = re.search(r'href="[^"]*/c/[^/]+(/practice/[^"?]+)"', plan.text).group(1)
    assert path == f"/practice/{PRACTISED}"
    for _ in range(answers):
        question = _get(plan, tool, path)
        submit_form(question, path, answer=served_answer(tool, question))
    return plan


def _rows(page) -> list[list[str]]:
    """Return the activity table's body as text cells, one list per student."""
    body = re.search(r"<tbody>(.*?)</tbody>", page.text, re.S).group(1)
    return [[" ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
             for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _sort_link(page, label: str) -> str:
    return html.unescape(re.search(r'<a class="sort-link" href="([^"]+)">' + re.escape(label), page.text).group(1))


def _class(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    _practise(sandbox, tool, "student-1", 3)
    _practise(sandbox, tool, "student-2", 1)
    sandbox.launch("student-3")  # opened Pathways, answered nothing
    return teacher


def test_teacher_sees_each_students_activity_and_sorts_by_any_column_without_script(sandbox, tool):
    teacher = _class(sandbox, tool)
    page = _get(teacher, tool, "/class/activity")
    assert page.status_code == 200
    rows = {row[0]: row for row in _rows(page)}
    assert [row[0] for row in _rows(page)] == sorted(rows, key=str.casefold)  # by name at first
    priya = next(name for name, row in rows.items() if row[2] == "3")
    assert rows[priya][1].startswith(("0 minutes ago", "1 minute ago", "in 0 minutes"))
    assert rows[priya][2:4] == ["3", "3"] and rows[priya][5] == "1"
    answered_one = [name for name, row in rows.items() if row[2] == "1"]
    assert len(answered_one) == 1 and rows[answered_one[0]][3] == "1"
    silent = [row for row in rows.values() if row[2] == "0"]
    assert silent and all(row[4] == "0 min" for row in silent)
    assert "counting at most 5 minutes per question" in page.text
    assert 'aria-sort="ascending"' in page.text

    # Sort by questions this week: the header is a plain link, most first; choosing it again reverses.
    by_week = page.http.get(tool.url(_sort_link(page, "Questions this week")), timeout=30)
    by_week.http = page.http
    assert [row[2] for row in _rows(by_week)][:2] == ["3", "1"]
    assert re.search(r'<th scope="col" aria-sort="descending">\s*<a class="sort-link"[^>]*>Questions this week',
                     by_week.text)
    reversed_ = page.http.get(tool.url(_sort_link(by_week, "Questions this week")), timeout=30)
    assert [row[2] for row in _rows(reversed_)][-2:] == ["1", "3"]
    assert 'aria-sort="ascending"' in reversed_.text


def test_students_never_seen_read_never_and_stay_last_in_either_order_of_last_active(sandbox, tool):
    teacher = submit_form(_class(sandbox, tool), "roster/sync")  # brings in the two who never opened Pathways
    for direction in ("desc", "asc"):
        rows = _rows(_get(teacher, tool, f"/class/activity?sort=last_active&dir={direction}"))
        assert len(rows) == 5
        assert [row[1] for row in rows[-2:]] == ["Never", "Never"], (direction, rows)
        assert "Never" not in [row[1] for row in rows[:3]]


def test_time_on_task_counts_each_question_at_most_five_minutes(sandbox, tool):
    teacher = _class(sandbox, tool)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ServedItem

        rows = db.session.scalars(sa.select(ServedItem).where(ServedItem.answered_at.is_not(None))
                                  .order_by(ServedItem.id)).all()
        assert len(rows) == 4
        # One question left open for two hours before the answer, one answered after 90 seconds, and one
        # answered eight days ago: 5 min + 1.5 min + the last one's real (seconds-long) time this week.
        rows[0].served_at = rows[0].answered_at - timedelta(hours=2)
        rows[1].served_at = rows[1].answered_at - timedelta(seconds=90)
        rows[2].answered_at -= timedelta(days=8)
        rows[2].served_at = rows[2].answered_at - timedelta(seconds=60)
        person = rows[0].person_id
        db.session.commit()
    page = _get(teacher, tool, "/class/activity?sort=time&dir=desc")
    top = _rows(page)[0]
    assert top[4] == "6 min", top  # 5 + 1.5 + a few seconds, shown in whole minutes
    assert f"/students/{person}" in re.search(r"<tbody>\s*<tr>(.*?)</tr>", page.text, re.S).group(1)


def test_class_map_shows_readiness_per_skill_with_prerequisites_first(sandbox, tool):
    teacher = _class(sandbox, tool)
    page = _get(teacher, tool, "/class/map")
    assert page.status_code == 200
    svg = re.search(r'<svg class="skill-map".*?</svg>', page.text, re.S).group(0)
    assert 'role="group" aria-labelledby="class-map-title"' in svg
    boxes = re.findall(r'<a href="[^"]*/class/skills/([^/"]+)/trouble-spots[^"]*" class="map-link"[^>]*>\s*'
                       r'<rect x="(\d+)" y="(\d+)"[^>]*>(.*?)</a>', svg, re.S)
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import CourseContent
        from lti_tool.services.content import course_pack

        pack = course_pack(db.session.scalar(sa.select(CourseContent.course_id)))
    assert {skill_id for skill_id, *_ in boxes} == {s.id for s in pack.skills}
    x = {skill_id: int(left) for skill_id, left, _, _ in boxes}
    for skill in pack.skills:
        assert all(x[p] < x[skill.id] for p in skill.prerequisites), skill.id
    # The link's text is what a screen reader says for it: the skill's name, then the counts.
    labels = {skill_id: " ".join(html.unescape(re.sub(r"<[^>]+>", " ", inner)).split())
              for skill_id, _, _, inner in boxes}
    # Three right answers made one student Proficient on the skill they practised: the other two are ready for it
    # (it needs nothing), and that one student is ready for the skills it unlocks, and for nothing else.
    practised = pack.skill_graph[PRACTISED]
    assert not practised.prerequisites
    assert labels[PRACTISED] == f"{practised.name} 1 of 3 proficient · 2 ready"
    unlocked = [s for s in pack.skills if s.prerequisites == (PRACTISED,)]
    assert unlocked
    for skill in unlocked:
        assert labels[skill.id].endswith(" 0 of 3 proficient · 1 ready"), skill.id
    blocked = [s for s in pack.skills if s.prerequisites and PRACTISED not in s.prerequisites]
    assert blocked
    for skill in blocked:
        assert labels[skill.id].endswith(" 0 of 3 proficient · 0 ready"), skill.id
    assert "Readiness per skill" in page.text


def test_student_sees_their_own_levels_on_the_map_in_words_and_a_legend(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    plan = _practise(sandbox, tool, "student-1", 3)
    plan = sandbox.launch("student-1")
    svg = re.search(r'<svg class="skill-map".*?</svg>', plan.text, re.S).group(0)
    assert 'role="img" aria-labelledby="my-map-title" aria-describedby="map-help"' in svg
    assert '<title id="my-map-title">' in svg
    words = re.findall(r'<g class="map-level map-level-(\d)">.*?class="map-word">([^<]+)</text>', svg, re.S)
    table = dict(re.findall(r'<tr[^>]*><th scope="row">([^<]+)</th><td><span class="level level-\d">([^<]+)</span>',
                            plan.text))
    assert len(words) == len(table) and {word for _, word in words} <= set(table.values())
    assert any(rank != "0" for rank, _ in words)  # three right answers moved a level
    assert 'class="map-legend"' in plan.text and 'href="#skills-heading"' in plan.text

    pending = sandbox.begin("student-1")
    spanish = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe", "locale": "es-MX"}}))
    assert '<title id="my-map-title">Tu mapa de habilidades: tu nivel en cada habilidad' in spanish.text
    assert 'class="map-word">Sin empezar</text>' in spanish.text


def test_students_cannot_open_the_teacher_pages_and_other_courses_stay_out(sandbox, tool):
    teacher = _class(sandbox, tool)
    student = sandbox.launch("student-1")
    assert _get(student, tool, "/class/activity").status_code == 403
    assert _get(student, tool, "/class/map").status_code == 403

    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_user("student-9", roles=["Learner"], name="Only In Science", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    sandbox.launch("student-9", context_id="science-8")
    science = submit_form(sandbox.launch("teacher", context_id="science-8"), "/content/demo")
    activity = _get(science, tool, "/class/activity")
    names = [row[0] for row in _rows(activity)]
    assert names == ["Only In Science"]
    assert "0 of 1 proficient · 1 ready" in html.unescape(_get(science, tool, "/class/map").text)
    # The math class's launch, opened in the science teacher's browser: another launch, not theirs.
    math_launch = re.search(r"/c/[^/?]+", teacher.url).group(0)
    stranger = science.http.get(tool.url(math_launch + "/class/activity"), timeout=30)
    assert stranger.status_code == 404
    assert "Only In Science" not in _get(teacher, tool, "/class/activity").text


def test_the_name_column_says_it_is_sorted_alphabetically_not_lowest_first(sandbox, tool):
    page = _get(_class(sandbox, tool), tool, "/class/activity")
    header = re.search(r'<th scope="col" aria-sort="ascending">(.*?)</th>', page.text, re.S).group(1)
    assert "(sorted, A to Z)" in header and "lowest first" not in header
    reversed_ = page.http.get(tool.url(html.unescape(re.search(r'href="([^"]*sort=name[^"]*)"', page.text).group(1))),
                              timeout=30)
    header = re.search(r'<th scope="col" aria-sort="descending">(.*?)</th>', reversed_.text, re.S).group(1)
    assert "(sorted, Z to A)" in header and "highest first" not in header
