"""A student's first launch offers a short placement check that seeds where they start on the skill map."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.learning.diagnostic import MAX_ITEMS
from lti_tool.learning.mastery import ALL_SKILLS, SkillState
from lti_tool.models import DiagnosticRun, ItemResponse, MasteryEvent, SkillMastery
from lti_tool.services.content import demo_pack_data
from tests.support import served_answer, submit_form

PACK = load_pack(demo_pack_data())


def _setup_course(sandbox):
    page = submit_form(sandbox.launch("teacher"), "/content/demo")
    assert "The course now uses" in page.text
    return page


def _get(page, url):
    response = page.http.get(url, timeout=30)
    response.http = page.http
    return response


def _start_check(student, tool):
    link = re.search(r'href="([^"]*/diagnostic)"', student.text).group(1)
    return _get(student, tool.url(link))


def _item_id(page):
    return re.search(r'name="item_id" value="([^"]+)"', page.text).group(1)


def _right_answer(tool, page):
    return served_answer(tool, page)


def _text(page):
    return html.unescape(page.text)


def _take_whole_check(page, answer_for):
    """Answer every question with answer_for(question page); return (result page, the question pages seen)."""
    seen = []
    while "/diagnostic/result" not in page.url:
        assert len(seen) < MAX_ITEMS, "the check asked more than its maximum"
        seen.append(page)
        page = submit_form(page, "/diagnostic", answer=answer_for(page))
        assert page.status_code == 200
    return page, seen


def _rows(tool, model, **where):
    with tool.app.app_context():
        query = sa.select(model).filter_by(**where)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def test_a_new_student_is_offered_the_placement_check_but_their_plan_is_there_too(sandbox):
    _setup_course(sandbox)
    home = sandbox.launch("student")
    assert "Start your placement check (up to 12 questions)" in _text(home)
    assert "Skip for now" in home.text
    assert "Your next steps" in home.text  # the check is offered, never required


def test_no_placement_check_before_the_teacher_sets_up_the_course(sandbox):
    home = sandbox.launch("student")
    assert "placement check" not in home.text
    assert "has not set up this course" in home.text


def test_student_takes_the_check_to_the_end_without_marks_per_question_and_sees_where_they_start(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    first = _start_check(student, tool)
    assert "Question 1 of up to 12" in first.text
    assert "isn’t graded" in _text(first) or "isn't graded" in _text(first)
    assert "Show a hint" not in first.text
    # The answer field is read out with the question and the note that the check is not graded.
    assert 'aria-describedby="prompt about-check"' in first.text and 'class="hints"' not in first.text

    result, questions = _take_whole_check(first, lambda page: _right_answer(tool, page))

    assert 1 < len(questions) <= MAX_ITEMS
    assert "Question 2 of up to 12" in questions[1].text
    for page in questions[1:]:
        assert "That's right" not in _text(page) and "Not quite" not in page.text and "changed from" not in page.text
    assert "Here’s where you’re starting" in _text(result)
    assert "Looks solid already" in result.text
    assert "Go to my plan" in result.text

    responses = _rows(tool, ItemResponse)
    assert len(responses) == len(questions) and {r.source for r in responses} == {"diagnostic"}
    asked_skills = {skill for r in responses for skill in r.skill_ids}
    rows = {row.skill_id: row for row in _rows(tool, SkillMastery)}
    inferred = [rows[s] for s in rows if s not in asked_skills and s != "*"]
    assert inferred, "the check placed skills it did not ask about"
    for row in inferred:
        # A weak head start for the mastery model, labelled as coming from the check; not a level, not a grade.
        assert row.level == "Not started"
        assert SkillState.from_dict(row.state).prior > 0
        assert row.reason.startswith("From the placement check")
    assert not [e for e in _rows(tool, MasteryEvent) if e.skill_id not in asked_skills]
    [run] = _rows(tool, DiagnosticRun)
    assert run.finished_at is not None and len(run.state["answers"]) == len(questions)

    home = sandbox.launch("student", http=student.http)
    assert "Start your placement check" not in home.text and "Continue your placement check" not in home.text
    assert "From the placement check" in _text(home)
    again = _get(home, tool.url(re.search(r"/c/[^/]+/", home.url).group(0) + "diagnostic"))
    assert "/diagnostic/result" in again.url  # one placement per course: it is not retaken


def test_a_student_who_answers_wrong_starts_lower_on_the_map(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    result, questions = _take_whole_check(_start_check(student, tool), lambda page: "no idea 98765")
    assert "Good places to start" in result.text
    assert "Looks solid already" not in result.text
    # The learner-wide row ("*") is not a skill: the check's answers leave it empty.
    priors = [SkillState.from_dict(r.state).prior for r in _rows(tool, SkillMastery)
              if r.state["attempts"] == 0 and r.skill_id != ALL_SKILLS]
    assert priors and all(p < 0 for p in priors)


def test_saying_i_have_not_learnt_this_yet_moves_on_without_recording_an_answer(sandbox, tool):
    _setup_course(sandbox)
    first = _start_check(sandbox.launch("student"), tool)
    second = submit_form(first, "/diagnostic", not_sure="1", answer="")
    assert "Question 2 of up to 12" in second.text
    assert _item_id(second) != _item_id(first)
    assert _rows(tool, ItemResponse) == []
    [run] = _rows(tool, DiagnosticRun)
    assert run.state["answers"][0][2] is False and run.finished_at is None


def test_submitting_the_same_question_twice_counts_it_once(sandbox, tool):
    _setup_course(sandbox)
    first = _start_check(sandbox.launch("student"), tool)
    submit_form(first, "/diagnostic", answer=_right_answer(tool, first))
    again = submit_form(first, "/diagnostic", answer=_right_answer(tool, first))  # the back button, resubmitted
    assert "already answered" in again.text
    assert "Question 2 of up to 12" in again.text
    assert len(_rows(tool, ItemResponse)) == 1


def test_an_empty_answer_is_refused_kindly(sandbox, tool):
    _setup_course(sandbox)
    first = _start_check(sandbox.launch("student"), tool)
    page = submit_form(first, "/diagnostic", answer="   ")
    assert "Type or choose an answer" in page.text
    assert "Question 1 of up to 12" in page.text


def test_a_student_can_stop_early_and_is_placed_from_the_answers_so_far(sandbox, tool):
    _setup_course(sandbox)
    first = _start_check(sandbox.launch("student"), tool)
    assert "Stop here" not in first.text  # nothing to place from yet
    second = submit_form(first, "/diagnostic", answer=_right_answer(tool, first))
    result = submit_form(second, "/diagnostic/finish")
    assert "Here’s where you’re starting" in _text(result)
    assert "You answered 1 question." in result.text


def test_skipping_records_a_finished_check_and_the_offer_goes_away(sandbox, tool):
    _setup_course(sandbox)
    home = sandbox.launch("student")
    back = submit_form(home, "/diagnostic/skip")
    assert "Your next steps" in back.text
    assert "Start your placement check" not in back.text
    [run] = _rows(tool, DiagnosticRun)
    assert run.finished_at is not None and run.state == {"answers": []}
    # Skipped "for now": the check can still be taken later, and then it counts.
    page = _get(back, tool.url(re.search(r"/c/[^/]+/", back.url).group(0) + "diagnostic"))
    assert "Question 1 of up to 12" in page.text
    submit_form(page, "/diagnostic", answer=_right_answer(tool, page))
    [run] = _rows(tool, DiagnosticRun)
    assert run.finished_at is None and len(run.state["answers"]) == 1


def test_one_students_check_is_not_another_students(sandbox, tool):
    _setup_course(sandbox)
    first = _start_check(sandbox.launch("student"), tool)
    submit_form(first, "/diagnostic", answer=_right_answer(tool, first))
    other = sandbox.launch("student-2")
    assert "Start your placement check" in other.text
    assert "Question 1 of up to 12" in _start_check(other, tool).text


def test_teachers_do_not_take_the_placement_check(sandbox, tool):
    teacher = _setup_course(sandbox)
    assert "placement check" not in teacher.text
    url = tool.url(re.search(r"/c/[^/]+/", teacher.url).group(0) + "diagnostic")
    # Opened all the same (a copied link): the page says it is the students' and starts nothing (no 403 dead end).
    page = teacher.http.get(url, timeout=30)
    assert page.status_code == 200 and "This page is for students" in page.text
    assert "Question 1 of" not in page.text


def test_a_spanish_students_plan_gives_the_placement_checks_reasons_in_spanish(sandbox, tool):
    # The reviewer's walk in Spanish: after the check, the plan's "Por qué" column read "From the placement check:
    # you got Unit rates right, which builds on Equivalent fractions." in English, skill names and all.
    from tests.support import launch_with_presentation

    _setup_course(sandbox)
    student = launch_with_presentation(sandbox, locale="es")
    _take_whole_check(_start_check(student, tool), lambda page: _right_answer(tool, page))
    with tool.app.app_context():
        stored = db.session.scalars(sa.select(SkillMastery.reason).where(SkillMastery.reason.like("From the%"))).all()
    assert stored, "the check left placement reasons to show"
    plan = _text(launch_with_presentation(sandbox, locale="es", http=student.http))
    assert "From the placement check" not in plan
    assert "Según la prueba de ubicación" in plan


def test_a_skill_answered_both_right_and_wrong_is_not_said_to_have_gone_right_and_wrong(sandbox, tool):
    # The reviewer's walk: one question on Add and subtract fractions right and one wrong, and the result page said
    # "you got Add and subtract fractions right" (for Equivalent fractions) and, a few lines down, "the question on
    # Add and subtract fractions didn't go right yet".
    _setup_course(sandbox)
    student = sandbox.launch("student")

    def answer(page):
        item_id = _item_id(page)
        return _right_answer(tool, page) if item_id.startswith("ur-") or item_id == "fa-3" else "no idea 98765"

    result, _ = _take_whole_check(_start_check(student, tool), answer)
    text = _text(result)
    got_right = set(re.findall(r"you got (.+?) right, which builds on", text))
    went_wrong = set(re.findall(r"the question on (.+?) didn't go right yet", text))
    assert got_right and went_wrong
    assert not got_right & went_wrong
    assert "some questions on Add and subtract fractions went right, but not all of them yet" in text


def test_a_student_whose_practice_shows_a_level_is_not_offered_the_check_and_an_old_link_changes_nothing(sandbox, tool):
    from tests.services.test_reviews import _levels, _practise

    _setup_course(sandbox)
    student = sandbox.launch("student")
    first = PACK.skill_graph.topological_order()[0]
    _practise(student, tool, first, PACK, right=True, times=3)
    levels = _levels(tool)[0]
    assert levels[first] != "Not started"
    home = _get(student, student.url)
    assert "placement check" not in _text(home)  # their practice speaks for where they are
    # An old link to the check (a bookmark, another tab) starts nothing and says why; no run is written.
    page = _get(student, tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + "diagnostic"))
    assert "/diagnostic" not in page.url
    assert "You don’t need the placement check: your practice already shows where you are." in _text(page)
    assert _rows(tool, DiagnosticRun) == []
    assert _levels(tool)[0] == levels


def test_a_student_who_skipped_and_then_practised_is_not_sent_back_to_the_check(sandbox, tool):
    from tests.services.test_reviews import _practise

    _setup_course(sandbox)
    student = sandbox.launch("student")
    home = submit_form(student, "/diagnostic/skip")
    _practise(home, tool, PACK.skill_graph.topological_order()[0], PACK, right=True, times=3)
    result = _get(student, tool.url(re.search(r"/c/[^/]+/", student.url).group(0) + "diagnostic/result"))
    assert "Take the placement check now" not in result.text
    assert "You don’t need it any more: your practice already shows where you are." in _text(result)
