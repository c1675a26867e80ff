"""Pages that refuse or run out lead on, say the next step first, and tell a teacher plainly what cannot be done.

A "no access" page without the LMS page to go back to was a dead end; the "time ran out" page put its next step
below the explanation and showed a student an error code; the course page hid the gradebook check without a word when
the LMS gave no permission to read grades; and saving the grading scheme joined two sentences translated apart.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import requests

from lti_tool.models.base import utcnow
from tests.support import (
    AGS_CLAIM,
    CLAIM,
    LAUNCH_PRESENTATION,
    class_override,
    demo_first_goal_due,
    launch_with_presentation,
    open_in_launch,
    parse_form,
    submit_form,
)

WIZARD = "http://example.com/roles#Wizard"


def _refused_for_role(sandbox, http: requests.Session) -> requests.Response:
    """Launch as the student with a role Pathways does not open for, from an LMS link that names no return URL."""
    pending = sandbox.begin("student", http=http)
    return pending.post(
        pending.resign(**{CLAIM + "roles": [WIZARD], LAUNCH_PRESENTATION: {"document_target": "iframe"}})
    )


def test_a_role_refused_without_a_return_url_leads_back_to_the_pathways_page_the_browser_holds(sandbox, tool):
    browser = requests.Session()
    plan = launch_with_presentation(sandbox, http=browser)  # the student's own launch, in this browser
    home = re.search(r"/c/[^/]+/", plan.url).group(0)

    refused = _refused_for_role(sandbox, browser)

    assert "not available for your role" in refused.text and 'data-testid="lms-back"' not in refused.text
    link = re.search(r'<a class="button" href="([^"]+)" data-testid="no-access-home">([^<]+)</a>', refused.text)
    assert link, refused.text[:3000]
    assert link.group(1) == home and "Back to your Pathways page" in unescape(link.group(2))
    assert "My learning plan" in browser.get(tool.url(link.group(1)), timeout=30).text


def test_a_role_refused_in_a_browser_holding_no_launch_of_theirs_says_how_to_open_pathways_again(sandbox, tool):
    shared = requests.Session()
    launch_with_presentation(sandbox, as_="teacher", http=shared)  # someone else used this computer before

    for browser in (requests.Session(), shared):
        refused = _refused_for_role(sandbox, browser)
        assert 'data-testid="no-access-home"' not in refused.text and "/c/" not in refused.text
        way = re.search(r'<p data-testid="no-access-way-on">(.*?)</p>', refused.text, re.S)
        assert way and "open Pathways from there" in way.group(1), refused.text[:3000]


def _expire(tool) -> None:
    from lti_tool.extensions import db
    from lti_tool.models import LaunchSession

    with tool.app.app_context():
        db.session.execute(db.update(LaunchSession).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()


def _main(page: requests.Response) -> str:
    return page.text.split("<main", 1)[1].split("</main>", 1)[0]


def test_the_time_ran_out_page_says_what_to_do_first_and_shows_a_student_no_code(sandbox, tool):
    student = launch_with_presentation(sandbox, locale="en")  # no return_url
    _expire(tool)
    late = _main(open_in_launch(student, tool, "/"))
    heading, after = late.split("</h1>", 1)
    assert "ran out" in heading
    first = re.search(r"<p[^>]*>(.*?)</p>", after, re.S)
    assert 'data-testid="expired-way-back"' in first.group(0) and "open Pathways from there" in first.group(1)
    assert "Error code" not in late and 'data-testid="error-code"' not in late
    assert "tell your teacher." in late


def test_the_time_ran_out_page_puts_the_way_back_first_and_gives_a_teacher_the_code_last(sandbox, tool):
    teacher = launch_with_presentation(sandbox, as_="teacher", locale="en", return_url=tool.platform.url("/"))
    _expire(tool)
    late = _main(open_in_launch(teacher, tool, "/"))
    after = late.split("</h1>", 1)[1]
    assert re.search(r"<p[^>]*>(.*?)</p>", after, re.S).group(0).find('data-testid="expired-back"') > 0
    assert after.index("expired-back") < after.index("Pathways stops working")
    assert after.rstrip().endswith('<p class="fine-print" data-testid="error-code">Error code: 403</p>')
    assert "tell your teacher" not in late and "LMS administrator" in late


def _launch_granting_no_result_reading(sandbox, as_: str, link: str) -> requests.Response:
    """Launch from a graded link whose AGS claim leaves out result.readonly (the LMS lets Pathways send, not read)."""
    pending = sandbox.begin(as_, resource_link_id=link)
    ags = pending.claims[AGS_CLAIM]
    scopes = [s for s in ags["scope"] if not s.endswith("result.readonly")]
    return pending.post(pending.resign(**{AGS_CLAIM: dict(ags, scope=scopes)}))


def test_without_permission_to_read_grades_the_course_page_says_why_it_cannot_check_them(sandbox, tool):
    tool.platform.add_activity("act-9", "Pathways: ratios", accept_grades=True)
    submit_form(sandbox.launch("teacher"), "/content/demo")
    demo_first_goal_due(tool)
    student, teacher = (_launch_granting_no_result_reading(sandbox, who, "act-9") for who in ("student", "teacher"))
    assert "My learning plan" in student.text
    class_override(open_in_launch(teacher, tool, "/class"), level="Mastered", note="Checked in class")

    home = open_in_launch(teacher, tool, "/")

    assert "Grades sent to the LMS" in home.text
    assert "/grades/compare/" not in home.text and "against the LMS</a>" not in home.text
    why = re.search(r'<p class="muted" data-testid="no-grade-check">(.*?)</p>', home.text, re.S)
    assert why and "has not given Pathways permission to read grades" in unescape(why.group(1)), home.text[-4000:]


def test_saving_the_grading_scheme_and_what_it_resent_are_two_messages_each_in_one_piece(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields, timeout=30)
    sandbox.launch("student")
    class_override(open_in_launch(teacher, tool, "/class"), level="Proficient", note="Showed it in class")

    saved = submit_form(open_in_launch(teacher, tool, "/teacher/grading"), "/teacher/grading", scheme="four_point")

    shown = [unescape(m) for m in re.findall(r'<p class="notice">(.*?)</p>', saved.text, re.S)]
    assert shown[0] == "Grading settings saved.", shown
    assert shown[1].startswith("Grades recalculated: 1 updated score is on its way to the LMS."), shown
