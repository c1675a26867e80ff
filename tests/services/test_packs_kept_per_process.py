"""Each process keeps the parsed packs of recent courses; when that store is full, the oldest course's pack goes,
not every course's at once (each of which would then be parsed again on its next page)."""

from __future__ import annotations

from lti_tool.extensions import db
from lti_tool.kept_map import KeptMap
from lti_tool.services import content
from lti_tool.services.content import course_pack
from tests.races.support import demo_course


def test_a_courses_parsed_pack_stays_when_other_courses_fill_the_store(sandbox, tool, monkeypatch):
    course_id, *_ = demo_course(sandbox, tool)
    store: KeptMap = KeptMap(content.MAX_CACHED_PACKS)
    monkeypatch.setattr(content, "_PACKS", store)
    parsed = []
    load_pack = content.load_pack
    monkeypatch.setattr(content, "load_pack", lambda *a, **k: parsed.append(1) or load_pack(*a, **k))
    for other in range(1, content.MAX_CACHED_PACKS):  # other courses' packs, parsed before this one's
        store.put(-other, ("version", None, {}))
    with tool.app.app_context():
        pack = course_pack(course_id)
        assert len(store) == content.MAX_CACHED_PACKS and parsed == [1]
        store.put(-content.MAX_CACHED_PACKS, ("version", None, {}))  # one more course's page: the store is full

        assert store.get(-1) is None  # the oldest course's pack went
        assert course_pack(course_id) is pack and parsed == [1]  # this one's stayed: not parsed again
        db.session.remove()
