"""An answer's POST (practice, review, unit check) records it and answers 303 to a GET page of its feedback
(Post/Redirect/Get), so Back, Forward and reload show the feedback again instead of "Confirm Form Resubmission".

The feedback page is read from what the answer stored, serves nothing and changes nothing, and shows nothing of a
question that is not the launch's student's own in the launch's course.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from lti_tool.sandbox.platform import DEMO_STUDENTS
from tests.support import open_in_launch, parse_form, served_answer, served_item, start_in_launch, submit_form
from tests.web.test_mixed_review import _two_skills_mastered_and_due
from tests.web.test_no_state_change_on_get import SERVED, _row_counts

SKILL = "frac-equivalent"


def _post_answer(page, action_suffix: str, answer: str):
    """Post the page's answer form as a browser does, and return the response without following its redirect."""
    for form in re.findall(r"<form[^>]*>.*?</form>", page.text, re.S):
        action, fields = parse_form(form, page.url)
        if action.split("?")[0].endswith(action_suffix) and "served" in fields:
            return page.http.post(action, data={**fields, "answer": answer}, allow_redirects=False, timeout=30)
    raise AssertionError(f"no answer form posting to {action_suffix} in {page.url}")


def _get(page, location: str):
    response = page.http.get(urljoin(page.url, location), allow_redirects=False, timeout=30)
    response.http = page.http
    return response


def _practice(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    return open_in_launch(student, tool, f"/practice/{SKILL}")


def test_a_practice_answer_redirects_to_its_feedback_which_reloads_without_serving_or_changing_anything(
        sandbox, tool):
    question = _practice(sandbox, tool)
    served = SERVED.search(question.text).group(1)
    item = served_item(tool, served)
    posted = _post_answer(question, f"/practice/{SKILL}", served_answer(tool, question, right=False))
    assert posted.status_code == 303
    location = posted.headers["Location"]
    assert f"/practice/{SKILL}/answered/{served}" in location
    before = _row_counts(tool)
    for _ in range(2):  # a reload, and Back then Forward, ask for the same address again
        feedback = _get(question, location)
        assert feedback.status_code == 200
        assert "Not quite." in feedback.text and item.prompt in feedback.text
        assert "Worked solution" in feedback.text and item.solution in feedback.text
        assert "You've started <strong>Equivalent fractions</strong>" in feedback.text  # the answer's level change
        assert re.search(r'<a class="button" href="[^"]*/practice/' + SKILL + '[^"]*" autofocus>Next question',
                         feedback.text)
    assert _row_counts(tool) == before, "the feedback page serves nothing and writes nothing"

    # A second post of the same question (Back, then the form sent again) counts nothing and says so.
    again = _post_answer(question, f"/practice/{SKILL}", served_answer(tool, question))
    assert again.status_code == 303 and "again=1" in again.headers["Location"]
    repeated = _get(question, again.headers["Location"])
    assert "You had already answered this question" in repeated.text and "Not quite." in repeated.text
    assert _row_counts(tool) == before


def test_two_misses_in_a_row_show_other_ways_to_learn_it_on_the_feedback_page(sandbox, tool):
    question = _practice(sandbox, tool)
    for miss in range(2):
        posted = _post_answer(question, f"/practice/{SKILL}", served_answer(tool, question, right=False))
        feedback = _get(question, posted.headers["Location"])
        assert ("Try learning it another way" in feedback.text) == (miss == 1)
        question = open_in_launch(question, tool, f"/practice/{SKILL}")


def test_the_feedback_address_shows_nothing_of_another_students_question_or_an_unanswered_one(sandbox, tool):
    question = _practice(sandbox, tool)
    served = SERVED.search(question.text).group(1)
    prompt = served_item(tool, served).prompt
    posted = _post_answer(question, f"/practice/{SKILL}", served_answer(tool, question))
    own_path = re.search(r"/c/[^/]+(/practice/.*)", posted.headers["Location"]).group(1)

    other = sandbox.launch(DEMO_STUDENTS[1])
    before = _row_counts(tool)
    theirs = open_in_launch(other, tool, own_path)
    assert theirs.status_code == 404 and prompt not in theirs.text
    assert _row_counts(tool) == before

    # The student's own question still open: the feedback address is the practice page, nothing shown of it.
    open_question = open_in_launch(question, tool, f"/practice/{SKILL}")
    waiting = SERVED.search(open_question.text).group(1)
    before = _row_counts(tool)
    unanswered = _get(open_question, posted.headers["Location"].split("/answered/")[0] + f"/answered/{waiting}")
    assert unanswered.status_code == 303
    assert unanswered.headers["Location"].split("?")[0].endswith(f"/practice/{SKILL}")
    assert _row_counts(tool) == before
    # Another skill's address for the answered question is no page either.
    assert _get(question, own_path.replace(SKILL, "frac-add-sub")).status_code == 404


def test_a_review_answer_redirects_to_its_feedback_and_reloading_it_serves_no_next_question(sandbox, tool):
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    question = start_in_launch(student, tool, "/review")
    served = SERVED.search(question.text).group(1)
    posted = _post_answer(question, "/review", served_answer(tool, question))
    assert posted.status_code == 303 and f"/review/answered/{served}" in posted.headers["Location"]
    before = _row_counts(tool)
    for _ in range(2):
        feedback = _get(question, posted.headers["Location"])
        assert feedback.status_code == 200 and "That&#39;s right!" in feedback.text
        assert "It stuck: you still remember it." in feedback.text
        assert "Next review question</button>" in feedback.text
    assert _row_counts(tool) == before
    other = sandbox.launch(DEMO_STUDENTS[1])
    path = re.search(r"/c/[^/]+(/review/answered/.*)", posted.headers["Location"]).group(1)
    assert open_in_launch(other, tool, path).status_code == 404


def test_a_unit_check_answer_redirects_to_its_feedback_with_the_next_question_link(sandbox, tool):
    question = _practice(sandbox, tool)
    for skill_id in ("frac-equivalent", "frac-add-sub", "frac-multiply"):
        page = open_in_launch(question, tool, f"/practice/{skill_id}")
        submit_form(page, f"/practice/{skill_id}", answer=served_answer(tool, page))
    check = start_in_launch(question, tool, "/unit-check/unit-fractions")
    served = SERVED.search(check.text).group(1)
    posted = _post_answer(check, "/unit-check/unit-fractions", served_answer(tool, check))
    assert posted.status_code == 303
    assert f"/unit-check/unit-fractions/answered/{served}" in posted.headers["Location"]
    before = _row_counts(tool)
    feedback = _get(check, posted.headers["Location"])
    assert feedback.status_code == 200 and "That&#39;s right!" in feedback.text
    assert 'data-testid="unit-check-label"' in feedback.text
    assert re.search(r'href="[^"]*/unit-check/unit-fractions\?[^"]*" autofocus>Next question', feedback.text)
    assert _row_counts(tool) == before
    other = sandbox.launch(DEMO_STUDENTS[1])
    path = re.search(r"/c/[^/]+(/unit-check/.*)", posted.headers["Location"]).group(1)
    assert open_in_launch(other, tool, path).status_code == 404
