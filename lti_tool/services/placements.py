"""Placements: answering a Deep Linking request, and finding the placement a launch opens."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value

from ..bounded_json import decode_json
from ..extensions import db
from ..learning.translations import BASE_LANGUAGE
from ..lti import ags
from ..lti.claims import PLACEMENT_PARAM, UNIT_SKILLS_PARAM
from ..lti.deep_linking import (
    LinkChoice,
    accepts_line_items,
    accepts_multiple,
    accepts_resource_links,
    build_response_jwt,
)
from ..lti.keys import current_signing_key
from ..lti.outbound import csp_origin
from ..lti.toolconf import ToolRegistration, add_origin_command, on_platform, platform_origins
from ..models import Course, Deployment, LaunchSession, Placement, Platform
from ..models.base import insert_if_missing
from .errors import N_, Forbidden, ServiceError

RESOURCE_ID_MAX = 64  # Placement.resource_id
log = logging.getLogger(__name__)
ALREADY_ANSWERED = N_("These links were already sent to the LMS. To add more, start again from the LMS.")


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
        raise Forbidden(N_("This page is for adding Pathways to a course from the LMS."))
    if not accepts_resource_links(settings):
        raise ServiceError(N_("This place in the LMS does not accept links to tools, so Pathways cannot be added "
                              "here."))
    # Deep Linking 2.0 §4.4.1: the answer is auto-posted to deep_link_return_url; only an http(s) address on the
    # platform's own origins may receive it (a javascript: URL would run in our page).
    platform = db.session.get(Platform, launch.platform_id)
    return_url = settings.get("deep_link_return_url")
    if platform is None or not on_platform(return_url, platform_origins(platform)):
        # As add-origin takes it (lowercase, punycode, a plain host): an address no registration could name gets
        # the plain refusal, never a command that would fail or a host too long to show.
        where = csp_origin(return_url)
        if platform is None or where is None:
            raise ServiceError(N_("The LMS asked for the links to be sent to an address that is not its own, so "
                                  "Pathways will not send them. Ask your LMS administrator."))
        # An http(s) address the platform signed, on a host the admin has not registered for it (Canvas Cloud and
        # Blackboard SaaS take the links back on the school's host): the teacher passes on the one step to take.
        command = add_origin_command(platform.issuer, platform.client_id, where)
        log.warning("refused a Deep Linking return to %s, not one of platform %s's origins; if it is the LMS's "
                    "own, run: %s", where, platform.id, command)
        raise ServiceError(N_("The LMS asked for the links to be sent to %(origin)s, an address not registered for "
                              "this LMS in Pathways, so Pathways will not send them. If that address is your LMS's, "
                              "ask your Pathways administrator to run: %(command)s"), origin=where, command=command)
    return settings


def placement_options(launch: LaunchSession, language: str = BASE_LANGUAGE,
                      localize: Callable[[str], str] = str) -> list[PlacementOption]:
    """Return what the teacher may place: the whole learning plan, then each unit of the course's skill map, the
    units in `language` where the pack translates them, the plan's catalogued words through `localize` (the page's
    catalogue): the picker and the links sent to the LMS say the same."""
    from .content import course_pack

    options = [
        PlacementOption(
            key="plan",
            title=localize(N_("My learning plan")),
            description=localize(N_("Each student's own plan for the whole course: goals, next steps, practice and "
                                    "reviews.")),
            kind="plan",
        )
    ]
    pack = course_pack(launch.course_id, language)
    names = {skill.id: skill.name for skill in pack.skills} if pack else {}
    for unit in pack.units if pack else ():
        options.append(PlacementOption(
            key="u-" + unit.id,
            title=unit.title,
            description=unit.description or localize(N_("Skills: %(skills)s")) % {
                "skills": ", ".join(names.get(s, s) for s in unit.skills)},
            kind="unit",
            skill_ids=tuple(unit.skills),
        ))
    return options


@dataclass(frozen=True)
class OptionSettings:
    """What the teacher set for one chosen option: its points and when students may open it and hand it in."""

    score_maximum: float | None = None  # None: the answer's default points
    available_from: datetime | None = None
    available_until: datetime | None = None
    due: datetime | None = None


def _iso(moment: datetime | None) -> str | None:
    # Stored as UTC (`typed_moment`); ISO 8601 with an offset ("Z"), as Deep Linking wants (DL 2.0 §3.4.2).
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


#: A UTC offset no place on Earth exceeds (UTC-12 to UTC+14), in minutes.
_MAX_OFFSET_MINUTES = 14 * 60


def picker_zone(name: str | None, offset_minutes: str | None = None) -> tzinfo:
    """Return the time zone a teacher typed the picker's dates in, as their browser named it.

    LTI tells the tool no time zone; the picker's script sends the browser's IANA zone ("Europe/Madrid"), whose
    rules give each date its own offset (summer or winter time). A zone this server's time zone database lacks
    falls back on the browser's offset now (minutes east of UTC): right but for dates across a change of clocks.
    With neither (no script), the page said UTC, so UTC it is.
    """
    name = (name or "").strip()
    if name.upper() == "UTC":
        return UTC
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass  # an unknown or malformed name: the offset, then UTC
    try:
        minutes = int(offset_minutes or "")
    except ValueError:
        return UTC
    if minutes == 0 or abs(minutes) > _MAX_OFFSET_MINUTES:
        return UTC
    return timezone(timedelta(minutes=minutes))


def typed_moment(text: str, zone: tzinfo) -> datetime | None:
    """Return a date and time typed in `zone` (a datetime-local value, "2026-03-30T09:00") as naive UTC.

    Empty text is None. A value that already carries an offset keeps it; a clock time that the change to summer
    time skips (02:30 on the night clocks go forward) is read with the offset before the change. ValueError for
    text that is not a date and time.
    """
    text = text.strip()
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # year 1 or 9999 moved past the calendar's ends
        raise ValueError(text) from None


def _check_settings(key: str, title: str, chosen: OptionSettings, default_maximum: float) -> float:
    # Each refusal names the picker's field to mend ("due_<key>"), so the page can mark it.
    maximum = default_maximum if chosen.score_maximum is None else chosen.score_maximum
    if not 0 < maximum <= 10_000:
        raise ServiceError(N_("Points for “%(title)s” must be a number between 0 and 10,000."), title=title,
                           form_field=f"points_{key}")
    if chosen.available_from and chosen.available_until and chosen.available_from >= chosen.available_until:
        raise ServiceError(N_("“%(title)s” must become available before it stops being available."), title=title,
                           form_field=f"available_until_{key}")
    if chosen.due and chosen.available_from and chosen.due <= chosen.available_from:
        raise ServiceError(N_("“%(title)s” must be due after it becomes available."), title=title,
                           form_field=f"due_{key}")
    return maximum


def answer_deep_link(
    launch: LaunchSession,
    chosen: Sequence[tuple[str, str]],
    *,
    with_gradebook_column: bool,
    score_maximum: float,
    secret_key: str,
    base_url: str,
    now: datetime,
    settings_by_key: Mapping[str, OptionSettings] | None = None,
    language: str = BASE_LANGUAGE,
    localize: Callable[[str], str] = str,
) -> DeepLinkReturn:
    """Create placements for the chosen options and sign the Deep Linking response for them.

    Each option may carry its own points and availability/due dates (settings_by_key); sent as the content
    item's `lineItem.scoreMaximum`, `available` and `submission` (Deep Linking 2.0 §3.4.2).
    """
    settings = deep_link_settings(launch)
    if launch.deep_link_answered_at is not None:
        raise ServiceError(ALREADY_ANSWERED)
    # The words the picker showed, so a title left empty takes the name the teacher read there, and the LMS shows
    # the description in that language too.
    options = {o.key: o for o in placement_options(launch, language, localize)}
    picks = [(options[key], title.strip() or options[key].title) for key, title in chosen if key in options]
    if not picks:
        raise ServiceError(N_("Choose at least one thing to add."))
    if len(picks) > 1 and not accepts_multiple(settings):
        raise ServiceError(N_("This place in the LMS accepts only one link at a time; choose one."))
    if not 0 < score_maximum <= 10_000:
        raise ServiceError(N_("The gradebook maximum must be a number between 0 and 10,000."))
    settings_by_key = settings_by_key or {}
    checked = [(option, title, settings_by_key.get(option.key, OptionSettings())) for option, title in picks]
    maxima = [_check_settings(option.key, title, chosen, score_maximum) for option, title, chosen in checked]
    _claim_answer(launch, now)
    choices = []
    for (option, title, chosen), maximum in zip(checked, maxima, strict=True):
        placement = Placement(
            course_id=launch.course_id,
            resource_id=secrets.token_urlsafe(12),
            title=title[:300],
            kind=option.kind,
            skill_ids=list(option.skill_ids),
            score_maximum=maximum,
        )
        db.session.add(placement)
        choices.append(
            LinkChoice(
                title=placement.title,
                url=base_url + "/lti/launch",
                custom=_link_custom(placement),
                resource_id=placement.resource_id,
                text=option.description,
                score_maximum=maximum if with_gradebook_column and accepts_line_items(settings) else None,
                available_start=_iso(chosen.available_from),
                available_end=_iso(chosen.available_until),
                submission_end=_iso(chosen.due),
            )
        )
    return _signed_return(launch, settings, choices, secret_key)


def _link_custom(placement: Placement) -> dict[str, str]:
    """Return the custom parameters of a placed link: our placement's id, and a unit's skills for course copies."""
    custom = {PLACEMENT_PARAM: placement.resource_id}
    if placement.kind == "unit":
        custom[UNIT_SKILLS_PARAM] = json.dumps(list(placement.skill_ids), separators=(",", ":"))
    return custom


def _copied_unit_skills(custom: Mapping[str, Any]) -> list[str]:
    """Return the skills a copied unit link names (UNIT_SKILLS_PARAM), or [] when it names none usable."""
    try:
        skills = decode_json(str(custom.get(UNIT_SKILLS_PARAM) or "[]"), max_depth=2)
    except ValueError:  # cut short (kept to 1,000 characters), edited by hand in the LMS, or nested (JSONTooDeep)
        return []
    if not isinstance(skills, list) or not all(isinstance(s, str) and s for s in skills):
        return []
    return list(dict.fromkeys(skills))


def decline_deep_link(launch: LaunchSession, *, secret_key: str, now: datetime) -> DeepLinkReturn:
    """Sign a Deep Linking response with no content items: the teacher cancelled, nothing is added.

    DL 2.0 §4.2 lets content_items be empty; the platform then closes its dialog with nothing placed. It uses up
    the request as an answer with links does, since the platform's `data` is single-use.
    """
    settings = deep_link_settings(launch)
    if launch.deep_link_answered_at is not None:
        raise ServiceError(ALREADY_ANSWERED)
    _claim_answer(launch, now)
    return _signed_return(launch, settings, [], secret_key)


def _claim_answer(launch: LaunchSession, now: datetime) -> None:
    # One answer per request: the platform's `data` is single-use, and a second post would duplicate links.
    # The claim is a conditional UPDATE, so of several parallel posts (a double click) exactly one wins.
    if not _set_if_unset(LaunchSession, launch.id, "deep_link_answered_at", now):
        db.session.rollback()
        raise ServiceError(ALREADY_ANSWERED)


def _set_if_unset(model: type, row_id: Any, column: str, value: Any) -> bool:
    """Set a row's column while it is still NULL (a conditional UPDATE); True if this call set it."""
    field = getattr(model, column)
    return db.session.execute(
        sa.update(model)
        .where(model.id == row_id, field.is_(None))
        .values({column: value})
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def _signed_return(launch: LaunchSession, settings: Mapping[str, Any], choices: Sequence[LinkChoice],
                   secret_key: str) -> DeepLinkReturn:
    """Sign the response for these choices and commit the claimed answer (and any placements made for it)."""
    platform = db.session.get(Platform, launch.platform_id)
    deployment = db.session.get(Deployment, launch.deployment_id)
    registration = ToolRegistration(platform, current_signing_key(secret_key))
    token = build_response_jwt(registration, deployment.deployment_id, settings, choices)
    db.session.commit()
    return DeepLinkReturn(return_url=settings["deep_link_return_url"], jwt=token)


def placement_for_launch(launch: LaunchSession, title: str) -> Placement | None:
    """Return the placement a resource-link launch opens, creating it on first launch; flushes, no commit.

    A link Pathways made through Deep Linking carries our id as a custom parameter (kept by course copies). A
    link the teacher added by hand (Moodle's "Add an activity", a Canvas assignment with an external tool)
    has none: it becomes a placement of its own, keyed by the LMS's resource link id, so its scores go to
    the column the LMS bound to it (AGS `lineitem`) or one Pathways finds or creates for it.
    A placement stays bound to the first link that opened it: a duplicate of that link (same custom parameter) with
    a column of its own gets a placement of its own with the same settings; one without opens the original.
    Navigation links (Canvas course navigation) are not placements: nobody is graded there.
    """
    details = launch.details or {}
    resource_id = (details.get("custom") or {}).get(PLACEMENT_PARAM)
    if resource_id and len(resource_id) > RESOURCE_ID_MAX:
        # Pathways never hands out longer ids: a longer value was not made by us, so it names no placement.
        return None
    if not resource_id:
        if not launch.resource_link_id or str(details.get("platform_placement", "")).endswith("_navigation"):
            return None
        resource_id = link_resource_id(launch.resource_link_id)
    # First launch of the link (or of a copied course's link): give it its own placement, once, even when the
    # class opens the link together.
    # Read first: every later launch of the link finds it without a write.
    lineitem = details.get("lineitem") or None
    placement = _find_placement(launch.course_id, resource_id)
    created = False
    if placement is None:
        # A copied course's unit link names its skills (its placement stayed in the old course): still a unit.
        unit = _copied_unit_skills(details.get("custom") or {})
        created = insert_if_missing(Placement, {"course_id": launch.course_id, "resource_id": resource_id,
                                                "resource_link_id": launch.resource_link_id,
                                                "title": (title or "Pathways")[:300],
                                                "kind": "unit" if unit else "plan", "skill_ids": unit},
                                    ("course_id", "resource_id"))
        placement = _find_placement(launch.course_id, resource_id)
    assert placement is not None
    link_id = launch.resource_link_id
    if link_id and placement.resource_link_id is None:
        _bind(placement, link_id)
    if link_id and placement.resource_link_id != link_id:
        if not lineitem or lineitem == placement.lineitem_url:
            # Another link with our parameter but no column of its own (or the same column): it opens the same
            # placement, which stays bound to its first link, so nothing flips and nothing is re-queued.
            return placement
        # A duplicated activity (Canvas's "Duplicate" and Moodle's keep the custom parameters) with a column of its
        # own: sharing the placement would move every score to whichever column was opened last.
        placement, created = _copy_for_link(placement, link_id, title, lineitem)
    column_appeared = bool(lineitem) and placement.lineitem_url != lineitem
    if column_appeared:
        placement.lineitem_url = lineitem
    db.session.flush()
    if created or column_appeared:
        # A new column starts filled with everyone's current grade instead of waiting for each student's next
        # change of level.
        from .publishing import queue_course

        if created:  # the course's placements, if read earlier in this transaction, lack the new one
            db.session().info.get(_COURSE_PLACEMENTS, {}).pop(launch.course_id, None)
        queue_course(launch.course_id, now=launch.created_at)
    return placement


def _bind(placement: Placement, resource_link_id: str) -> None:
    """Bind an unbound placement to the link launching it, unless another link bound it first."""
    # Conditional, so of two links opened for the first time together exactly one binds it; the other is then
    # seen as a copy.
    if _set_if_unset(Placement, placement.id, "resource_link_id", resource_link_id):
        set_committed_value(placement, "resource_link_id", resource_link_id)
    else:
        db.session.refresh(placement, ["resource_link_id"])


def copy_resource_id(resource_id: str, resource_link_id: str) -> str:
    """Return our resource id for a copy of a placement opened from another link (stable, fits the column)."""
    digest = hashlib.sha256(f"{resource_id}\n{resource_link_id}".encode()).hexdigest()[:40]
    return "copy-" + digest


def _copy_for_link(original: Placement, resource_link_id: str, title: str, lineitem: str) -> tuple[Placement, bool]:
    """Return the placement of a copied link (its own, with the original's settings) and whether it was made now."""
    copy_id = copy_resource_id(original.resource_id, resource_link_id)
    copy = _find_placement(original.course_id, copy_id)
    if copy is not None:
        return copy, False
    # Two students opening the copied link together make one placement between them.
    created = insert_if_missing(Placement, {
        "course_id": original.course_id, "resource_id": copy_id, "resource_link_id": resource_link_id,
        # The copy's own link title tells the two apart on the teacher's pages ("… Copy").
        "title": (title or original.title)[:300], "kind": original.kind, "skill_ids": list(original.skill_ids),
        "score_maximum": original.score_maximum, "lineitem_url": lineitem,
    }, ("course_id", "resource_id"))
    copy = _find_placement(original.course_id, copy_id)
    assert copy is not None
    return copy, created


def link_resource_id(resource_link_id: str) -> str:
    """Return our resource id for a link the LMS made without Deep Linking (stable, fits the column)."""
    return "link-" + hashlib.sha256(resource_link_id.encode()).hexdigest()[:40]


def _find_placement(course_id: int, resource_id: str) -> Placement | None:
    return db.session.scalars(
        sa.select(Placement).where(Placement.course_id == course_id, Placement.resource_id == resource_id)
    ).first()


def gradebook_gap(placement: Placement) -> str | None:
    """Say why a placement's scores cannot reach the gradebook and how to fix that in the LMS, or None if they can.

    A placement posts to the column the LMS named in the launch (AGS `lineitem`); without one Pathways finds or
    creates a column, which needs the platform's line-item service and its `lineitem` scope.
    """
    if placement.lineitem_url:
        return None
    course = db.session.get(Course, placement.course_id)
    if course is None:
        return None
    if not course.lineitems_url:
        return ("This link has no gradebook column, and the LMS did not offer Pathways its gradebook service (AGS) "
                "here, so scores from it are not sent. In the LMS, turn on grading for this activity (Moodle: "
                "edit the activity, Privacy, tick “Accept grades from the tool”; Canvas: make it an assignment "
                "with “External Tool” submission) and open it once more, or add Pathways again through its "
                "picker (Deep Linking), which makes the column.")
    if course.ags_scopes and ags.SCOPE_LINEITEM not in course.ags_scopes:
        return ("This link has no gradebook column, and the LMS does not let Pathways create one, so scores from "
                "it are not sent. In the LMS, edit this activity and turn on “Accept grades from the tool” "
                "(Moodle: under Privacy), then open it once more; or delete it and add Pathways again through "
                "its picker (Deep Linking), which makes the column. Scores earned so far are sent when the "
                "column appears.")
    return None


def gradebook_gaps(course_id: int) -> list[tuple[Placement, str]]:
    """Return the course's placements whose scores cannot reach the gradebook, each with what to do about it."""
    return [(placement, gap) for placement in course_placements(course_id)
            if not placement.lineitem_url and (gap := gradebook_gap(placement))]


def course_placements(course_id: int) -> list[Placement]:
    """Return the course's placements by title (then id).

    The course page asks twice (its gradebook gaps and its grade table): read once per transaction.
    """
    session = db.session()
    memo: dict[int, tuple[object, list[Placement]]] = session.info.setdefault(_COURSE_PLACEMENTS, {})
    held = memo.get(course_id)
    if held is None or held[0] is not session.get_transaction():
        placements = list(db.session.scalars(
            sa.select(Placement).where(Placement.course_id == course_id).order_by(Placement.title, Placement.id)
        ))
        held = memo[course_id] = (session.get_transaction(), placements)
    return list(held[1])  # a copy: a caller's filtering stays its own


_COURSE_PLACEMENTS = "pathways.course_placements"
