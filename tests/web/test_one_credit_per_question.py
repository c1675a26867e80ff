"""One question open on several pages (practice, the review, a unit check) earns mastery credit once, and a page
serves another question of the skill instead of one open on another page when the skill has one.

Issue 12, "evidence that can't be gamed": a fixed question open in practice and in the review (or the review and a
unit check) could be answered on the first page, its worked solution read, and answered again on the other.
"""

from __future__ import annotations

import html
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fsrs import Card

from lti_tool.extensions import db
from lti_tool.learning.mastery import ALL_SKILLS, Level, SkillState
from lti_tool.models import ReviewSchedule, ServedItem, SkillMastery
from lti_tool.models.base import utcnow
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch, served_answer, served_item, start_in_launch, submit_form, upload_file
from tests.web.test_practice_evidence import ONLY, SERVED, _answers, _one_question_course

SKILL = "frac-equivalent"
#: Each page that serves a question on SKILL: its address, the form it posts to, and its answers' source.
PAGES = {"practice": (f"/practice/{SKILL}", f"/practice/{SKILL}", "practice"),
         "review": ("/review", "/review", "review"),
         "unit check": ("/unit-check/unit-fractions", "/unit-check/unit-fractions", "unit_check")}
REPEAT = "You answered this question in the last 12 hours: it is good practice"


def _due_for_review(tool, page) -> None:
    """Put SKILL at Mastered on the student's review schedule, due a day ago (as if mastered and left alone).

    Only a skill at Proficient or above is reviewed (`learning.review.REVIEWED_LEVELS`), so the level comes too.
    """
    with tool.app.app_context():
        row = db.session.get(ServedItem, int(SERVED.search(page.text).group(1)))
        db.session.add(ReviewSchedule(course_id=row.course_id, person_id=row.person_id, skill_id=SKILL,
                                      card=Card().to_dict(), due_at=utcnow() - timedelta(days=1)))
        db.session.add(SkillMastery(course_id=row.course_id, person_id=row.person_id, skill_id=SKILL,
                                    state=SkillState(SKILL).to_dict(), level=Level.MASTERED.value))
        db.session.commit()


def _item_of(tool, page) -> str:
    return served_item(tool, SERVED.search(page.text).group(1)).id


@pytest.mark.parametrize(("first", "second"), [("practice", "review"), ("review", "practice"),
                                               ("review", "unit check"), ("unit check", "review")])
def test_the_one_question_open_in_practice_the_review_and_a_unit_check_earns_credit_once(
        sandbox, tool, first, second):
    home = _one_question_course(sandbox, tool)
    practice = open_in_launch(home, tool, PAGES["practice"][0])
    _due_for_review(tool, practice)
    pages = {"practice": practice}
    for name in ("review", "unit check"):
        pages[name] = start_in_launch(home, tool, PAGES[name][0])
    assert {_item_of(tool, page) for page in pages.values()} == {ONLY}  # the skill has no other question
    assert "does not change your level" not in "".join(p.text for p in pages.values())

    credited = submit_form(pages[first], PAGES[first][1], answer=served_answer(tool, pages[first]))
    assert "does not change your level" not in credited.text
    other = pages[second]
    reloaded = other.http.get(other.url, timeout=30)
    reloaded.http = other.http
    if second == "review":
        # The first answer on the due skill was its review, whichever page took it: the review page offers nothing
        # more, and what is left is the old tab's form.
        assert SERVED.search(reloaded.text) is None
        reloaded = other
    else:
        assert SERVED.search(reloaded.text).group(1) == SERVED.search(other.text).group(1)
        assert REPEAT in html.unescape(reloaded.text)
    repeat = submit_form(reloaded, PAGES[second][1], answer=served_answer(tool, reloaded))
    assert REPEAT in html.unescape(repeat.text)
    assert "It stuck" not in repeat.text  # the review's line for an answer that counted
    # A practice answer on a due skill is kept as its review; a unit check's stays marked as the unit check's.
    kept = {"practice": "review"}.get(first, PAGES[first][2])
    assert [(s, c) for s, c, _ in _answers(tool)] == [(kept, True), (PAGES[second][2], False)]
    with tool.app.app_context():
        overall = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one()
        assert SkillState.from_dict(overall.state).attempts == 1


def _demo_course(sandbox, tool, keep: list[str] | None = None):
    """The demo pack (with only the `keep` questions on SKILL); return the student's plan page."""
    data = demo_pack_data()
    if keep is not None:
        activity = next(a for a in data["activities"] if a["id"] == f"practice-{SKILL}")
        activity["items"] = [i for i in activity["items"] if i["id"] in keep]
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text
    return sandbox.launch("student")


def test_the_review_serves_another_question_of_the_skill_than_the_one_open_in_practice(sandbox, tool):
    home = _demo_course(sandbox, tool)
    practice = open_in_launch(home, tool, PAGES["practice"][0])
    _due_for_review(tool, practice)
    review = start_in_launch(home, tool, PAGES["review"][0])
    assert _item_of(tool, review) != _item_of(tool, practice)
    # Both are served questions of their own: each answer earns credit (the practice answer on the due skill is
    # kept as its review).
    submit_form(practice, PAGES["practice"][1], answer=served_answer(tool, practice))
    submit_form(review, PAGES["review"][1], answer=served_answer(tool, review))
    assert [(s, c) for s, c, _ in _answers(tool)] == [("review", True), ("review", True)]


def test_a_unit_check_serves_other_questions_of_the_skill_than_the_one_open_in_practice(sandbox, tool):
    home = _demo_course(sandbox, tool)
    first = open_in_launch(home, tool, PAGES["practice"][0])
    submit_form(first, PAGES["practice"][1], answer=served_answer(tool, first))
    practice = open_in_launch(home, tool, PAGES["practice"][0])  # one right answer: a medium question next
    opened = _item_of(tool, practice)
    start_in_launch(home, tool, PAGES["unit check"][0])
    with tool.app.app_context():
        checked = set(db.session.scalars(sa.select(ServedItem.item_id).where(
            ServedItem.source == "unit_check", ServedItem.skill_id == SKILL)))
    assert len(checked) == 2 and opened not in checked


def test_practice_whose_pool_is_used_up_serves_again_a_question_not_open_in_a_unit_check(sandbox, tool):
    # Three questions on the skill: the unit check takes two, practice the third; once that one is answered, the
    # pool is used up, and practice serves its own answered question again (practice without credit) rather than
    # one the unit check has open.
    home = _demo_course(sandbox, tool, keep=["fe-1", "fe-3", "fe-4"])
    start_in_launch(home, tool, PAGES["unit check"][0])
    with tool.app.app_context():
        checked = set(db.session.scalars(sa.select(ServedItem.item_id).where(ServedItem.source == "unit_check",
                                                                             ServedItem.skill_id == SKILL)))
    practice = open_in_launch(home, tool, PAGES["practice"][0])
    own = _item_of(tool, practice)
    assert own not in checked
    submit_form(practice, PAGES["practice"][1], answer=served_answer(tool, practice))
    again = open_in_launch(home, tool, PAGES["practice"][0])
    assert _item_of(tool, again) == own
    assert "does not change your level" in again.text


def test_a_question_open_in_the_placement_check_and_in_practice_earns_credit_once(sandbox, tool):
    home = _demo_course(sandbox, tool)
    check = open_in_launch(home, tool, "/diagnostic")
    with tool.app.app_context():
        asked = db.session.get(ServedItem, int(SERVED.search(check.text).group(1)))
        # The same question open on its skill's practice page too (as when practice was opened first).
        db.session.add(ServedItem(course_id=asked.course_id, person_id=asked.person_id, skill_id=asked.skill_id,
                                  item_id=asked.item_id, params=asked.params, variant=asked.variant,
                                  source="practice", credit=True, served_at=asked.served_at))
        db.session.commit()
        skill_id = asked.skill_id
    practice = open_in_launch(home, tool, f"/practice/{skill_id}")
    assert _item_of(tool, practice) == _item_of(tool, check)
    submit_form(check, "/diagnostic", answer=served_answer(tool, check))
    repeat = submit_form(practice, f"/practice/{skill_id}", answer=served_answer(tool, practice))
    assert REPEAT in html.unescape(repeat.text)
    assert [(s, c) for s, c, _ in _answers(tool)] == [("diagnostic", True), ("practice", False)]


def test_a_review_question_the_student_walked_away_from_no_longer_keeps_its_item_out_of_practice(sandbox, tool):
    # Two questions on the skill: practice has one open, so the review serves the other; the student leaves the
    # review unanswered. Half a day later that question is no longer "open on another page" for practice: kept out
    # for ever, the skill could not be mastered on a pool as small as the distinct items Mastered asks for.
    home = _demo_course(sandbox, tool, keep=["fe-1", "fe-3"])
    practice = open_in_launch(home, tool, PAGES["practice"][0])
    _due_for_review(tool, practice)
    review = start_in_launch(home, tool, PAGES["review"][0])
    left = _item_of(tool, review)
    assert left != _item_of(tool, practice)
    with tool.app.app_context():
        row = db.session.get(ServedItem, int(SERVED.search(review.text).group(1)))
        row.served_at -= timedelta(hours=13)
        db.session.commit()
    submit_form(practice, PAGES["practice"][1], answer=served_answer(tool, practice))
    again = open_in_launch(home, tool, PAGES["practice"][0])
    assert _item_of(tool, again) == left
    assert "does not change your level" not in again.text  # a question not answered yet earns credit


def test_practice_never_serves_the_question_open_in_the_placement_check(sandbox, tool):
    # Every skill has one question: the skill the placement check asks first has its only question open there, so
    # its pool is used up for practice, and practice says so instead of showing the check's question too.
    data = demo_pack_data()
    for activity in data["activities"]:
        activity["items"] = [i for i in activity["items"] if not i.get("parameters")][:1]
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text
    home = sandbox.launch("student")
    check = open_in_launch(home, tool, "/diagnostic")
    asked = served_item(tool, SERVED.search(check.text).group(1))
    before = _served_count(tool)
    practice = open_in_launch(home, tool, f"/practice/{asked.skills[0]}")
    assert practice.status_code == 200 and SERVED.search(practice.text) is None
    assert "open in your placement check" in html.unescape(practice.text)
    assert _served_count(tool) == before
    # Answered in the check, the question is practice again (a repeat the same day, without credit).
    following = submit_form(check, "/diagnostic", answer=served_answer(tool, check))
    practice = open_in_launch(home, tool, f"/practice/{asked.skills[0]}")
    assert _item_of(tool, practice) == asked.id and "does not change your level" in practice.text
    # The check's next question, left open when the student finishes the check early, is closed with it: practice
    # serves it then, with credit (it was never answered).
    left = served_item(tool, SERVED.search(following.text).group(1))
    assert left.skills[0] != asked.skills[0]
    submit_form(following, "/diagnostic/finish")
    with tool.app.app_context():
        closed = db.session.get(ServedItem, int(SERVED.search(following.text).group(1)))
        assert closed.answered_at is not None and closed.correct is None  # closed without an answer
    practice = open_in_launch(home, tool, f"/practice/{left.skills[0]}")
    assert _item_of(tool, practice) == left.id and "does not change your level" not in practice.text


def _served_count(tool) -> int:
    with tool.app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(ServedItem))
