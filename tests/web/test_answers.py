"""A teacher reads what a student actually answered on a skill, from a heatmap cell, and sets the level there."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch as _get
from tests.support import served_answer, served_item, submit_form
from tests.support import teacher_with_demo_pack as _teacher

PACK = load_pack(demo_pack_data())
NAMES = {s.id: s.name for s in PACK.skills}


def _practise(tool, student, *, wrong: int, right: int, hints: int = 0):
    """Answer the first skill's served questions as the student: some wrong, then some right; return the skill."""
    link = re.search(r'href="([^"]*/practice/([^"/?]+))"', student.text)
    skill_id = link.group(2)
    prompts = []
    for index in range(wrong + right):
        page = student.http.get(tool.url(html.unescape(link.group(1))), timeout=30)
        page.http = student.http
        served = int(re.search(r'name="served" value="(\d+)"', page.text).group(1))
        item = served_item(tool, served)
        answer = served_answer(tool, page, right=index >= wrong)
        # The teacher reads a chosen option's words, not its id.
        shown = next((c.text for c in item.choices if c.id == answer), answer) if item.type == "multiple_choice" \
            else answer
        prompts.append((item.prompt, shown))
        for _ in range(hints):  # "Show a hint": the hints used are those the page showed
            page = submit_form(page, f"/practice/{skill_id}", show_hint="1")
        done = submit_form(page, f"/practice/{skill_id}", answer=answer)
        assert done.status_code == 200
    return skill_id, prompts


def _cell_link(view, name: str, skill_id: str) -> str:
    row = next(r for r in re.findall(r"<tr><th scope=\"row\">.*?</tr>", view.text, re.S) if html.escape(name) in r)
    return html.unescape(re.search(rf'href="([^"]*/skills/{re.escape(skill_id)}[^"]*)"', row).group(1))


def test_teacher_clicks_a_heatmap_cell_and_reads_each_answer_in_order_with_the_level_changes_between(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, prompts = _practise(tool, student, wrong=1, right=3, hints=1)

    view = _get(teacher, tool, "/class")
    page = _get(teacher, tool, _cell_link(view, "Priya Shah", skill_id))
    assert page.status_code == 200
    assert f"Priya Shah on {html.escape(NAMES[skill_id])}" in page.text
    assert "4 answers, 3 right." in page.text
    entries = re.findall(r'<li class="(answer-entry [^"]+|level-change)"[^>]*>(.*?)</li>', page.text, re.S)
    answers = [(kind, body) for kind, body in entries if kind.startswith("answer-entry")]
    assert [kind for kind, _ in answers] == ["answer-entry answer-wrong"] + ["answer-entry answer-right"] * 3
    for (_, body), (prompt, answer) in zip(answers, prompts, strict=True):
        assert html.escape(prompt) in body
        assert f"<dt>Answer</dt><dd>{html.escape(answer)}</dd>" in body
        assert "<dt>Hints used</dt><dd>1</dd>" in body
        assert "<dd>Practice</dd>" in body
        assert re.search(r"<dt>Time taken</dt><dd>\d+ s</dd>", body)
    # The first answer started the skill: a level change follows it, with its reason.
    first_change = next(i for i, (kind, _) in enumerate(entries) if kind == "level-change")
    assert first_change >= 1 and entries[0][0].startswith("answer-entry")
    assert "Level changed:" in entries[first_change][1] and "Why:" in entries[first_change][1]


def test_teacher_sets_the_level_from_the_answer_page_and_lands_back_on_it(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, _ = _practise(tool, student, wrong=1, right=0)
    page = _get(teacher, tool, _cell_link(_get(teacher, tool, "/class"), "Priya Shah", skill_id))
    done = submit_form(page, "/class/override", level="Proficient", note="Explained it to me at the board")
    assert done.status_code == 200
    assert f"/skills/{skill_id}" in done.url
    assert "Level set to Proficient" in done.text
    assert "Level now: <span class=\"level level-3\">Proficient</span>" in done.text
    assert "set by a teacher" in done.text and "Explained it to me at the board" in done.text
    person_id = re.search(r"/students/(\d+)/", done.url).group(1)
    student_page = _get(teacher, tool, f"/students/{person_id}")
    assert f"/students/{person_id}/skills/{skill_id}" in student_page.text  # each skill there opens the answers


def test_a_content_developer_reads_answers_but_may_not_set_levels(sandbox, tool):
    tool.platform.add_user("dev", roles=["ContentDeveloper"], name="Dana Dev", context_id="math-7")
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, _ = _practise(tool, student, wrong=1, right=0)
    link = _cell_link(_get(teacher, tool, "/class"), "Priya Shah", skill_id).split("/c/", 1)[1].split("/", 1)[1]
    developer = sandbox.launch("dev")
    page = _get(developer, tool, "/" + link)
    assert page.status_code == 200 and "1 answer, 0 right." in page.text
    assert "/class/override" not in page.text  # no form the role cannot use
    class_view = _get(developer, tool, "/class")
    assert class_view.status_code == 200 and "/class/override" not in class_view.text
    person_id = re.search(r"students/(\d+)/", link).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = developer.http.post(tool.url(re.search(r"/c/[^/]+", developer.url).group(0) + "/class/override"),
                                  data={"csrf_token": token, "person_id": person_id, "skill_id": skill_id,
                                        "level": "Mastered", "note": "no"}, timeout=30)
    assert refused.status_code == 403 and "set mastery" in refused.text
    again = _get(teacher, tool, "/" + link)
    assert "Mastered" not in re.search(r"Level now:.*?</p>", again.text, re.S).group(0)


def test_answers_stay_inside_the_course_and_away_from_students(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, _ = _practise(tool, student, wrong=1, right=0)
    link = "/" + _cell_link(_get(teacher, tool, "/class"), "Priya Shah", skill_id).split("/c/", 1)[1].split("/", 1)[1]
    assert _get(student, tool, link).status_code == 403
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    other = _teacher(sandbox, as_="teacher-sci", context_id="science-8")
    assert _get(other, tool, link).status_code == 404
    assert _get(teacher, tool, link.replace(skill_id, "no-such-skill")).status_code == 404


def _header_link(view, skill_id: str) -> str:
    head = re.search(r"<thead>(.*?)</thead>", view.text, re.S).group(1)
    return html.unescape(re.search(rf'href="([^"]*/class/skills/{re.escape(skill_id)}/[^"]*)"', head).group(1))


def test_teacher_opens_a_skills_most_missed_questions_from_its_header_with_the_common_wrong_answers(sandbox, tool):
    teacher = _teacher(sandbox)
    tool.platform.add_user("s-third", roles=["Learner"], name="Noor Haddad", context_id="math-7")
    # Two students make the same first mistake; a third gets it right.
    skill_id, first = _practise(tool, sandbox.launch("student"), wrong=1, right=0)
    _practise(tool, sandbox.launch("student-2"), wrong=1, right=0)
    _practise(tool, sandbox.launch("s-third"), wrong=0, right=1)
    view = _get(teacher, tool, "/class")
    page = _get(teacher, tool, _header_link(view, skill_id))
    assert page.status_code == 200
    assert f"Most-missed questions: {html.escape(NAMES[skill_id])}" in page.text
    entries = re.findall(r"<li>\s*<h2 class=\"missed-prompt\">(.*?)</h2>(.*?)</ul>", page.text, re.S)
    assert len(entries) == 1  # only the question that was missed
    body = entries[0][1]
    assert "2 students got it wrong" in body and "2 of 3 answers wrong (67%)." in body
    wrong_answer = first[0][1]
    assert f"<q>{html.escape(wrong_answer)}</q> — 2 times" in body


def test_most_missed_questions_are_for_teachers_of_this_course_only(sandbox, tool):
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, _ = _practise(tool, student, wrong=1, right=0)
    assert _get(student, tool, f"/class/skills/{skill_id}/trouble-spots").status_code == 403
    assert _get(teacher, tool, "/class/skills/no-such-skill/trouble-spots").status_code == 404
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    other = _teacher(sandbox, as_="teacher-sci", context_id="science-8")
    page = _get(other, tool, f"/class/skills/{skill_id}/trouble-spots")
    assert page.status_code == 200 and "No wrong answers on this skill yet." in page.text


def _ordinals(ol: str) -> list[tuple[str, int]]:
    """Each item of an ordered list with the number a browser draws for it (HTML: a value sets it, else one more)."""
    numbers, number = [], 0
    for attributes in re.findall(r"<li\b([^>]*)>", ol):
        value = re.search(r'value="(\d+)"', attributes)
        number = int(value.group(1)) if value else number + 1
        numbers.append((re.search(r'class="([^"]+)"', attributes).group(1), number))
    return numbers


def test_answers_are_numbered_one_to_the_count_with_level_changes_between_them_unnumbered(sandbox, tool):
    # Before, a level change took a number of its own: "9 answers" above a list numbered 1, 3, 4 … 10.
    teacher = _teacher(sandbox)
    student = sandbox.launch("student")
    skill_id, _ = _practise(tool, student, wrong=4, right=5)
    page = _get(teacher, tool, _cell_link(_get(teacher, tool, "/class"), "Priya Shah", skill_id))
    assert "9 answers, 5 right." in page.text
    items = _ordinals(re.search(r'<ol class="answer-history">(.*?)</ol>', page.text, re.S).group(1))
    assert any(kind == "level-change" for kind, _ in items), "the level changed on the way"
    assert [number for kind, number in items if kind.startswith("answer-entry")] == list(range(1, 10))
