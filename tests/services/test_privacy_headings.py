"""The readable export's course headings: each course's landmarks are named by its heading, so no two may match."""

from __future__ import annotations

import pytest

from lti_tool.services.privacy_words import course_headings


@pytest.mark.parametrize(("courses", "expected"), [
    # Different titles stay as they are.
    ([("math-7", "Grade 7 Mathematics", "MATH7"), ("sci-8", "Grade 8 Science", "SCI8")],
     ["Grade 7 Mathematics", "Grade 8 Science"]),
    # One title, different LMS labels: the label tells them apart.
    ([("a", "Algebra", "ALG-A"), ("b", "Algebra", "ALG-B"), ("c", "Geometry", "GEO")],
     ["Algebra (ALG-A)", "Algebra (ALG-B)", "Geometry"]),
    # One title and one label: counted.
    ([("a", "Algebra", "ALG"), ("b", "Algebra", "ALG")], ["Algebra (1)", "Algebra (2)"]),
    # Labels that tell only some apart: those are labelled, the rest counted.
    ([("a", "Algebra", "ALG"), ("b", "Algebra", "ALG"), ("c", "Algebra", None), ("d", "Algebra", "ALG-2")],
     ["Algebra (ALG) (1)", "Algebra (ALG) (2)", "Algebra", "Algebra (ALG-2)"]),
    # No title: the context id, as before.
    ([("ctx-1", None, None), ("ctx-2", "", None)], ["ctx-1", "ctx-2"]),
])
def test_course_headings_differ_whenever_titles_repeat(courses, expected):
    found = course_headings([{"context_id": c, "title": t, "label": lb} for c, t, lb in courses])
    assert found == expected
    assert len(set(found)) == len(found)

