"""Pages no launch's home page leads to, with PostgreSQL gone at each of their queries in turn: a 503, never a 500.

test_every_page_in_an_outage.py walks what a teacher's and a student's course launch link to. A Data Privacy
Launch (the LMS's privacy controls: its notice, the user's data, the deletion form) and the mixed review (offered
only once a mastered skill is due again) are reached from elsewhere; so is a teacher's Deep Linking picker.
"""

from __future__ import annotations

from tests.faults.test_every_page_in_an_outage import _pages_and_forms, cut_at_every_query
from tests.faults.test_redis_outage import wait_for
from tests.support import SandboxActions, open_in_launch
from tests.web.test_mixed_review import _plan, _two_skills_mastered_and_due
from tests.web.test_privacy import _privacy_launch


def test_privacy_launch_review_and_picker_pages_meeting_a_database_outage_answer_503(make_tool, postgres):
    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    student, _, _ = _two_skills_mastered_and_due(sandbox, tool)
    review = open_in_launch(_plan(student), tool, "/review")
    assert "Start the mixed review" in review.text
    privacy = _privacy_launch(sandbox, "teacher", "student-1")
    assert privacy.status_code == 200, privacy.text[:300]
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    assert picker.status_code == 200, picker.text[:300]
    sent, wrong = cut_at_every_query(tool, postgres, (review, privacy, picker))
    assert sent > 50, sent
    assert wrong == []
    assert wait_for(lambda: sandbox.launch("student").status_code == 200, 15) < 10


def test_forms_shown_only_once_students_asked_for_help_were_assigned_or_sent_work_answer_503_in_an_outage(
        make_tool, postgres):
    # The walk's course has an answer and a goal: the needs-help page then has no "Mark as helped" button, the
    # assignments page no "Remove", and no evidence waits to be accepted or returned.
    from lti_tool.extensions import db
    from lti_tool.models.base import utcnow
    from lti_tool.services import assignments, evidence, help
    from lti_tool.services.content import course_pack
    from lti_tool.services.permissions import Actor
    from tests.races.support import demo_course

    tool = make_tool(DATABASE_URL=postgres.url)
    sandbox = SandboxActions(tool)
    course_id, platform_id, student, teacher = demo_course(sandbox, tool)
    with tool.app.app_context():
        pack = course_pack(course_id)
        skill = pack.skills[0].id
        help.ask_teacher(course_id, student, skill, pack, now=utcnow())
        assignments.assign_skills(course_id, platform_id, skill_ids=[skill], person_ids=[student], due_on=None,
                                  actor=Actor(teacher, "instructor"), now=utcnow())
        evidence.submit_evidence(course_id, student, skill_id=skill, kind="project", url="", text="My poster",
                                 now=utcnow())
        db.session.remove()
    page = sandbox.launch("teacher")
    _, forms = _pages_and_forms(page, tool)
    for form in ("/class/needs-help/helped", "/remove", "/accept", "/return"):
        assert any(url.endswith(form) for url in forms), (form, sorted(forms))

    sent, wrong = cut_at_every_query(tool, postgres, (page,))

    assert sent > 100, sent
    assert wrong == []
    assert wait_for(lambda: sandbox.launch("student").status_code == 200, 15) < 10
