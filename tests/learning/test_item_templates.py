"""Item templates: an author writes one question with parameters and learners get many variants."""

import copy
import random
import time
from fractions import Fraction

import pytest

from lti_tool.learning.coursepack import CoursePackError, check_answer, dump_pack, instantiate, load_pack
from lti_tool.learning.item_templates import TemplateError, evaluate, sample, variant_count, variant_key
from tests.learning.test_coursepack import small_pack


def _template(**changes):
    item = {
        "id": "add-t",
        "type": "numeric",
        "prompt": "What is {a}/{b} + {c}/{b}?",
        "skills": ["add"],
        "difficulty": "easy",
        "parameters": {"a": {"min": 1, "max": 4, "step": 1}, "b": {"values": [5, 7, 9]},
                       "c": {"min": 1, "max": 3, "step": 1}},
        "constraints": ["a + c < b"],
        "answer": "(a + c) / b",
        "tolerance": 0,
        "unit": None,
        "hints": ["Add the numerators: {a} + {c}."],
        "solution": "{a}/{b} + {c}/{b} = {a + c}/{b}.",
    }
    item.update(changes)
    return item


def _pack_with(item):
    data = small_pack()
    practice = next(a for a in data["activities"] if a["kind"] == "practice")
    practice["items"].append(item)
    return data


def test_formulas_are_exact_arithmetic_over_the_parameters():
    assert evaluate("a/b + c/d", {"a": 1, "b": 3, "c": 1, "d": 6}) == Fraction(1, 2)
    assert evaluate("a * 0.1 + 0.2", {"a": 1}) == Fraction(3, 10)
    assert evaluate("a < b and b != 4", {"a": 1, "b": 3}) == 1
    assert evaluate("max(a, 2) ** 2 - gcd(12, 8)", {"a": 1}) == 0


@pytest.mark.parametrize("formula", [
    "__import__('os').system('true')", "a.__class__", "open('x')", "[a for a in b]", "lambda: 1", "2 ** 1000000",
    "a / 0", "'text'", "b", "min(a, key=a)",
])
def test_anything_but_arithmetic_is_refused_and_never_run(formula):
    with pytest.raises(TemplateError):
        evaluate(formula, {"a": 1})


def test_a_variant_is_the_template_written_out_and_checked_against_its_own_numbers():
    pack = load_pack(_pack_with(_template()))
    template = pack.item("add-t")
    item = instantiate(template, {"a": 2, "b": 7, "c": 3})
    assert item.prompt == "What is 2/7 + 3/7?"
    assert item.solution == "2/7 + 3/7 = 5/7."
    assert item.hints == ("Add the numerators: 2 + 3.",)
    assert check_answer(item, "5/7") and not check_answer(item, "5/14")
    assert variant_key("add-t", {"c": 3, "a": 2, "b": 7}) == "add-t|a=2,b=7,c=3"


def test_sampling_meets_the_constraints_and_avoids_variants_already_seen():
    template = load_pack(_pack_with(_template())).item("add-t")
    count = variant_count(template.parameters, template.constraints)
    assert count == sum(1 for a in range(1, 5) for b in (5, 7, 9) for c in range(1, 4) if a + c < b)
    rng, seen = random.Random(3), set()
    for _ in range(count):
        params = sample(template.parameters, template.constraints, rng, lambda p: variant_key("add-t", p) in seen)
        assert params["a"] + params["c"] < params["b"]
        seen.add(variant_key("add-t", params))
    assert len(seen) == count


def test_a_pack_with_templates_round_trips_exactly():
    canonical = dump_pack(load_pack(_pack_with(_template())))
    assert dump_pack(load_pack(copy.deepcopy(canonical))) == canonical
    assert canonical["activities"][0]["items"][-1]["parameters"]["b"] == {"values": [5, 7, 9]}


def test_author_is_told_about_unknown_names_unsafe_formulas_and_impossible_constraints():
    with pytest.raises(CoursePackError) as error:
        load_pack(_pack_with(_template(answer="(a + z) / b", prompt="{__import__('os')}", constraints=["a > 100"])))
    text = str(error.value)
    assert "uses z, which is not one of the parameters" in text
    assert "__import__" in text
    with pytest.raises(CoursePackError, match="no values of the parameters meet every constraint"):
        load_pack(_pack_with(_template(constraints=["a > 100"])))
    with pytest.raises(CoursePackError, match="divides by zero"):
        load_pack(_pack_with(_template(parameters={"a": {"min": 0, "max": 2}, "b": {"values": [5]},
                                                   "c": {"min": 1, "max": 1}}, constraints=[], answer="b / a")))


def test_a_stored_pack_is_read_back_without_trying_its_variants_again():
    # Trying variants is the import's job (the test above): a pack read back from the database skips it, which
    # is what makes a server process's first page on a big course fast. Unsafe names are still refused.
    sometimes_broken = _pack_with(_template(parameters={"a": {"min": 0, "max": 2}, "b": {"values": [5]},
                                                       "c": {"min": 1, "max": 1}}, constraints=[], answer="b / a"))
    with pytest.raises(CoursePackError, match="divides by zero"):
        load_pack(sometimes_broken)
    assert load_pack(sometimes_broken, sample_templates=False).item("add-t").parameters
    with pytest.raises(CoursePackError, match="__import__"):
        load_pack(_pack_with(_template(prompt="{__import__('os')}")), sample_templates=False)


def test_author_is_warned_when_a_skill_has_fewer_than_ten_distinct_questions():
    few = load_pack(small_pack())
    assert any("fewer than 10" in note for note in few.warnings())
    many = load_pack(_pack_with(_template()))
    assert not any("'add'" in note for note in many.warnings())


@pytest.mark.parametrize(("formula", "template", "values"), [
    ("(a + b", "%(formula)s is not a formula: the bracket %(bracket)s at character %(column)d is never closed",
     {"formula": "'(a + b'", "bracket": "(", "column": 1}),
    ("a + b)", "%(formula)s is not a formula: the bracket %(bracket)s at character %(column)d closes nothing",
     {"formula": "'a + b)'", "bracket": ")", "column": 6}),
    ("a b", "%(formula)s is not a formula: it cannot be read from character %(column)d on",
     {"formula": "'a b'", "column": 3}),
    ("a ==", "%(formula)s is not a formula: it stops before it is complete", {"formula": "'a =='"}),
    ("z + 1", "%(name)s is not one of the item's parameters", {"name": "'z'"}),
    ("a @ b", "%(code)s is not arithmetic a template may use", {"code": "'a @ b'"}),
    ("gcd(a)", "%(function)s() was given the wrong number of values", {"function": "gcd"}),
    ("a ** 13", "powers must be small whole numbers", {}),
    ("((b ** 12) ** 12) ** 12", "the formula's numbers grow too large (more than %(digits)d digits)", {"digits": 300}),
    ("1 / (" + "(b ** 12) ** 12 * " * 7 + "1)", "the formula's numbers grow too large (more than %(digits)d digits)",
     {"digits": 300}),
    ("a / (b - 2)", "the formula divides by zero", {}),
    ("a" * 201, "the formula is longer than %(limit)d characters", {"limit": 200}),
])
def test_a_formula_error_is_a_message_with_its_values_so_pages_can_translate_it(formula, template, values):
    # Python's own words for a syntax error are English only: the author gets the place instead.
    with pytest.raises(TemplateError) as error:
        evaluate(formula, {"a": 1, "b": 2})
    assert (error.value.message.template, dict(error.value.message.values)) == (template, values)
    assert str(error.value) == template % values  # the command line and logs still read English


def test_a_packs_template_problems_keep_the_formula_errors_message():
    # On the map editor's page the inner sentence is translated too, not only "with … the template fails".
    with pytest.raises(CoursePackError) as error:
        load_pack(_pack_with(_template(answer="(a + c / b")))
    problem = next(p for p in error.value.problems if p.where.endswith(".answer"))
    assert problem.message.template.endswith("is never closed")
    with pytest.raises(CoursePackError) as error:
        load_pack(_pack_with(_template(parameters={"a": {"min": 0, "max": 2}, "b": {"values": [5]},
                                                   "c": {"min": 1, "max": 1}}, constraints=[], answer="b / a")))
    (failed,) = error.value.problems
    assert failed.message.template == "with %(values)s the template fails: %(error)s"
    assert failed.message.values["error"].template == "the formula divides by zero"


def test_a_power_of_powers_is_refused_before_it_is_computed():
    # Computed, the last power alone would take hours (twelve times the digits at each bracket).
    started = time.monotonic()
    with pytest.raises(TemplateError):
        evaluate("(" * 8 + "b" + " ** 12)" * 8, {"b": 9})
    assert time.monotonic() - started < 5  # computed, hours; refused, milliseconds (room for a loaded machine)
    assert evaluate("(b ** 12) ** 12", {"b": 2}) == 2 ** 144  # 44 digits: fine


def test_an_if_placeholder_shows_its_text_only_when_its_condition_holds():
    # "= 34/45, which is 34/45": a solution needs to leave out "which is …" when the fraction is already simplest.
    solution = "{a}/{b} + {c}/{b} = {a + c}/{b}{if gcd(a + c, b) != 1:, which is {(a + c) / b}}."
    pack = load_pack(_pack_with(_template(parameters={"a": {"values": [1, 2]}, "b": {"values": [6]},
                                                      "c": {"values": [1]}}, constraints=[], solution=solution)))
    template = pack.item("add-t")
    assert instantiate(template, {"a": 1, "b": 6, "c": 1}).solution == "1/6 + 1/6 = 2/6, which is 1/3."
    assert instantiate(template, {"a": 2, "b": 6, "c": 1}).solution == "2/6 + 1/6 = 3/6, which is 1/2."
    assert instantiate(template, {"a": 1, "b": 6, "c": 1}).prompt == "What is 1/6 + 1/6?"
    plain = load_pack(_pack_with(_template(parameters={"a": {"values": [1]}, "b": {"values": [7]},
                                                       "c": {"values": [1]}}, constraints=[], solution=solution)))
    assert instantiate(plain.item("add-t"), {"a": 1, "b": 7, "c": 1}).solution == "1/7 + 1/7 = 2/7."
    # Its condition is checked as any formula is: unknown names and code are refused when the pack is loaded.
    with pytest.raises(CoursePackError, match="uses z, which is not one of the parameters"):
        load_pack(_pack_with(_template(solution="{a + c}/{b}{if z > 1:, which is {(a + c) / b}}.")))
    with pytest.raises(CoursePackError, match="__import__"):
        load_pack(_pack_with(_template(solution="{a}{if __import__('os'):!}")))
    assert dump_pack(load_pack(_pack_with(_template(solution=solution))))["activities"][0]["items"][-1][
        "solution"] == solution


def test_an_if_inside_a_formula_or_left_open_is_refused_when_the_pack_is_loaded():
    # The text an {if} gave was read again for {formula}s: "{(a{if a != 7:)}}" made the formula "(a)" for every a
    # but 7, which the load's check and its sampled variants passed, and left "(a" (not a formula) to break the
    # question a learner was served with a = 7.
    wide = {"a": {"min": 1, "max": 10000}, "b": {"values": [20000]}, "c": {"values": [1]}}
    spliced = _template(parameters=wide, solution="{(a{if a != 7:)}} + {c}.")
    with pytest.raises(CoursePackError, match=r"solution.*\{ or \}"):
        load_pack(_pack_with(spliced))
    # "{if" never closed was shown to the learner as it stands ("… {if a > 1:, which is 2/5").
    with pytest.raises(CoursePackError, match=r"hints\[0\].*\{ or \}"):
        load_pack(_pack_with(_template(hints=["{a}/{b}{if a > 1:, which is {a/b}"])))
    with pytest.raises(CoursePackError, match=r"\{if …\} inside another"):
        load_pack(_pack_with(_template(solution="{a}{if a > 1:{if c > 1:!}}")))
    # A colon in the text is the text's; a space after the condition's colon is shown.
    pack = load_pack(_pack_with(_template(solution="{a}:{b}{if a > 1: is the ratio {a}:{b}}")))
    assert instantiate(pack.item("add-t"), {"a": 2, "b": 5, "c": 1}).solution == "2:5 is the ratio 2:5"
    assert instantiate(pack.item("add-t"), {"a": 1, "b": 5, "c": 1}).solution == "1:5"
