"""Evidence that cannot be gamed: only questions the server served count, once, and repeats earn no credit."""

from __future__ import annotations

import html
import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.mastery import ALL_SKILLS, SkillState
from lti_tool.models import ItemResponse, ScoreOutbox, ServedItem, SkillMastery
from lti_tool.services.content import demo_pack_data
from tests.support import open_in_launch, served_answer, served_item, start_in_launch, submit_form, upload_file


def _student_on_practice(sandbox, tool, skill_id="frac-equivalent"):
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    student = sandbox.launch("student")
    launch_path = re.search(r"/c/[^/]+/", student.url).group(0)
    page = student.http.get(tool.url(f"{launch_path}practice/{skill_id}"))
    page.http = student.http
    return page, launch_path


def _practice(page, tool, launch_path, skill_id):
    fresh = page.http.get(tool.url(f"{launch_path}practice/{skill_id}"))
    fresh.http = page.http
    return fresh


def _count(tool, model, *where):
    with tool.app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def test_reposting_one_known_right_answer_eight_times_counts_once_and_reaches_no_grade(sandbox, tool):
    page, _ = _student_on_practice(sandbox, tool)
    answer = served_answer(tool, page)
    submit_form(page, "/practice/frac-equivalent", answer=answer)
    grade_posts = _count(tool, ScoreOutbox)
    for _ in range(7):
        feedback = submit_form(page, "/practice/frac-equivalent", answer=answer)
        assert feedback.status_code == 200
    assert "already answered this question" in feedback.text
    assert "Mastered" not in feedback.text
    assert _count(tool, ItemResponse) == 1
    assert _count(tool, ScoreOutbox) == grade_posts


def test_a_question_the_server_did_not_serve_to_this_student_is_refused(sandbox, tool):
    page, _ = _student_on_practice(sandbox, tool)
    answer = served_answer(tool, page)
    served = re.search(r'name="served" value="(\d+)"', page.text).group(1)
    forged = submit_form(page, "/practice/frac-equivalent", answer=answer, served=str(int(served) + 1000))
    assert "not given to you" in forged.text
    no_id = submit_form(page, "/practice/frac-equivalent", answer=answer, served="")
    assert "not given to you" in no_id.text
    assert _count(tool, ItemResponse) == 0


def test_a_question_served_to_another_student_of_the_course_is_refused_and_left_open(sandbox, tool):
    # The answer's question is read with the launch, joined on the launch's person and course: another
    # learner's open question in the same course must not be answerable (nor closed) from this launch.
    page, launch_path = _student_on_practice(sandbox, tool)
    other = sandbox.launch("student-2")
    theirs = other.http.get(tool.url(re.search(r"/c/[^/]+/", other.url).group(0) + "practice/frac-equivalent"))
    their_id = re.search(r'name="served" value="(\d+)"', theirs.text).group(1)
    forged = submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, theirs), served=their_id)
    assert "not given to you" in forged.text
    assert _count(tool, ItemResponse) == 0
    assert _count(tool, ServedItem, ServedItem.id == int(their_id), ServedItem.answered_at.is_(None)) == 1


def test_a_placement_check_question_posted_to_the_practice_page_is_refused_and_stays_the_checks_question(
        sandbox, tool):
    # The placement check judges nothing aloud. Its question's served id put in the practice form was judged there,
    # its worked solution shown, and the check then served the same question again: answered right, with the
    # solution read, it placed the student as knowing the skill.
    page, launch_path = _student_on_practice(sandbox, tool)
    check = page.http.get(tool.url(f"{launch_path}diagnostic"))
    checked = re.search(r'name="served" value="(\d+)"', check.text).group(1)
    forged = submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, check, right=False),
                         served=checked)
    assert "not given to you" in forged.text
    assert "Not quite" not in forged.text
    assert _count(tool, ItemResponse) == 0
    again = page.http.get(tool.url(f"{launch_path}diagnostic"))
    assert re.search(r'name="served" value="(\d+)"', again.text).group(1) == checked


def test_questions_are_not_repeated_until_the_skills_pool_is_used_up_and_easier_ones_come_first(sandbox, tool):
    page, launch_path = _student_on_practice(sandbox, tool)
    with tool.app.app_context():
        from lti_tool.learning.coursepack import distinct_items
        from lti_tool.services.content import course_pack
        from lti_tool.services.serving import items_for_skill, tier

        pack = course_pack(db.session.scalars(sa.select(ServedItem.course_id)).first())
        pool = items_for_skill(pack, "frac-equivalent")
        first = db.session.scalars(sa.select(ServedItem)).one()
        assert tier(pack.item(first.item_id)) == min(tier(i) for i in pool)  # easier first
        size = sum(distinct_items(i) for i in pool)
    for _ in range(min(size, 12)):
        submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page, right=False))
        page = _practice(page, tool, launch_path, "frac-equivalent")
    with tool.app.app_context():
        variants = [row.variant for row in db.session.scalars(sa.select(ServedItem).order_by(ServedItem.id))]
    answered = variants[: min(size, 12)]
    assert len(answered) == len(set(answered)), "a question came back before the pool was used up"


def test_reloading_the_practice_page_keeps_the_same_question(sandbox, tool):
    page, launch_path = _student_on_practice(sandbox, tool)
    again = _practice(page, tool, launch_path, "frac-equivalent")
    pattern = r'name="served" value="(\d+)"'
    assert re.search(pattern, again.text).group(1) == re.search(pattern, page.text).group(1)


def test_a_repeat_in_the_same_session_is_practice_without_credit(sandbox, tool):
    page, launch_path = _student_on_practice(sandbox, tool)
    submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page))
    with tool.app.app_context():
        first = db.session.scalars(sa.select(ServedItem)).one()
        # The same variant served again the same day (as when the pool is used up) is practice only.
        db.session.add(ServedItem(course_id=first.course_id, person_id=first.person_id, skill_id=first.skill_id,
                                  item_id=first.item_id, params=first.params, variant=first.variant,
                                  source="practice", credit=False, served_at=first.served_at))
        db.session.commit()
        before = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one().state
    page = _practice(page, tool, launch_path, "frac-equivalent")
    assert "does not change your level" in page.text
    feedback = submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page))
    assert "does not change your level" in feedback.text
    with tool.app.app_context():
        after = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one().state
        responses = list(db.session.scalars(sa.select(ItemResponse).order_by(ItemResponse.id)))
    assert after == before
    assert [r.credited for r in responses] == [True, False]


def test_ten_parallel_posts_of_one_answer_record_it_once_without_errors(sandbox, tool):
    page, _ = _student_on_practice(sandbox, tool)
    answer = served_answer(tool, page)
    with ThreadPoolExecutor(10) as pool:
        pages = list(pool.map(lambda _: submit_form(page, "/practice/frac-equivalent", answer=answer), range(10)))
    assert [p.status_code for p in pages] == [200] * 10
    assert _count(tool, ItemResponse) == 1
    with tool.app.app_context():
        overall = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one()
        assert SkillState.from_dict(overall.state).attempts == 1


def test_ten_parallel_answers_to_different_questions_all_reach_the_mastery_state(sandbox, tool):
    page, launch_path = _student_on_practice(sandbox, tool)
    skills = ["frac-equivalent", "frac-add-sub", "frac-multiply", "frac-divide", "ratio-concepts", "unit-rate",
              "percent", "complex-unit-rate", "proportional-test", "constant-of-proportionality"]
    pages = [_practice(page, tool, launch_path, s) for s in skills]
    posts = [(p, s, served_answer(tool, p)) for p, s in zip(pages, skills, strict=True)]
    with ThreadPoolExecutor(10) as pool:
        done = list(pool.map(lambda a: submit_form(a[0], f"/practice/{a[1]}", answer=a[2]), posts))
    assert [p.status_code for p in done] == [200] * 10
    assert all("That&#39;s right!" in p.text for p in done)
    assert _count(tool, ItemResponse) == 10
    with tool.app.app_context():
        rows = {r.skill_id: r for r in db.session.scalars(sa.select(SkillMastery))}
        assert SkillState.from_dict(rows[ALL_SKILLS].state).attempts == 10
        assert all(SkillState.from_dict(rows[s].state).attempts == 1 for s in skills)


# --- Hints are counted by the server (issue 12: evidence that can't be gamed) ---------------------------------------

#: The only practice question left on Equivalent fractions in `_one_question_course`: fixed (one variant), 2 hints.
ONLY = "fe-3"
SERVED = re.compile(r'name="served" value="(\d+)"')


def _one_question_course(sandbox, tool):
    """The demo pack with one practice question on Equivalent fractions (ONLY); return the student's plan page."""
    data = demo_pack_data()
    activity = next(a for a in data["activities"] if a["id"] == "practice-frac-equivalent")
    activity["items"] = [i for i in activity["items"] if i["id"] == ONLY]
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text
    return sandbox.launch("student")


def _answers(tool):
    with tool.app.app_context():
        return [(r.source, r.credited, r.hints_used) for r in
                db.session.scalars(sa.select(ItemResponse).order_by(ItemResponse.id))]


def test_a_hint_shown_counts_when_the_answer_comes_from_the_page_before_it(sandbox, tool):
    home = _one_question_course(sandbox, tool)
    page = open_in_launch(home, tool, "/practice/frac-equivalent")
    item = served_item(tool, SERVED.search(page.text).group(1))
    hinted = submit_form(page, "/practice/frac-equivalent", show_hint="1")
    assert html.escape(item.hints[0]) in hinted.text
    # Back to the page without the hint (its form says hints=0), or the field edited: the answer was still aided.
    feedback = submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page), hints="0")
    assert "That&#39;s right!" in feedback.text
    assert _answers(tool) == [("practice", True, 1)]


def test_a_reload_keeps_the_hints_shown_and_no_address_or_form_changes_their_number(sandbox, tool):
    home = _one_question_course(sandbox, tool)
    page = open_in_launch(home, tool, "/practice/frac-equivalent")
    item = served_item(tool, SERVED.search(page.text).group(1))
    submit_form(page, "/practice/frac-equivalent", show_hint="1")
    for address in ("/practice/frac-equivalent", "/practice/frac-equivalent?hints=0"):
        again = open_in_launch(home, tool, address)
        assert html.escape(item.hints[0]) in again.text and html.escape(item.hints[1]) not in again.text
        assert 'name="hints" value="1"' in again.text
    # A form asking for more hints than the question has shows (and counts) the ones it has.
    every = submit_form(again, "/practice/frac-equivalent", show_hint="1", hints="98")
    assert html.escape(item.hints[1]) in every.text and 'name="show_hint"' not in every.text
    submit_form(every, "/practice/frac-equivalent", answer=served_answer(tool, every), hints="99")
    assert _answers(tool) == [("practice", True, len(item.hints))]
    # The next question starts with none, whatever the address asks for.
    following = open_in_launch(home, tool, "/practice/frac-equivalent?hints=2")
    assert SERVED.search(following.text) and '<div class="hints"' not in following.text


# --- One question open on two pages earns credit once ------------------------------------------------------------


@pytest.mark.parametrize("first", ["practice", "unit check"])
def test_one_question_open_in_practice_and_a_unit_check_earns_credit_once_and_the_other_page_says_so(
        sandbox, tool, first):
    home = _one_question_course(sandbox, tool)
    practice = open_in_launch(home, tool, "/practice/frac-equivalent")
    check = start_in_launch(home, tool, "/unit-check/unit-fractions")  # its first question is on the same skill
    assert served_item(tool, SERVED.search(practice.text).group(1)).id == ONLY
    assert served_item(tool, SERVED.search(check.text).group(1)).id == ONLY
    assert SERVED.search(practice.text).group(1) != SERVED.search(check.text).group(1)
    assert "does not change your level" not in practice.text + check.text  # both served with credit
    pages = {"practice": (practice, "/practice/frac-equivalent", "practice"),
             "unit check": (check, "/unit-check/unit-fractions", "unit_check")}
    page, action, source = pages.pop(first)
    ((other, other_action, other_source),) = pages.values()

    credited = submit_form(page, action, answer=served_answer(tool, page))
    assert "does not change your level" not in credited.text
    # The other copy, reloaded, now says its answer will not change the level; and its answer does not.
    reloaded = other.http.get(other.url, timeout=30)
    reloaded.http = other.http
    assert SERVED.search(reloaded.text).group(1) == SERVED.search(other.text).group(1)
    assert "You answered this question in the last 12 hours: it is good practice" in html.unescape(reloaded.text)
    repeat = submit_form(reloaded, other_action, answer=served_answer(tool, reloaded))
    assert "You answered this question in the last 12 hours: it is good practice" in html.unescape(repeat.text)
    assert "Your level on" not in repeat.text
    assert [(s, c) for s, c, _ in _answers(tool)] == [(source, True), (other_source, False)]
    with tool.app.app_context():
        overall = db.session.scalars(sa.select(SkillMastery).where(SkillMastery.skill_id == ALL_SKILLS)).one()
        assert SkillState.from_dict(overall.state).attempts == 1
        assert sorted(r.credit for r in db.session.scalars(
            sa.select(ServedItem).where(ServedItem.answered_at.is_not(None)))) == [False, True]


# --- The placement check's "I haven't learnt this yet" is no answer ----------------------------------------------


def _placement_until_it_asks_only(home, tool, placement_answer: str) -> None:
    """Take the placement check, answering ONLY as `placement_answer` says and every other question "not learnt"."""
    page = open_in_launch(home, tool, "/diagnostic")
    while 'name="item_id" value="' + ONLY + '"' not in page.text:
        assert "/diagnostic/result" not in page.url, "the check never asked " + ONLY
        page = submit_form(page, "/diagnostic", answer="", not_sure="1")
    if placement_answer == "not learnt":
        submit_form(page, "/diagnostic", answer="", not_sure="1")
    else:
        submit_form(page, "/diagnostic", answer=served_answer(tool, page, right=placement_answer == "right"))


@pytest.mark.parametrize(("placement_answer", "credited"), [("not learnt", True), ("wrong", False)])
def test_a_question_the_student_had_not_learnt_at_placement_earns_credit_in_practice_the_same_day(
        sandbox, tool, placement_answer, credited):
    # Saying "I haven't learnt this yet" answers nothing, so the same question in practice is not a repeat; a real
    # answer at placement is one (the session rule), and practising it again the same day earns no credit.
    home = _one_question_course(sandbox, tool)
    _placement_until_it_asks_only(home, tool, placement_answer)
    page = open_in_launch(home, tool, "/practice/frac-equivalent")
    assert served_item(tool, SERVED.search(page.text).group(1)).id == ONLY
    assert ("does not change your level" not in page.text) is credited
    feedback = submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page))
    assert "That&#39;s right!" in feedback.text
    assert ("does not change your level" not in feedback.text) is credited
    assert _answers(tool)[-1] == ("practice", credited, 0)


def test_questions_served_before_the_upgrade_keep_their_rows_and_start_with_no_hints_counted(sandbox, tool):
    """Migration 0021 adds served_item.hints_shown; its downgrade drops the column in place (not a table copy)."""
    from flask_migrate import downgrade, upgrade

    home = _one_question_course(sandbox, tool)
    page = open_in_launch(home, tool, "/practice/frac-equivalent")
    submit_form(page, "/practice/frac-equivalent", answer=served_answer(tool, page))
    page = open_in_launch(home, tool, "/practice/frac-add-sub")
    submit_form(page, "/practice/frac-add-sub", show_hint="1")  # open, one hint shown

    def kept() -> tuple:
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (ServedItem, ItemResponse, SkillMastery))

    with tool.app.app_context():
        before = kept()
        db.session.commit()
        downgrade(revision="0020")
        assert "hints_shown" not in {c["name"] for c in sa.inspect(db.engine).get_columns("served_item")}
        assert kept() == before
        db.session.commit()
        upgrade()
        assert kept() == before
        assert set(db.session.scalars(sa.select(ServedItem.hints_shown))) == {0}
        db.session.commit()
    # The open question shows no hint now (its count is not known), and counts the ones shown from here on.
    again = open_in_launch(home, tool, "/practice/frac-add-sub")
    assert SERVED.search(again.text).group(1) == SERVED.search(page.text).group(1)
    assert '<div class="hints"' not in again.text
    hinted = submit_form(again, "/practice/frac-add-sub", show_hint="1")
    submit_form(hinted, "/practice/frac-add-sub", answer=served_answer(tool, hinted))
    assert _answers(tool)[-1] == ("practice", True, 1)
