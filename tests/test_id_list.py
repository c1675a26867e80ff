"""`id_list`: class-wide reads write the students' ids into the statement, and only ever integers (issue 14)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from lti_tool.models import SkillMastery
from lti_tool.models.base import id_list


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()], ids=["postgresql", "sqlite"])
def test_ids_are_written_into_the_statement_not_bound_one_parameter_each(dialect):
    query = sa.select(SkillMastery.level).where(SkillMastery.course_id == 7,
                                                SkillMastery.person_id.in_(id_list([3, 1, 2])))
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    assert "IN (3, 1, 2)" in str(compiled)
    assert list(compiled.params) == ["course_id_1"]  # the course is still bound; the ids are not


def test_only_integers_are_written_in():
    assert id_list(["12", 3]).value == [12, 3]  # an id read as text is still a number
    for unsafe in (["1) OR (1=1"], ["1; DROP TABLE person"], [None]):
        with pytest.raises((ValueError, TypeError)):
            id_list(unsafe)
