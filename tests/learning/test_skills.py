import pytest

from lti_tool.learning.skills import Skill, SkillGraph, SkillGraphError


def fractions_course() -> SkillGraph:
    return SkillGraph(
        [
            Skill("ratios", "Ratios", "Compare quantities", ("fractions", "division")),
            Skill("counting", "Counting"),
            Skill("fractions", "Fractions", prerequisites=("division",)),
            Skill("division", "Division", prerequisites=("counting",)),
            Skill("percent", "Percentages", prerequisites=("ratios",)),
        ]
    )


def test_teacher_sees_skills_listed_with_every_prerequisite_before_the_skill_that_needs_it():
    order = fractions_course().topological_order()

    assert sorted(order) == ["counting", "division", "fractions", "percent", "ratios"]
    for skill in fractions_course():
        for prerequisite in skill.prerequisites:
            assert order.index(prerequisite) < order.index(skill.id)


def test_teacher_who_makes_two_skills_need_each_other_is_told_about_the_circle():
    with pytest.raises(SkillGraphError) as error:
        SkillGraph([Skill("a", "A", prerequisites=("b",)), Skill("b", "B", prerequisites=("a",))])

    assert str(error.value) == "Skills cannot depend on each other in a circle: a → b → a"


def test_teacher_is_told_the_exact_circle_even_when_it_is_deep_inside_the_map():
    with pytest.raises(SkillGraphError, match="in a circle: b → c → d → b"):
        SkillGraph(
            [
                Skill("a", "A", prerequisites=("b",)),
                Skill("b", "B", prerequisites=("c",)),
                Skill("c", "C", prerequisites=("d",)),
                Skill("d", "D", prerequisites=("b",)),
            ]
        )


def test_teacher_who_makes_a_skill_need_itself_is_told_about_the_circle():
    with pytest.raises(SkillGraphError, match="in a circle: a → a"):
        SkillGraph([Skill("a", "A", prerequisites=("a",))])


def test_teacher_who_names_a_missing_prerequisite_is_told_which_one():
    with pytest.raises(SkillGraphError, match="'algebra' needs 'arithmetic', which is not a skill"):
        SkillGraph([Skill("algebra", "Algebra", prerequisites=("arithmetic",))])


def test_teacher_who_reuses_a_skill_id_is_refused():
    with pytest.raises(SkillGraphError, match="share the id 'a'"):
        SkillGraph([Skill("a", "A"), Skill("a", "Another A")])


def test_skill_map_errors_are_value_errors_so_callers_can_treat_them_as_bad_input():
    assert issubclass(SkillGraphError, ValueError)


def test_learner_view_lists_direct_and_all_prerequisites_of_a_skill():
    course = fractions_course()

    assert course.prerequisites_of("ratios") == ("fractions", "division")
    assert course.prerequisites_of("percent", transitive=True) == (
        "counting",
        "division",
        "fractions",
        "ratios",
    )
    assert course.prerequisites_of("counting", transitive=True) == ()


def test_teacher_sees_which_skills_build_on_a_skill():
    course = fractions_course()

    assert set(course.dependents_of("division")) == {"fractions", "ratios"}
    assert course.dependents_of("counting", transitive=True) == ("division", "fractions", "ratios", "percent")
    assert course.dependents_of("percent") == ()


def test_asking_about_an_unknown_skill_is_a_skill_graph_error():
    with pytest.raises(SkillGraphError, match="'geometry' is not a skill"):
        fractions_course().prerequisites_of("geometry")


def test_new_learner_is_ready_only_for_skills_without_prerequisites():
    assert fractions_course().ready_skills(set()) == ("counting",)


def test_learner_who_masters_division_is_ready_for_fractions_but_not_yet_ratios():
    assert fractions_course().ready_skills({"counting", "division"}) == ("fractions",)


def test_learner_who_masters_everything_has_nothing_left_to_be_ready_for():
    course = fractions_course()

    assert course.ready_skills(set(course.topological_order())) == ()


def test_skill_map_round_trips_through_course_pack_records():
    course = fractions_course()

    again = SkillGraph.from_dicts(course.to_dicts())

    assert again.to_dicts() == course.to_dicts()
    assert again["ratios"] == Skill("ratios", "Ratios", "Compare quantities", ("fractions", "division"))


def test_a_long_chain_of_skills_does_not_exhaust_the_stack():
    chain = [Skill("s0", "S0")] + [Skill(f"s{i}", f"S{i}", prerequisites=(f"s{i - 1}",)) for i in range(1, 5000)]

    course = SkillGraph(chain)

    assert course.topological_order()[:3] == ("s0", "s1", "s2")
    assert len(course.prerequisites_of("s4999", transitive=True)) == 4999
