"""In real Chromium at phone width and with the keyboard alone, as a teacher in the LMS's frame: a focused box of the
class skill map and a link of a wide table are in sight whole, not cut off at the edge of their scrolling region; an address no page has shows the
error page with the way back to the course inside the frame."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec

from tests.support import start_hosted_lms

from .accessibility import PHONE, launch_as, left_page, mark_page, wait

pytestmark = pytest.mark.browser

TEACHER = "Amara Okafor"
# How much of the focused element lies outside its scrolling region, or under the row heading that stays put at the
# left of the class view's table (0 when all of it shows).
_HIDDEN_PART = """
const el = document.activeElement, region = el.closest('.skill-map-wrap, .table-wrap');
const box = el.getBoundingClientRect(), view = region.getBoundingClientRect();
const row = el.closest('tr'), pinned = row && row.querySelector('th[scope=row]');
const left = pinned && !pinned.contains(el) ? pinned.getBoundingClientRect().right : view.left;
return Math.max(0, left - box.left, box.right - view.right);
"""


def _click(browser, xpath: str) -> None:
    mark_page(browser)
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, left_page)


def _in_sight(browser) -> bool:
    """Wait a moment (the page's script scrolls the region just after the focus lands) for the focused box to show."""
    try:
        return wait(browser, lambda b: b.execute_script(_HIDDEN_PART) < 1, seconds=2)
    except TimeoutException:
        return False


def test_tabbing_through_the_class_skill_map_on_a_phone_shows_each_box_whole(browser, tool):
    home = launch_as(browser, tool, TEACHER)
    _click(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    _click(browser, "//button[contains(normalize-space(), 'Update roster from the course')]")
    browser.set_window_size(*PHONE)
    browser.get(home + "class/map")
    boxes = browser.find_elements(By.CSS_SELECTOR, ".skill-map .map-link")
    assert len(boxes) == 16
    browser.execute_script("document.querySelector('.skill-map-wrap').focus()")
    cut_off = []
    for _ in boxes:
        ActionChains(browser).send_keys(Keys.TAB).perform()
        focused = browser.switch_to.active_element
        assert focused.get_attribute("class") == "map-link", "each box is one tab stop, one after the other"
        if not _in_sight(browser):
            cut_off.append(focused.get_attribute("data-skill"))
    assert not cut_off, f"focused boxes cut off at the edge of the map at {PHONE[0]} px: {cut_off}"


def test_tabbing_along_the_wide_tables_on_a_phone_shows_each_link_whole(browser, tool):
    home = launch_as(browser, tool, TEACHER)
    _click(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    _click(browser, "//button[contains(normalize-space(), 'Update roster from the course')]")
    browser.set_window_size(*PHONE)
    cut_off = []
    for page in ("class/activity", "class"):
        browser.get(home + page)
        region = browser.find_element(By.CSS_SELECTOR, ".table-wrap")
        links = region.find_elements(By.CSS_SELECTOR, "a")
        assert len(links) > 5
        browser.execute_script("arguments[0].focus()", region)
        for _ in links:
            ActionChains(browser).send_keys(Keys.TAB).perform()
            if not _in_sight(browser):
                cut_off.append(f"{page}: {browser.switch_to.active_element.text}")
        # And back again, past the student names that stay at the left of the class view.
        for _ in links[:-1]:
            ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
            if not _in_sight(browser):
                cut_off.append(f"{page}, going back: {browser.switch_to.active_element.text}")
    assert not cut_off, f"focused links cut off at the edge of their table at {PHONE[0]} px: {cut_off}"


def test_an_address_no_page_has_shows_the_error_page_in_the_lms_frame_with_the_way_back(browser, tool):
    """An old bookmark or a mistyped link inside the LMS's frame: the error page, not Chromium's "refused to connect"."""
    lms, stop = start_hosted_lms(tool)
    try:
        browser.set_window_size(*PHONE)
        browser.get(lms.school_url + "/frame/teacher?lms=moodle")
        wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
        wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Grade 7 Mathematics"))
        home = browser.execute_script("return location.href")
        browser.execute_script("location.href = arguments[0]", home + "class/old-bookmark")
        heading = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "[role=alert] h1")))
        assert heading.text == "Something is not right"
        assert "This page does not exist." in browser.find_element(By.TAG_NAME, "main").text
        # By keyboard, back to the course page, still inside the frame.
        back = browser.find_element(By.CSS_SELECTOR, "[data-testid=error-back]")
        assert back.text == "← Back to the course"
        mark_page(browser)
        back.send_keys(Keys.ENTER)
        wait(browser, left_page)
        assert browser.execute_script("return location.href") == home
        assert browser.find_element(By.TAG_NAME, "h1").text == "Grade 7 Mathematics"
    finally:
        stop()
