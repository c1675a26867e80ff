"""The teacher assigns skills; assigned skills come first in a student's next steps until they are Proficient."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from tests.support import submit_form

#: Far down the skill map: without the assignment it is never among a new student's next steps.
UNIT_RATE = "unit-rate"
LAUNCH_PRESENTATION = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"
PERCENT = "percent"


def _get(page, tool, path: str):
    response = page.http.get(tool.url(re.search(r"/c/[^/]+", page.url).group(0) + path), timeout=30)
    response.http = page.http
    return response


def _students(page) -> dict[str, str]:
    select = re.search(r'<select name="person_id"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    return {html.unescape(name): pid for pid, name in re.findall(r'value="(\d+)">([^<]+)<', select)}


def _steps(plan) -> list[tuple[str, str]]:
    """Return each next step as (skill name, the assigned note or "")."""
    listed = re.search(r'<ol class="steps">(.*?)</ol>', plan.text, re.S).group(1)
    steps = []
    for step in re.findall(r'<li class="step[^"]*">(.*?)</li>\s*(?=<li class="step|$)', listed, re.S):
        name = re.search(r"<h3>([^<]+)<span", step).group(1).strip()
        note = re.search(r'<p class="assigned-by-teacher">(.*?)</p>', step, re.S)
        steps.append((html.unescape(name), re.sub(r"<[^>]+>", "", note.group(1)) if note else ""))
    return steps


def _class_of_three(sandbox, tool):
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    for who in ("student", "student-2", "student-3"):
        sandbox.launch(who)
    return teacher, _get(teacher, tool, "/class/assignments")


def test_a_skill_assigned_to_one_student_with_a_due_date_comes_first_on_their_plan_only(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)
    assert "Current assignments" in page.text and "Nothing is assigned right now." in page.text
    priya = _students(page)["Priya Shah"]
    done = submit_form(page, "/class/assignments", target="student", person_id=priya, skill_id=UNIT_RATE,
                       due_on="2031-12-18")
    assert "Assigned to 1 student." in done.text
    assert re.search(r"<th scope=\"row\">Priya Shah</th><td>Unit rates</td>\s*<td><time datetime=\"2031-12-18\">",
                     done.text)

    steps = _steps(sandbox.launch("student"))
    assert steps[0] == ("Unit rates", "Assigned by your teacher · Due by 18 December 2031")
    assert [name for name, note in steps if note] == ["Unit rates"]
    assert "Unit rates" not in [name for name, _ in _steps(sandbox.launch("student-2"))]
    # The teacher's view of her plan, as she sees it, shows the same mark.
    assert _steps(_get(teacher, tool, f"/students/{priya}"))[0] == ("Unit rates",
                                                                    "Assigned by your teacher · Due by 2031-12-18")

    pending = sandbox.begin("student")
    spanish = pending.post(pending.resign(**{LAUNCH_PRESENTATION: {"document_target": "iframe", "locale": "es-MX"}}))
    assert _steps(spanish)[0][1] == "Asignada por tu profe · Para el 18 de diciembre de 2031"
    assert "Tu profe te asignó esta habilidad." in spanish.text


def test_a_class_assignment_reaches_every_enrolled_student(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)
    assert "Goes to the 3 students enrolled now; students who join later are not assigned it." in page.text
    done = submit_form(page, "/class/assignments", target="class", skill_id=[UNIT_RATE, PERCENT])
    assert "Assigned to 3 students." in done.text
    for who in ("student", "student-2", "student-3"):
        steps = _steps(sandbox.launch(who))
        assert {name for name, _ in steps[:2]} == {"Unit rates", "Percent of a quantity"}, (who, steps)
        assert all(note == "Assigned by your teacher" for _, note in steps[:2])
    # Someone who opens Pathways only now was not enrolled when the class was assigned.
    assert not any(note for _, note in _steps(sandbox.launch("student-4")))


def test_a_learner_and_a_content_developer_cannot_assign(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)
    priya = _students(page)["Priya Shah"]
    student = sandbox.launch("student")
    token = re.search(r'name="csrf_token" value="([^"]+)"', student.text).group(1)
    refused = student.http.post(tool.url(re.search(r"/c/[^/]+", student.url).group(0) + "/class/assignments"),
                                data={"csrf_token": token, "target": "class", "skill_id": UNIT_RATE}, timeout=30)
    assert refused.status_code == 403

    tool.platform.add_user("dev", roles=["ContentDeveloper"], name="Dana Dev", context_id="math-7")
    developer = sandbox.launch("dev")
    listing = _get(developer, tool, "/class/assignments")
    assert listing.status_code == 200 and 'name="target"' not in listing.text  # no form for a role that cannot
    token = re.search(r'name="csrf_token" value="([^"]+)"', developer.text).group(1)
    refused = developer.http.post(tool.url(re.search(r"/c/[^/]+", developer.url).group(0) + "/class/assignments"),
                                  data={"csrf_token": token, "target": "student", "person_id": priya,
                                        "skill_id": UNIT_RATE}, timeout=30)
    assert refused.status_code == 403 and "does not allow you to review evidence, set mastery and assign skills" in refused.text
    assert not any(note for _, note in _steps(sandbox.launch("student")))


def test_a_student_of_another_course_is_refused(sandbox, tool):
    tool.platform.add_course("science-8", "Grade 8 Science", "SCI8")
    tool.platform.add_user("teacher", roles=["Instructor"], name="Amara Okafor", context_id="science-8")
    tool.platform.add_user("student-9", roles=["Learner"], name="Only In Science", context_id="science-8")
    tool.platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    sandbox.launch("student-9", context_id="science-8")
    science = _get(submit_form(sandbox.launch("teacher", context_id="science-8"), "/content/demo"), tool,
                   "/class/assignments")
    outsider = _students(science)["Only In Science"]

    teacher, page = _class_of_three(sandbox, tool)
    refused = submit_form(page, "/class/assignments", target="student", person_id=outsider, skill_id=UNIT_RATE)
    assert refused.status_code == 404 and "There is no such student in this course." in refused.text
    # A mix of this course's student and the outsider assigns nobody.
    priya = _students(page)["Priya Shah"]
    refused = submit_form(page, "/class/assignments", target="group", person_id=[priya, outsider],
                          skill_id=UNIT_RATE)
    assert refused.status_code == 404
    with tool.app.app_context():
        from lti_tool.extensions import db

        assert db.session.scalar(sa.text("SELECT count(*) FROM skill_assignment")) == 0


def test_the_assignment_leaves_the_top_once_the_student_is_proficient_and_the_teacher_can_remove_it(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)
    priya = _students(page)["Priya Shah"]
    submit_form(page, "/class/assignments", target="student", person_id=priya, skill_id=[UNIT_RATE, PERCENT])
    assert [name for name, note in _steps(sandbox.launch("student")) if note] == ["Unit rates",
                                                                                  "Percent of a quantity"]

    view = _get(teacher, tool, "/class")
    assert "/class/assignments" in view.text  # linked from the class view
    done = submit_form(view, "/class/override", person_id=priya, skill_id=UNIT_RATE, level="Proficient",
                       note="Showed it on the board")
    assert "Level set to Proficient" in done.text
    steps = _steps(sandbox.launch("student"))
    assert steps[0] == ("Percent of a quantity", "Assigned by your teacher")
    assert ("Unit rates", "Assigned by your teacher") not in steps
    listing = _get(teacher, tool, "/class/assignments")
    assert "(done: no longer at the top of their plan)" in listing.text

    # Removing asks for a tick first (WCAG 3.3.4); without it nothing changes.
    action = f"/class/assignments/{_assignment_id(listing, 'Percent of a quantity')}/remove"
    kept = submit_form(listing, action)
    assert "Tick the box to confirm that this assignment should be removed." in kept.text
    assert "<title>Error: " in kept.text
    assert "Percent of a quantity" in kept.text.split('id="current-heading"')[1]
    removed = submit_form(listing, action, confirm="yes")
    assert "Assignment removed." in removed.text and "Percent of a quantity" not in removed.text.split(
        "Current assignments")[1]
    assert not any(note for _, note in _steps(sandbox.launch("student")))


def test_a_suggested_group_is_assigned_its_skills_and_the_teacher_stays_on_the_same_groups_for_the_next(sandbox, tool):
    # The teacher's walk: after a group was assigned, the page was the Assignments page; to assign the next group
    # they had to find Groups again and tick the same skills and kind of groups again.
    teacher, page = _class_of_three(sandbox, tool)
    groups = _get(teacher, tool, f"/class/groups?skill={UNIT_RATE}&kind=mixed")
    assert "Assign Unit rates to group 1" in groups.text
    members = re.search(r'<li class="group">(.*?)</ul>\s*</li>', groups.text, re.S).group(1)
    expected = sorted(html.unescape(n).strip() for n in re.findall(r"<li>([^<]+)<span", members))
    form = re.search(r'<form[^>]*class="group-assign[^"]*">(.*?)</form>', groups.text, re.S).group(1)
    # submit_form keeps one value per name; a browser sends every member's hidden person_id.
    members_ids = re.findall(r'name="person_id" value="(\d+)"', form)
    done = submit_form(groups, "/class/assignments", person_id=members_ids, due_on="2031-12-20")
    assert done.status_code == 200 and "/class/groups?" in done.url
    assert re.search(r"<h1>Groups for the next lesson</h1>", done.text)
    assert f"Group 1: assigned to {len(expected)} student" in done.text
    assert re.search(rf'value="{UNIT_RATE}" id="skill-\d+" checked', done.text)
    assert 'value="mixed" id="kind-mixed" checked' in done.text
    assert "Assign Unit rates to group 1" in done.text  # the next group's button is right there
    listed = _get(teacher, tool, "/class/assignments")
    assigned = re.findall(r'<th scope="row">([^<]+)</th><td>Unit rates</td>', listed.text)
    assert sorted(html.unescape(n) for n in assigned) == expected


def test_the_course_page_leads_to_assignments_as_it_leads_to_groups(sandbox, tool):
    # The teacher's walk: the course page had buttons for the class view, needs help and groups, but Assignments
    # was reached only through the class view's or the Groups page's links.
    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    link = re.search(r'<a class="button[^"]*" href="([^"]+/class/assignments)">Assignments</a>', teacher.text)
    assert link, "no Assignments button on the course page"
    opened = teacher.http.get(tool.url(link.group(1)), timeout=30)
    assert opened.status_code == 200 and "<h1>Assignments</h1>" in opened.text


def test_a_group_assignment_refused_comes_back_to_the_same_groups_with_the_message(sandbox, tool):
    # The teacher's walk: a date the server refuses (the Groups page open since yesterday, so its date picker still
    # allowed yesterday) landed on the Assignments page, which has no group and none of the group's students: the
    # teacher had to find Groups again and choose the skills and the kind of groups again.
    teacher, page = _class_of_three(sandbox, tool)
    groups = _get(teacher, tool, f"/class/groups?skill={UNIT_RATE}&kind=mixed")
    refused = submit_form(groups, "/class/assignments", due_on="2020-01-31")
    assert refused.status_code == 200 and "/class/groups?" in refused.url
    assert re.search(r"<h1>Groups for the next lesson</h1>", refused.text)
    assert "Choose a due date from today on: that date has already passed." in refused.text
    assert re.search(rf'value="{UNIT_RATE}" id="skill-\d+" checked', refused.text)
    assert 'value="mixed" id="kind-mixed" checked' in refused.text
    assert "Assign Unit rates to group 1" in refused.text
    with tool.app.app_context():
        from lti_tool.extensions import db

        assert db.session.scalar(sa.text("SELECT count(*) FROM skill_assignment")) == 0


def test_a_due_date_already_passed_is_refused_and_nothing_is_assigned(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)
    priya = _students(page)["Priya Shah"]
    done = submit_form(page, "/class/assignments", target="student", person_id=priya, skill_id=UNIT_RATE,
                       due_on="2020-01-31")
    assert "Choose a due date from today on: that date has already passed." in done.text
    assert "Nothing is assigned right now." in done.text
    assert [name for name, note in _steps(sandbox.launch("student")) if note] == []


def _assignment_id(listing, skill_name: str) -> str:
    row = re.search(rf"<td>{re.escape(skill_name)}</td>.*?/class/assignments/(\d+)/remove", listing.text, re.S)
    return row.group(1)


def test_a_form_sent_without_choosing_a_student_assigns_no_one_and_comes_back_as_typed(sandbox, tool):
    # The teacher's walk: the student menu started at the first child (Liam O'Connor), so a teacher who ticked a
    # skill, set a date and pressed Assign without looking assigned it to him. Now no student is chosen until the
    # teacher chooses one, and the form comes back with what was typed and the menu marked as the problem.
    teacher, page = _class_of_three(sandbox, tool)
    menu = re.search(r'<select name="person_id" id="assign-person"[^>]*>(.*?)</select>', page.text, re.S).group(1)
    assert menu.startswith('<option value="">Choose a student</option>') and "selected" not in menu

    # Exactly what a browser sends when the menu is left alone (submit_form posts the first option).
    refused = submit_form(page, "/class/assignments", skill_id=UNIT_RATE, due_on="2031-12-18")

    assert refused.status_code == 422
    assert '<p class="notice notice-error" id="form-error">Choose who to assign it to.</p>' in refused.text
    assert re.search(r'<select name="person_id" id="assign-person" aria-invalid="true" '
                     r'aria-describedby="form-error">', refused.text)
    assert re.search(rf'value="{UNIT_RATE}" id="assign-skill-\d+" checked', refused.text)
    assert 'id="assign-due" min="' in refused.text and 'value="2031-12-18"' in refused.text
    assert "Nothing is assigned right now." in refused.text
    for who in ("student", "student-2", "student-3"):
        assert not any(note for _, note in _steps(sandbox.launch(who))), who

    # Choosing her in the form that came back assigns it, with the date typed before.
    priya = _students(refused)["Priya Shah"]
    done = submit_form(refused, "/class/assignments", person_id=priya)
    assert "Assigned to 1 student." in done.text
    assert re.search(r"<th scope=\"row\">Priya Shah</th><td>Unit rates</td>\s*<td><time datetime=\"2031-12-18\">",
                     done.text)


def test_a_refused_class_assignment_comes_back_with_the_whole_class_still_chosen(sandbox, tool):
    teacher, page = _class_of_three(sandbox, tool)

    refused = submit_form(page, "/class/assignments", target="class", due_on="2031-12-18")

    assert refused.status_code == 422 and "Choose at least one skill to assign." in refused.text
    assert 'id="assign-to-class" aria-describedby="assign-class-help" checked' in refused.text
    assert re.search(r'id="assign-skill-1" aria-invalid="true" aria-describedby="form-error">', refused.text)
