"""Placements: answering a Deep Linking request, and finding the placement a launch opens."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..lti.deep_linking import LinkChoice, accepts_resource_links, build_response_jwt
from ..lti.keys import current_signing_key
from ..lti.toolconf import ToolRegistration
from ..models import Deployment, LaunchSession, Placement, Platform
from .errors import Forbidden, ServiceError

PLACEMENT_PARAM = "pathways_placement"


@dataclass(frozen=True)
class PlacementOption:
    """Something a teacher can place: the whole learning plan, or one unit of skills."""

    key: str
    title: str
    description: str
    kind: str
    skill_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeepLinkReturn:
    """The signed response and where the browser must post it."""

    return_url: str
    jwt: str


def deep_link_settings(launch: LaunchSession) -> dict:
    """Return the launch's deep-linking settings, refusing launches that carry none."""
    settings = (launch.details or {}).get("deep_linking")
    if launch.message_type != "LtiDeepLinkingRequest" or not isinstance(settings, dict):
        raise Forbidden("This page is for adding Pathways to a course from the LMS.")
    if not accepts_resource_links(settings):
        raise ServiceError("This place in the LMS does not accept links to tools, so Pathways cannot be added here.")
    return settings


def placement_options(launch: LaunchSession) -> list[PlacementOption]:
    """Return what the teacher may place: the learning plan (units come with the course's skill map)."""
    return [
        PlacementOption(
            key="plan",
            title="My learning plan",
            description="Each student's own plan for the whole course: goals, next steps, practice and reviews.",
            kind="plan",
        )
    ]


def answer_deep_link(
    launch: LaunchSession,
    chosen: Sequence[tuple[str, str]],
    *,
    with_gradebook_column: bool,
    score_maximum: float,
    secret_key: str,
    base_url: str,
) -> DeepLinkReturn:
    """Create placements for the chosen options and sign the Deep Linking response for them."""
    settings = deep_link_settings(launch)
    if (launch.details or {}).get("deep_linking_answered"):
        raise ServiceError("These links were already sent to the LMS. To add more, start again from the LMS.")
    options = {o.key: o for o in placement_options(launch)}
    picks = [(options[key], title.strip() or options[key].title) for key, title in chosen if key in options]
    if not picks:
        raise ServiceError("Choose at least one thing to add.")
    if len(picks) > 1 and not settings.get("accept_multiple", True):
        raise ServiceError("This place in the LMS accepts only one link at a time; choose one.")
    if not 0 < score_maximum <= 10_000:
        raise ServiceError("The gradebook maximum must be a number between 0 and 10,000.")
    choices = []
    for option, title in picks:
        placement = Placement(
            course_id=launch.course_id,
            resource_id=secrets.token_urlsafe(12),
            title=title[:300],
            kind=option.kind,
            skill_ids=list(option.skill_ids),
            score_maximum=score_maximum,
        )
        db.session.add(placement)
        choices.append(
            LinkChoice(
                title=placement.title,
                url=base_url + "/lti/launch",
                custom={PLACEMENT_PARAM: placement.resource_id},
                resource_id=placement.resource_id,
                score_maximum=score_maximum if with_gradebook_column else None,
            )
        )
    platform = db.session.get(Platform, launch.platform_id)
    deployment = db.session.get(Deployment, launch.deployment_id)
    registration = ToolRegistration(platform, current_signing_key(secret_key))
    token = build_response_jwt(registration, deployment.deployment_id, settings, choices)
    # One answer per request: the platform's `data` is single-use, and a second post would duplicate links.
    launch.details = {**launch.details, "deep_linking_answered": True}
    db.session.commit()
    return DeepLinkReturn(return_url=settings["deep_link_return_url"], jwt=token)


def placement_for_launch(launch: LaunchSession, title: str) -> Placement | None:
    """Return the placement a resource-link launch opens, creating it after an LMS course copy."""
    resource_id = ((launch.details or {}).get("custom") or {}).get(PLACEMENT_PARAM)
    if not resource_id:
        return None
    placement = db.session.scalars(
        sa.select(Placement).where(Placement.course_id == launch.course_id, Placement.resource_id == resource_id)
    ).first()
    if placement is None:
        # A copied course keeps the link's custom parameters; give the copy its own placement.
        placement = Placement(course_id=launch.course_id, resource_id=resource_id, title=title or "Pathways",
                              kind="plan", skill_ids=[])
        db.session.add(placement)
    if launch.resource_link_id and placement.resource_link_id != launch.resource_link_id:
        placement.resource_link_id = launch.resource_link_id
    lineitem = (launch.details or {}).get("lineitem")
    appeared = bool(lineitem) and placement.lineitem_url is None
    if lineitem and placement.lineitem_url != lineitem:
        placement.lineitem_url = lineitem
    db.session.flush()
    if appeared:
        # The column has just appeared in the gradebook: fill it with everyone's current grade now, instead of
        # leaving it empty until each student's next change of level.
        from .publishing import queue_course

        queue_course(launch.course_id, now=launch.created_at)
    return placement
