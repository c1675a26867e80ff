"""The readable page of a data export: in the reader's language, with questions and answers as they were shown,
plain words for codes, the gradebook column's title, and a way back into Pathways; the JSON stays as it was."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.coursepack import MultipleChoiceItem, instantiate, load_pack
from lti_tool.learning.localization import localize
from lti_tool.models import Course, ItemResponse, Person, Placement, ScoreOutbox, ServedItem
from lti_tool.services.content import course_pack, demo_pack_data
from tests.support import launch_with_presentation, open_in_launch, served_answer, submit_form

PACK = load_pack(demo_pack_data())
ENGLISH = {s.id: s.name for s in PACK.skills}
SPANISH = {s.id: s.name for s in localize(PACK, "es").skills}


def _answer_one_item(tool, home) -> None:
    link = re.search(r'href="([^"]*/practice/([^"/]+))"', home.text)
    practice = home.http.get(tool.url(link.group(1)), timeout=30)
    practice.http = home.http
    feedback = submit_form(practice, f"/practice/{link.group(2)}", answer=served_answer(tool, practice))
    assert feedback.status_code == 200


def _answered(tool) -> tuple[str, str, str, str]:
    """Return (item id, skill id, the question as shown in Spanish, the answer as shown) of the one answer."""
    with tool.app.app_context():
        response = db.session.scalars(sa.select(ItemResponse)).one()
        served = db.session.scalars(sa.select(ServedItem).where(ServedItem.item_id == response.item_id)).first()
        item = instantiate(course_pack(response.course_id, "es").item(response.item_id), served.params or {})
        answer = response.answer
        if isinstance(item, MultipleChoiceItem):
            answer = next(c.text for c in item.choices if c.id == answer)
        return response.item_id, response.skill_ids[0], item.prompt, answer


def _grade(tool, skill_id: str) -> int:
    """Put a grade for the student's skill column in the outbox (as publishing would); return the student's id."""
    with tool.app.app_context():
        course_id = db.session.scalar(sa.select(Course.id).where(Course.context_id == "math-7"))
        person_id = db.session.scalar(sa.select(Person.id).where(Person.sub == "student-1"))
        placement = Placement(course_id=course_id, resource_id="export-test", title="Math practice", kind="plan",
                              skill_ids=[])
        db.session.add(placement)
        db.session.flush()
        db.session.add(ScoreOutbox(course_id=course_id, placement_id=placement.id, person_id=person_id,
                                   skill_id=skill_id, score_given=1, score_maximum=4,
                                   activity_progress="InProgress", grading_progress="FullyGraded",
                                   score_timestamp=db.session.scalar(sa.select(sa.func.now()))))
        db.session.commit()
        return person_id


def _text(page) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.text))


def test_a_spanish_students_data_page_reads_in_spanish_with_the_questions_and_a_way_back(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    home = launch_with_presentation(sandbox, locale="es")
    _answer_one_item(tool, home)
    item_id, skill_id, question, answer = _answered(tool)
    person_id = _grade(tool, skill_id)
    assert open_in_launch(teacher, tool, f"/students/{person_id}").status_code == 200  # audited: view_student

    home = launch_with_presentation(sandbox, locale="es", http=home.http)
    page = open_in_launch(home, tool, "/privacy/my-data.html")
    assert page.status_code == 200
    text = _text(page)
    # Skills in the reader's language (the gradebook column keeps the title the LMS shows), the question and the
    # answer as shown, not ids.
    column = f"Math practice – {ENGLISH[skill_id]}"
    assert column in text
    assert SPANISH[skill_id] in text and ENGLISH[skill_id] not in text.replace(column, "")
    assert question in text and answer in text and f"<td>{item_id}</td>" not in page.text
    assert "1 of 1 right" not in text  # the level's reason, written in Spanish
    # No codes: message types, roles, statuses, audit actions.
    for code in ("LtiResourceLinkRequest", "view_student", "Learner", "pending", "(practice, by Pathways)"):
        assert code not in text, code
    # A way back to the privacy page, at the top and the bottom.
    back = re.findall(r'<a href="([^"]*/privacy/)">', page.text)
    assert len(back) == 2 and open_in_launch(home, tool, html.unescape(back[0])).status_code == 200

    # The teacher's readable copy (in English here) says what each code means.
    teacher = sandbox.launch("teacher", http=teacher.http)
    copy = _text(open_in_launch(teacher, tool, f"/privacy/students/{person_id}.html"))
    assert "Opened the student's page" in copy and "Opened Pathways from the course" in copy
    assert f"in the gradebook column “Math practice – {ENGLISH[skill_id]}”" in copy
    assert "waiting to be sent" in copy and "Role: student" in copy

    # The JSON keeps the codes and ids, for machines.
    record = open_in_launch(home, tool, "/privacy/my-data.json").json()["courses"][0]
    assert record["responses"][0]["item_id"] == item_id and record["grades_for_lms"][0]["status"] == "pending"
    assert "LtiResourceLinkRequest" in {launch["message_type"] for launch in record["launches"]}


def test_the_data_page_shows_the_questions_given_the_help_asked_for_and_the_skills_the_teacher_gave(sandbox, tool):
    # The JSON export had these and the readable page left them out: a student or parent reading it did not see
    # that Pathways keeps them.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    home = sandbox.launch("student")
    assignments = open_in_launch(teacher, tool, "/class/assignments")
    priya = re.search(r'<option value="(\d+)">Priya Shah<', assignments.text).group(1)
    assert "Assigned to 1 student." in submit_form(assignments, "/class/assignments", target="student",
                                                   person_id=priya, skill_id="unit-rate", due_on="2031-05-20").text
    _answer_one_item(tool, home)
    item_id, skill_id, _, _ = _answered(tool)
    practice = open_in_launch(home, tool, f"/practice/{skill_id}")
    assert "asked for help" in submit_form(practice, f"/practice/{skill_id}/ask").text
    with tool.app.app_context():
        served = db.session.scalars(sa.select(ServedItem).where(ServedItem.answered_at.is_not(None))).one()
        question = instantiate(course_pack(served.course_id).item(served.item_id), served.params or {}).prompt

    text = _text(open_in_launch(home, tool, "/privacy/my-data.html"))
    assert "Questions Pathways gave you" in text
    assert re.search(re.escape(question) + r"\s+\(practice\)\s+Right", text)
    assert "Times you asked for help" in text
    assert re.search(re.escape(ENGLISH[skill_id]) + r": asked [0-9-]+ [0-9:]+,\s*not marked as helped yet", text)
    assert "Skills assigned by your teacher" in text
    assert re.search(r"Unit rates,\s*due 2031-05-20\s+\(assigned [0-9-]+\)", text)
    assert item_id not in text and "unit-rate" not in text

    # The teacher's copy of the same record names these as hers, not the reader's.
    copy = _text(open_in_launch(teacher, tool, f"/privacy/students/{priya}.html"))
    for theirs in ("Questions Pathways gave them", "Times they asked for help", "Skills assigned by a teacher"):
        assert theirs in copy, theirs
    assert "your teacher" not in copy and "gave you" not in copy and "Times you" not in copy
