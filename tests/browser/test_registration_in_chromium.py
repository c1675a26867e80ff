"""In real Chromium, the Dynamic Registration page inside an LMS frame: it asks the LMS to close the dialog at once
only when the registration is complete; otherwise the administrator reads what is left to do and presses Done.

Canvas and Moodle close their registration dialog as soon as the tool posts {subject: "org.imsglobal.lti.close"}
(Dynamic Registration §3.7), so a message sent on load hides the page's instructions before anyone reads them.
The LMS here is a page of the tool's own origin that frames the registration link and records the messages its
frame posts to it, as the LMS's dialog would.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.lti.test_dynamic_registration import invite

from .accessibility import wait

pytestmark = pytest.mark.browser

CLOSE = {"subject": "org.imsglobal.lti.close"}


def _open_in_lms_dialog(browser, tool, link: str) -> None:
    """Show the registration link in a frame of an "LMS" page that records what the frame posts to it."""
    platform = tool.platform
    url = link + "&" + urlencode({"openid_configuration": platform.openid_configuration_url,
                                  "registration_token": platform.new_registration_token()})
    browser.get(tool.url("/no-such-page"))  # any page of an origin the registration page may be framed by
    browser.execute_script("""
        window.received = [];
        window.addEventListener("message", function (event) { window.received.push(event.data); });
        var frame = document.createElement("iframe");
        frame.id = "registration-dialog";
        frame.style.width = "900px";
        frame.style.height = "600px";
        frame.onload = function () { window.frameLoaded = true; };
        frame.src = arguments[0];
        document.body.appendChild(frame);
    """, url)
    wait(browser, lambda b: b.execute_script("return window.frameLoaded === true"), 40)


def _received(browser) -> list:
    return browser.execute_script("return window.received")


def test_a_complete_registration_asks_the_lms_to_close_the_dialog_at_once(browser, tool):
    _open_in_lms_dialog(browser, tool, invite(tool))
    wait(browser, lambda b: _received(b) == [CLOSE])


AFTER = "posted by the test after the page's own scripts"


def _after_the_pages_messages(browser) -> None:
    """Wait until whatever the framed page posted on load has reached the LMS page, without a fixed delay.

    Its scripts ran before its load event (which `_open_in_lms_dialog` waited for); a message the frame posts now
    is delivered after any they posted (messages from one window to another keep their order), so once it is in,
    every earlier one is too.
    """
    browser.switch_to.frame(browser.find_element(By.ID, "registration-dialog"))
    browser.execute_script("window.parent.postMessage(arguments[0], '*');", AFTER)
    browser.switch_to.default_content()
    wait(browser, lambda b: AFTER in _received(b))


def test_an_incomplete_registration_waits_for_the_administrator_to_press_done(browser, tool):
    tool.platform.registration_names_deployment = False  # as Canvas: the admin must add the deployment id
    _open_in_lms_dialog(browser, tool, invite(tool, approved=False))
    _after_the_pages_messages(browser)
    assert _received(browser) == [AFTER]  # nothing was posted while the admin reads
    browser.switch_to.frame(browser.find_element(By.ID, "registration-dialog"))
    assert "pathways platform add" in browser.find_element(By.TAG_NAME, "main").text
    done = browser.find_element(By.ID, "registration-done")
    assert done.tag_name == "button" and done.accessible_name.startswith("Done")
    assert done.get_attribute("aria-describedby") == "registration-done-help"
    # From the keyboard: Tab reaches it, Enter presses it.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    for _ in range(40):
        if browser.switch_to.active_element == done:
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    assert browser.switch_to.active_element == done
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    browser.switch_to.default_content()
    wait(browser, lambda b: _received(b) == [AFTER, CLOSE])
