"""In real Chromium with third-party cookies blocked: Pathways opens inside an LMS page on another site, keeping the
login's state and nonce in the LMS window through postMessage (platform storage), and the student practises there.

The sandbox LMS is served from 127.0.0.2 and the tool from 127.0.0.1: different sites, so everything the tool does
inside the LMS frame is third-party, as it is for a real LMS and tool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from werkzeug.serving import make_server

from lti_tool.learning.coursepack import load_pack
from lti_tool.sandbox import create_sandbox_app
from lti_tool.sandbox.platform import DEMO_STUDENTS
from lti_tool.sandbox_mount import SANDBOX_CLIENT_ID, SANDBOX_DEPLOYMENT_ID
from lti_tool.services.content import demo_pack_data
from lti_tool.services.registry import add_platform
from tests.support import answer_for_served, served_item

from .accessibility import left_page, mark_page, wait
from .conftest import chromium

pytestmark = pytest.mark.browser

PACK = load_pack(demo_pack_data())
STUDENT = DEMO_STUDENTS[0]


@contextmanager
def _lms_on_another_site(make_tool, **settings) -> Iterator[str]:
    """Serve the sandbox LMS alone on 127.0.0.2 and register it with the tool under its new issuer."""
    tool = make_tool(DEFAULT_COURSE_PACK="demo", **settings)
    platform = tool.platform
    server = make_server("127.0.0.2", 0, create_sandbox_app(platform), threaded=True)
    platform.base_url = f"http://127.0.0.2:{server.server_port}"
    with tool.app.app_context():
        add_platform(issuer=platform.issuer, client_id=SANDBOX_CLIENT_ID, deployment_ids=[SANDBOX_DEPLOYMENT_ID],
                     login_url=platform.auth_url, token_url=platform.token_url, jwks_url=platform.jwks_url,
                     name=platform.name)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield platform.base_url
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture
def lms_on_another_site(make_tool) -> Iterator[str]:
    with _lms_on_another_site(make_tool) as lms:
        yield lms


#: A launch token's lifetime short enough to outlast in a test, long enough for a slow machine to load a page.
SHORT_TOKEN_SECONDS = 12


@pytest.fixture
def lms_with_short_tokens(make_tool) -> Iterator[str]:
    with _lms_on_another_site(make_tool, LAUNCH_TOKEN_SECONDS=SHORT_TOKEN_SECONDS) as lms:
        yield lms


@pytest.fixture
def cookie_blocking_browser() -> Iterator:
    """Start headless Chromium that blocks third-party cookies, like Safari and Chrome's tracking protection."""
    with chromium(prefs={"profile.block_third_party_cookies": True, "profile.cookie_controls_mode": 1}) as driver:
        yield driver


def _right_answer(served_id: str) -> str:
    return answer_for_served(None, served_id)


def test_student_whose_browser_blocks_third_party_cookies_opens_pathways_inside_the_lms_and_practises(
    cookie_blocking_browser, lms_on_another_site
):
    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{STUDENT}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))

    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".step a.button")))
    frame_url = browser.execute_script("return location.href")
    assert "/c/" in frame_url and "lt=" in frame_url  # the launch token, not a cookie, carries the launch
    assert not browser.get_cookies()  # the tool could keep nothing in this frame
    browser.find_element(By.CSS_SELECTOR, ".step a.button").click()  # "Practise …"

    form = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "form.practice")))
    item_id = browser.find_element(By.NAME, "served").get_attribute("value")
    answer = _right_answer(item_id)
    if served_item(None, item_id).type == "multiple_choice":
        browser.find_element(By.ID, f"choice-{answer}").click()
    else:
        browser.find_element(By.ID, "answer").send_keys(answer)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "main"), "That's right!"))
    assert "lt=" in browser.find_element(By.LINK_TEXT, "Next question").get_attribute("href")


def test_lms_without_platform_storage_gets_an_offer_to_open_pathways_in_a_new_window(
    cookie_blocking_browser, lms_on_another_site
):
    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{STUDENT}?storage=none")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))

    button = wait(browser, ec.visibility_of_element_located(
        (By.XPATH, "//button[normalize-space()='Open Pathways in a new window']")))
    assert "cannot open inside this page" in browser.find_element(By.ID, "storage-status").text
    lms_window = browser.current_window_handle
    button.click()

    wait(browser, ec.number_of_windows_to_be(2))
    browser.switch_to.window(next(h for h in browser.window_handles if h != lms_window))
    # On its own the tool is first-party: its cookie works, and the student lands on their plan.
    wait(browser, ec.url_contains("/c/"))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".step a.button")))
    assert "lt=" not in browser.current_url


def _practise_one_item(browser) -> None:
    browser.find_element(By.CSS_SELECTOR, ".step a.button").click()  # "Practise …"
    form = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "form.practice")))
    served_id = browser.find_element(By.NAME, "served").get_attribute("value")
    answer = _right_answer(served_id)
    if served_item(None, served_id).type == "multiple_choice":
        browser.find_element(By.ID, f"choice-{answer}").click()
    else:
        browser.find_element(By.ID, "answer").send_keys(answer)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "main"), "That's right!"))


@pytest.mark.parametrize("lms", ["canvas", "brightspace", "blackboard"])
def test_student_answers_inside_an_lms_with_platform_storage_while_third_party_cookies_are_blocked(
    cookie_blocking_browser, lms_on_another_site, lms
):
    """Canvas keeps storage in a forwarding frame, Brightspace in the LMS window (answering only the subjects'
    earlier org.imsglobal.lti.* names), Learn names its frame only in the capabilities reply: the launch finds each
    and the student answers inside the frame."""
    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{STUDENT}?lms={lms}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))

    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".step a.button")))
    assert "lt=" in browser.execute_script("return location.href")
    _practise_one_item(browser)


def test_moodle_without_platform_storage_opens_pathways_in_a_new_window_and_the_student_answers_there(
    cookie_blocking_browser, lms_on_another_site
):
    """Issue 11.1: Moodle (launch container "Embed") offers no storage; the frame cannot keep cookies. The student is
    told so and opens a new window, where the login starts again first-party — never "another browser"."""
    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{STUDENT}?lms=moodle")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))

    button = wait(browser, ec.visibility_of_element_located(
        (By.XPATH, "//button[normalize-space()='Open Pathways in a new window']")))
    assert "not started in this browser" not in browser.find_element(By.TAG_NAME, "body").text
    lms_window = browser.current_window_handle
    button.click()

    wait(browser, ec.number_of_windows_to_be(2))
    browser.switch_to.window(next(h for h in browser.window_handles if h != lms_window))
    wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, ".step a.button")))
    assert "/c/" in browser.current_url and "lt=" not in browser.current_url
    _practise_one_item(browser)


def test_teacher_adds_pathways_through_deep_linking_inside_the_lms_frame_with_cookies_blocked(
    cookie_blocking_browser, lms_on_another_site, make_tool
):
    from lti_tool.sandbox.platform import DEMO_TEACHER

    browser = cookie_blocking_browser
    browser.get(f"{lms_on_another_site}/frame/{DEMO_TEACHER}?lms=canvas&message_type=LtiDeepLinkingRequest")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))

    submit = wait(browser, ec.element_to_be_clickable((By.XPATH, "//button[normalize-space()='Add to course']")))
    submit.click()

    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Added to"))
    assert "My learning plan" in browser.find_element(By.TAG_NAME, "main").text


def _open_reflection_page(browser, lms: str) -> float:
    """Launch the student inside the LMS frame, open the reflection page; return when it was served (monotonic)."""
    browser.get(f"{lms}/frame/{STUDENT}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
    wait(browser, ec.element_to_be_clickable((By.LINK_TEXT, "Reflect"))).click()
    wait(browser, ec.presence_of_element_located((By.ID, "reflect-answer-0")))
    return time.monotonic()


def _form_token(browser) -> str:
    action = browser.find_element(By.CSS_SELECTOR, "form.reflect-form").get_attribute("action")
    return parse_qs(urlsplit(action).query)["lt"][0]


def _wait_until(moment: float) -> None:
    """Wait until time.monotonic() reaches moment (the test waits for time itself to pass, nothing else)."""
    time.sleep(max(0.0, moment - time.monotonic()))


def _token_renewed(browser, old: str) -> str:
    """Wait until the page's script has put a new launch token in the form; return it."""
    return wait(browser, lambda b: (token := _form_token(b)) != old and token, seconds=30)


def _wait_until_refused(browser, token: str) -> str:
    """Wait until the tool refuses this launch token as run out (asked from outside the browser); return it."""
    parts = urlsplit(browser.execute_script("return location.href"))
    page = f"{parts.scheme}://{parts.netloc}{parts.path}"
    wait(browser, lambda _: requests.get(page, params={"lt": token}, timeout=30).status_code == 403,
         seconds=SHORT_TOKEN_SECONDS + 30)
    return token


def test_student_typing_longer_than_the_launch_token_lives_keeps_the_tab_and_saves(
    cookie_blocking_browser, lms_with_short_tokens
):
    """A cookie-less tab in use renews its token as the student types: a reflection written over longer than the
    token lives is saved, not met with "your time ran out"."""
    browser = cookie_blocking_browser
    served = _open_reflection_page(browser, lms_with_short_tokens)
    first = _form_token(browser)
    text = browser.find_element(By.ID, "reflect-answer-0")
    text.send_keys("Fractions were hard ")

    # Past a third of the token's life, typing renews it and the form carries the new one.
    _wait_until(served + SHORT_TOKEN_SECONDS / 3 + 1)
    text.send_keys("at first, ")
    second = _token_renewed(browser, first)
    # The page's first token runs out meanwhile; the student keeps typing and the tab keeps going.
    _wait_until_refused(browser, first)
    text.send_keys("then I drew them.")
    _token_renewed(browser, second)
    browser.find_element(By.XPATH, "//button[normalize-space()='Save my reflection']").click()

    # Saved: the page lists it.
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ".reflection-list"),
                                                   "Fractions were hard at first, then I drew them."))


def test_a_tab_left_idle_longer_than_the_launch_token_lives_still_runs_out(
    cookie_blocking_browser, lms_with_short_tokens
):
    browser = cookie_blocking_browser
    _open_reflection_page(browser, lms_with_short_tokens)
    browser.find_element(By.ID, "reflect-answer-0").send_keys("Fractions were hard")

    # Nobody touches the page until the token its form carries (renewed by that typing or not) has run out.
    token = None
    while token != _form_token(browser):  # again if a renewal the typing asked for came in meanwhile
        token = _wait_until_refused(browser, _form_token(browser))
    browser.find_element(By.XPATH, "//button[normalize-space()='Save my reflection']").click()

    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Your time in Pathways ran out"))
    assert browser.find_element(By.ID, "typed-text").get_attribute("value") == "Fractions were hard"



def test_student_in_the_lms_frame_with_cookies_blocked_is_told_a_reflection_is_saved_once(
    cookie_blocking_browser, lms_on_another_site
):
    """The confirmation a session cookie would carry reaches the frame that keeps none; a reload does not repeat it."""
    browser = cookie_blocking_browser
    _open_reflection_page(browser, lms_on_another_site)
    browser.find_element(By.ID, "reflect-answer-0").send_keys("Fractions were hard")
    browser.find_element(By.XPATH, "//button[normalize-space()='Save my reflection']").click()

    # In the status region (js/flashes.js moves it there), so a screen reader announces it.
    wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#flashes[role=status]"),
                                                   "Thanks: your reflection is saved."))
    assert not browser.get_cookies()
    mark_page(browser)
    browser.execute_script("location.reload()")  # the frame's page, not the LMS's
    wait(browser, left_page)
    assert "Fractions were hard" in browser.find_element(By.CSS_SELECTOR, ".reflection-list").text
    assert not browser.find_elements(By.ID, "flashes")
    assert "your reflection is saved" not in browser.find_element(By.TAG_NAME, "main").text


def test_a_link_to_another_site_on_the_teachers_page_never_carries_away_the_renewed_launch_token(
    cookie_blocking_browser, lms_with_short_tokens
):
    """A student sends a link whose query holds "lt=" as evidence; the teacher reviews it in a cookie-less frame and
    types a comment long enough for the page to renew its launch token. The new token goes into the page's own
    links and forms, never into the student's link: clicking it would hand the student the teacher's launch (the
    class's pages and exports, for as long as the token lives)."""
    from lti_tool.sandbox.platform import DEMO_TEACHER

    browser = cookie_blocking_browser
    planted = "https://attacker.example/work?lt=x"
    browser.get(f"{lms_with_short_tokens}/frame/{STUDENT}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
    wait(browser, ec.element_to_be_clickable((By.LINK_TEXT, "Show what I know"))).click()
    wait(browser, ec.presence_of_element_located((By.ID, "evidence-url"))).send_keys(planted)
    browser.find_element(By.ID, "evidence-kind-project").click()
    browser.find_element(By.XPATH, "//button[normalize-space()='Send to my teacher']").click()
    wait(browser, ec.text_to_be_present_in_element((By.TAG_NAME, "main"), "Sent to your teacher"))

    browser.switch_to.default_content()
    browser.get(f"{lms_with_short_tokens}/frame/{DEMO_TEACHER}")
    wait(browser, ec.frame_to_be_available_and_switch_to_it((By.ID, "tool-frame")))
    wait(browser, ec.element_to_be_clickable((By.PARTIAL_LINK_TEXT, "Evidence to review"))).click()
    comment = wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, "textarea[id^=accept-comment-]")))
    served = time.monotonic()
    accept = comment.find_element(By.XPATH, "./ancestor::form")
    first = parse_qs(urlsplit(accept.get_attribute("action")).query)["lt"][0]

    _wait_until(served + SHORT_TOKEN_SECONDS / 3 + 1)
    comment.send_keys("Clear working")
    fresh = wait(browser, lambda _: (token := parse_qs(urlsplit(accept.get_attribute("action")).query)["lt"][0])
                 != first and token, seconds=30)
    assert fresh in browser.find_element(By.PARTIAL_LINK_TEXT, "Course page").get_attribute("href")
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "attacker.example").get_attribute("href") == planted
