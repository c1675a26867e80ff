"""Build the LtiDeepLinkingResponse a teacher's choice sends back to the LMS (Deep Linking 2.0 §4.2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem

from ..text import LABEL_LIMIT, cut
from .toolconf import ToolRegistration

RESOURCE_LINK_TYPE = "ltiResourceLink"
DATA_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/data"
MASTERY_TAG = "pathways-mastery"
#: The longest `text` sent: LMSs show it as the link's description (Moodle's activity description, Brightspace's and
#: Blackboard's item description); a pack unit's description has no bound of its own.
TEXT_LIMIT = 1000


@dataclass(frozen=True)
class LinkChoice:
    """One Pathways link the teacher chose to add."""

    title: str
    url: str
    custom: Mapping[str, str]
    resource_id: str
    score_maximum: float | None  # None: no gradebook column
    text: str = ""
    # ISO 8601 date-times (DL 2.0 §3.4.2 ltiResourceLink `available` and `submission`); None: not sent.
    available_start: str | None = None
    available_end: str | None = None
    submission_end: str | None = None


class _Resource(DeepLinkResource):
    """pylti1p3's resource link with the optional `available` and `submission` windows it lacks."""

    def __init__(self) -> None:
        super().__init__()
        self._extra: dict[str, object] = {}

    def set_window(self, name: str, start: str | None, end: str | None) -> _Resource:
        window = {key: value for key, value in (("startDateTime", start), ("endDateTime", end)) if value}
        if window:
            self._extra[name] = window
        return self

    def set_text(self, text: str) -> _Resource:
        """Set the item's plain-text description (DL 2.0 §3.4.2 `text`), which pylti1p3 cannot send; "" sends none."""
        if text:
            self._extra["text"] = text
        return self

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), **self._extra}


class _DeepLink(DeepLink):
    def get_message_jwt(self, resources: Sequence[DeepLinkResource]) -> dict[str, object]:
        message = super().get_message_jwt(resources)
        # pylti1p3 sends "data": null when the platform sent none; the spec wants it echoed only if given.
        if message.get(DATA_CLAIM) is None:
            message.pop(DATA_CLAIM, None)
        # Blackboard Learn requires `sub` in the response ("the user making the changes, or your application id");
        # pylti1p3 leaves it out. The client id names Pathways without sending a user id back; others ignore it.
        message.setdefault("sub", self._registration.get_client_id())
        return message


def accepts_resource_links(settings: Mapping[str, Any]) -> bool:
    """Tell whether the platform accepts ltiResourceLink items in this deep-linking request."""
    accept = settings.get("accept_types")
    return isinstance(accept, list) and RESOURCE_LINK_TYPE in accept


def accepts_line_items(settings: Mapping[str, Any]) -> bool:
    """Tell whether the platform takes a content item's lineItem here (DL 2.0 §4.4.1 `accept_lineitem`).

    Only an explicit false says the platform ignores line items; an absent flag promises nothing either way, so
    Pathways still offers the column (most platforms that omit it do create one).
    """
    return settings.get("accept_lineitem") is not False


def accepts_multiple(settings: Mapping[str, Any]) -> bool:
    """Tell whether the platform takes several content items in one response (DL 2.0 §4.4.1 `accept_multiple`).

    Only an explicit true allows several: the flag is optional with no stated default, and a platform that did not
    say it takes several may refuse the whole response, so absent reads as one item (every platform takes one).
    """
    return settings.get("accept_multiple") is True


def build_response_jwt(
    registration: ToolRegistration, deployment_id: str, settings: Mapping[str, Any], choices: Sequence[LinkChoice]
) -> str:
    """Return the signed LtiDeepLinkingResponse JWT carrying the chosen links.

    A lineItem goes only where the platform takes one: it would ignore it, and the teacher would wait for a
    column that never comes.
    """
    line_items = accepts_line_items(settings)
    resources = []
    for choice in choices:
        # A placement keeps 300 characters; the LMS makes the link an assignment or a grade item of at most 255.
        title = cut(choice.title, LABEL_LIMIT)
        resource = (
            _Resource()
            .set_window("available", choice.available_start, choice.available_end)
            .set_window("submission", None, choice.submission_end)
            .set_title(title)
            .set_text(cut(choice.text, TEXT_LIMIT))
            .set_url(choice.url)
            .set_custom_params(dict(choice.custom))
            .set_target("iframe")
        )
        if choice.score_maximum is not None and line_items:
            resource.set_lineitem(
                LineItem()
                .set_score_maximum(choice.score_maximum)
                .set_label(title)
                .set_resource_id(choice.resource_id)
                .set_tag(MASTERY_TAG)
            )
        resources.append(resource)
    return _DeepLink(registration, deployment_id, dict(settings)).get_response_jwt(resources)
