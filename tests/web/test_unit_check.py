"""A student who has started most of a unit gets a unit check on the plan: a short mix of served questions across
the unit's skills, marked as the unit check, that can move several skills at once; a summary says what moved."""

from __future__ import annotations

import html
import json
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.services.test_reviews import _levels, _practise
from tests.support import served_answer, submit_form, upload_file
from tests.web.test_mixed_review import _follow, _plan

FRACTIONS = "unit-fractions"
SERVED = re.compile(r'name="served" value="(\d+)"')


def _pack():
    return load_pack(demo_pack_data())


def _unit_skills(pack) -> list[str]:
    return list(next(u for u in pack.units if u.id == FRACTIONS).skills)


def _records(tool):
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import ItemResponse, MasteryEvent, ServedItem

        served = [(s.id, s.skill_id, s.answered_at is not None) for s in db.session.scalars(
            db.select(ServedItem).where(ServedItem.source == "unit_check").order_by(ServedItem.id))]
        responses = [(r.item_id, r.source, r.correct) for r in db.session.scalars(
            db.select(ItemResponse).order_by(ItemResponse.id))]
        events = [(e.skill_id, e.old_level, e.new_level, e.source) for e in db.session.scalars(
            db.select(MasteryEvent).order_by(MasteryEvent.id))]
        return served, responses, events


def _student_who_started(sandbox, tool, how_many: int, *, right: bool = False):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = _pack()
    student = sandbox.launch("student")
    for skill_id in _unit_skills(pack)[:how_many]:
        _practise(student, tool, skill_id, pack, right=right, times=1)
    return student, pack


def _take_unit_check(plan, tool, *, right) -> tuple:
    """Answer every question of the unit check from the plan; `right(n, page)` says whether answer n is right."""
    question = _follow(plan, "Start the unit check on Fractions")
    pages = [question]
    n = 0
    while True:
        feedback = submit_form(question, f"/unit-check/{FRACTIONS}",
                               answer=served_answer(tool, question, right=right(n, question)))
        pages.append(feedback)
        n += 1
        if "Next question" not in feedback.text:
            return _follow(feedback, "See how your unit check went"), pages
        question = _follow(feedback, "Next question")
        pages.append(question)


def test_the_unit_check_is_offered_once_most_of_the_unit_is_started(sandbox, tool):
    student, pack = _student_who_started(sandbox, tool, 2)
    assert "Unit check" not in _plan(student).text  # two of four is not most
    _practise(student, tool, _unit_skills(pack)[2], pack, right=False, times=1)
    plan = _plan(student)
    assert 'data-testid="unit-check-panel"' in plan.text
    assert "Start the unit check on Fractions" in plan.text
    assert "Ratios, rates and percents" not in re.search(r'unit-check-panel.*?</section>', plan.text, re.S).group(0)


def test_a_unit_check_mixes_the_units_skills_and_right_answers_raise_several_skills_at_once(sandbox, tool):
    student, pack = _student_who_started(sandbox, tool, 3)
    skills = _unit_skills(pack)
    levels_before, _, _ = _levels(tool)
    answers_before = len(_records(tool)[1])

    summary, pages = _take_unit_check(_plan(student), tool, right=lambda n, page: True)
    served, responses, events = _records(tool)

    # Served questions, in turns across the unit's skills (not a block per skill), every one answered.
    assert [skill for _, skill, _ in served[:len(skills)]] == [s for s in pack.skill_graph.topological_order()
                                                               if s in skills]
    assert len(served) == 8 and all(answered for _, _, answered in served)
    assert {source for _, source, _ in responses[answers_before:]} == {"unit_check"}
    assert len(responses) - answers_before == len(served)
    assert "Question 1 of 8." in pages[0].text
    assert 'data-testid="unit-check-label">Unit check<' in pages[0].text
    raised = {skill for skill, old, new, source in events if source == "unit_check"}
    assert len(raised) >= 3  # several skills moved in one sitting
    levels_after, _, _ = _levels(tool)
    ranks = ["Not started", "Attempted", "Familiar", "Proficient", "Mastered"]
    for skill_id in raised:
        assert ranks.index(levels_after[skill_id]) > ranks.index(levels_before.get(skill_id, "Not started"))

    text = html.unescape(summary.text)
    assert "How your unit check went" in text
    assert re.search(r"Your level went up on \d skills\.", text)
    for skill_id in skills:
        name = next(s.name for s in pack.skills if s.id == skill_id)
        assert re.search(re.escape(name) + r"</th>\s*<td>2 of 2</td>", text), name
    assert "(up from " in text
    back = _follow(summary, "Back to my plan")
    assert "Your next steps" in back.text


def test_one_miss_in_a_unit_check_does_not_drop_a_level_clearly_shown(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "/content/demo")
    pack = _pack()
    student = sandbox.launch("student")
    skills = _unit_skills(pack)
    first = skills[0]
    _practise(student, tool, first, pack, right=True, times=5)
    assert _levels(tool)[0][first] == "Proficient"
    for skill_id in skills[1:3]:
        _practise(student, tool, skill_id, pack, right=True, times=1)

    def miss_the_first_skill_once(n, page):
        return n != 0  # the first question is on the first skill of the unit

    summary, _ = _take_unit_check(_plan(student), tool, right=miss_the_first_skill_once)
    assert _levels(tool)[0][first] == "Proficient"
    name = next(s.name for s in pack.skills if s.id == first)
    text = html.unescape(summary.text)
    assert re.search(re.escape(name) + r"</th>\s*<td>1 of 2</td>", text)
    assert "Worth more practice" in text and f"Practise {name}" in text


def test_only_the_unit_checks_own_questions_count_and_each_once(sandbox, tool):
    student, pack = _student_who_started(sandbox, tool, 3)
    question = _follow(_plan(student), "Start the unit check on Fractions")
    again = question.http.get(question.url, timeout=30)
    assert SERVED.search(again.text).group(1) == SERVED.search(question.text).group(1)  # a reload: same question
    restart = _follow(_plan(student), "Continue the unit check on Fractions")
    assert SERVED.search(restart.text).group(1) == SERVED.search(question.text).group(1)

    # A practice question posted to the unit check is refused and changes nothing.
    practice = question.http.get(question.url.split("/unit-check/")[0] + f"/practice/{_unit_skills(pack)[0]}",
                                 timeout=30)
    before = _records(tool)
    refused = question.http.post(question.url.split("?")[0], data={
        "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', question.text).group(1),
        "served": SERVED.search(practice.text).group(1), "run": re.search(r'name="run" value="(\d+)"',
                                                                         question.text).group(1),
        "answer": served_answer(tool, practice)}, timeout=30)
    assert "That question was not given to you here" in html.unescape(refused.text)
    assert _records(tool) == before

    submit_form(question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, question, right=False))
    after_first = _records(tool)
    repeat = submit_form(question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, question))
    assert "You had already answered this question" in html.unescape(repeat.text)
    assert _records(tool) == after_first


def test_teachers_and_unknown_units_get_no_unit_check(sandbox, tool):
    student, _ = _student_who_started(sandbox, tool, 3)
    base = student.url.split("?")[0].rstrip("/")
    assert student.http.get(base + "/unit-check/no-such-unit", timeout=30).status_code == 404
    teacher = sandbox.launch("teacher")
    # A teacher is told whose page it is, with the way on to the class view: no unit check is started or shown.
    page = teacher.http.get(teacher.url.split("?")[0].rstrip("/") + f"/unit-check/{FRACTIONS}", timeout=30)
    assert page.status_code == 200 and 'data-testid="student-page"' in page.text
    assert "Question 1 of" not in page.text and 'name="served"' not in page.text


def test_a_student_whose_lms_speaks_spanish_gets_the_unit_check_in_spanish(sandbox, tool):
    _student_who_started(sandbox, tool, 3)
    pending = sandbox.begin("student")
    presentation = {"document_target": "iframe", "locale": "es-MX"}
    plan = pending.post(pending.resign(**{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":
                                          presentation}))
    assert "Empezar la prueba de la unidad Fracciones" in html.unescape(plan.text)  # the pack's Spanish title
    plan.http = pending.http
    question = _follow(plan, "Empezar la prueba de la unidad Fracciones")
    text = html.unescape(question.text)
    assert 'data-testid="unit-check-label">Prueba de unidad<' in text
    assert "Pregunta 1 de 8." in text and "Fracciones" in text


def test_the_unit_check_panel_lists_only_the_skills_the_student_has_started(sandbox, tool):
    # Three of the four Fractions skills begun: the fourth is Not started on the same page, so it is not "started".
    student, pack = _student_who_started(sandbox, tool, 3)
    panel = html.unescape(re.search(r'unit-check-panel.*?</section>', _plan(student).text, re.S).group(0))
    names = {s.id: s.name for s in pack.skills}
    begun, untouched = _unit_skills(pack)[:3], _unit_skills(pack)[3]
    listed = re.search(r"You have started most of this unit: (.*?)\. ", panel).group(1)
    assert listed == ", ".join(names[s] for s in begun)
    assert names[untouched] not in listed


def test_a_hint_shown_on_a_unit_check_question_stays_shown_and_counts_though_the_answer_form_says_none(
        sandbox, tool):
    from lti_tool.extensions import db
    from lti_tool.models import ItemResponse

    student, _ = _student_who_started(sandbox, tool, 3)
    question = _follow(_plan(student), "Start the unit check on Fractions")
    hinted = submit_form(question, f"/unit-check/{FRACTIONS}", show_hint="1")
    assert '<div class="hints"' in hinted.text and '<div class="hints"' not in question.text
    assert '<div class="hints"' in question.http.get(question.url, timeout=30).text  # a reload keeps it
    submit_form(question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, question), hints="0")
    with tool.app.app_context():
        last = db.session.scalars(db.select(ItemResponse).order_by(ItemResponse.id.desc())).first()
        assert (last.source, last.hints_used) == ("unit_check", 1)


def test_a_unit_check_under_way_on_a_unit_mostly_not_started_says_how_much_is_started(sandbox, tool):
    from tests.support import start_in_launch

    student, pack = _student_who_started(sandbox, tool, 1)
    assert "Unit check" not in _plan(student).text  # one of four is not most: no check is offered
    # The student opens the unit's check from its address anyway (a link, a bookmark) and starts it: a sitting is
    # under way, and the plan keeps offering it, with one of the unit's four skills started.
    question = start_in_launch(student, tool, f"/unit-check/{FRACTIONS}")
    assert "Question 1 of 8." in html.unescape(question.text)
    panel = html.unescape(re.search(r'unit-check-panel.*?</section>', _plan(student).text, re.S).group(0))
    assert "Continue the unit check on Fractions" in panel
    assert "started most" not in panel
    assert "So far you have started 1 of its 4 skills." in panel


def test_a_finished_unit_check_is_not_offered_again_until_practice_changes_the_unit(sandbox, tool):
    # The reviewer's walk: straight after finishing the Fractions check, the plan offered "Start the unit check on
    # Fractions" again, with nothing new to check.
    student, pack = _student_who_started(sandbox, tool, 3)
    summary, _ = _take_unit_check(_plan(student), tool, right=lambda n, page: n % 2 == 0)
    assert "Start the unit check on Fractions" not in _follow(summary, "Back to my plan").text
    assert "Start the unit check on Fractions" not in _plan(student).text
    # Practice since the check changes the unit: there is something new to check, and the offer comes back.
    _practise(student, tool, _unit_skills(pack)[0], pack, right=True, times=1)
    assert "Start the unit check on Fractions" in _plan(student).text


def _student_with_a_unit_sharing_skills(sandbox, tool):
    """Add a unit "Fractions meet ratios" sharing two Fractions skills; return a student who began 3 Fractions skills."""
    data = demo_pack_data()
    data["units"].append({"id": "unit-mixed", "title": "Fractions meet ratios",
                          "skills": ["frac-add-sub", "frac-multiply", "ratio-concepts"]})
    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "pack.json", json.dumps(data).encode()).text
    pack = load_pack(data)
    student = sandbox.launch("student")
    for skill_id in _unit_skills(pack)[:3]:
        _practise(student, tool, skill_id, pack, right=False, times=1)
    return student


def test_finishing_one_units_check_leaves_the_check_of_a_unit_sharing_some_of_its_skills_on_offer(sandbox, tool):
    # A second unit shares two Fractions skills and adds one of its own. Finishing the Fractions check marked those
    # two skills "checked", and the plan then hid the other unit's check (all its begun skills were marked) though
    # that check was never taken and would ask its own skill too.
    student = _student_with_a_unit_sharing_skills(sandbox, tool)
    assert "Start the unit check on Fractions meet ratios" in _plan(student).text  # two of its three begun

    summary, _ = _take_unit_check(_plan(student), tool, right=lambda n, page: n % 2 == 0)
    plan = _follow(summary, "Back to my plan")
    assert "Start the unit check on Fractions<" not in plan.text  # its own check is done until something changes
    assert "Start the unit check on Fractions meet ratios" in plan.text


def test_a_unit_check_under_way_is_continued_only_on_its_own_unit_and_a_unit_sharing_skills_starts_its_own(
        sandbox, tool):
    # While the Fractions check was under way, the plan offered "Continue the unit check" on a unit sharing two of
    # its skills too (the open questions were read per skill), and that link went on with the Fractions questions.
    student = _student_with_a_unit_sharing_skills(sandbox, tool)
    fractions = _follow(_plan(student), "Start the unit check on Fractions")
    submit_form(fractions, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, fractions))
    fractions_run = re.search(r"run=(\d+)", fractions.url).group(1)

    plan = html.unescape(_plan(student).text)
    assert "Continue the unit check on Fractions<" in plan
    assert "Continue the unit check on Fractions meet ratios" not in plan
    assert "Start the unit check on Fractions meet ratios<" in plan

    mixed = _follow(_plan(student), "Start the unit check on Fractions meet ratios")
    mixed_run = re.search(r"run=(\d+)", mixed.url).group(1)
    assert "/unit-check/unit-mixed" in mixed.url and mixed_run != fractions_run
    assert "Question 1 of 6." in html.unescape(mixed.text)  # its own three skills, two questions each
    served, _, _ = _records(tool)
    opened = {skill for id_, skill, _ in served if id_ >= int(mixed_run)}
    assert opened == {"frac-add-sub", "frac-multiply", "ratio-concepts"}

    # Now both are under way: each unit goes on with its own sitting.
    plan = _plan(student)
    assert re.search(r"run=" + fractions_run, _follow(plan, "Continue the unit check on Fractions").url)
    assert "Question 2 of 8." in html.unescape(_follow(plan, "Continue the unit check on Fractions").text)
    again = _follow(plan, "Continue the unit check on Fractions meet ratios")
    assert re.search(r"run=" + mixed_run, again.url) and "Question 1 of 6." in html.unescape(again.text)


def _unit_check(page, unit_id: str):
    """Open a unit's check by its address and start it, as its button on the plan does (the plan offers it only
    once begun); the sitting under way needs no start."""
    opened = page.http.get(re.match(r".*/c/[^/?]+", page.url).group(0) + f"/unit-check/{unit_id}", timeout=30)
    opened.http = page.http
    return submit_form(opened, f"/unit-check/{unit_id}/start") if f"/unit-check/{unit_id}/start" in opened.text \
        else opened


def _on_to_skill(question, tool, unit_id: str, skill_id: str):
    """Answer the check's questions (right) until the one on this skill; return its page."""
    while skill_id not in {skill for id_, skill, _ in _records(tool)[0]
                           if id_ == int(SERVED.search(question.text).group(1))}:
        question = _follow(submit_form(question, f"/unit-check/{unit_id}", answer=served_answer(tool, question)),
                           "Next question")
    return question


def test_units_sharing_a_skill_with_one_question_each_serve_their_own_and_no_false_course_changed_notice(sandbox,
                                                                                                         tool):
    # The reviewer's walk: fraction division has one question, and a second unit shares it with ratios. The second
    # unit's check was handed the Fractions sitting's open copy of that question, so its run was the Fractions
    # sitting, its own ratio questions fitted no unit, and opening a check again closed them as "stranded" with
    # "Your teacher changed the course ...", which never happened.
    data = demo_pack_data()
    division = next(a for a in data["activities"] if a["id"] == "practice-frac-divide")
    division["items"] = [item for item in division["items"] if item["id"] == "fd-1"]
    data["units"].append({"id": "unit-share", "title": "Dividing and ratios", "skills": ["frac-divide",
                                                                                         "ratio-concepts"]})
    assert "Imported" in upload_file(sandbox.launch("teacher"), "/teacher/map/import", "pack.json",
                                     json.dumps(data).encode()).text
    student = sandbox.launch("student")
    fractions = _unit_check(student, FRACTIONS)
    shared = _unit_check(student, "unit-share")
    fractions_run, shared_run = (int(re.search(r"run=(\d+)", page.url).group(1)) for page in (fractions, shared))
    # Its own sitting: the one division question served again for it, with two ratio questions.
    assert shared_run > fractions_run and "Question 1 of 3." in html.unescape(shared.text)
    served = _records(tool)[0]
    assert sorted(skill for id_, skill, _ in served if id_ >= shared_run) == [
        "frac-divide", "ratio-concepts", "ratio-concepts"]
    assert [skill for id_, skill, _ in served if id_ < shared_run].count("frac-divide") == 1

    # Opened again, each check goes on with its own sitting, and a unit sharing ratios starts its own: nothing
    # is closed and nobody is told the course changed.
    for unit_id, run in ((FRACTIONS, fractions_run), ("unit-share", shared_run), ("unit-ratios-rates", None)):
        page = _unit_check(student, unit_id)
        assert "Your teacher changed the course" not in html.unescape(page.text)
        assert run is None or f"run={run}" in page.url
    assert not any(answered for _, _, answered in _records(tool)[0])

    # The division question, open in both sittings, earns credit once: answered in the Fractions check first,
    # the other check says so before and after its answer (issue 12: no credit for a repeat in one session).
    question = _on_to_skill(fractions, tool, FRACTIONS, "frac-divide")
    first = html.unescape(submit_form(question, f"/unit-check/{FRACTIONS}", answer=served_answer(tool, question)).text)
    earlier = "You answered this question in the last 12 hours: it is good practice, and it does not change your level."
    assert "That's right!" in first and earlier not in first
    question = _on_to_skill(_unit_check(student, "unit-share"), tool, "unit-share", "frac-divide")
    assert earlier in html.unescape(question.text)
    feedback = submit_form(question, "/unit-check/unit-share", answer=served_answer(tool, question))
    assert "That's right!" in html.unescape(feedback.text) and earlier in html.unescape(feedback.text)


def test_a_unit_check_that_lifts_a_skill_to_mastered_celebrates_it_and_the_summary_says_what_is_next_up(sandbox,
                                                                                                         tool):
    # Issue 12 (teach, not only test): "after Mastered, 'Next up: …' and a moment of celebration". Practice had
    # them; a unit check that reached Mastered said only "(up from Proficient)".
    from tests.support import one_sitting_pack

    teacher = sandbox.launch("teacher")
    assert "Imported" in upload_file(teacher, "/teacher/map/import", "math7.json",
                                     json.dumps(one_sitting_pack()).encode()).text
    pack = _pack()
    student = sandbox.launch("student")
    skills = _unit_skills(pack)
    first = skills[0]
    for _ in range(12):  # right answers until Proficient, short of Mastered
        _practise(student, tool, first, pack, right=True, times=1)
        if _levels(tool)[0][first] == "Proficient":
            break
    assert _levels(tool)[0][first] == "Proficient"
    for skill_id in skills[1:3]:
        _practise(student, tool, skill_id, pack, right=False, times=1)

    summary, pages = _take_unit_check(_plan(student), tool, right=lambda n, page: True)
    # The check asks questions the student has not met (a fixed one seen in this sitting would earn nothing).
    responses = _records(tool)[1]
    practised = {item for item, source, _ in responses if source == "practice"}
    checked = [item for item, source, _ in responses if source == "unit_check"]
    assert len(checked) == 8 and not practised & set(checked)
    assert _levels(tool)[0][first] == "Mastered"
    name = next(s.name for s in pack.skills if s.id == first)
    celebrated = [html.unescape(page.text) for page in pages if "celebrate-heading" in page.text]
    assert len(celebrated) == 1 and f"You mastered {name}!" in celebrated[0]
    assert "Next up:" not in celebrated[0]  # mid-check, the next question is the way on
    text = html.unescape(summary.text)
    assert f"You mastered {name}!" in text and 'role="status"' in text
    next_up = re.search(r'<p class="next-up">Next up: <a class="button" href="[^"]*/practice/([^"]+)">', text)
    assert next_up and next_up.group(1) != first
