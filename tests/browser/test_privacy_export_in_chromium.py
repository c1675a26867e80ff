"""In real Chromium with axe-core: an administrator's readable export of a student enrolled in two LMS courses
with the same title names each course's landmarks apart (axe landmark-unique), as the privacy pages must."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.web.test_privacy import INSTITUTION_ADMIN, _get, _link, _privacy_launch

from .accessibility import DESKTOP, PHONE, click_through, launch_as, serious_violations

pytestmark = pytest.mark.browser


def _in_chromium(browser, tool, page, path: str) -> None:
    """Open a page of the launch the HTTP client made, in Chromium with that client's session cookies."""
    browser.get(tool.url("/healthz"))
    for cookie in page.http.cookies:
        browser.add_cookie({"name": cookie.name, "value": cookie.value, "path": cookie.path or "/"})
    browser.get(tool.url(path) if path.startswith("/") else path)


def test_an_export_over_two_courses_with_one_title_names_every_landmark_apart(browser, tool, sandbox):
    # Priya is a student of math-7 and of its second section, which the LMS titles and labels the same.
    sandbox.platform.add_course("math-7-b", "Grade 7 Mathematics", "MATH7")
    sandbox.platform.add_resource_link("pathways-home", "Pathways", context_id="math-7-b")
    sandbox.platform.add_user("student-1", roles=["Learner"], name="Priya Shah", context_id="math-7-b")
    for context_id in ("math-7", "math-7-b"):
        assert sandbox.launch("student", context_id=context_id).status_code == 200
    sandbox.platform.add_user("admin", roles=[INSTITUTION_ADMIN], name="Ines Admin", context_id="math-7")
    privacy = _privacy_launch(sandbox, "admin", "student-1")
    assert privacy.status_code == 200, privacy.text[:300]
    path = _link(privacy, "/privacy/my-data.html")
    assert _get(privacy, tool, path).status_code == 200

    _in_chromium(browser, tool, privacy, path)
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "section > h2")]
    assert headings == ["Grade 7 Mathematics (1)", "Grade 7 Mathematics (2)"], headings
    names = browser.execute_script("""
      return [...document.querySelectorAll("section[aria-labelledby], [role=region][aria-labelledby]")].map(
        (el) => el.getAttribute("aria-labelledby").split(" ").map((id) => document.getElementById(id).textContent)
                  .join(" "));""")
    assert len(names) >= 4 and len(names) == len(set(names)), names
    problems = serious_violations(browser)
    assert not problems, "\n".join(problems)


def test_the_way_back_from_the_privacy_page_is_on_a_phones_first_screen(browser, tool, sandbox):
    # The teacher's walk at 360 px: the privacy page's only way back to the course was its last line, under the
    # notice, the students' table and the course's buttons, some two thousand pixels down.
    sandbox.launch("student")
    launch_as(browser, tool, "Amara Okafor")
    click_through(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    browser.set_window_size(*PHONE)
    for who, name, back in (("teacher", "Amara Okafor", "← Course page"),
                            ("student", "Priya Shah", "← Back to your learning plan")):
        url = launch_as(browser, tool, name)  # each from the LMS: one person's launch ends another's in a browser
        browser.get(url + "privacy/")
        link = browser.find_element(By.XPATH, f"//a[normalize-space()='{back}']")
        assert browser.execute_script("return arguments[0].getBoundingClientRect().bottom", link) <= PHONE[1], who
        click_through(browser, f"//a[normalize-space()='{back}']")
        assert browser.current_url == url, who


_OUT_OF_SIGHT = """
const wrap = document.querySelector("[role=region].table-wrap");
const right = Math.min(wrap.getBoundingClientRect().right, document.documentElement.clientWidth);
return [...wrap.querySelectorAll("tbody a")].filter((a) => a.getBoundingClientRect().right > right + 1)
  .map((a) => a.textContent.trim());
"""


def test_each_students_delete_and_download_links_are_in_sight_at_phone_width(browser, tool, sandbox):
    # The teacher's walk at 360 px: the students' table was wider than the screen, and its Delete column sat off
    # to the right inside the table's own scroll box, reached only by scrolling it sideways.
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    url = launch_as(browser, tool, "Amara Okafor")
    click_through(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    browser.set_window_size(360, 740)
    browser.get(url + "privacy/")
    wrap = browser.find_element(By.CSS_SELECTOR, "[role=region].table-wrap")
    assert browser.execute_script("return arguments[0].scrollWidth - arguments[0].clientWidth", wrap) <= 0
    assert browser.execute_script(_OUT_OF_SIGHT) == []
    deletes = browser.find_elements(By.XPATH, "//a[starts-with(normalize-space(), 'Delete data')]")
    assert len(deletes) == 3
    # Each card names what its links are for, as the table's head did.
    labels = browser.execute_script("""return [...document.querySelectorAll("tbody tr:first-child td")].map(
      (td) => getComputedStyle(td, "::before").content);""")
    assert labels[:2] == ['"Status: "', '"Download: "'], labels
    # At desktop width it is the table it was, its column heads in sight.
    browser.set_window_size(*DESKTOP)
    browser.get(url + "privacy/")
    assert browser.find_element(By.XPATH, "//th[normalize-space()='Delete']").is_displayed()
    assert browser.execute_script(_OUT_OF_SIGHT) == []
