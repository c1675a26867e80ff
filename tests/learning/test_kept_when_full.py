"""What the learning core keeps for a process (question variants, a model's next-level projections) stays bounded,
and a full store lets its oldest entry go, not all of them: the entry just made is still there for the next page."""

from __future__ import annotations

from lti_tool.learning import coursepack, mastery
from lti_tool.learning.coursepack import instantiate, load_pack
from lti_tool.learning.mastery import Level, MasteryModel, SkillState
from tests.learning.test_item_templates import _pack_with, _template


def test_a_question_variant_made_just_before_the_store_filled_is_still_kept():
    template = load_pack(_pack_with(_template())).item("add-t")
    previous = None
    # Past the bound whatever other tests left in the store: emptied when full, it would lose the previous variant.
    for n in range(coursepack._MAX_VARIANTS + 1):
        variant = instantiate(template, {"a": n, "b": 7, "c": 3})
        if previous is not None:
            assert instantiate(template, previous[0]) is previous[1], n
        previous = ({"a": n, "b": 7, "c": 3}, variant)


def test_a_projection_made_just_before_the_models_store_filled_is_still_kept(monkeypatch):
    projected: list[SkillState] = []
    monkeypatch.setattr(MasteryModel, "_next_level_needs",
                        lambda self, state, thresholds, **_: projected.append(state))
    model = MasteryModel()
    for n in range(mastery._NEEDS_KEPT + 1):
        model.next_level_needs(SkillState("fractions", attempts=n), shown=Level.ATTEMPTED)
    assert len(projected) == mastery._NEEDS_KEPT + 1
    model.next_level_needs(SkillState("fractions", attempts=mastery._NEEDS_KEPT), shown=Level.ATTEMPTED)
    model.next_level_needs(SkillState("fractions", attempts=1), shown=Level.ATTEMPTED)
    assert len(projected) == mastery._NEEDS_KEPT + 1  # the newest and the oldest still kept: not projected again
    model.next_level_needs(SkillState("fractions", attempts=0), shown=Level.ATTEMPTED)
    assert len(projected) == mastery._NEEDS_KEPT + 2  # the very first went
