"""In real Chromium: "Needs help now" says where its count of tries starts, so it agrees with the student's answers.

Before, a student who answered 9 questions wrong read "Stuck on …: 8 tries without getting past Attempted" on
"Needs help now", and "9 answers, 0 right" one click away: the count starts after the answer that reached
Attempted, and nothing said so."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from tests.support import answer_wrong_until_stuck

from .accessibility import PageAudit, click_through, teacher_opens_the_demo_course

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def test_the_stuck_count_says_where_it_starts_and_adds_up_to_the_students_answers(browser, tool, sandbox):
    audit = PageAudit(browser)
    teacher_opens_the_demo_course(browser, tool, TEACHER)
    home = re.match(r".*/c/[^/]+/", browser.current_url).group(0)
    answer_wrong_until_stuck(sandbox.launch("student"), tool)  # nine wrong answers

    browser.get(home + "class/needs-help")
    reason = browser.find_element(By.XPATH, f"//li[contains(., 'Stuck on')][ancestor::*[contains(., '{STUDENT}')]]")
    tries = int(re.search(r"(\d+) tries since reaching Attempted, none getting past it\.", reason.text).group(1))
    audit.check("needs help now, a stuck student")

    click_through(browser, "//li[contains(., 'Stuck on')]//a[normalize-space() = 'See the answers']")
    answers = int(re.search(r"(\d+) answers, 0 right\.", browser.find_element(By.TAG_NAME, "main").text).group(1))
    reached = browser.find_elements(By.XPATH, "//*[contains(normalize-space(), 'Level changed: Not started → Attempted')]")
    # The answer that reached Attempted, then the tries counted since: every answer, once.
    assert reached and answers == tries + 1 == 9
    audit.assert_clean()
