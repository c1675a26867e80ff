"""Student agency: own goals, pacing, reflections, and evidence the teacher reviews into the gradebook."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

from lti_tool.jobs.worker import drain
from lti_tool.learning.coursepack import load_pack
from lti_tool.sandbox.platform import DEMO_TEACHER
from lti_tool.services.content import demo_pack_data
from tests.support import class_override, demo_first_goal_due, parse_form, submit_form

PACK = load_pack(demo_pack_data())
FIRST_SKILL = PACK.skill_graph.topological_order()[0]
FIRST_NAME = PACK.skill_graph[FIRST_SKILL].name
DL = "LtiDeepLinkingRequest"


def _open(page, tool, link_text_or_path):
    """Follow a link on the page (by its text) or open a path inside the page's launch, like a browser."""
    base = re.search(r"/c/[^/]+/", page.url).group(0)
    match = re.search(r'href="([^"]+)"[^>]*>\s*' + re.escape(link_text_or_path), page.text)
    url = tool.url(match.group(1)) if match else tool.url(base + link_text_or_path.lstrip("/"))
    opened = page.http.get(url, timeout=30)
    opened.http = page.http
    return opened


def _post(page, tool, path, **fields):
    """POST to a path inside the page's launch with the page's CSRF token (a hand-made request)."""
    base = re.search(r"/c/[^/]+/", page.url).group(0)
    _, form = parse_form(page.text, page.url)
    response = page.http.post(tool.url(base + path), data={"csrf_token": form["csrf_token"], **fields}, timeout=30)
    response.http = page.http
    return response


def _setup_course(sandbox):
    teacher = sandbox.launch("teacher")
    page = submit_form(teacher, "/content/demo")
    assert "The course now uses" in page.text
    return page


def _add_gradebook_placement(sandbox):
    picker = sandbox.launch("teacher", message_type=DL)
    returning = submit_form(picker, "/deep-link", title_plan="Maths pathway", points_plan="10")
    action, fields = parse_form(returning.text, returning.url)
    assert returning.http.post(action, data=fields).status_code == 200


def _db(tool):
    from lti_tool.extensions import db

    return db


def _outbox_progress(tool, sub):
    from lti_tool import models

    with tool.app.app_context():
        db = _db(tool)
        person = db.session.scalars(db.select(models.Person).where(models.Person.sub == sub)).one()
        rows = db.session.scalars(
            db.select(models.ScoreOutbox).where(models.ScoreOutbox.person_id == person.id)
            .order_by(models.ScoreOutbox.score_timestamp, models.ScoreOutbox.id)
        ).all()
        return [(row.grading_progress, row.status) for row in rows]


def _lms_progress(tool):
    """Return the gradingProgress of every score the sandbox gradebook received, oldest first."""
    return [score["gradingProgress"] for scores in tool.platform.scores.values() for score in scores]


def test_student_adds_edits_and_completes_a_goal_that_no_other_student_can_see_or_touch(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    assert goals.status_code == 200
    assert "Goals from your teacher" in goals.text and "Fluent with fractions" in goals.text

    added = submit_form(goals, "/goals", title="Fractions by the test", why="I want to feel sure",
                        by_date="2031-05-20", skill_ids=[FIRST_SKILL])
    assert "Goal added: Fractions by the test" in added.text
    assert "I want to feel sure" in added.text and "20 May 2031" in added.text
    goal_id = re.search(r'/goals/(\d+)/edit', added.text).group(1)

    edit = _open(added, tool, f"goals/{goal_id}/edit")
    assert 'value="Fractions by the test"' in edit.text
    saved = submit_form(edit, f"/goals/{goal_id}", title="Master equivalent fractions", why="Next unit needs it",
                        by_date="2031-06-01", skill_ids=[FIRST_SKILL])
    assert "Goal saved: Master equivalent fractions" in saved.text
    assert "Fractions by the test" not in saved.text

    with tool.app.app_context():
        from lti_tool import models
        from lti_tool.services.goals import student_plan_goals

        row = _db(tool).session.get(models.StudentGoal, int(goal_id))
        (planned,) = student_plan_goals(row.course_id, row.person_id)
        assert planned.title == "Master equivalent fractions" and planned.skill_ids == (FIRST_SKILL,)
        assert planned.set_by == "student"

    done = submit_form(saved, f"/goals/{goal_id}/done")
    assert "is done" in done.text
    assert re.search(r"Master equivalent fractions</strong>\s*<span class=\"level level-4\">Done", done.text)

    other = _open(sandbox.launch("student-2"), tool, "My goals")
    assert "Master equivalent fractions" not in other.text
    assert _open(other, tool, f"goals/{goal_id}/edit").status_code == 404
    assert _post(other, tool, f"goals/{goal_id}", title="Hijacked").status_code == 404
    assert _post(other, tool, f"goals/{goal_id}/done", done="0").status_code == 404
    assert _post(other, tool, f"goals/{goal_id}/delete").status_code == 404

    mine = _open(done, tool, "goals")
    assert "Master equivalent fractions" in mine.text and "Hijacked" not in mine.text
    # Deleting asks for a tick first (WCAG 3.3.4); a form sent without it deletes nothing.
    kept = submit_form(mine, f"/goals/{goal_id}/delete")
    assert "Tick the box to confirm that this goal should be deleted." in kept.text
    assert f'id="delete-goal-{goal_id}" required aria-invalid="true" aria-describedby="form-error"' in kept.text
    assert "Master equivalent fractions</strong>" in kept.text
    deleted = submit_form(mine, f"/goals/{goal_id}/delete", confirm="yes")
    assert "Goal deleted: Master equivalent fractions" in deleted.text
    assert "You have not set any goals of your own yet." in deleted.text


def test_a_new_goal_dated_before_today_is_refused_and_an_old_goal_past_its_date_can_still_be_edited(sandbox, tool):
    # A slip of the year ("2025" for "2027") made a goal that was "Past its date" the moment it was added.
    _setup_course(sandbox)
    goals = _open(sandbox.launch("student"), tool, "My goals")
    refused = submit_form(goals, "/goals", title="Fractions by the test", why="", by_date="2020-05-20", skill_ids=[])
    assert "Choose a date from today on: that date has already passed." in html.unescape(refused.text)
    assert 'id="goal-date-new" value="2020-05-20" aria-invalid="true"' in refused.text
    assert 'value="Fractions by the test"' in refused.text  # what the student typed is still there
    assert "Goal added" not in refused.text and "Past its date" not in refused.text

    added = submit_form(goals, "/goals", title="Fractions by the test", why="", by_date="2031-05-20", skill_ids=[])
    assert "Goal added: Fractions by the test" in added.text
    goal_id = int(re.search(r"/goals/(\d+)/edit", added.text).group(1))
    with tool.app.app_context():  # time passes: the goal's date is behind it
        from lti_tool import models

        _db(tool).session.get(models.StudentGoal, goal_id).by_date = date(2020, 5, 20)
        _db(tool).session.commit()
    edit = _open(added, tool, f"goals/{goal_id}/edit")
    assert 'value="2020-05-20"' in edit.text and "Past its date" in edit.text
    saved = submit_form(edit, f"/goals/{goal_id}", title="Fractions, all four operations", why="",
                        by_date="2020-05-20", skill_ids=[])
    assert "Goal saved: Fractions, all four operations" in html.unescape(saved.text)
    moved_back = submit_form(_open(saved, tool, f"goals/{goal_id}/edit"), f"/goals/{goal_id}",
                             title="Fractions, all four operations", why="", by_date="2019-01-01", skill_ids=[])
    assert "Choose a date from today on: that date has already passed." in html.unescape(moved_back.text)


def test_a_success_message_is_on_the_page_without_script_next_to_an_empty_status_region_its_script_fills(
        sandbox, tool):
    # A screen reader announces a status region when it changes after load (browser test in
    # tests/browser/test_form_errors_and_controls_in_chromium.py); without script the message is simply shown.
    _setup_course(sandbox)
    goals = _open(sandbox.launch("student"), tool, "My goals")
    added = submit_form(goals, "/goals", title="Fractions by the test", why="", by_date="", skill_ids=[])
    assert '<div class="flashes" id="flashes" role="status" aria-live="polite"></div>' in added.text
    shown = re.search(r'<div class="flashes-shown" id="flashes-shown">(.*?)</div>', added.text, re.S).group(1)
    assert re.fullmatch(r'\s*<p class="notice">Goal added: Fractions by the test</p>\s*', shown)
    script = re.search(r'<script src="([^"]+)" defer></script>', added.text).group(1)
    assert script.startswith("/static/")  # the tool's own address: the CSP's script-src 'self', no nonce needed
    assert "script-src 'self'" in added.headers["Content-Security-Policy"]
    served = added.http.get(tool.url(script), timeout=30)
    assert served.status_code == 200 and "javascript" in served.headers["Content-Type"]
    assert 'getElementById("flashes-shown")' in served.text


def _waiting_note(queue):
    """Return {student name: whether their item says the gradebook shows their grade as waiting for review}."""
    items = re.findall(r'<li class="evidence-item" data-testid="pending-evidence">(.*?)</li>', queue.text, re.S)
    return {html.unescape(re.search(r"<h2>([^<·]+) ·", item).group(1)).strip():
            "waiting for your review" in html.unescape(item) for item in items}


def test_the_evidence_page_says_the_gradebook_waits_only_where_a_score_saying_so_was_sent(sandbox, tool):
    # The reviewer's walk: "While it waits, the gradebook shows their grade as waiting for review" with nothing
    # due yet, so nothing was sent (a score without a number is not sent before a number was).
    _add_gradebook_placement(sandbox)
    teacher = _setup_course(sandbox)
    for who in ("student", "student-2"):
        if who == "student-2":
            demo_first_goal_due(tool)  # now a grade is due: the second student's score goes, saying "waiting"
        form = _open(sandbox.launch(who), tool, "Show what I know")
        submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text="Times top and bottom by 2.")
    queue = _open(teacher, tool, "/teacher/evidence")
    notes = _waiting_note(queue)
    assert len(notes) == 2 and "While it waits, the gradebook shows" not in queue.text
    assert notes.pop("Priya Shah") is False, "nothing was sent for her: no grade is due yet"
    assert list(notes.values()) == [True]


def test_student_sends_evidence_the_teacher_accepts_at_proficient_and_the_gradebook_follows(sandbox, tool):
    _add_gradebook_placement(sandbox)
    teacher = _setup_course(sandbox)
    # The first goal is due, so grades have a number: one without is not sent before a number was (issue 12).
    demo_first_goal_due(tool)
    student = sandbox.launch("student")
    form = _open(student, tool, "Show what I know")
    sent = submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="explanation",
                       text="Multiply top and bottom by the same number: 1/2 = 2/4 = 3/6.")
    assert f"Sent to your teacher: your evidence for {FIRST_NAME}" in sent.text
    assert "Waiting for your teacher" in sent.text
    assert _outbox_progress(tool, "student-1")[-1] == ("PendingManual", "pending")
    drain(tool.app, once=True, max_seconds=30)
    assert _lms_progress(tool) == ["PendingManual"]

    home = teacher.http.get(teacher.url, timeout=30)
    home.http = teacher.http
    assert "Evidence to review (1)" in home.text
    queue = _open(home, tool, "Evidence to review")
    assert "Priya Shah" in queue.text and "1/2 = 2/4 = 3/6" in queue.text
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)
    accepted = submit_form(queue, f"/teacher/evidence/{evidence_id}/accept", level="Proficient",
                           comment="Clear explanation")
    assert f"Accepted Priya Shah’s evidence for {FIRST_NAME} at Proficient" in accepted.text
    assert "Nothing waiting for review." in accepted.text

    plan = student.http.get(student.url, timeout=30)
    assert re.search(re.escape(FIRST_NAME) + r'</th><td><span class="level level-3">Proficient', plan.text)
    mine = _open(form, tool, "evidence")
    assert "Accepted:" in mine.text and "Clear explanation" in mine.text
    # Nothing left for the teacher to review: fully graded.
    assert _outbox_progress(tool, "student-1")[-1] == ("FullyGraded", "pending")
    drain(tool.app, once=True, max_seconds=30)
    assert _lms_progress(tool) == ["PendingManual", "FullyGraded"]

    with tool.app.app_context():
        from lti_tool import models

        db = _db(tool)
        event = db.session.scalars(db.select(models.MasteryEvent)).one()
        teacher_id = db.session.scalars(db.select(models.Person.id).where(models.Person.sub == DEMO_TEACHER)).one()
        assert (event.source, event.new_level, event.skill_id) == ("evidence", "Proficient", FIRST_SKILL)
        assert event.actor_id == teacher_id


def test_evidence_accepted_below_the_students_level_says_the_level_stays_and_mastered_starts_chosen(sandbox, tool):
    # The teacher's walk: Priya was Mastered on the skill; her evidence came with "Proficient" chosen, and accepting
    # it said "Accepted … at Proficient" while her level stayed Mastered on every other page (accepting never lowers
    # a level): the confirmation contradicted the class view.
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    view = _open(teacher, tool, "/class")
    priya = re.search(r'<option value="(\d+)">Priya Shah</option>', view.text).group(1)
    set_level = class_override(view, person_id=priya, skill_id=FIRST_SKILL, level="Mastered", note="Showed it")
    assert "Level set to Mastered" in set_level.text
    form = _open(student, tool, "Show what I know")
    submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text="Halves are twice quarters.")

    queue = _open(teacher, tool, "/teacher/evidence")
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)
    menu = re.search(rf'<select name="level" id="accept-level-{evidence_id}">(.*?)</select>', queue.text, re.S)
    assert re.findall(r'<option value="(\w+)" selected>', menu.group(1)) == ["Mastered"]
    accepted = submit_form(queue, f"/teacher/evidence/{evidence_id}/accept", level="Proficient")
    assert (f"Accepted Priya Shah’s evidence for {FIRST_NAME}. Their level stays Mastered: accepting evidence never "
            "lowers a level.") in html.unescape(accepted.text)
    assert "at Proficient" not in accepted.text
    view = _open(teacher, tool, "/class")
    assert re.search(rf'Priya Shah.*?{re.escape(FIRST_NAME)}.*?Mastered', html.unescape(view.text), re.S)


def test_returned_evidence_shows_the_teachers_comment_only_to_its_student(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    form = _open(student, tool, "Show what I know")
    submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="project", url="https://example.org/my-poster")
    again = submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="project", url="https://example.org/other")
    assert "already waiting for your teacher" in again.text

    queue = _open(teacher, tool, "Evidence to review")
    assert 'href="https://example.org/my-poster"' in queue.text
    evidence_id = re.search(r"/teacher/evidence/(\d+)/return", queue.text).group(1)
    no_comment = submit_form(queue, f"/teacher/evidence/{evidence_id}/return", comment="  ")
    assert "Add a comment" in no_comment.text
    returned = submit_form(queue, f"/teacher/evidence/{evidence_id}/return",
                           comment="Add a worked example with thirds, please.")
    assert "Returned Priya Shah’s evidence" in returned.text

    mine = _open(form, tool, "evidence")
    assert "Returned to you" in mine.text
    assert "Add a worked example with thirds, please." in mine.text
    other = _open(sandbox.launch("student-2"), tool, "Show what I know")
    assert "my-poster" not in other.text and "worked example with thirds" not in other.text
    # A student can neither open the queue nor review evidence.
    assert _open(mine, tool, "teacher/evidence").status_code == 403
    assert _post(mine, tool, f"teacher/evidence/{evidence_id}/accept", level="Mastered").status_code == 403


def test_a_refused_review_comes_back_as_a_400_with_the_teachers_comment_kept(sandbox, tool):
    # A tampered level (not one on the menu) was flashed and redirected: a 200 queue with the comment box empty.
    teacher = _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="explanation", text="Halves are twice quarters.")
    queue = _open(teacher, tool, "/teacher/evidence")
    evidence_id = re.search(r"/teacher/evidence/(\d+)/accept", queue.text).group(1)

    refused = _post(queue, tool, f"teacher/evidence/{evidence_id}/accept", level="Expert",
                    comment="Clear <b>and</b> careful")
    assert refused.status_code == 400
    assert '<p class="notice notice-error" id="form-error">Choose the level the evidence shows.</p>' in refused.text
    assert (f'<textarea name="comment" id="accept-comment-{evidence_id}" rows="2" maxlength="2000">'
            "Clear &lt;b&gt;and&lt;/b&gt; careful</textarea>") in refused.text
    assert (f'<select name="level" id="accept-level-{evidence_id}" aria-invalid="true" '
            'aria-describedby="form-error">') in refused.text
    assert f'id="return-comment-{evidence_id}" rows="2" maxlength="2000" required></textarea>' in refused.text

    too_long = _post(queue, tool, f"teacher/evidence/{evidence_id}/return", comment="Add thirds. " + "x" * 2000)
    assert too_long.status_code == 400 and "Keep the comment to 2000 characters." in too_long.text
    assert re.search(rf'id="return-comment-{evidence_id}" rows="2" maxlength="2000" required aria-invalid="true" '
                     r'aria-describedby="form-error">Add thirds\. x{10}', too_long.text)
    # Nothing was reviewed: the evidence still waits, and the same forms accept it.
    accepted = submit_form(refused, f"/teacher/evidence/{evidence_id}/accept", level="Proficient",
                           comment="Clear and careful")
    assert f"Accepted Priya Shah’s evidence for {FIRST_NAME} at Proficient" in accepted.text

    # Reviewed meanwhile (another tab): the form is gone, but what the teacher typed is still on the page.
    late = _post(queue, tool, f"teacher/evidence/{evidence_id}/return", comment="Please add a worked example.")
    assert late.status_code == 400 and "This evidence has been reviewed already." in late.text
    assert re.search(r'data-testid="unsaved-comment">\s*<h2 id="unsaved-heading">Your comment, not saved</h2>\s*'
                     r'<p class="evidence-text">Please add a worked example\.</p>', late.text)


def test_javascript_and_other_non_web_links_are_refused_as_evidence(sandbox, tool):
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    for link in ("javascript:alert(1)", "JavaScript:alert(document.cookie)", " javascript:alert(1)",
                 "data:text/html,<script>alert(1)</script>", "https://user:pw@example.org/", "http:///nohost"):
        refused = submit_form(form, "/evidence", skill_id=FIRST_SKILL, kind="other", url=link, text="see link")
        assert "Sent to your teacher" not in refused.text, link
        assert "notice-error" in refused.text, link
        # The link field is the one marked, described by the message; the text the student wrote is kept.
        assert re.search(r'id="evidence-url"[^>]* aria-invalid="true" aria-describedby="form-error evidence-either"',
                         refused.text), link
        assert 'id="form-error"' in refused.text and ">see link</textarea>" in refused.text, link
        assert "<title>Error: Show what I know" in refused.text, link
    assert "javascript:" not in refused.text.lower()
    with tool.app.app_context():
        from lti_tool import models

        assert _db(tool).session.scalars(_db(tool).select(models.Evidence)).all() == []


def test_a_students_reflection_reaches_the_teacher_but_not_other_students(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    reflect = _open(student, tool, "Reflect")
    assert "What was hard?" in reflect.text and "What will you try next?" in reflect.text
    empty = submit_form(reflect, "/reflect")
    assert "Write something" in empty.text
    saved = submit_form(reflect, "/reflect", skill_id=FIRST_SKILL, answer_0="Finding a common denominator",
                        answer_1="Draw fraction bars first")
    assert "your reflection is saved" in saved.text
    assert "Finding a common denominator" in saved.text

    later = submit_form(reflect, "/reflect", answer_0="Nothing today, it went well")
    assert "your reflection is saved" in later.text
    page = _open(teacher, tool, "Reflections")
    assert page.status_code == 200
    assert "Priya Shah" in page.text
    assert f"What was hard? (after practising {FIRST_NAME})" in page.text
    newest, oldest = page.text.index("Nothing today, it went well"), page.text.index("Finding a common denominator")
    assert newest < oldest

    other = _open(sandbox.launch("student-2"), tool, "Reflect")
    assert "Finding a common denominator" not in other.text and "Nothing today" not in other.text
    assert _open(other, tool, "teacher/reflections").status_code == 403


def test_pacing_says_not_started_yet_then_gives_a_target_date_per_skill_once_the_course_has_an_end(sandbox, tool):
    teacher = _setup_course(sandbox)
    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    assert "Not started yet" in goals.text
    assert "has not set an end date" in goals.text
    assert 'data-testid="pace-targets"' not in goals.text

    settings = _open(teacher, tool, "Settings")
    assert "Course end date" in settings.text
    too_early = submit_form(settings, "/teacher/settings", ends_on=date.today().isoformat())
    assert "must be after the course started" in too_early.text
    ends_on = date.today() + timedelta(days=120)
    saved = submit_form(settings, "/teacher/settings", ends_on=ends_on.isoformat())
    assert f"The course ends on {ends_on.isoformat()}" in saved.text
    assert f'value="{ends_on.isoformat()}"' in saved.text

    goals = _open(goals, tool, "goals")
    assert "Not started yet" in goals.text
    # Nothing mastered yet: all the skills are left, not "the other" ones.
    assert f"To finish all {len(PACK.skills)} skills by" in html.unescape(goals.text)
    assert "To finish the other" not in html.unescape(goals.text)
    table = goals.text.split('data-testid="pace-targets"')[1].split("</table>")[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td[^>]*><time datetime="(\d{4}-\d{2}-\d{2})"', table)
    assert len(rows) == len(PACK.skills)
    assert rows[0][0] == FIRST_NAME
    dates = [date.fromisoformat(d) for _, d in rows]
    assert all(date.today() < d <= ends_on for d in dates) and dates == sorted(dates)
    assert _open(goals, tool, "teacher/settings").status_code == 403


def test_a_goal_dated_after_the_course_end_shows_one_date_and_is_flagged(sandbox, tool):
    # The reviewer's walk: the course ends on a date, and the teacher's goal "Fluent with fractions" was dated after
    # it, so the goals page said "Divide fractions" by a target date in the table and by the later goal date below.
    from tests.web.test_course_map import _editor, _get, _link

    editor = _editor(sandbox)
    ends_on = date.today() + timedelta(days=30)
    late = ends_on + timedelta(days=24)
    settings = _open(editor, tool, "teacher/settings")
    submit_form(settings, "/teacher/settings", ends_on=ends_on.isoformat())
    form = _get(editor, _link(editor, r"/teacher/map/goal\?id=goal-fraction-fluency"))
    saved = html.unescape(submit_form(form, "/teacher/map/goal", due=late.isoformat()).text)
    # The teacher is told plainly, where they set the date.
    assert "The goal “Fluent with fractions” is dated after the course ends" in saved

    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    student_goal = submit_form(goals, "/goals", title="Finish every unit", by_date=late.isoformat())
    text = html.unescape(student_goal.text)
    teacher_goal = re.search(r"<li><strong>Fluent with fractions</strong>(.*?)</li>", text, re.S).group(1)
    # One date: the course end, said as such; never the later one the target dates contradict.
    assert late.isoformat() not in teacher_goal and f'datetime="{ends_on.isoformat()}"' in teacher_goal
    assert "when the course ends" in teacher_goal
    table = text.split('data-testid="pace-targets"')[1].split("</table>")[0]
    assert all(date.fromisoformat(d) <= ends_on for d in re.findall(r'datetime="(\d{4}-\d{2}-\d{2})"', table))
    # The student's own goal keeps its date, flagged.
    mine = re.search(r'data-testid="my-goal">(.*?)</li>', text, re.S).group(1)
    assert "Finish every unit" in mine and "After the course ends" in mine
    # Changing the course end later flags it again.
    again = html.unescape(submit_form(_open(editor, tool, "teacher/settings"), "/teacher/settings",
                                      ends_on=(ends_on + timedelta(days=1)).isoformat()).text)
    assert "The goal “Fluent with fractions” is dated after the course ends" in again


def test_a_goal_dated_before_a_skills_target_gives_the_skill_one_date_and_says_it_is_the_goals(sandbox, tool):
    # The reviewer's walk: "Finish the last skill early" by a date weeks before that skill's target date, and the
    # page gave the skill both dates: the goal's below and the later target in the table.
    teacher = _setup_course(sandbox)
    ends_on = date.today() + timedelta(days=120)
    submit_form(_open(teacher, tool, "Settings"), "/teacher/settings", ends_on=ends_on.isoformat())
    last = PACK.skill_graph.topological_order()[-1]
    early = date.today() + timedelta(days=10)

    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    added = submit_form(goals, "/goals", title="Finish the last skill early", by_date=early.isoformat(),
                        skill_ids=last)
    saved = html.unescape(added.text)
    table = saved.split('data-testid="pace-targets"')[1].split("</table>")[0]
    rows = dict(re.findall(r'<th scope="row">([^<]+)</th><td[^>]*><time datetime="(\d{4}-\d{2}-\d{2})".*?</tr>', table))
    name = PACK.skill_graph[last].name
    assert rows[name] == early.isoformat()  # the nearer commitment, not the later target date
    row = re.search(rf'<th scope="row">{re.escape(name)}</th>(.*?)</tr>', table).group(1)
    assert "Your goal “Finish the last skill early”" in row
    # The skills it builds on are due by then too, saying why; every other skill keeps its target, from the pace.
    sources = dict(re.findall(
        r"<tr><th scope=\"row\">([^<]+)</th><td[^>]*><time [^>]+>[^<]+</time></td><td[^>]*>([^<]+)</td>", table))
    needed_first = {PACK.skill_graph[s].name for s in PACK.skill_graph.prerequisites_of(last, transitive=True)}
    for skill in PACK.skills:
        if skill.name in needed_first:  # by the goal's date, or by its own target when that comes first
            assert date.fromisoformat(rows[skill.name]) <= early
            assert sources[skill.name] == ("Your goal “Finish the last skill early” builds on this"
                                           if rows[skill.name] == early.isoformat() else "Your pace")
        elif skill.id != last:
            assert sources[skill.name] == "Your pace"

    # Once the goal is done, the skill goes back to its target date.
    done = submit_form(added, "/done")
    table = html.unescape(done.text).split('data-testid="pace-targets"')[1].split("</table>")[0]
    assert dict(re.findall(r'<th scope="row">([^<]+)</th><td[^>]*><time datetime="([\d-]+)"', table))[name] > early.isoformat()


def test_a_goal_dated_early_brings_the_skills_it_builds_on_forward_too(sandbox, tool):
    # A student's goal "Two-step equations by <soon>" gave that skill the goal's date, while One-step equations, which
    # it builds on, kept a target date months later: "master two-step first, then one-step".
    teacher = _setup_course(sandbox)
    ends_on = date.today() + timedelta(days=120)
    submit_form(_open(teacher, tool, "Settings"), "/teacher/settings", ends_on=ends_on.isoformat())
    early = date.today() + timedelta(days=10)
    goals = _open(sandbox.launch("student"), tool, "My goals")
    added = submit_form(goals, "/goals", title="Two-step equations for the test", by_date=early.isoformat(),
                        skill_ids="two-step-equations")
    table = html.unescape(added.text).split('data-testid="pace-targets"')[1].split("</table>")[0]
    rows = {name: (date.fromisoformat(on), source) for name, on, source in re.findall(
        r'<th scope="row">([^<]+)</th><td[^>]*><time datetime="([\d-]+)"[^>]*>[^<]*</time></td><td[^>]*>([^<]+)</td>', table)}
    graph = PACK.skill_graph
    names = {s.id: s.name for s in PACK.skills}
    assert len(rows) == len(names)
    # One order on the page: no skill is due after a skill that builds on it.
    for skill_id in names:
        for needed in graph.prerequisites_of(skill_id):
            assert rows[names[needed]][0] <= rows[names[skill_id]][0], (needed, skill_id)
    assert rows[names["two-step-equations"]] == (early, "Your goal “Two-step equations for the test”")
    assert rows[names["one-step-equations"]] == (early, "Your goal “Two-step equations for the test” builds on this")
    assert rows[names["percent"]][1] == "Your pace"  # not needed for the goal

    # Once the goal's date has passed, it sets no "aim to master it by" a day gone: every skill has its pace's date.
    goal_id = int(re.search(r"/goals/(\d+)/edit", added.text).group(1))
    with tool.app.app_context():
        from lti_tool import models

        _db(tool).session.get(models.StudentGoal, goal_id).by_date = date.today() - timedelta(days=3)
        _db(tool).session.commit()
    later = html.unescape(_open(added, tool, "goals").text)
    table = later.split('data-testid="pace-targets"')[1].split("</table>")[0]
    assert "Your goal" not in table
    assert all(date.fromisoformat(d) >= date.today() for d in re.findall(r'datetime="([\d-]+)"', table))


def test_the_goals_page_counts_a_skill_done_at_proficient_as_the_units_on_the_plan_do(sandbox, tool):
    # The goals page counted a skill done only at Mastered ("0 of 16 done") while the plan's units counted the same
    # Proficient skill ("1 of 4 skills at Proficient or above"): two "done" bars. Both count Proficient or above now,
    # as the gradebook's default scheme does, and the goals page says so.
    from tests.web.test_override_holds import FIRST, PACK, _set_level

    teacher = submit_form(sandbox.launch("teacher"), "/content/demo")
    student = sandbox.launch("student")
    _set_level(teacher, tool, "Proficient")
    total = len(PACK.skills)
    goals = html.unescape(_open(student, tool, "My goals").text)
    assert (f"A skill counts as done when it reaches Proficient or above, as in your units on the plan. 1 of {total} "
            "done.") in goals, goals
    unit = next(u for u in PACK.units if FIRST in u.skills)
    plan = html.unescape(sandbox.launch("student").text)
    assert f"1 of {len(unit.skills)} skills at Proficient or above" in plan
