"""In real Chromium: a hosted LMS's course page, on the school's host (not its issuer's nor its login's), shows Pathways.

Before, frame-ancestors named only the issuer and the login URL, so Chromium refused to draw Pathways inside the
school's page even with the school's host registered (tests/lti/test_hosted_lms_hosts.py). Without it registered
the login's page is still refused there (nothing verified yet may widen its frames): the log names the command.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec

from tests.support import HOSTED_ISSUER, logged_warnings, start_hosted_lms

from .accessibility import wait

pytestmark = pytest.mark.browser


def test_the_schools_course_page_shows_pathways_in_its_frame(browser, tool):
    lms, stop = start_hosted_lms(tool)
    try:
        # Moodle's way of framing: no platform storage, the tool's own cookies carry the login (all of it is on
        # 127.0.0.1, one site, so Chromium keeps them).
        browser.get(lms.school_url + "/frame/teacher?lms=moodle")
        wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
        heading = wait(browser, ec.presence_of_element_located((By.TAG_NAME, "h1")))
        assert heading.text == "Grade 7 Mathematics"
        assert "/c/" in browser.execute_script("return location.href")
    finally:
        stop()


def test_without_the_schools_host_the_log_names_the_command_that_adds_it(browser, tool):
    lms, stop = start_hosted_lms(tool, register_school=False)
    try:
        with logged_warnings("lti_tool.security") as lines:
            browser.get(lms.school_url + "/frame/teacher?lms=moodle")
            wait(browser, lambda _: any("may not frame Pathways" in line for line in lines), seconds=20)
    finally:
        stop()
    command = f"pathways platform add-origin {HOSTED_ISSUER} {lms.tool.client_id} {lms.school_url}"
    assert any(command in line for line in lines), lines
