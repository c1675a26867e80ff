"""A platform whose paging links loop (a relative self-link is easy to send) stops the read with an error.

NRPS 2.0 §2.4 and AGS 2.0 page with `Link: <…>; rel="next"`; every walk over such pages (roster, line items,
results) goes through `walk_pages`, which refuses a page URL it has already read.
"""

from __future__ import annotations

import pytest

from lti_tool.lti import ags
from lti_tool.lti.services import ServiceCallError, walk_pages


class LoopingPlatform:
    """Answers every service request with one page whose next link is the URL just asked for."""

    def __init__(self, body: list) -> None:
        self.body = body
        self.asked: list[str] = []

    def make_service_request(self, scopes, url, **_kwargs):
        self.asked.append(url)
        if len(self.asked) > 50:
            raise AssertionError("still paging after 50 requests")
        return {"headers": {}, "body": self.body, "next_page_url": url, "differences_url": None}


def test_a_page_linking_to_itself_stops_the_walk():
    pages = walk_pages("https://lms.example/p1", lambda url: ([url], url), "roster")
    assert next(pages) == ["https://lms.example/p1"]
    with pytest.raises(ServiceCallError, match="roster pages link back to themselves"):
        next(pages)


def test_line_item_and_results_reads_stop_when_the_platform_loops():
    platform = LoopingPlatform([{"id": "https://lms.example/li/9", "resourceId": "other", "tag": "x"}])
    with pytest.raises(ServiceCallError, match="line item pages link back"):
        ags.find_lineitem(platform, "https://lms.example/lineitems", "placement-1", "pathways-mastery")
    assert len(platform.asked) == 1

    platform = LoopingPlatform([{"userId": "s1", "resultScore": 1}])
    with pytest.raises(ServiceCallError, match="results pages link back"):
        ags.read_results(platform, "https://lms.example/lineitems/9")
    assert len(platform.asked) == 1
