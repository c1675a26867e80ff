"""Run axe-core (vendored and pinned in tests/browser/axe/, MPL-2.0) inside the page Chromium shows."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

AXE_JS = Path(os.environ.get("PATHWAYS_AXE_JS", Path(__file__).parent / "axe" / "axe.min.js"))
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
# Best-practice rules outside the WCAG tags that are run too and count whatever their impact: two landmarks with
# the same name (several "Skill map" navs) cannot be told apart in a screen reader's landmark list (WCAG 1.3.1, 2.4.1).
EXTRA_RULES = ("landmark-unique",)
# WCAG 1.4.10 Reflow: content at 320 CSS px wide (1280 px at 400% zoom) without scrolling sideways.
PHONE = (320, 740)
DESKTOP = (1200, 900)

_RUN_AXE = """
const done = arguments[arguments.length - 1];
const extra = Object.fromEntries(arguments[1].map((id) => [id, {enabled: true}]));
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, rules: extra, resultTypes: ["violations"]}).then(
  (results) => done(results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((n) => n.target.join(" ") + (n.failureSummary ? " (" + n.failureSummary.split("\\n").slice(1).join(" ").trim() + ")" : "")),
  }))),
  (error) => done([{id: "axe-error", impact: "critical", help: String(error), targets: []}]));
"""


@cache
def axe_source() -> str:
    """Return axe.min.js, failing the test (never skipping it) when the vendored copy is missing."""
    if not AXE_JS.is_file():
        pytest.fail(f"axe-core is missing ({AXE_JS}); it ships in the repository (tests/browser/axe/README.md)")
    return AXE_JS.read_text(encoding="utf-8")


def serious_violations(driver) -> list[str]:
    """Run axe on the current page and describe each serious or critical WCAG 2.1 A/AA violation (and EXTRA_RULES')."""
    driver.set_script_timeout(60)
    driver.execute_script(axe_source())
    violations = driver.execute_async_script(_RUN_AXE, WCAG_TAGS, list(EXTRA_RULES))
    return [f"{v['id']} ({v['impact']}): {v['help']}; at " + "; ".join(v["targets"][:5])
            for v in violations if v["impact"] in BLOCKING or v["id"] in EXTRA_RULES]


def horizontal_overflow(driver) -> int:
    """Return how many CSS pixels the page is wider than the window (0 when it fits)."""
    return driver.execute_script("return Math.max(0, document.documentElement.scrollWidth - window.innerWidth)")


def overflowing_elements(driver) -> list[str]:
    """Name the elements that reach past the right edge (outside any scrolling region), to explain an overflow."""
    return driver.execute_script("""
      const width = window.innerWidth, found = [];
      for (const el of document.body.querySelectorAll("*")) {
        if (el.closest(".table-wrap, [style*=overflow]") && !el.matches(".table-wrap")) continue;
        const box = el.getBoundingClientRect();
        if (box.right > width + 1 && box.width > 0) {
          found.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                     (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "") +
                     " right=" + Math.round(box.right));
        }
      }
      return found.slice(0, 8);
    """)


class PageAudit:
    """Check each page a person reaches with axe at desktop and at phone width (PHONE), and for sideways scrolling."""

    def __init__(self, driver) -> None:
        self.driver = driver
        self.problems: list[str] = []
        self.pages: list[str] = []
        axe_source()  # fail at once, before the walk, if axe is not installed

    def check(self, what: str) -> None:
        """Audit the page now shown, remembering what it is for the report."""
        driver = self.driver
        self.pages.append(what)
        where = f"{what} [{driver.title} · {driver.current_url.split('/c/')[-1]}]"
        for problem in serious_violations(driver):
            self.problems.append(f"{where}: {problem}")
        driver.set_window_size(*PHONE)
        try:
            # Narrow screens bring their own failures: tables that scroll, controls that wrap.
            for problem in serious_violations(driver):
                self.problems.append(f"{where} at {PHONE[0]} px: {problem}")
            overflow = horizontal_overflow(driver)
            if overflow:
                self.problems.append(f"{where}: at {PHONE[0]} px the page scrolls sideways by {overflow}px; "
                                     + ", ".join(overflowing_elements(driver)))
        finally:
            driver.set_window_size(*DESKTOP)

    def assert_clean(self) -> None:
        assert not self.problems, (f"{len(self.problems)} accessibility problem(s) on {len(self.pages)} pages:\n"
                                   + "\n".join(self.problems))


def mark_page(browser) -> None:
    """Mark the current page, so `left_page` can tell when the browser has moved on to the next one."""
    # A mark on the old window object, rather than staleness_of, which chromedriver can trip over mid-navigation.
    browser.execute_script("window.__leaving = true")


def left_page(browser) -> bool:
    """True once the marked page is gone and the next one has loaded."""
    return browser.execute_script("return !window.__leaving && document.readyState === 'complete'")


# Chromium can answer a query made while the page is being replaced with "Node with given id does not belong to
# the document" (a WebDriverException, not a stale element): for a wait, that only means "not yet".
_NOT_YET = (StaleElementReferenceException, WebDriverException)


def wait(browser, condition, seconds: float = 20):
    """Wait until the condition holds, treating Chromium's mid-navigation errors as "not yet"."""
    return WebDriverWait(browser, seconds, ignored_exceptions=_NOT_YET).until(condition)


def click_through(browser, xpath: str) -> None:
    """Click the link or button at xpath and wait until the page it leads to has loaded."""
    mark_page(browser)
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, left_page)


def launch_as(browser, tool, name: str) -> str:
    """Launch Pathways from the sandbox LMS course page as someone; return the page they land on."""
    browser.get(tool.url("/"))
    browser.find_element(By.LINK_TEXT, f"Launch Pathways as {name}").click()
    wait(browser, ec.url_contains("/c/"))
    return browser.current_url


def teacher_opens_the_demo_course(browser, tool, teacher: str) -> None:
    """Launch from the sandbox LMS as the teacher, give the course the demo pack and read the roster from the LMS."""
    launch_as(browser, tool, teacher)
    click_through(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    click_through(browser, "//button[contains(normalize-space(), 'Update roster from the course')]")
