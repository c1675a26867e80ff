"""In real Chromium: an evidence file over the limit is stopped before it is sent, with what the student wrote still
there; "Show a hint" keeps the typed answer, and a hint shown stays shown (and counted) after going back; error
pages have a way back (the page's script runs under its CSP)."""

from __future__ import annotations

import re

import pytest
from selenium.webdriver.common.by import By

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data

from .accessibility import PageAudit, launch_as, wait

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"
PACK = load_pack(demo_pack_data())


def _click(browser, element) -> None:
    """Click and wait for the next page."""
    browser.execute_script("window.__leaving = true")
    element.click()
    wait(browser, lambda b: b.execute_script("return !window.__leaving && document.readyState === 'complete'"))


def _set_up(browser, tool) -> str:
    launch_as(browser, tool, TEACHER)
    _click(browser, browser.find_element(By.XPATH, "//button[contains(normalize-space(), 'Use the demo pack')]"))
    home = launch_as(browser, tool, STUDENT)
    return re.search(r"^.*?/c/[^/?]+", home).group(0)


def test_a_file_over_the_limit_is_stopped_before_sending_and_the_text_stays(browser, make_tool, tmp_path):
    tool = make_tool(EVIDENCE_MAX_BYTES=4000)
    base = _set_up(browser, tool)
    browser.get(base + "/evidence")
    big = tmp_path / "scan.pdf"
    big.write_bytes(b"%PDF-1.4\n" + b"0" * 11_000)
    browser.find_element(By.ID, "evidence-kind-explanation").click()
    browser.find_element(By.ID, "evidence-text").send_keys("My fraction wall, explained")
    browser.find_element(By.ID, "evidence-file").send_keys(str(big))
    message = browser.find_element(By.ID, "evidence-file-too-big")
    wait(browser, lambda b: message.is_displayed())
    assert "That file is too large: files can be up to 3.91 KB." in message.text
    url = browser.current_url
    browser.find_element(By.XPATH, "//button[contains(normalize-space(), 'Send to my teacher')]").click()
    assert browser.current_url == url and "Sent to your teacher" not in browser.page_source
    assert browser.find_element(By.ID, "evidence-text").get_attribute("value") == "My fraction wall, explained"
    assert browser.find_element(By.ID, "evidence-file").get_attribute("aria-invalid") == "true"
    PageAudit(browser).check("the evidence form saying the file is too large")

    small = tmp_path / "small.pdf"
    small.write_bytes(b"%PDF-1.4\n%%EOF\n")
    browser.find_element(By.ID, "evidence-file").send_keys(str(small))  # choosing again clears the message
    wait(browser, lambda b: not message.is_displayed())


def test_show_a_hint_keeps_what_the_student_typed_or_chose(browser, tool):
    base = _set_up(browser, tool)
    kinds = set()
    for skill in PACK.skills:
        browser.get(f"{base}/practice/{skill.id}")
        if not browser.find_elements(By.NAME, "show_hint"):
            continue
        if browser.find_elements(By.ID, "answer") and "text" not in kinds:
            browser.find_element(By.ID, "answer").send_keys("7/12")
            _click(browser, browser.find_element(By.NAME, "show_hint"))
            assert browser.find_element(By.ID, "answer").get_attribute("value") == "7/12"
            kinds.add("text")
        elif not browser.find_elements(By.ID, "answer") and "choice" not in kinds:
            choice = browser.find_elements(By.CSS_SELECTOR, "input[type=radio][name=answer]")[-1]
            chosen = choice.get_attribute("id")
            choice.click()
            _click(browser, browser.find_element(By.NAME, "show_hint"))
            assert browser.find_element(By.ID, chosen).is_selected()
            kinds.add("choice")
        else:
            continue
        assert browser.find_element(By.CSS_SELECTOR, ".hints li").text
        if kinds == {"text", "choice"}:
            break
    assert "text" in kinds, "no typed question with hints in the demo pack"


def test_a_hint_shown_is_still_shown_and_counted_after_going_back(browser, tool):
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import ItemResponse
    from tests.support import answer_for_served, served_item

    base = _set_up(browser, tool)
    skill = PACK.skills[0]
    browser.get(f"{base}/practice/{skill.id}")
    served = browser.find_element(By.NAME, "served").get_attribute("value")
    item = served_item(tool, served)
    _click(browser, browser.find_element(By.NAME, "show_hint"))
    assert browser.find_element(By.CSS_SELECTOR, ".hints li").text == item.hints[0]
    # Back to the page before the hint: it shows the hint too (its form used to say no hints were shown).
    browser.execute_script("window.__leaving = true")
    browser.back()
    wait(browser, lambda b: b.execute_script("return !window.__leaving && document.readyState === 'complete'"))
    # Fetched again if Chromium brought it back from its back/forward cache, as it was before the hint.
    wait(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".hints li"))
    assert browser.find_element(By.NAME, "served").get_attribute("value") == served
    assert browser.find_element(By.CSS_SELECTOR, ".hints li").text == item.hints[0]
    answer = answer_for_served(tool, served)
    if item.type == "multiple_choice":
        browser.find_element(By.ID, f"choice-{answer}").click()
    else:
        browser.find_element(By.ID, "answer").send_keys(answer)
    _click(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Check my answer']"))
    assert "right!" in browser.page_source
    with tool.app.app_context():
        assert db.session.scalars(sa.select(ItemResponse.hints_used)).all() == [1]
        db.session.remove()


def test_error_pages_have_a_way_back(browser, tool):
    audit = PageAudit(browser)
    base = _set_up(browser, tool)
    browser.get(base + "/practice/no-such-skill")
    audit.check("an error page inside a launch")
    _click(browser, browser.find_element(By.CSS_SELECTOR, "[data-testid=error-back]"))
    assert browser.current_url.split("?")[0].rstrip("/") == base
    assert "Your next steps" in browser.page_source

    browser.get(tool.url("/no-such-page"))
    back = browser.find_element(By.CSS_SELECTOR, "[data-testid=error-back]")
    wait(browser, lambda b: back.is_displayed())  # the page's own script showed it: the CSP let it run
    audit.check("an error page outside a launch")
    _click(browser, back)
    assert browser.current_url.split("?")[0].rstrip("/") == base
    audit.assert_clean()


