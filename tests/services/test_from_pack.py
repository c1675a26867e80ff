"""What pages derive from a course's pack is built once per pack and process, and afresh for a new pack."""

from __future__ import annotations

import gc

from lti_tool.learning.coursepack import load_pack
from lti_tool.services import content
from lti_tool.services.content import demo_pack_data, from_pack


def test_a_derived_value_is_built_once_per_pack_and_dropped_with_the_pack():
    built = []

    def titles(pack):
        built.append(pack)
        return tuple(a.title for a in pack.activities)

    first, second = load_pack(demo_pack_data()), load_pack(demo_pack_data())
    assert from_pack(first, titles) is from_pack(first, titles)
    assert built == [first]
    from_pack(second, titles)  # an equal pack is another pack: its own value
    assert built == [first, second]

    # Its own entries, not the dict's length: the same collection may drop packs other tests left behind.
    keys = [(id(first), titles), (id(second), titles)]
    assert all(key in content._FROM_PACK for key in keys)
    built.clear()
    del first, second
    gc.collect()
    assert not [key for key in keys if key in content._FROM_PACK]
