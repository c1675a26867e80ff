"""Odd or hostile text (NUL bytes, control characters, over-long values) gets a page or a plain refusal."""

from __future__ import annotations

import re

from tests.support import CLAIM, submit_form
from tests.web.test_agency import FIRST_SKILL, _open, _post, _setup_course

NUL = "\x00"


def test_a_launch_with_nul_bytes_in_names_and_titles_lands_with_them_removed(sandbox, tool):
    tool.platform.add_resource_link("odd-link", "Odd link", custom={"pathways_placement": "p" * 100})
    pending = sandbox.begin("teacher", resource_link_id="odd-link")
    page = pending.post(pending.resign(**{
        "name": f"Amara{NUL} Okafor\x07",
        CLAIM + "context": {"id": "math-7", "title": f"Grade 7{NUL} Mathematics" + "x" * 600, "label": f"M{NUL}7"},
        CLAIM + "resource_link": {"id": "odd-link", "title": f"Odd{NUL} link " + "y" * 600},
    }))
    assert page.status_code == 200, page.text[:500]
    assert "Amara Okafor" in page.text
    assert "Grade 7 Mathematics" in page.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Course, Placement

        course = db.session.scalars(db.select(Course)).one()
        assert course.title.startswith("Grade 7 Mathematics") and len(course.title) == 500
        # A placement id longer than Pathways ever issues is not ours: no placement row, no 500.
        assert db.session.scalars(db.select(Placement)).all() == []


def test_a_copied_link_with_a_long_title_gets_a_placement_with_the_title_cut(sandbox, tool):
    tool.platform.add_resource_link("copied", "Copied", custom={"pathways_placement": "copied-1"})
    pending = sandbox.begin("student", resource_link_id="copied")
    page = pending.post(pending.resign(**{CLAIM + "resource_link": {"id": "copied", "title": "T" * 499}}))
    assert page.status_code == 200, page.text[:500]
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Placement

        assert len(db.session.scalars(db.select(Placement)).one().title) == 300


def test_nul_bytes_in_goals_reflections_evidence_and_answers_are_removed_not_a_500(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    added = submit_form(goals, "/goals", title=f"Fractions{NUL} by Friday", why=f"I{NUL} want to")
    assert added.status_code == 200, added.text[:300]
    assert "Fractions by Friday" in added.text
    reflect = _open(student, tool, "/reflect")
    saved = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0=f"Common{NUL} denominators")
    assert saved.status_code == 200, saved.text[:300]
    form = _open(student, tool, "Show what I know")
    sent = submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text=f"1/2{NUL} = 2/4")
    assert sent.status_code == 200, sent.text[:300]
    practise = re.search(r'href="([^"]*/practice/[^"]+)"', student.text).group(1)
    page = student.http.get(tool.url(practise))
    page.http = student.http
    answered = submit_form(page, practise.split("/", 3)[3], answer=f"12{NUL}34")
    assert answered.status_code == 200, answered.text[:300]
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Evidence, ItemResponse, Reflection, StudentGoal

        assert db.session.scalars(db.select(StudentGoal.title)).one() == "Fractions by Friday"
        assert db.session.scalars(db.select(Reflection.text)).one() == "Common denominators"
        assert db.session.scalars(db.select(Evidence.text)).one() == "1/2 = 2/4"
        assert db.session.scalars(db.select(ItemResponse.answer)).one() == "1234"


def test_a_reflection_far_longer_than_any_field_is_refused_with_a_plain_message(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    reflect = _open(student, tool, "/reflect")
    refused = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0="word " * 10_000)
    assert refused.status_code == 422
    assert "far longer than Pathways accepts" in refused.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Reflection

        assert db.session.scalars(db.select(Reflection)).all() == []


def test_a_login_with_a_nul_byte_in_the_issuer_is_refused_plainly(tool):
    import requests

    response = requests.get(tool.url("/lti/login"), params={"iss": f"https://lms{NUL}.example", "login_hint": "x",
                                                             "target_link_uri": tool.url("/lti/launch"),
                                                             "client_id": f"c{NUL}"}, timeout=30)
    assert 400 <= response.status_code < 500, response.status_code


def test_a_roster_with_nul_bytes_or_overlong_ids_syncs_without_those_members(sandbox, tool):
    # A member whose user_id a launch would refuse (control characters, over 255 characters) is left out: cleaned or
    # cut, it could name someone else ("student-5\x01" is not student-5). A NUL in a name is only removed.
    tool.platform.add_user(f"odd{NUL}-student", roles=["Learner"], name=f"Odd{NUL} Student", context_id="math-7")
    tool.platform.add_user("long-" + "x" * 300, roles=["Learner"], name="Long Id", context_id="math-7")
    tool.platform.add_user("nul-name", roles=["Learner"], name=f"Nul{NUL} Name", context_id="math-7")
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    assert page.status_code == 200, page.text[:300]
    assert "Nul Name" in page.text
    assert "Odd Student" not in page.text and "Long Id" not in page.text
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Person

        subs = set(db.session.scalars(db.select(Person.sub)))
        assert "nul-name" in subs
        assert not any(sub.startswith(("odd", "long-")) for sub in subs)


# One past the largest id a row has on PostgreSQL (INTEGER), and one past the largest SQLite's driver can send.
NO_ROW_IDS = (str(2**31), str(2**63))


def test_an_id_longer_than_any_rows_in_an_address_or_a_form_is_a_plain_refusal_not_a_500(sandbox, tool):
    # The routes' <int:…> and the forms' ids (served, run, person_id) took any number: one past what the database's
    # id columns hold reached it as an error, a 500 ("integer out of range" on PostgreSQL; past 2**63 SQLite's
    # driver cannot send it at all).
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    practise = f"/practice/{FIRST_SKILL}"
    for number in NO_ROW_IDS:
        for page, path in ((student, f"{practise}/answered/{number}"), (student, f"/review/answered/{number}"),
                           (student, f"/goals/{number}/edit"), (student, f"/evidence/{number}/file"),
                           (teacher, f"/students/{number}"), (teacher, f"/privacy/students/{number}.json")):
            assert _open(page, tool, path).status_code == 404, (path, number)
        for page, path in ((student, f"/review?run={number}"), (student, f"{practise}?served={number}")):
            assert _open(page, tool, path).status_code < 500, (path, number)
        question = _open(student, tool, practise)
        for fields in ({"served": number, "answer": "1"}, {"served": number, "show_hint": "1"}):
            answered = submit_form(question, practise, **fields)
            assert answered.status_code < 500, (fields, answered.text[:300])
        for path in ("/grades/retry", "/class/needs-help/helped"):
            posted = _post(teacher, tool, path, person_id=number)
            assert posted.status_code < 500, (path, posted.text[:300])


# Text str.isdigit() takes for a number but int() refuses: a superscript two, and more digits than int() reads.
NOT_INT = ("\u00b2", "9" * 5000)


def test_a_student_or_group_number_int_cannot_read_is_a_plain_refusal_not_a_500(sandbox, tool):
    # /class/assignments and /class/groups/print checked their ids with str.isdigit(), which a superscript digit
    # (or a number too long for int()) passes: int() then raised, a 500.
    from tests.web.test_privacy import _ids

    teacher = _setup_course(sandbox)
    sandbox.launch("student")
    _, priya = _ids(tool, "student-1")
    for text in NOT_INT:
        for fields in ({"target": "student", "person_id": text, "skill_id": FIRST_SKILL},
                       # the group's number only names it in the message after the assignment
                       {"target": "group", "person_id": str(priya), "skill_id": FIRST_SKILL, "group": text[:4]}):
            posted = _post(teacher, tool, "/class/assignments", **fields)
            assert posted.status_code < 500, (fields, posted.text[:300])
        for fields in ({f"group_{text}": "1"}, {"group_1": text}):
            printed = _post(teacher, tool, "/class/groups/print", skill=FIRST_SKILL, **fields)
            assert printed.status_code < 500, printed.text[:300]


def test_a_choice_number_int_cannot_read_is_the_editors_own_refusal_not_a_500(sandbox):
    # The question editor reads "2" as the second choice: it checked str.isdigit(), which "²" (and a number too long
    # for int()) passes, and int() raised, a 500 for the teacher.
    from tests.web.test_course_map import _editor, _get, _link

    editor = _editor(sandbox)
    activity = _get(editor, _link(editor, r"/teacher/map/activity\?id=practice-frac-multiply"))
    form = _get(activity, _link(activity, r"/teacher/map/item\?activity=practice-frac-multiply&amp;id=fm-2"))
    for answer in NOT_INT:
        saved = submit_form(form, "/teacher/map/item", prompt="What is three quarters of 20?",
                            choices="15\n12\n16", answer=answer)
        assert saved.status_code < 500, saved.text[:300]
