import copy

import pytest

from lti_tool.learning.case import CasePackageError, read_case_package
from lti_tool.learning.coursepack import Unit

DOC = "c0000000-0000-4000-8000-000000000000"


def link(identifier: str) -> dict:
    return {"title": identifier, "identifier": identifier, "uri": f"https://example.org/case/{identifier}"}


def item(identifier: str, code: str, full: str, abbreviated: str | None = None, item_type: str = "Standard") -> dict:
    data = {
        "identifier": identifier,
        "uri": f"https://example.org/case/{identifier}",
        "fullStatement": full,
        "humanCodingScheme": code,
        "CFItemType": item_type,
        "lastChangeDateTime": "2024-01-01T00:00:00+00:00",
    }
    if abbreviated:
        data["abbreviatedStatement"] = abbreviated
    return data


def association(number: int, kind: str, origin: str, destination: str, sequence: int | None = None) -> dict:
    data = {
        "identifier": f"a{number}",
        "uri": f"https://example.org/case/a{number}",
        "associationType": kind,
        "originNodeURI": link(origin),
        "destinationNodeURI": link(destination),
        "lastChangeDateTime": "2024-01-01T00:00:00+00:00",
    }
    if sequence is not None:
        data["sequenceNumber"] = sequence
    return data


def ratios_package() -> dict:
    """Return a small CASE 1.0 package: a domain with two clusters of standards, in shuffled order."""
    return {
        "CFDocument": {
            "identifier": DOC,
            "uri": f"https://example.org/case/{DOC}",
            "creator": "Example State",
            "title": "Grade 7 Ratios",
            "description": "Ratios and proportional relationships.",
            "lastChangeDateTime": "2024-01-01T00:00:00+00:00",
        },
        "CFItems": [
            item("rp", "7.RP", "Ratios and Proportional Relationships", item_type="Domain"),
            item("rp-b", "7.RP.B", "Use proportional relationships.", item_type="Cluster"),
            item("rp-a", "7.RP.A", "Analyze proportional relationships.", item_type="Cluster"),
            item("rp2", "7.RP.A.2", "Recognize and represent proportional relationships.", "Proportional relations"),
            item("rp1", "7.RP.A.1", "Compute unit rates associated with ratios of fractions.", "Unit rates"),
            item("rp3", "7.RP.B.3", "Use proportional relationships to solve multistep percent problems."),
        ],
        "CFAssociations": [
            association(1, "isChildOf", "rp", DOC, 1),
            association(2, "isChildOf", "rp-a", "rp", 1),
            association(3, "isChildOf", "rp-b", "rp", 2),
            association(4, "isChildOf", "rp2", "rp-a", 2),
            association(5, "isChildOf", "rp1", "rp-a", 1),
            association(6, "isChildOf", "rp3", "rp-b", 1),
            association(7, "precedes", "rp1", "rp2"),
            association(8, "precedes", "rp-a", "rp-b"),
            association(9, "isRelatedTo", "rp3", "rp1"),
        ],
    }


def test_teacher_importing_a_case_framework_gets_its_standards_as_skills_in_reading_order():
    imported = read_case_package(ratios_package())

    assert imported.title == "Grade 7 Ratios"
    assert imported.description == "Ratios and proportional relationships."
    assert [s.id for s in imported.skills] == ["rp1", "rp2", "rp3"]
    first = imported.skills[0]
    assert first.name == "7.RP.A.1 Unit rates"
    assert first.description == "Compute unit rates associated with ratios of fractions."
    assert imported.skills[2].name == "7.RP.B.3 Use proportional relationships to solve multistep percent problems."


def test_clusters_of_standards_become_units_and_precedes_becomes_prerequisites():
    imported = read_case_package(ratios_package())

    assert imported.units == (
        Unit(
            "rp-a", "7.RP.A Analyze proportional relationships.", "Analyze proportional relationships.", ("rp1", "rp2")
        ),
        Unit("rp-b", "7.RP.B Use proportional relationships.", "Use proportional relationships.", ("rp3",)),
    )
    prerequisites = {s.id: s.prerequisites for s in imported.skills}
    # rp1 precedes rp2; the whole cluster A precedes cluster B.
    assert prerequisites == {"rp1": (), "rp2": ("rp1",), "rp3": ("rp1", "rp2")}
    assert imported.notes == ("skipped associations that set no order or grouping: isRelatedTo (1)",)


def test_imported_case_framework_becomes_a_course_pack():
    pack = read_case_package({"CFPackage": ratios_package()}).to_pack(subject="Mathematics", grade_level="7")

    assert pack.course.title == "Grade 7 Ratios"
    assert pack.skill_graph.prerequisites_of("rp3", transitive=True) == ("rp1", "rp2")


def test_associations_to_other_frameworks_are_noted_and_skipped():
    package = ratios_package()
    package["CFAssociations"].append(association(10, "precedes", "elsewhere", "rp1"))
    package["CFAssociations"].append(association(11, "isChildOf", "rp3", "other-doc-item"))

    imported = read_case_package(package)

    assert "CFAssociations[9]: 'elsewhere' is not a CFItem of this package; its precedes is skipped" in imported.notes
    assert (
        "CFAssociations[10]: parent 'other-doc-item' of 'rp3' is not in this package; read as top-level"
        in imported.notes
    )


def test_precedes_in_a_circle_is_refused():
    package = ratios_package()
    package["CFAssociations"].append(association(10, "precedes", "rp3", "rp1"))

    with pytest.raises(CasePackageError, match="precedes associations: Skills cannot depend on each other in a circle"):
        read_case_package(package)


def test_teacher_is_told_every_problem_in_a_broken_package():
    package = copy.deepcopy(ratios_package())
    del package["CFDocument"]["title"]
    package["CFItems"][1]["identifier"] = "rp"
    del package["CFItems"][4]["fullStatement"]
    package["CFAssociations"][0]["originNodeURI"] = "rp"

    with pytest.raises(CasePackageError) as error:
        read_case_package(package)

    assert error.value.problems == [
        "CFDocument.title: missing or empty",
        "CFItems[1].identifier: 'rp' is used by another CFItem too",
        "CFItems[4].fullStatement: missing or empty",
        "CFAssociations[0]: needs associationType, originNodeURI.identifier and destinationNodeURI.identifier",
    ]


def test_something_that_is_not_a_case_package_is_refused():
    with pytest.raises(CasePackageError) as error:
        read_case_package({"title": "not CASE"})

    assert error.value.problems == [
        "CFDocument: missing; a CASE package has one CFDocument describing the framework",
        "CFItems: missing",
    ]
