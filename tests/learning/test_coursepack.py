import copy
import json

import pytest

from lti_tool.learning.coursepack import (
    Activity,
    Course,
    CoursePack,
    CoursePackError,
    MultipleChoiceItem,
    NumericItem,
    ShortTextItem,
    check_answer,
    dump_pack,
    dumps_pack,
    load_pack,
    loads_pack,
    parse_number,
)
from lti_tool.learning.skills import Skill


def small_pack() -> dict:
    """Return a small canonical pack, as dump_pack writes it."""
    return {
        "format": "pathways-course-pack",
        "version": 1,
        "course": {
            "title": "Fractions",
            "subject": "Mathematics",
            "grade_level": "6",
            "description": "Parts of a whole.",
        },
        "mastery": {"thresholds": {"familiar": 0.5, "proficient": 0.75, "mastered": 0.9}, "review_spacing": True},
        "skills": [
            {"id": "equiv", "name": "Equivalent fractions", "description": "", "prerequisites": []},
            {"id": "add", "name": "Add fractions", "description": "Unlike denominators.", "prerequisites": ["equiv"]},
        ],
        "units": [{"id": "u1", "title": "Fractions", "description": "", "skills": ["equiv", "add"]}],
        "activities": [
            {
                "id": "practice-1",
                "title": "Practice",
                "kind": "practice",
                "modality": "interactive",
                "skills": ["equiv", "add"],
                "url": None,
                "instructions": "",
                "items": [
                    {
                        "id": "q1",
                        "type": "multiple_choice",
                        "prompt": "Which equals 1/2?",
                        "skills": ["equiv"],
                        "difficulty": "easy",
                        "choices": [{"id": "a", "text": "2/4"}, {"id": "b", "text": "2/3"}],
                        "answer": "a",
                        "hints": ["Double top and bottom."],
                        "solution": "1/2 = 2/4.",
                    },
                    {
                        "id": "q2",
                        "type": "numeric",
                        "prompt": "1/4 + 1/2 = ?",
                        "skills": ["add"],
                        "difficulty": 0.4,
                        "answer": 0.75,
                        "tolerance": 0,
                        "unit": None,
                        "hints": [],
                        "solution": "1/4 + 2/4 = 3/4.",
                    },
                    {
                        "id": "q3",
                        "type": "short_text",
                        "prompt": "Name the bottom number of a fraction.",
                        "skills": ["equiv"],
                        "difficulty": "medium",
                        "answers": ["denominator"],
                        "hints": [],
                        "solution": "",
                    },
                ],
            },
            {
                "id": "video-1",
                "title": "Watch",
                "kind": "resource",
                "modality": "video",
                "skills": ["equiv"],
                "url": "https://example.org/video",
                "instructions": "",
                "items": [],
            },
        ],
        "goals": [{"id": "g1", "title": "Add fractions", "description": "", "skills": ["add"], "due": "2025-06-01"}],
    }


def problems_of(data: dict) -> list[str]:
    with pytest.raises(CoursePackError) as error:
        load_pack(data)
    return error.value.problems


def test_author_who_exports_a_pack_gets_back_exactly_what_was_imported():
    data = small_pack()

    assert dump_pack(load_pack(data)) == data
    assert list(dump_pack(load_pack(data))) == list(data)
    assert loads_pack(dumps_pack(load_pack(data))) == load_pack(data)


def test_author_can_leave_out_optional_fields_and_gets_them_written_in_full_on_export():
    data = small_pack()
    del data["mastery"]
    del data["goals"]
    del data["skills"][0]["description"]
    del data["skills"][0]["prerequisites"]
    item = data["activities"][0]["items"][1]
    for key in ("tolerance", "unit", "hints", "solution", "skills", "difficulty"):
        del item[key]
    data["activities"][0]["items"][1] = item

    exported = dump_pack(load_pack(data))

    assert exported["mastery"] == {
        "thresholds": {"familiar": 0.6, "proficient": 0.77, "mastered": 0.82},
        "review_spacing": True,
    }
    assert exported["goals"] == []
    assert exported["activities"][0]["items"][1]["tolerance"] == 0
    assert exported["activities"][0]["items"][1]["skills"] == ["equiv", "add"]
    assert dump_pack(load_pack(exported)) == exported


def test_teacher_sees_the_pack_as_typed_objects_with_its_skill_graph():
    pack = load_pack(small_pack())

    assert pack.course == Course("Fractions", "Mathematics", "6", "Parts of a whole.")
    assert pack.skills[1] == Skill("add", "Add fractions", "Unlike denominators.", ("equiv",))
    assert pack.skill_graph.prerequisites_of("add") == ("equiv",)
    assert isinstance(pack.activities[0], Activity)
    assert [type(i) for _, i in pack.items()] == [MultipleChoiceItem, NumericItem, ShortTextItem]
    assert pack.item("q2").answer == 0.75
    assert pack.mastery.thresholds["mastered"] == 0.9
    assert isinstance(pack, CoursePack) and hash(pack) == hash(load_pack(small_pack()))


def test_author_sees_every_problem_in_the_pack_at_once_with_where_it_is():
    data = small_pack()
    data["skills"].append({"id": "equiv", "name": "Again", "prerequisites": ["ratios"]})
    data["units"][0]["skills"].append("percent")
    practice = data["activities"][0]
    practice["items"][0]["answer"] = "c"
    practice["items"][1]["tolerance"] = -0.1
    del practice["items"][2]["answers"]
    practice["items"][2]["difficulty"] = "tricky"
    data["goals"][0]["due"] = "next week"
    data["activities"][1]["kind"] = "lecture"

    problems = problems_of(data)

    expected = [
        "activities[0].items[0].answer: 'c' is not the id of one of the item's choices",
        "activities[0].items[1].tolerance: should be zero or more, not -0.1",
        "activities[0].items[2]: missing the required field 'answers'",
        "activities[0].items[2].difficulty: should be easy, medium, hard or a number, not 'tricky'",
        "activities[1].kind: should be one of practice, resource, project, discussion, offline, not 'lecture'",
        "goals[0].due: should be a date written YYYY-MM-DD, not 'next week'",
        "skills[2]: the skill id 'equiv' is already used at skills[0]",
        "skills[2].prerequisites[0]: names the skill 'ratios', which is not in this pack's skills",
        "units[0].skills[2]: names the skill 'percent', which is not in this pack's skills",
    ]
    assert sorted(problems) == sorted(expected)


def test_author_who_makes_skills_need_each_other_in_a_circle_is_told_so():
    data = small_pack()
    data["skills"][0]["prerequisites"] = ["add"]

    assert problems_of(data) == ["skills: Skills cannot depend on each other in a circle: equiv → add → equiv"]


def test_author_is_told_about_missing_fields_wrong_types_and_unknown_fields():
    data = small_pack()
    del data["skills"][1]["name"]
    data["skills"][0]["prerequisite"] = []
    data["course"]["title"] = 7
    data["activities"][0]["skills"] = "equiv"
    data["mastery"]["thresholds"]["mastered"] = 1.5

    problems = problems_of(data)

    assert "skills[1]: missing the required field 'name'" in problems
    assert any(p.startswith("skills[0]: unknown field 'prerequisite'") for p in problems)
    assert "course.title: should be text, not the number 7" in problems
    assert "activities[0].skills: should be a list of text, not the text 'equiv'" in problems
    assert "mastery.thresholds.mastered: should be a probability between 0 and 1, not 1.5" in problems


def test_each_problem_keeps_its_place_and_its_sentence_template_so_a_page_can_write_it_in_another_language():
    data = small_pack()
    data["course"]["title"] = 7
    data["activities"][0]["skills"] = "equiv"

    problems = {str(p): p for p in problems_of(data)}

    title = problems["course.title: should be text, not the number 7"]
    assert title.where == "course.title"
    assert title.message.template == "should be text, not %(value)s"
    # The value is a sentence of its own, translated with the rest.
    assert title.message.values["value"].template == "the number %(value)s"
    assert title.message.values["value"].values == {"value": "7"}
    skills = problems["activities[0].skills: should be a list of text, not the text 'equiv'"]
    assert (skills.where, skills.message.values["value"].values) == ("activities[0].skills", {"value": "'equiv'"})
    # A copy keeps all of it (copy and pickle rebuild it the same way).
    again = copy.deepcopy(title)
    assert (again, again.where, again.message.template) == (title, title.where, title.message.template)


def test_pack_from_a_newer_pathways_is_refused_with_its_version():
    data = small_pack()
    data["version"] = 2

    assert problems_of(data) == ["version: version 2 is not supported; this Pathways reads version 1"]
    assert "problem" in str(CoursePackError(["x"]))


def test_something_that_is_not_a_course_pack_is_refused_plainly():
    assert problems_of({"format": "qti", "version": 1, "course": {"title": "x"}}) == [
        "format: should be 'pathways-course-pack', not 'qti'; is this a Pathways course pack?"
    ]
    with pytest.raises(CoursePackError, match="line 1, column 2: not valid JSON"):
        loads_pack("{oops")


def test_author_is_told_when_an_activity_lacks_what_its_kind_needs():
    data = small_pack()
    data["activities"][1]["url"] = None
    data["activities"][1]["instructions"] = ""
    data["activities"].append({"id": "proj", "title": "Project", "kind": "project", "skills": [], "instructions": "  "})
    data["activities"].append({"id": "p2", "title": "Empty practice", "kind": "practice", "skills": []})
    data["activities"][0]["items"][0]["skills"] = ["add"]
    data["activities"][0]["skills"] = ["equiv"]

    problems = problems_of(data)

    assert ("activities[1].url: a resource needs the address (url) of what to read or watch, or its text in "
            "instructions") in problems
    assert "activities[2].instructions: a project activity needs instructions for the learners" in problems
    assert "activities[3]: a practice activity needs its items" in problems
    assert (
        "activities[0].items[0].skills[0]: the skill 'add' is not among the skills of its activity 'practice-1'"
        in problems
    )


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,<script>x</script>",
                                 "videos/intro.mp4", "https:///no-host", "https://example.org/a b"])
def test_a_resource_link_that_is_not_a_web_address_is_refused_on_import_and_dropped_when_read_back(url):
    # Students open the url from a link on their plan: a javascript: one would run in our page.
    data = small_pack()
    data["activities"][1]["url"] = url
    assert problems_of(data) == [
        f"activities[1].url: should be a web address starting with http:// or https://, not {url!r}"]
    # A pack stored before the check keeps working, without the link.
    stored = load_pack(data, sample_templates=False)
    assert stored.activities[1].url is None


def test_item_ids_must_be_unique_across_the_whole_pack():
    data = small_pack()
    second = copy.deepcopy(data["activities"][0])
    second["id"] = "practice-2"
    second["items"] = second["items"][:1]
    data["activities"].append(second)

    assert problems_of(data) == ["activities[2].items[0]: the item id 'q1' is already used at activities[0].items[0]"]


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        ("0.75", True),
        (" 0.75 ", True),
        ("3/4", True),
        ("6/8", True),
        (".75", True),
        ("75%", True),
        ("0.7", False),
        ("3 / 4", False),
        ("0,75", False),
        ("", False),
        ("three quarters", False),
    ],
)
def test_learner_may_type_a_number_as_decimal_fraction_or_percent(response, expected):
    item = load_pack(small_pack()).item("q2")

    assert check_answer(item, response) is expected


def test_learner_may_type_mixed_numbers_signs_and_thousands_separators():
    assert parse_number("1 3/4") == parse_number("7/4") == parse_number("1.75")
    assert parse_number("-2 1/2") == parse_number("−2.5")
    assert parse_number("1,250") == 1250
    assert parse_number("1/0") is None
    assert parse_number("1e3") is None and parse_number("nan") is None


def test_learner_within_the_tolerance_is_right_and_may_type_the_unit():
    item = NumericItem(id="c", prompt="Circumference?", answer=31.4, tolerance=0.1, unit="cm")

    assert check_answer(item, "31.4 cm")
    assert check_answer(item, "31.5CM")
    assert check_answer(item, "31.3")
    assert not check_answer(item, "31.6")
    assert not check_answer(item, "31.4 m")


def test_percent_means_hundredths_unless_the_answer_is_itself_in_percent():
    in_percent = NumericItem(id="p", prompt="What percent?", answer=40, unit="%")
    dollars = NumericItem(id="d", prompt="Cost?", answer=4.5, unit="$")

    assert check_answer(in_percent, "40%") and check_answer(in_percent, "40")
    assert not check_answer(in_percent, "0.4")
    assert check_answer(dollars, "$4.50") and check_answer(dollars, "4.5")


def test_exact_arithmetic_keeps_a_right_answer_right_at_the_edge_of_the_tolerance():
    item = NumericItem(id="e", prompt="?", answer=0.3, tolerance=0.1)

    assert check_answer(item, "0.2") and check_answer(item, "0.4")
    assert not check_answer(item, "0.41")


def test_short_text_ignores_case_and_spaces_but_not_spelling():
    item = ShortTextItem(id="s", prompt="Equation?", answers=("y = 2x",))

    assert check_answer(item, "Y=2X")
    assert check_answer(item, "  y = 2 x ")
    assert not check_answer(item, "y = 2x + 1")
    assert not check_answer(item, "   ")


def test_multiple_choice_is_answered_by_the_choice_id():
    item = load_pack(small_pack()).item("q1")

    assert check_answer(item, "a") and check_answer(item, " a ")
    assert not check_answer(item, "b") and not check_answer(item, "2/4")


def test_canonical_json_text_keeps_non_ascii_characters_and_ends_with_a_newline():
    data = small_pack()
    data["course"]["title"] = "Brüche ½"

    text = dumps_pack(load_pack(data))

    assert "Brüche ½" in text and text.endswith("}\n")
    assert json.loads(text) == data


def test_item_that_names_no_skills_explicitly_is_refused_because_it_would_give_no_evidence():
    data = small_pack()
    data["activities"][0]["items"][0]["skills"] = []

    assert problems_of(data) == [
        "activities[0].items[0].skills: should name at least one skill, or be left out to use the activity's skills"
    ]


@pytest.mark.parametrize(("text", "words"), [
    ("{oops", "a field name in double quotes was expected"),
    ('{"a" 1}', "a colon (:) was expected"),
    ('{"a": 1 "b": 2}', "a comma (,) was expected"),
    ("[1, ]", "a value was expected"),
    ('{"a": "open', "a text in quotes starts here and is never closed"),
    ('"a\x01"', "a text in quotes holds a control character such as a line break"),
    ('"\\q"', "a backslash starts an escape that JSON does not have"),
    ("{} {}", "more follows the end of the JSON document"),
])
def test_invalid_json_is_described_in_a_message_not_in_the_decoders_english(text, words):
    # The decoder's words (error.msg) cannot be translated; each kind it has is one Message, line and column apart.
    with pytest.raises(CoursePackError) as error:
        loads_pack(text)
    (problem,) = error.value.problems
    assert problem.template == "line %(line)d, column %(column)d: not valid JSON (%(error)s)"
    assert problem.values["error"].template == words
    with pytest.raises(json.JSONDecodeError) as decoding:
        json.loads(text)
    assert (problem.values["line"], problem.values["column"]) == (decoding.value.lineno, decoding.value.colno)


def test_a_resource_may_be_its_own_text_instead_of_a_link():
    # A worked example needs no address: its text (instructions) is what the learner reads.
    data = small_pack()
    data["activities"][1]["url"] = None
    data["activities"][1]["instructions"] = "2/4 = 1/2: divide the top and the bottom by 2."
    pack = load_pack(data)
    [resource] = [a for a in pack.activities if a.id == data["activities"][1]["id"]]
    assert resource.url is None and resource.instructions.startswith("2/4")


def test_an_activity_shows_its_modality_only_when_its_title_does_not_already_say_it():
    from lti_tool.learning.coursepack import Activity

    assert Activity("a", "Hands-on: a folded paper strip", "offline", modality="hands-on").modality_note == ""
    assert Activity("b", "Worked example: 15% of 80", "resource", modality="worked example").modality_note == ""
    assert Activity("c", "Project: scale a recipe", "project", modality="hands-on").modality_note == "hands-on"
    assert Activity("d", "Slope", "resource").modality_note == ""
