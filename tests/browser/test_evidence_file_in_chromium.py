"""In real Chromium with axe-core: a student attaches a photo as evidence and the teacher sees it in the review
queue, described by the student's words, and accepts it; each page passes axe at desktop and 360 px."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.web.test_evidence_files import tiny_png

from .accessibility import PageAudit, wait

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def _click(browser, xpath: str) -> None:
    """Click a link or button and wait for the next page."""
    browser.execute_script("window.__leaving = true")
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, lambda b: b.execute_script("return !window.__leaving && document.readyState === 'complete'"))


def _launch_as(browser, tool, name: str) -> None:
    browser.get(tool.url("/"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {name}").click()
    wait(browser, ec.url_contains("/c/"))


def test_student_attaches_a_photo_and_the_teacher_sees_it_described_and_accepts_it(browser, tool, tmp_path):
    audit = PageAudit(browser)
    _launch_as(browser, tool, TEACHER)
    _click(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")

    _launch_as(browser, tool, STUDENT)
    _click(browser, "//a[contains(normalize-space(), 'Show what I know')]")
    audit.check("the evidence form with a file field")
    photo = tmp_path / "fraction wall.png"
    photo.write_bytes(tiny_png(40, 30))
    browser.find_element(By.ID, "evidence-file").send_keys(str(photo))
    browser.find_element(By.ID, "evidence-text").send_keys("A fraction wall I drew: 1/2 is the same as 2/4")
    _click(browser, "//button[contains(normalize-space(), 'Send to my teacher')]")
    assert "Sent to your teacher" in browser.page_source
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Attached file: fraction wall.png")
    audit.check("the student's evidence with an attached photo")

    _launch_as(browser, tool, TEACHER)
    _click(browser, "//a[contains(normalize-space(), 'Evidence to review')]")
    image = browser.find_element(By.CSS_SELECTOR, ".evidence-photo img")
    assert image.get_attribute("alt") == "A fraction wall I drew: 1/2 is the same as 2/4"
    # The photo really loaded and drew: the browser decoded the bytes the tool served.
    wait(browser, lambda b: b.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image))
    assert browser.execute_script("return arguments[0].naturalWidth", image) == 40
    audit.check("the evidence queue with a photo")
    _click(browser, f"//button[contains(normalize-space(), 'Accept')][contains(., '{STUDENT}')]")
    assert f"Accepted {STUDENT}’s evidence" in browser.page_source
    audit.assert_clean()
