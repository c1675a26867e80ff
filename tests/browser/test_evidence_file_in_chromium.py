"""In real Chromium with axe-core: a student attaches a photo as evidence and the teacher sees it in the review
queue, described by the student's words, and accepts it; a recording plays in the queue and seeks (byte ranges);
each page passes axe at desktop and 360 px."""

from __future__ import annotations

import io
import math
import struct
import wave

import pytest
from selenium.webdriver.common.by import By

from tests.web.test_evidence_files import tiny_png

from .accessibility import PageAudit, launch_as, wait

pytestmark = pytest.mark.browser

TEACHER, STUDENT = "Amara Okafor", "Priya Shah"


def _click(browser, xpath: str) -> None:
    """Click a link or button and wait for the next page."""
    browser.execute_script("window.__leaving = true")
    browser.find_element(By.XPATH, xpath).click()
    wait(browser, lambda b: b.execute_script("return !window.__leaving && document.readyState === 'complete'"))


def _student_opens_the_evidence_form(browser, tool) -> None:
    """The teacher sets up the demo course; then the student opens "Show what I know"."""
    launch_as(browser, tool, TEACHER)
    _click(browser, "//button[contains(normalize-space(), 'Use the demo pack')]")
    launch_as(browser, tool, STUDENT)
    _click(browser, "//a[contains(normalize-space(), 'Show what I know')]")


def test_student_attaches_a_photo_and_the_teacher_sees_it_described_and_accepts_it(browser, tool, tmp_path):
    audit = PageAudit(browser)
    _student_opens_the_evidence_form(browser, tool)
    audit.check("the evidence form with a file field")
    photo = tmp_path / "fraction wall.png"
    photo.write_bytes(tiny_png(40, 30))
    browser.find_element(By.ID, "evidence-kind-project").click()  # the form chooses no way for the student
    browser.find_element(By.ID, "evidence-file").send_keys(str(photo))
    browser.find_element(By.ID, "evidence-text").send_keys("A fraction wall I drew: 1/2 is the same as 2/4")
    _click(browser, "//button[contains(normalize-space(), 'Send to my teacher')]")
    assert "Sent to your teacher" in browser.page_source
    assert browser.find_element(By.PARTIAL_LINK_TEXT, "Attached file: fraction wall.png")
    audit.check("the student's evidence with an attached photo")

    launch_as(browser, tool, TEACHER)
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


def spoken_sound(seconds: int = 30, rate: int = 22050) -> bytes:
    """Return a real WAV recording (a 440 Hz tone, 16-bit mono) a browser's player decodes."""
    frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
                      for n in range(seconds * rate))
    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(2)
        recording.setframerate(rate)
        recording.writeframes(frames)
    return out.getvalue()


def test_a_recording_plays_in_the_teachers_queue_and_seeks_to_its_middle(browser, tool, tmp_path):
    audit = PageAudit(browser)
    _student_opens_the_evidence_form(browser, tool)
    recording = tmp_path / "explaining fractions.wav"
    recording.write_bytes(spoken_sound())
    browser.find_element(By.ID, "evidence-kind-recording").click()
    browser.find_element(By.ID, "evidence-file").send_keys(str(recording))
    _click(browser, "//button[contains(normalize-space(), 'Send to my teacher')]")
    assert "Sent to your teacher" in browser.page_source

    launch_as(browser, tool, TEACHER)
    _click(browser, "//a[contains(normalize-space(), 'Evidence to review')]")
    player = browser.find_element(By.CSS_SELECTOR, ".evidence-media audio[controls]")
    assert player.get_attribute("aria-label").startswith(f"Recording {STUDENT} sent for ")
    link = browser.find_element(By.CSS_SELECTOR, ".evidence-media figcaption a[download]")
    assert link.text.startswith("Download explaining fractions.wav")
    audit.check("the evidence queue with a recording")
    # Nothing is fetched until the teacher plays it (preload="none"); then the player reads the file's length
    # and seeks into the middle, which it can only do when the tool answers byte ranges.
    assert browser.execute_script("return arguments[0].readyState", player) == 0
    browser.execute_script("arguments[0].preload = 'metadata'; arguments[0].load()", player)
    wait(browser, lambda b: b.execute_script("return arguments[0].readyState >= 1", player))
    assert round(browser.execute_script("return arguments[0].duration", player)) == 30
    browser.execute_script("""
      const player = arguments[0];
      player.addEventListener("seeked", () => { window.__seeked = player.currentTime; }, {once: true});
      player.currentTime = 20;""", player)
    wait(browser, lambda b: b.execute_script("return window.__seeked !== undefined"))
    assert abs(browser.execute_script("return window.__seeked") - 20) < 0.5
    seekable = browser.execute_script(
        "const s = arguments[0].seekable; return s.length ? [s.start(0), s.end(s.length - 1)] : []", player)
    assert seekable and seekable[0] == 0 and round(seekable[1]) == 30
    audit.assert_clean()
