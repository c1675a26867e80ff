import csv
import io

import pytest

from lti_tool.learning.competency_csv import (
    MOODLE_HEADERS,
    CompetencyCsvError,
    read_competency_csv,
    write_competency_csv,
)
from lti_tool.learning.coursepack import Unit
from lti_tool.learning.skills import Skill

SKILLS = (
    Skill("frac-equiv", "Equivalent fractions", "Write 1/2 as 2/4.\nAnd back.", ()),
    Skill("ratio, intro", "Ratios", 'Say "3 to 2".', ("frac-equiv",)),
    Skill("unit-rate", "Unit rates", "", ("ratio, intro", "frac-equiv")),
)

# Shaped like Moodle's own example export: older header spellings, HTML descriptions, a hierarchy, and
# cross-references written in both directions as Moodle stores them.
MOODLE_EXPORT = """\
"Parent id number","Id number",Shortname,Description,"Description format","Scale values","Scale configuration","Rule type (optional)","Rule outcome (optional)","Rule config (optional)","Cross referenced competency id numbers","Exported id (optional)","Is framework",Taxonomy
,MATH7,"Grade 7 maths","<p>Ratios and\nproportions.</p>",1,"Not yet competent,Competent","[{""scaleid"":""2""},{""id"":2,""scaledefault"":1,""proficient"":1}]",,,,,,1,"domain,competency"
,RP,"Ratios domain",,1,,,,0,null,,2,,
RP,RP1,"Unit rates","<p>Compute unit rates &amp; compare.<br></p>",1,,,,0,null,RP2,3,,
RP,RP2,"Proportional relationships",,1,,,,0,null,"RP1,RP3",4,,
RP,RP3,"Percent problems",,1,,,,0,null,"RP2,NS9,RP",5,,
"""


def test_teacher_who_exports_skills_to_moodle_csv_and_imports_them_again_gets_the_same_skills():
    text = write_competency_csv(SKILLS, framework_id="MATH7", framework_name="Grade 7 maths", description="Ratios.")

    imported = read_competency_csv(text)

    assert imported.skills == SKILLS
    assert imported.title == "Grade 7 maths"
    assert imported.description == "Ratios."
    assert imported.units == ()
    assert imported.notes == ()


def test_export_has_moodles_fourteen_columns_a_framework_row_and_plain_text_descriptions():
    rows = list(csv.reader(io.StringIO(write_competency_csv(SKILLS, framework_id="F", framework_name="Fw"))))

    assert rows[0] == list(MOODLE_HEADERS)
    assert rows[0][0] == "Parent ID number" and rows[0][10] == "Cross-referenced competency ID numbers"
    assert all(len(row) == 14 for row in rows)
    framework, *competencies = rows[1:]
    assert framework[12] == "1" and framework[5] == "Not yet competent,Competent"
    assert [row[1] for row in competencies] == ["frac-equiv", "ratio, intro", "unit-rate"]
    assert {row[4] for row in competencies} == {"2"}
    assert competencies[2][10] == "ratio%2C intro,frac-equiv"


def test_teacher_importing_a_moodle_framework_gets_leaf_skills_grouped_in_units_and_html_as_text():
    imported = read_competency_csv(MOODLE_EXPORT)

    assert imported.title == "Grade 7 maths"
    assert imported.description == "Ratios and proportions."
    assert [s.id for s in imported.skills] == ["RP1", "RP2", "RP3"]
    assert imported.skills[0].description == "Compute unit rates & compare."
    assert imported.units == (Unit("RP", "Ratios domain", "", ("RP1", "RP2", "RP3")),)


def test_moodle_cross_references_in_both_directions_are_not_read_as_prerequisites():
    imported = read_competency_csv(MOODLE_EXPORT)

    assert {s.id: s.prerequisites for s in imported.skills} == {"RP1": (), "RP2": (), "RP3": ()}
    assert "'RP1' and 'RP2' cross-reference each other, so neither is taken as a prerequisite of the other" in (
        imported.notes
    )
    assert "'RP2' and 'RP3' cross-reference each other, so neither is taken as a prerequisite of the other" in (
        imported.notes
    )
    assert "row 6: 'RP3' cross-references 'NS9', which is not in the file" in imported.notes
    assert "row 6: 'RP3' cross-references the group 'RP', not a skill; left out" in imported.notes


def test_imported_skills_become_a_course_pack_ready_for_activities():
    pack = read_competency_csv(MOODLE_EXPORT).to_pack(subject="Mathematics", grade_level="7")

    assert pack.course.title == "Grade 7 maths"
    assert [u.id for u in pack.units] == ["RP"]
    assert pack.activities == ()


def test_teacher_is_told_every_problem_in_a_broken_file():
    text = (
        ",".join(MOODLE_HEADERS)
        + "\n"
        + ",a,A,,2,,,,0,null,,,,\n"
        + ",a,Again,,2,,,,0,null,,,,\n"
        + ",,Nameless,,2,,,,0,null,,,,\n"
        + ",b,,,2,,,,0,null,,,,\n"
    )

    with pytest.raises(CompetencyCsvError) as error:
        read_competency_csv(text)

    assert error.value.problems == [
        "row 3: the ID number 'a' is already used in row 2",
        "row 4: the competency has no ID number",
        "row 5: the competency 'b' has no short name",
        "no row has 'Is framework' set to 1; export the whole framework from Moodle "
        "(Site administration > Competencies > Export competency framework)",
    ]


def test_cross_references_that_form_a_circle_are_refused():
    text = write_competency_csv(
        [Skill("a", "A", "", ("c",)), Skill("b", "B", "", ("a",)), Skill("c", "C", "", ("b",))],
        framework_id="F",
        framework_name="F",
    )

    with pytest.raises(CompetencyCsvError, match="in a circle: a → c → b → a"):
        read_competency_csv(text)


def test_an_empty_file_is_refused_plainly():
    with pytest.raises(CompetencyCsvError, match="the file is empty"):
        read_competency_csv("")
