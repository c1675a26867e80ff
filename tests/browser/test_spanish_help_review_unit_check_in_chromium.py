"""In real Chromium, in Spanish: the pages a walk with nothing in them never showed. The teacher's needs-help list
with a student who asked for help and one the alerts flagged, the student's review with skills due (question,
feedback right and wrong, summary), and the unit check's feedback after a right and a wrong answer. Each is
Spanish throughout: no sentence of the English catalogue and none of the English phrases these pages once left."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from lti_tool.extensions import db
from lti_tool.learning.coursepack import load_pack
from lti_tool.models import Course, Enrollment, MasteryEvent, Person
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _master
from tests.support import answer_wrong_until_stuck, open_in_launch, submit_form
from tests.web.test_mixed_review import _ten_days_pass

from .accessibility import wait
from .test_spanish_student_in_chromium import _answer, _click, _problems

pytestmark = pytest.mark.browser

TEACHER, STUDENT, STUCK_STUDENT = "Amara Okafor", "Priya Shah", "Liam O'Connor"
#: English these pages showed on a Spanish launch, outside the catalogue's sentences (so `_problems` missed it):
#: the answers page the list links to named the skill and its questions in English and gave the model's reasons
#: ("0 of 1 right") as stored; so did the history on the student's page the list links to.
ENGLISH_LEFT = ("Equivalent fractions", "Add and subtract fractions", "Which fraction is equivalent",
                "Fill in the missing numerator", "This question is no longer in the course")
ENGLISH_REASON = re.compile(r"\d+ of \d+ right|in a row|Set by a teacher|Placed at")


#: What a person meets besides the visible text: the tab's title and the names and hints screen readers read.
_READ_ALOUD = """
  return [document.title, document.body.innerText].concat([...document.querySelectorAll(
    "[aria-label], [title], [placeholder], img[alt]")].map((el) =>
      [el.getAttribute("aria-label"), el.getAttribute("title"), el.getAttribute("placeholder"),
       el.getAttribute("alt")].filter(Boolean).join(" | "))).join("\\n");
"""


def _english(browser, what: str) -> list[str]:
    text = browser.execute_script(_READ_ALOUD)
    found = [phrase for phrase in ENGLISH_LEFT if phrase in text] + ENGLISH_REASON.findall(text)
    return [f"{what}: English {phrase!r}" for phrase in found]


def _walk(browser, what: str) -> list[str]:
    return _problems(browser, what) + _english(browser, what)


#: The feedback pages' first button: the next question, or the summary after the last.
#: The first button of the page's way on: a link, or the review's "Next review question" (a form: it serves).
NEXT = "(//main//a[contains(@class, 'button')] | //main//form[contains(@action, '/review/next')]//button)[1]"


def _hint_then_right_then_wrong(browser, what: str) -> list[str]:
    """Walk a question, its hint, a right answer's feedback, the next question and a wrong answer's feedback."""
    problems = _walk(browser, f"{what} question")
    _click(browser, "//button[@name='show_hint']")
    problems += _walk(browser, f"{what} question with a hint")
    _answer(browser, "practice", right=True)
    problems += _walk(browser, f"{what} feedback after a right answer")
    _click(browser, NEXT)
    _answer(browser, "practice", right=False)
    return problems + _walk(browser, f"{what} feedback after a wrong answer")


def _links(browser, xpath: str) -> list[str]:
    links = [a.get_attribute("href") for a in browser.find_elements(By.XPATH, xpath)]
    assert links, xpath
    return links


def _launch_in_spanish(browser, tool, name: str) -> str:
    browser.get(tool.url("/sandbox/?locale=es"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {name}").click()
    wait(browser, ec.url_contains("/c/"))
    return re.search(r".*/c/[^/]+/", browser.current_url).group(0)


def _other_alerts(tool, sandbox) -> None:
    """Priya failed a review today and the course, begun eight weeks ago, ends in a week; Liam last came 10 days ago."""
    submit_form(open_in_launch(sandbox.launch("teacher"), tool, "/teacher/settings"), "/teacher/settings",
                ends_on=(date.today() + timedelta(days=7)).isoformat())
    with tool.app.app_context():
        course = db.session.scalar(sa.select(Course).where(Course.context_id == "math-7"))
        course.created_at -= timedelta(weeks=8)
        people = dict(db.session.execute(sa.select(Person.sub, Person.id)).all())
        db.session.add(MasteryEvent(course_id=course.id, person_id=people["student-1"], skill_id="frac-equivalent",
                                    old_level="Mastered", new_level="Proficient", source="review", reason="seeded",
                                    at=datetime.now(UTC).replace(tzinfo=None)))
        liam = db.session.scalar(sa.select(Enrollment).where(Enrollment.course_id == course.id,
                                                             Enrollment.person_id == people["student-2"]))
        liam.last_launch_at -= timedelta(days=10)
        db.session.commit()


def test_needs_help_review_and_unit_check_feedback_with_something_in_them_are_spanish(browser, tool, sandbox):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = load_pack(demo_pack_data())
    # Priya asks her teacher for help with a skill; Liam gets one skill wrong until the alerts flag him stuck.
    priya = sandbox.launch("student")
    skill_id = pack.skill_graph.topological_order()[0]
    submit_form(open_in_launch(priya, tool, f"/practice/{skill_id}"), f"/practice/{skill_id}/ask")
    answer_wrong_until_stuck(sandbox.launch("student-2"), tool)

    base = _launch_in_spanish(browser, tool, TEACHER)
    browser.get(base + "class/needs-help")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".help-entry")) >= 2
    problems = _walk(browser, "needs help with entries")
    # Each entry's links: the answers that put the student on the list, and the student's page.
    for number, link in enumerate(_links(browser, "//main//li//a[contains(@href, '/skills/')]")):
        browser.get(link)
        problems += _walk(browser, f"answers linked from needs help ({number + 1})")
    browser.get(base + "class/needs-help")
    for number, link in enumerate(_links(browser, "//main//h2/a")):
        browser.get(link)
        problems += _walk(browser, f"student page linked from needs help ({number + 1})")

    # Priya masters two skills over two sittings, and ten days later they fall due for review.
    for skill in pack.skill_graph.topological_order()[:2]:
        _master(priya, tool, skill, pack, sub=sandbox.sub("student"))  # Liam has levels too
    _ten_days_pass(tool)
    base = _launch_in_spanish(browser, tool, STUDENT)
    problems += _walk(browser, "plan with a review due")
    _click(browser, "//*[@data-testid='review-panel']//form[contains(@action, '/review/start')]//button")
    problems += _hint_then_right_then_wrong(browser, "review")
    _click(browser, NEXT)
    problems += _walk(browser, "review summary or next question")

    browser.get(base + "unit-check/unit-fractions")  # its address starts nothing: its button does
    problems += _walk(browser, "unit check start")
    _click(browser, "//main//form[contains(@action, '/unit-check/unit-fractions/start')]//button")
    problems += _hint_then_right_then_wrong(browser, "unit check")
    for _ in range(6):
        _click(browser, NEXT)
        _answer(browser, "practice", right=True)
    _click(browser, "//main//a[contains(@href, '/summary')]")
    problems += _walk(browser, "unit check summary")

    # Ten days on, the list holds the alerts' other reasons too: a failed review, behind pace, no activity lately.
    _other_alerts(tool, sandbox)
    base = _launch_in_spanish(browser, tool, TEACHER)
    browser.get(base + "class/needs-help")
    problems += _walk(browser, "needs help ten days on")
    _click(browser, "//form[contains(@action, '/helped')]//button")
    problems += _walk(browser, "needs help after marking a student helped")
    assert not problems, "\n".join(problems)
