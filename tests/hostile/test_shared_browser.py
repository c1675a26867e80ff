"""A shared computer (a classroom cart, a family laptop): the next person's launch ends the browser's hold on the
launches of whoever used it before, so their pages, still in the browser's history, no longer open."""

from __future__ import annotations

import re

from tests.support import CLAIM, open_in_launch, parse_form, submit_form, teacher_with_demo_pack


def test_a_students_launch_in_the_teachers_browser_no_longer_opens_the_teachers_pages(sandbox, tool):
    teacher = teacher_with_demo_pack(sandbox)
    sandbox.launch("student")  # Priya, on her own computer
    class_view = open_in_launch(teacher, tool, "/class")
    assert class_view.status_code == 200 and "Priya Shah" in class_view.text

    # The teacher's last change, whose answer (a redirect) the browser never followed: its message waits unread.
    action, fields = parse_form(re.search(r"<form[^>]*/class/override.*?</form>", class_view.text, re.S).group(0),
                                class_view.url)
    priya = _person_id(tool, "student-1")
    left = teacher.http.post(action, data={**fields, "person_id": str(priya), "skill_id": "frac-divide",
                                           "level": "Familiar", "note": "Seen in class"},
                             allow_redirects=False, timeout=30)
    assert left.status_code == 303

    # The teacher signs out of the LMS (not of Pathways); a student signs in on the same computer and launches.
    student = sandbox.launch("student-2", http=teacher.http)
    assert student.status_code == 200
    assert "Level set to" not in student.text

    # The teacher's class view, from the history: refused, and its open form changes nothing.
    again = teacher.http.get(class_view.url, timeout=30)
    assert again.status_code == 404 and "did not make" in again.text
    refused = submit_form(class_view, "/class/override", person_id=str(priya), skill_id="frac-equivalent",
                          level="Mastered", note="from the history")
    assert refused.status_code == 404
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import SkillMastery

        changed = db.session.scalars(db.select(SkillMastery.skill_id).where(SkillMastery.person_id == priya)).all()
        assert "frac-equivalent" not in changed
    # The student's own launch works in that browser, and a form token from the teacher's page is no token there.
    goals = open_in_launch(student, tool, "/goals")
    assert goals.status_code == 200
    action, fields = parse_form(re.search(r'<form[^>]*method="post"[^>]*/goals".*?</form>', goals.text, re.S)
                                .group(0), goals.url)
    forged = {**fields, "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', class_view.text).group(1),
              "title": "Planted", "why": "x"}
    assert student.http.post(action, data=forged, timeout=30).status_code == 400
    assert submit_form(goals, "/goals", title="My own goal", why="mine").status_code == 200


def test_a_students_launch_after_a_classmates_no_longer_opens_the_classmates_pages(sandbox, tool):
    teacher_with_demo_pack(sandbox)
    first = sandbox.launch("student")
    goals = open_in_launch(first, tool, "/goals")
    assert goals.status_code == 200

    sandbox.launch("student-2", http=first.http)

    assert first.http.get(goals.url, timeout=30).status_code == 404
    assert submit_form(goals, "/goals", title="Written into a classmate's plan", why="x").status_code == 404


def test_the_same_persons_new_launch_keeps_their_other_tabs(sandbox, tool):
    teacher = teacher_with_demo_pack(sandbox)
    class_view = open_in_launch(teacher, tool, "/class")
    sandbox.launch("teacher", http=teacher.http)
    assert teacher.http.get(class_view.url, timeout=30).status_code == 200


def _person_id(tool, sub: str) -> int:
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Person

        return db.session.scalar(db.select(Person.id).where(Person.sub == sub))


def test_what_a_student_typed_before_a_hint_stays_out_of_the_address_the_history_keeps(sandbox, tool):
    # The page after "Show a hint" is a GET of its own, and its address carried what the student typed (answer=):
    # a shared computer's history (and its address bar's suggestions) showed it to whoever used it next.
    from tests.web.test_page_defects import _practice_with_hints

    page, skill_id, _ = _practice_with_hints(sandbox, tool, "text")
    hinted = submit_form(page, f"/practice/{skill_id}", answer="Priya thinks 3/4", show_hint="1")
    assert hinted.status_code == 200 and [r.status_code for r in hinted.history] == [303]
    assert "Priya" not in hinted.url and "answer=" not in hinted.url and "served=" in hinted.url
    assert 'value="Priya thinks 3/4"' in hinted.text  # still shown back, as the launch kept it
    assert 'value="Priya thinks 3/4"' in hinted.http.get(hinted.url, timeout=30).text  # and on a reload

    # The next person on the computer opens that address from the history in a launch of their own: nothing typed.
    sandbox.launch("student-2", http=hinted.http)
    other = hinted.http.get(hinted.url, timeout=30)
    assert "Priya thinks" not in other.text
    # An address an older release wrote, answer= and all, shows no answer it carries.
    mine = sandbox.launch("student", http=hinted.http)
    served = re.search(r"served=(\d+)", hinted.url).group(1)
    forged = open_in_launch(mine, tool, f"/practice/{skill_id}?served={served}&answer=Typed+by+someone")
    assert "Typed by someone" not in forged.text


def test_a_launch_that_opens_nothing_by_someone_else_still_ends_the_hold_on_the_students_pages(sandbox, tool):
    # A parent signs in to the LMS on the family laptop the student used and opens the course's Pathways link: their
    # Mentor role has no pages ("not available for your role"), so no launch session was made, and the browser went
    # on holding the student's launches: Back or the history opened the student's plan and goals for the parent.
    teacher_with_demo_pack(sandbox)
    student = sandbox.launch("student")
    goals = open_in_launch(student, tool, "/goals")
    assert goals.status_code == 200
    sandbox.platform.add_user("parent-1", roles=["Mentor"], name="Maya Shah", context_id="math-7")

    parent = sandbox.launch("parent-1", http=student.http)
    assert parent.status_code == 200 and "not available for your role" in parent.text

    assert student.http.get(goals.url, timeout=30).status_code == 404
    assert submit_form(goals, "/goals", title="Written by the parent", why="x").status_code == 404
    # The student's own launch that opens nothing (a message Pathways does not handle) lets go of nothing of theirs.
    again = sandbox.launch("student", http=student.http)
    goals = open_in_launch(again, tool, "/goals")
    pending = sandbox.begin("student", http=student.http)
    claims = {CLAIM + "message_type": "LtiSubmissionReviewRequest", CLAIM + "for_user": {"user_id": "student-1"}}
    ags = dict(pending.claims.get("https://purl.imsglobal.org/spec/lti-ags/claim/endpoint") or {})
    if ags:
        ags.setdefault("lineitem", ags.get("lineitems", tool.url("/")) + "/1")
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = ags
    assert pending.post(pending.resign(**claims)).status_code == 400
    assert student.http.get(goals.url, timeout=30).status_code == 200
