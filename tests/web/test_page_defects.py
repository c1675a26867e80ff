"""Defects a reviewer found walking the demo: dead-end error pages, hints that threw away the typed answer, words
that did not match the page, labels run into the text after them."""

from __future__ import annotations

import html
import re

from lti_tool.learning.coursepack import load_pack
from lti_tool.services.content import demo_pack_data
from tests.support import answer_for_served, launch_with_presentation, open_in_launch, served_item, submit_form
from tests.web.test_agency import _open, _setup_course
from tests.web.test_evidence_files import _rows, _send, tiny_png

PACK = load_pack(demo_pack_data())


def _home_href(page) -> str:
    return re.search(r"/c/[^/]+/", page.url).group(0)


# --- 1. Error pages --------------------------------------------------------------------------------------------


def test_an_error_inside_a_launch_links_back_to_its_course_and_speaks_to_its_role(sandbox, tool):
    teacher = _setup_course(sandbox)
    missing = open_in_launch(teacher, tool, "/practice/no-such-skill")
    assert missing.status_code in (403, 404)
    back = re.search(r'<a class="button" href="([^"]+)" data-testid="error-back">', missing.text)
    assert back and html.unescape(back.group(1)).split("?")[0].endswith(_home_href(teacher))
    assert "tell your teacher" not in missing.text and "tell your school’s LMS administrator" in missing.text.replace(
        "'", "’").replace("&#39;", "’")

    student = sandbox.launch("student")
    gone = open_in_launch(student, tool, "/practice/no-such-skill")
    assert gone.status_code == 404
    assert 'data-testid="error-back"' in gone.text and "tell your teacher." in gone.text
    assert "LMS administrator" not in gone.text
    assert student.http.get(tool.url(re.search(r'href="([^"]+)" data-testid="error-back"', gone.text)
                                     .group(1).replace("&amp;", "&")), timeout=30).status_code == 200


def test_an_error_outside_a_launch_offers_the_browsers_back(tool):
    import requests

    page = requests.get(tool.url("/no-such-page"), timeout=30)
    assert page.status_code == 404
    assert 'data-testid="error-back"' in page.text and "history.back()" in page.text
    assert re.search(r'<script nonce="[^"]+">', page.text)  # the page's CSP lets only its own script run


def _visible(page) -> str:
    """The page's text as read on screen (no tags, attributes or script)."""
    body = re.sub(r"<script.*?</script>|<title>.*?</title>", "", page.text, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_a_students_error_pages_speak_plain_words_without_a_code_and_lead_back_to_the_plan(sandbox, tool):
    # The student's walk: "This page does not exist." beside "Error 404", and "Only teachers can open this page."
    # beside "Error 403": a 12-year-old does not know the codes. The status stays in the HTTP answer.
    _setup_course(sandbox)
    student = sandbox.launch("student")
    for path, status, words in (("/practice/no-such-skill", 404, "This page does not exist."),
                                ("/class", 403, "Only teachers can open this page.")):
        page = open_in_launch(student, tool, path)
        assert page.status_code == status
        shown = _visible(page)
        assert words in shown and "If this keeps happening, tell your teacher." in shown
        assert str(status) not in shown and "Error" not in shown, shown
        back = re.search(r'<a class="button" href="([^"]+)" data-testid="error-back">← Back to your learning plan</a>',
                         page.text)
        assert back, page.text
        plan = student.http.get(tool.url(html.unescape(back.group(1))), timeout=30)
        assert plan.status_code == 200 and "Your next steps" in plan.text

    spanish = launch_with_presentation(sandbox, "student", locale="es")
    gone = open_in_launch(spanish, tool, "/practice/no-such-skill")
    assert gone.status_code == 404 and "Esta página no existe." in gone.text
    assert "404" not in _visible(gone) and "← Volver a tu plan de aprendizaje</a>" in gone.text


def test_a_teachers_error_page_keeps_the_code_in_small_print_under_the_plain_words(sandbox, tool):
    teacher = _setup_course(sandbox)
    missing = open_in_launch(teacher, tool, "/class/old-bookmark")
    assert missing.status_code == 404
    assert '<p class="fine-print" data-testid="error-code">Error code: 404</p>' in missing.text
    assert "Error 404." not in missing.text
    assert re.search(r'data-testid="error-back">← Back to the course</a>', missing.text)


def test_an_error_page_with_no_course_page_to_link_to_says_how_to_get_back(sandbox, tool):
    # A launch refused at the door (no launch, and its POST must not be repeated) and an address opened in a tab of
    # its own (the browser's back shows only with a page to go back to, and only with script) were dead ends.
    import requests

    way_on = ('<p data-testid="error-way-on">To get back, go to your course in your school\'s learning platform '
              "(LMS) and open Pathways from there.</p>")
    refused = sandbox.begin("student").post(state="not-the-state")
    assert refused.status_code >= 400 and 'data-testid="error-back"' not in refused.text
    assert way_on in refused.text
    alone = requests.get(tool.url("/no-such-page"), timeout=30)
    assert alone.status_code == 404 and way_on in alone.text


def test_a_file_far_over_the_limit_returns_the_evidence_form_saying_so(sandbox, make_tool):
    from tests.support import SandboxActions

    tool = make_tool(EVIDENCE_MAX_BYTES=4000)
    sandbox = SandboxActions(tool)
    _setup_course(sandbox)
    form = _open(sandbox.launch("student"), tool, "Show what I know")
    assert 'data-max-bytes="4000"' in form.text  # the page checks the size before sending (tests/browser)

    huge = _send(form, filename="huge.png", body=tiny_png() + b"\x00" * 400_000, text="My fraction wall")
    assert huge.status_code == 413
    assert "That file is too large: files can be up to 3.91 KB. Nothing was sent" in huge.text
    assert 'enctype="multipart/form-data"' in huge.text  # the form itself, to send again
    assert _rows(tool) == []


# --- 2. Hints keep the answer ----------------------------------------------------------------------------------


def _practice_with_hints(sandbox, tool, kind: str):
    """Open practice on skills until the served question has hints and is of the kind asked ("multiple_choice")."""
    _setup_course(sandbox)
    student = sandbox.launch("student")
    for skill in PACK.skills:
        page = open_in_launch(student, tool, f"/practice/{skill.id}")
        served = re.search(r'name="served" value="(\d+)"', page.text)
        if not served:
            continue
        item = served_item(tool, int(served.group(1)))
        if len(item.hints) >= 2 and (item.type == "multiple_choice") == (kind == "multiple_choice"):
            return page, skill.id, item
    raise AssertionError(f"no {kind} question with hints in the demo pack")


def test_show_a_hint_keeps_the_typed_answer_and_records_nothing(sandbox, tool):
    page, skill_id, item = _practice_with_hints(sandbox, tool, "text")
    assert 'name="show_hint"' in page.text and "hints=1" not in page.text
    served = re.search(r'name="served" value="(\d+)"', page.text).group(1)
    hinted = submit_form(page, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert hinted.status_code == 200
    # Post/Redirect/Get: the hint's page is a GET of its own, so a reload shows it again and asks for nothing more.
    assert [r.status_code for r in hinted.history] == [303] and hinted.request.method == "GET"
    reloaded = hinted.http.get(hinted.url, timeout=30)
    assert reloaded.text.count("<li>") == hinted.text.count("<li>") and 'name="hints" value="1"' in reloaded.text
    assert html.escape(item.hints[0]) in hinted.text and html.escape(item.hints[1]) not in hinted.text
    assert 'value="3/4 maybe"' in hinted.text
    assert f'name="served" value="{served}"' in hinted.text and 'name="hints" value="1"' in hinted.text
    again = submit_form(hinted, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert html.escape(item.hints[1]) in again.text and 'name="hints" value="2"' in again.text
    assert "Check my answer" in again.text  # still the question: nothing was answered


def test_a_hint_asked_on_a_question_another_tab_answered_is_not_shown_on_the_next(sandbox, tool):
    page, skill_id, item = _practice_with_hints(sandbox, tool, "text")
    served = re.search(r'name="served" value="(\d+)"', page.text).group(1)
    submit_form(page, f"/practice/{skill_id}", answer=answer_for_served(tool, served))  # the other tab answers
    hinted = submit_form(page, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert f'name="served" value="{served}"' not in hinted.text  # the next question
    assert 'name="hints" value="0"' in hinted.text and 'value="3/4 maybe"' not in hinted.text


def test_show_a_hint_keeps_the_chosen_option(sandbox, tool):
    page, skill_id, item = _practice_with_hints(sandbox, tool, "multiple_choice")
    choice = item.choices[-1].id
    hinted = submit_form(page, f"/practice/{skill_id}", answer=choice, show_hint="1")
    # The chosen option is kept, and has the focus: the hint above the choices describes their group.
    assert re.search(rf'value="{re.escape(choice)}" required checked autofocus>', hinted.text)
    assert html.escape(item.hints[0]) in hinted.text


def test_a_multiple_choice_question_puts_the_keyboard_on_its_first_choice(sandbox, tool):
    # As a typed answer's field has the focus: a keyboard user otherwise tabs through the page's header first.
    page, skill_id, item = _practice_with_hints(sandbox, tool, "multiple_choice")
    first = item.choices[0].id
    assert re.search(rf'value="{re.escape(first)}" required autofocus>', page.text)
    assert page.text.count(" autofocus") == 1


# --- 3. Words that match the page ------------------------------------------------------------------------------


def _text(page) -> str:
    """The page's text as a screen reader reads it: tags dropped, nothing added between them."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text)))


def test_goals_without_a_course_end_date_do_not_say_there_are_no_dates_above_a_dated_goal(sandbox, tool):
    _setup_course(sandbox)
    student = sandbox.launch("student")
    goals = _open(student, tool, "My goals")
    added = submit_form(goals, "/goals", title="Finish fractions", by_date="2027-01-13", why="")
    assert "13 January 2027" in added.text
    assert "there are no target dates" not in added.text
    assert "Pathways suggests no target dates for your skills. Dates you give your own goals still count." in \
        _text(added)


def test_the_help_after_misses_in_a_row_stays_true_after_the_third(sandbox, tool):
    from tests.support import served_answer

    _setup_course(sandbox)
    student = sandbox.launch("student")
    skill = PACK.skills[0].id
    texts = []
    for _ in range(3):
        page = open_in_launch(student, tool, f"/practice/{skill}")
        texts.append(_text(submit_form(page, f"/practice/{skill}", answer=served_answer(tool, page, right=False))))
    assert "Try learning it another way" not in texts[0]
    for text in texts[1:]:
        assert "A few misses in a row are a sign to look at it differently" in text and "Two misses" not in text


def test_student_pages_show_the_name_a_friendly_date_and_a_calm_attempted_badge(sandbox, tool):
    from tests.support import served_answer

    _setup_course(sandbox)
    student = sandbox.launch("student")
    skill = PACK.skills[0].id
    practice = open_in_launch(student, tool, f"/practice/{skill}")
    assert '<span class="who">Priya Shah</span>' in practice.text
    feedback = submit_form(practice, f"/practice/{skill}", answer=served_answer(tool, practice))
    assert '<span class="who">Priya Shah</span>' in feedback.text

    reflect = _open(student, tool, "/reflect")
    written = submit_form(reflect, "/reflect", answer_0="Common denominators")
    earlier = re.search(r'<time datetime="[^"]+"[^>]*>([^<]+)</time>', written.text).group(1)
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}", earlier) and "UTC" not in earlier

    css = student.http.get(tool.url("/static/css/pathways.css"), timeout=30).text
    background, colour = re.search(r"\.level-1 \{ background: #(\w{6}); color: #(\w{6}); \}", css).groups()
    red, green, blue = (int(background[i:i + 2], 16) for i in (0, 2, 4))
    assert red <= max(green, blue), "Attempted is a start, not an error: not a red badge"
    assert _contrast(background, colour) >= 4.5


def _contrast(one: str, two: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(one), luminance(two)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_skill_map_names_read_with_spaces_between_their_lines(sandbox, tool):
    _setup_course(sandbox)
    home = sandbox.launch("student")
    names = [re.sub(r"<[^>]+>", "", text) for text in re.findall(r'<text [^>]*class="map-name">(.*?)</text>',
                                                                  home.text, re.S)]
    two_lines = [n for n in names if n.count(" ") and any(html.unescape(n) == s.name for s in PACK.skills)]
    assert two_lines, names
    assert not any("subtractfractions" in n for n in names)
    assert all(html.unescape(n) in {s.name for s in PACK.skills} or n.endswith("…") for n in names), names


def test_unit_check_labels_read_apart_and_the_check_does_not_name_the_skill(sandbox, tool):
    from tests.web.test_mixed_review import _plan
    from tests.web.test_unit_check import _student_who_started, _take_unit_check

    student, pack = _student_who_started(sandbox, tool, 3)
    summary, pages = _take_unit_check(_plan(student), tool, right=lambda n, page: True)
    question = pages[0]
    assert "Unit check: Fractions" in _text(question)
    assert "work out which skill each one needs" in question.text and "This one is about" not in question.text
    assert "Unit check: How your unit check went" in _text(summary)
    assert '<span class="who">Priya Shah</span>' in question.text

    teacher = sandbox.launch("teacher")
    person_id = re.search(r'/students/(\d+)', open_in_launch(teacher, tool, "/class").text).group(1)
    history = open_in_launch(teacher, tool, f"/students/{person_id}")
    assert "<td>Unit check</td>" in history.text and "Unit_check" not in history.text


def test_a_spanish_students_earlier_reflections_and_pace_go_through_the_catalogue(sandbox, tool):
    from lti_tool.services.pacing import NO_END_DATE
    from lti_tool.services.reflections import AFTER_PRACTISING, reflection_prompt_parts
    from tests.support import launch_with_presentation

    _setup_course(sandbox)
    student = launch_with_presentation(sandbox, "student", locale="es")
    reflect = open_in_launch(student, tool, "/reflect")
    written = submit_form(reflect, "/reflect", answer_0="Los denominadores")
    earlier = re.search(r'</time> · ([^<]+)</p>', written.text).group(1)
    assert html.unescape(earlier) == "¿Qué te costó?"
    # The kept English prompt is read back into its parts, for any page language.
    skill = PACK.skills[0].name
    kept = AFTER_PRACTISING % {"prompt": "What was hard?", "skill": skill}
    assert reflection_prompt_parts(kept) == ("What was hard?", skill)
    assert reflection_prompt_parts("Something older") is None

    goals = open_in_launch(student, tool, "/goals")
    assert goals.status_code == 200 and "Tu profe todavía no ha puesto una fecha de fin" in goals.text
    assert NO_END_DATE.split(",")[0] not in goals.text


def test_a_refused_launch_post_offers_no_back_to_the_page_that_posts_itself_again(sandbox):
    refused = sandbox.begin("student").post(state="not-the-state")
    assert refused.status_code >= 400
    assert 'data-testid="error-back"' not in refused.text


def test_show_a_hint_in_a_unit_check_keeps_the_answer_and_answers_nothing(sandbox, tool):
    from tests.web.test_mixed_review import _follow, _plan
    from tests.web.test_unit_check import FRACTIONS, _records, _student_who_started

    student, _pack = _student_who_started(sandbox, tool, 3)
    question = _follow(_plan(student), "Start the unit check on Fractions")
    answered_before = [row for row in _records(tool)[0] if row[2]]
    item = served_item(tool, int(re.search(r'name="served" value="(\d+)"', question.text).group(1)))
    typed = item.choices[0].id if item.type == "multiple_choice" else "5/8"
    hinted = submit_form(question, f"/unit-check/{FRACTIONS}", answer=typed, show_hint="1")
    assert hinted.status_code == 200 and "Question 1 of" in hinted.text
    assert f'value="{typed}"' in hinted.text and (item.type == "multiple_choice") == ("checked>" in hinted.text)
    if item.hints:
        assert html.escape(item.hints[0]) in hinted.text
    assert [row for row in _records(tool)[0] if row[2]] == answered_before


def _post_in_launch(page, tool, path: str):
    """POST to a path inside the page's launch with the page's CSRF token, as a form from a gone page would."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return page.http.post(tool.url(_home_href(page) + path.lstrip("/")), data={"csrf_token": token}, timeout=30)


def test_a_post_to_an_address_no_page_has_is_answered_in_the_launch_like_a_get(sandbox, tool):
    teacher = _setup_course(sandbox)
    for answer in (open_in_launch(teacher, tool, "/class/old-bookmark"),
                   _post_in_launch(teacher, tool, "/class/old-bookmark")):
        assert answer.status_code == 404, answer.request.method
        assert "This page does not exist." in answer.text and 'data-testid="error-back"' in answer.text
    # A page that exists, asked with a method it does not take, is still refused as such, in the launch too.
    wrong_method = _post_in_launch(teacher, tool, "/class")
    assert wrong_method.status_code == 405 and 'data-testid="error-back"' in wrong_method.text


def test_an_address_no_page_has_is_a_404_in_a_data_privacy_launch_too(sandbox, tool):
    from tests.web.test_privacy import _privacy_launch

    _setup_course(sandbox)
    privacy = _privacy_launch(sandbox, "student", sandbox.sub("student"))
    assert privacy.status_code == 200
    for answer in (open_in_launch(privacy, tool, "/old-bookmark"), _post_in_launch(privacy, tool, "/old-bookmark")):
        assert answer.status_code == 404, answer.request.method
        assert "This page does not exist." in answer.text


def test_show_a_hint_for_a_question_the_page_does_not_show_keeps_nothing_in_the_cache(sandbox, tool):
    # What was typed is kept per launch and served question (services/typed_answers.py) for the page to give back.
    # The form names the question: one naming other served ids, posted again and again, kept up to 2,000 characters
    # for each id for as long as a launch lasts, none of which any page would show.
    from lti_tool.extensions import db
    from lti_tool.models import LaunchSession
    from lti_tool.services.typed_answers import typed_answer

    page, skill_id, item = _practice_with_hints(sandbox, tool, "text")
    launch_id = re.search(r"/c/([^/]+)/", page.url).group(1)
    shown = int(re.search(r'name="served" value="(\d+)"', page.text).group(1))
    for other in (shown + 1000, shown + 1001, 987654321):
        posted = submit_form(page, f"/practice/{skill_id}", answer="x" * 2000, show_hint="1", served=str(other))
        assert posted.status_code == 200
    with tool.app.app_context():
        launch = db.session.get(LaunchSession, launch_id)
        assert [typed_answer(launch, other) for other in (shown + 1000, shown + 1001, 987654321)] == [""] * 3
    # The question the page shows keeps what was typed, as before.
    hinted = submit_form(page, f"/practice/{skill_id}", answer="3/4 maybe", show_hint="1")
    assert 'value="3/4 maybe"' in hinted.text
    with tool.app.app_context():
        assert typed_answer(db.session.get(LaunchSession, launch_id), shown) == "3/4 maybe"
