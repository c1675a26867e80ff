"""In real Chromium with axe-core: skills that fall due come back as a mixed review, labelled as a review on
every page, and end on a summary with the way back to the plan."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _master
from tests.support import SandboxActions
from tests.web.test_mixed_review import _ten_days_pass

from .accessibility import PageAudit, left_page, mark_page, wait
from .test_practice_in_chromium import _answer, _click, _student_in_the_demo_course

pytestmark = pytest.mark.browser


def two_skills_due(browser, tool) -> str:
    """Launch the student in the demo course with two skills mastered and due for review; return the plan's address."""
    home = _student_in_the_demo_course(browser, tool)
    # The same student masters two skills over two sittings (over HTTP, to keep the browser walk short).
    pack = load_pack(demo_pack_data())
    student = SandboxActions(tool).launch("student")
    for skill_id in pack.skill_graph.topological_order()[:2]:
        _master(student, tool, skill_id, pack)
    _ten_days_pass(tool)
    return home


def test_a_review_question_is_labelled_as_a_review_and_the_review_ends_on_a_summary(browser, tool):
    audit = PageAudit(browser)
    home = two_skills_due(browser, tool)
    browser.get(home)
    panel = browser.find_element(By.CSS_SELECTOR, "[data-testid=review-panel]")
    assert "Quick review: 2 skills to keep fresh" in panel.text
    audit.check("plan with a review due")
    _click(browser, panel.find_element(By.XPATH, ".//button[normalize-space()='Start the mixed review']"))
    label = browser.find_element(By.CSS_SELECTOR, "h1 [data-testid=review-label]")
    assert label.text == "Review"
    assert "You learned this before — let’s check it stuck." in browser.find_element(By.CSS_SELECTOR, ".lead").text
    audit.check("review question")
    _answer(browser, right=True)
    assert browser.find_element(By.CSS_SELECTOR, "h1 [data-testid=review-label]").text == "Review"
    audit.check("review feedback")
    # "Next review question" serves the next question, so it is a button posting its form (a GET serves nothing);
    # it has the focus, so Enter takes the student on, one key as the link was.
    following = browser.switch_to.active_element
    assert following.tag_name == "button" and following.text == "Next review question"
    mark_page(browser)
    following.send_keys(Keys.ENTER)
    wait(browser, left_page)
    served = browser.find_element(By.NAME, "served").get_attribute("value")
    assert "run=" in browser.current_url
    mark_page(browser)
    browser.refresh()  # a GET of the question's address: the same question, the student's place kept
    wait(browser, left_page)
    assert browser.find_element(By.NAME, "served").get_attribute("value") == served
    _answer(browser, right=False)
    _click(browser, browser.find_element(By.LINK_TEXT, "See how your review went"))
    wait(browser, ec.presence_of_element_located((By.ID, "again-heading")))
    assert browser.find_element(By.ID, "held-heading").text == "Still strong"
    audit.check("review summary")
    _click(browser, browser.find_element(By.LINK_TEXT, "Back to my plan"))
    assert not browser.find_elements(By.CSS_SELECTOR, "[data-testid=review-panel]")
    audit.assert_clean()
