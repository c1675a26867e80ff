"""Walk every page and action of the tool with identities from another platform, another deployment, another
course and another student, aimed at one student's data: each answer is a 4xx or shows none of it, and the
data is still there afterwards (issue: isolation of every platform, deployment, course and student)."""

from __future__ import annotations

import re

import pytest
import requests
from werkzeug.routing import Rule

from lti_tool.web.course import TEACHER_PAGE_FOR
from tests.support import SandboxActions, add_sandbox_deployment, parse_form, start_registered_lms, submit_form

MARKERS = ("VICTIM-GOAL-7Q", "VICTIM-EVIDENCE-7Q", "VICTIM-REFLECTION-7Q", "VICTIM-FILE-7Q", "VICTIM-ANSWER-7Q",
           "Priya Shah")
OBJECT_PARAMS = {"person_id", "goal_id", "evidence_id", "placement_id", "assignment_id", "served_id"}


def _launch_path(page) -> str:
    return re.search(r"/c/[^/]+/", page.url).group(0)


def _csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def victim(sandbox, tool):
    """Priya (student-1) in Grade 7 Mathematics, deployment 1, with a goal, evidence with a file, a reflection
    and a grade."""
    teacher = sandbox.launch("teacher")
    submit_form(teacher, "/content/demo")
    picker = sandbox.launch("teacher", message_type="LtiDeepLinkingRequest")
    returning = submit_form(picker, "/deep-link")
    action, fields = parse_form(returning.text, returning.url)
    returning.http.post(action, data=fields)
    student = sandbox.launch("student")
    base = tool.url(_launch_path(student))
    goals = student.http.get(base + "goals")
    goals.http = student.http
    submit_form(goals, "/goals", title="VICTIM-GOAL-7Q", why="mine")
    evidence = student.http.get(base + "evidence")
    evidence.http = student.http
    action, fields = parse_form(re.search(r"<form[^>]*multipart.*?</form>", evidence.text, re.S).group(0),
                                evidence.url)
    sent = student.http.post(action, data={**fields, "kind": "explanation", "text": "VICTIM-EVIDENCE-7Q"},
                             files={"file": ("victim.pdf", b"%PDF-1.4\nVICTIM-FILE-7Q\n%%EOF\n")})
    assert "Sent to your teacher" in sent.text
    reflect = student.http.get(base + "reflect")
    reflect.http = student.http
    submit_form(reflect, "/reflect", answer_0="VICTIM-REFLECTION-7Q")
    practice = student.http.get(base + "practice/frac-equivalent")
    practice.http = student.http
    assert "Not quite." in submit_form(practice, "/practice/frac-equivalent", answer="VICTIM-ANSWER-7Q").text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Person

        person_id = db.session.scalar(db.select(Person.id).where(Person.sub == "student-1"))
    # The teacher assigns Priya a skill.
    assigning = teacher.http.get(tool.url(_launch_path(teacher)) + "class/assignments")
    assigning.http = teacher.http
    assert submit_form(assigning, "/class/assignments", skill_id="frac-equivalent", target="student",
                       person_id=str(person_id)).status_code == 200
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Evidence, Placement, ServedItem, SkillAssignment, StudentGoal

        ids = {
            "served_id": db.session.scalar(db.select(ServedItem.id).where(ServedItem.answered_at.is_not(None))),
            "person_id": person_id,
            "assignment_id": db.session.scalar(db.select(SkillAssignment.id)),
            "goal_id": db.session.scalar(db.select(StudentGoal.id)),
            "evidence_id": db.session.scalar(db.select(Evidence.id)),
            "placement_id": db.session.scalar(db.select(Placement.id)),
        }
    assert all(ids.values()), ids
    return {"ids": ids, "launch_path": _launch_path(student), "student": student}


def _other_platform(tool):
    """A second LMS on its own server, registered with the tool, with a course of the same context id."""
    return start_registered_lms(tool, "Other LMS", "other-client", "other-dep")


class _Via:
    def __init__(self, platform):
        self.platform = platform


def _attackers(sandbox, tool):
    """Browsers of: another student, a teacher of another course, another deployment, another platform."""
    attackers = {"another student": sandbox.launch("student-2")}
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    attackers["teacher of another course"] = sandbox.launch("teacher", context_id="science-8")
    other, server = _other_platform(tool)
    attackers["teacher on another platform"] = SandboxActions(_Via(other)).launch("teacher")
    # Another deployment of the same platform, same context id "math-7": a different course for Pathways.
    add_sandbox_deployment(tool, "deployment-2")
    attackers["teacher in another deployment"] = sandbox.launch("teacher")
    for name, page in attackers.items():
        assert page.status_code == 200, (name, page.text[:300])
    return attackers, server


def _url_for(rule: Rule, launch_path: str, ids: dict[str, int]) -> str | None:
    values = {"skill_id": "equivalent-fractions", "kind": "skill", "fmt": "json", "unit_id": "unit-fractions",
              "unknown": "no-such-page", **ids}
    path = rule.rule.replace("/c/<launch_id>/", launch_path)
    for name in rule.arguments - {"launch_id"}:
        path = re.sub(r"<[^>]*\b" + name + ">", str(values[name]), path)
    return None if "<" in path else path


def test_no_identity_from_elsewhere_can_read_or_change_a_students_data(sandbox, tool, victim):
    attackers, server = _attackers(sandbox, tool)
    rules = [r for r in tool.app.url_map.iter_rules() if r.rule.startswith("/c/<launch_id>/")]
    assert len(rules) > 40
    problems = []
    requests_made = 0
    for who, page in attackers.items():
        own_path = _launch_path(page)
        token = _csrf(page)
        for rule in rules:
            targets_object = bool(rule.arguments & OBJECT_PARAMS)
            for launch_path, label in ((own_path, "own launch"), (victim["launch_path"], "victim's launch")):
                if launch_path == own_path and not targets_object and "POST" in rule.methods:
                    continue  # the attacker acting on their own course: nothing of the victim's is named
                url = _url_for(rule, launch_path, victim["ids"])
                if url is None:
                    continue
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    if method == "POST":
                        response = page.http.post(tool.url(url), data={"csrf_token": token, "confirm": "on",
                                                                       "title": "x", "level": "Mastered",
                                                                       "note": "x", "comment": "x"})
                    else:
                        response = page.http.get(tool.url(url))
                    requests_made += 1
                    leaked = [m for m in MARKERS if m in response.text]
                    expect_refusal = targets_object or launch_path != own_path
                    refused = response.status_code in (400, 403, 404)
                    # A teacher opening a student's page in their own launch is sent on without the object being
                    # read (web/course.py require_student): the same "students' page", or the same teacher page of
                    # their own course, whatever the id names; the markers above still show any leak.
                    refused = refused or (method == "GET" and launch_path == own_path and (
                        'data-testid="student-page"' in response.text
                        or (rule.endpoint in TEACHER_PAGE_FOR and bool(response.history)
                            and response.url.startswith(tool.url(own_path)))))
                    if leaked or (expect_refusal and not refused) or response.status_code >= 500:
                        problems.append(f"{who} ({label}) {method} {rule.rule} -> {response.status_code} {leaked}")
    server.shutdown()
    assert not problems, "\n".join(problems)
    assert requests_made > 4 * 60  # every attacker walked every route, with its own launch and the victim's

    # Everything of the victim's is still there and unchanged.
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Evidence, Person, Reflection, SkillAssignment, StudentGoal

        assert db.session.scalar(db.select(StudentGoal.title)) == "VICTIM-GOAL-7Q"
        assert db.session.get(SkillAssignment, victim["ids"]["assignment_id"]) is not None
        evidence = db.session.scalars(db.select(Evidence)).one()
        assert evidence.status == "pending" and evidence.text == "VICTIM-EVIDENCE-7Q"
        assert evidence.file_type == "application/pdf"
        assert db.session.scalar(db.select(db.func.count()).select_from(Reflection)) >= 1
        assert db.session.get(Person, victim["ids"]["person_id"]).name == "Priya Shah"
    own = victim["student"].http.get(tool.url(victim["launch_path"] + "goals"))
    assert "VICTIM-GOAL-7Q" in own.text  # the victim still sees it, so the markers are detectable
    own_file = victim["student"].http.get(tool.url(victim["launch_path"] + f"evidence/{victim['ids']['evidence_id']}/file"))
    assert "VICTIM-FILE-7Q" in own_file.text
    teacher = sandbox.launch("teacher")  # deployment 2 is now the sandbox's; its teacher sees none of it
    assert not [m for m in MARKERS if m in teacher.text]


def test_a_launch_id_alone_opens_nothing_in_another_browser(victim, tool):
    stranger = requests.Session()
    for suffix in ("", "goals", "evidence", "privacy/my-data.json", "class", f"students/{victim['ids']['person_id']}",
                   f"evidence/{victim['ids']['evidence_id']}/file"):
        response = stranger.get(tool.url(victim["launch_path"] + suffix))
        assert response.status_code == 404, suffix
        assert not [m for m in MARKERS if m in response.text]
