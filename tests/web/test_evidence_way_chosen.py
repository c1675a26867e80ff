"""The evidence form starts with the way to show a skill that the student chose on their plan, or with none.

The teacher's walk: a student who read "Explain it in your own words" under a step and followed "Send your work as
evidence" found "A project" already chosen, and sent their explanation as a project without noticing.
"""

from __future__ import annotations

import html
import re

from tests.support import submit_form

from .test_agency import FIRST_SKILL, _open, _setup_course


def _chosen(form) -> list[str]:
    return re.findall(r'<input type="radio" name="kind" value="(\w+)"[^>]*\bchecked\b', form.text)


def _ways(plan) -> str:
    """The first step's "Other ways to show you know it"."""
    return plan.text.split("<summary>Other ways to show you know it</summary>", 1)[1].split("</details>", 1)[0]


def _follow(plan, tool, link_text: str):
    href = html.unescape(re.search(r'<a href="([^"]+)">' + re.escape(link_text), _ways(plan)).group(1))
    opened = plan.http.get(tool.url(href), timeout=30)
    opened.http = plan.http
    return opened


def test_write_it_or_record_it_opens_the_form_with_that_way_chosen_and_the_general_link_chooses_none(sandbox, tool):
    _setup_course(sandbox)
    plan = sandbox.launch("student")
    skill = re.search(r'<a href="[^"]*skill_id=([^"&]+)[^"]*">Send your work as evidence', _ways(plan)).group(1)

    written = _follow(plan, tool, "write it")
    assert _chosen(written) == ["explanation"]
    assert re.search(rf'<option value="{re.escape(skill)}" selected>', written.text)
    assert _chosen(_follow(plan, tool, "record it")) == ["recording"]

    general = _follow(plan, tool, "Send your work as evidence")
    assert _chosen(general) == [] and _chosen(_open(plan, tool, "Show what I know")) == []
    # One group with its question as the legend, and the browser asks for a choice before sending.
    group = re.search(r"<fieldset>\s*<legend>How are you showing it\?</legend>(.*?)</fieldset>", general.text, re.S)
    assert (
        group
        and len(re.findall(r'type="radio" name="kind" value="\w+" id="evidence-kind-\w+" required', group.group(1)))
        == 4
    )


def test_work_sent_without_a_way_chosen_is_refused_with_the_error_on_the_choice_and_the_work_kept(sandbox, tool):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    refused = submit_form(form, "/evidence", skill_id=FIRST_SKILL, text="Halves are twice quarters.")
    assert refused.status_code == 200 and "Sent to your teacher" not in refused.text
    assert re.search(r'id="form-error"[^>]*>[^<]*Choose how you are showing it', refused.text)
    assert '<fieldset aria-invalid="true" aria-describedby="form-error">' in refused.text
    assert ">Halves are twice quarters.</textarea>" in refused.text and _chosen(refused) == []

    sent = submit_form(
        refused, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text="Halves are twice quarters."
    )
    assert "Sent to your teacher" in sent.text
