"""Read the values Pathways needs out of a validated launch's claims (LTI 1.3 Core §5.3-5.4)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ..text import strip_control, strip_control_deep
from .roles import Access, access_for, course_role, deployment_administrator, names_context_role, role_labels

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
DL_SETTINGS_CLAIM = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
DATA_PRIVACY = "DataPrivacyLaunchRequest"
#: Launch details key: a Data Privacy Launch by an institution or system Administrator (lti/roles.py).
DEPLOYMENT_ADMIN = "deployment_admin"
#: The context id of a launch that names neither a context nor a link. It was "no-context", which an LMS course may
#: be called; like the placeholders' ids (services/launches.py) it now starts with a control character, which claims
#: never keep, so no platform's course has it. Nothing is stored under it: such a launch is refused, or hangs on a
#: placeholder course of its own.
NO_CONTEXT = "\x1fno-context"
#: The context id of a launch that names no context but a link: this prefix and the link's id. It was "link:", which
#: an LMS course may be called too (its course and the link's became one, in the same deployment); the control
#: character keeps any platform's context id out of it (migration 0025 moved the courses made under the old one).
LINK_CONTEXT = "\x1flink:"
# Canvas names where the link sits (course_navigation, assignment_selection, …); navigation links are not graded.
CANVAS_PLACEMENT_CLAIM = "https://www.instructure.com/placement"


# The custom parameter of a link Pathways made through Deep Linking: our placement's id (services/placements.py).
PLACEMENT_PARAM = "pathways_placement"
# A unit link's skills (a JSON list of skill ids), beside PLACEMENT_PARAM: a course copy keeps the link's custom
# parameters but not our placement, and the copy's first launch makes its placement from them.
UNIT_SKILLS_PARAM = "pathways_unit_skills"
# The custom parameters a launch session keeps, because a later step reads them from its details. The roster URL
# ones (CUSTOM_MEMBERSHIPS_KEYS) are read here, at the launch, and kept on the course, not in the session.
KEPT_CUSTOM = (PLACEMENT_PARAM, UNIT_SKILLS_PARAM)
# The launching person's time zone in the LMS: the custom parameter Pathways asks for in its registration and Canvas
# JSON, filled in by the LMS from the LTI substitution variable below (Core, Appendix C; Canvas and Moodle expand
# it). Read at the launch: a teacher's seeds the course's time zone when none is set (services/time_zones.py).
TIME_ZONE_PARAM = "person_time_zone"
TIME_ZONE_VARIABLE = "$Person.address.timezone"


@dataclass(frozen=True)
class LaunchFacts:
    """The plain values of one validated launch."""

    issuer: str
    client_id: str
    deployment_id: str
    message_type: str
    sub: str
    access: Access
    role_labels: str
    name: str
    email: str | None
    context_id: str
    context_title: str
    context_label: str
    resource_link_id: str | None
    resource_link_title: str
    memberships_url: str | None
    lineitems_url: str | None
    details: dict[str, Any] = field(default_factory=dict)
    # The roster URL came from a custom parameter (a teacher can set those), not from the platform's NRPS claim.
    memberships_url_custom: bool = False
    # The launch named its context (the context claim's id); context_id is a stand-in otherwise.
    has_context: bool = True
    # The LMS's time zone for the person (TIME_ZONE_PARAM) as sent, unchecked; None when absent or not expanded.
    time_zone: str | None = None
    # The roles claim named a role in the context (not only institution or system roles): the no-access page says so.
    course_role_sent: bool = True


def _text(value: object, limit: int = 500) -> str:
    """Return the claim as text without control characters, cut to the column it is kept in."""
    return strip_control(value).strip()[:limit] if isinstance(value, str) else ""


def _id_text(value: object) -> str:
    """Return an id claim as text: a string, or a number some platforms send where the spec asks for a string."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return _text(value, 255)


def link_context_id(link_id: str) -> str:
    """Return the context id of a launch on this link that names no context: LINK_CONTEXT and the link's id.

    A link id may have 255 characters (LTI Core §5.3.5), the column too: a longer one is named by its SHA-256
    instead of being cut, which would give two links that differ only at the end one course.
    """
    if len(LINK_CONTEXT) + len(link_id) <= 255:
        return LINK_CONTEXT + link_id
    return LINK_CONTEXT + "sha256:" + hashlib.sha256(link_id.encode()).hexdigest()


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


# Deep Linking settings that are booleans (DL 2.0 §4.4.1); some platforms send them as "true"/"false".
DL_FLAGS = ("accept_multiple", "accept_lineitem", "auto_create")


def _flag(value: object) -> bool:
    """Read a Deep Linking boolean sent as JSON, as a string or as 0/1; anything else reads as False (for
    accept_multiple: one link only, which every platform takes)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return value is True or (type(value) is int and value == 1)


def user_id(value: object) -> str:
    """Return a launch's `sub` or a roster member's `user_id` as Pathways keeps it (cleaned, at most 255)."""
    return _text(value, 255)


def exact_user_id(value: object) -> str | None:
    """Return a `sub` or `user_id` Pathways can keep exactly as sent, else None.

    Core §5.3.6: a string of at most 255 characters, compared exactly. One that is empty, not a string, or would
    change when cleaned or cut is refused: cleaned, different users ("\x01", "\x02", " ") became one person.
    """
    return value if isinstance(value, str) and value and user_id(value) == value else None


def user_ids_exact(body: Mapping[str, Any]) -> bool:
    """Tell whether the users a launch names (its `sub`, a Data Privacy Launch's for_user) are named exactly.

    Takes the claims as sent, before facts_from_claims cleans them. A for_user naming someone by a cleaned id would
    show, export or delete another person's data; one without a user id is about the launcher, as before.
    """
    named = [body.get("sub")]
    for_user = body.get(CLAIM + "for_user")
    if str(body.get(CLAIM + "message_type")) == DATA_PRIVACY and isinstance(for_user, Mapping) \
            and for_user.get("user_id") not in (None, ""):
        named.append(for_user["user_id"])
    return all(exact_user_id(value) is not None for value in named)


def display_name(body: Mapping[str, Any]) -> str:
    """Return the best name the platform shared: name, else given + family, else empty."""
    name = _text(body.get("name"), 300)
    if name:
        return name
    return " ".join(p for p in (_text(body.get("given_name")), _text(body.get("family_name"))) if p)[:300]


def email_address(body: Mapping[str, Any]) -> str | None:
    """Return the email the platform shared (cleaned, at most 320), or None."""
    return _text(body.get("email"), 320) or None


def facts_from_claims(body: Mapping[str, Any], client_id: str) -> LaunchFacts:
    """Return the launch's facts; a launch without a context claim is scoped to its resource link.

    This is the one place launch claims enter Pathways: control characters (NUL, which PostgreSQL refuses in
    text, and the like) are removed from every string, and texts are cut to the length of their column.
    """
    raw_dl = body.get(DL_SETTINGS_CLAIM)
    body = strip_control_deep(dict(body))
    context = _mapping(body.get(CLAIM + "context"))
    link = _mapping(body.get(CLAIM + "resource_link"))
    link_id = _id_text(link.get("id")) or None
    # The context id is read only as the string the spec asks for: a number has always meant "no context" here (each
    # link its own course), and reading it now would move such a platform's students into new, empty courses.
    context_id = _text(context.get("id"), 255) or (link_context_id(link_id) if link_id else NO_CONTEXT)
    nrps = _mapping(body.get(NRPS_CLAIM))
    ags = _mapping(body.get(AGS_CLAIM))
    roles = body.get(CLAIM + "roles")
    # A launch into a course: roles the person holds across the institution do not make them its teacher. (A Data
    # Privacy Launch is about a person, not the course it may name: its powers come from enrolments, privacy.py.)
    has_context = bool(_text(context.get("id"), 255))
    in_course = has_context and str(body.get(CLAIM + "message_type")) != DATA_PRIVACY
    details: dict[str, Any] = {"role": course_role(roles if isinstance(roles, list) else [], in_course=in_course)}
    custom = body.get(CLAIM + "custom")
    if isinstance(custom, Mapping):
        # Only the custom parameters Pathways reads later (KEPT_CUSTOM); the rest (a platform may send a
        # user's email, SIS id, …) is dropped here, whatever STORE_EMAIL says (docs/privacy.md).
        kept = {key: str(custom[key])[:1000] for key in KEPT_CUSTOM if key in custom}
        if kept:
            details["custom"] = kept
    dl = body.get(DL_SETTINGS_CLAIM)
    if isinstance(dl, Mapping):
        details["deep_linking"] = {
            key: dl.get(key)
            for key in ("deep_link_return_url", "accept_types", "accept_multiple", "data", "title", "text",
                        "accept_presentation_document_targets", "accept_lineitem", "auto_create")
            if key in dl
        }
        for key in DL_FLAGS:
            if key in details["deep_linking"]:
                details["deep_linking"][key] = _flag(details["deep_linking"][key])
        if isinstance(raw_dl, Mapping) and "data" in raw_dl:
            details["deep_linking"]["data"] = raw_dl["data"]  # opaque: echoed back exactly as sent (DL §4.4.1)
    if isinstance(ags.get("scope"), list):
        details["ags_scopes"] = [s for s in ags["scope"] if isinstance(s, str)]
    if isinstance(ags.get("lineitem"), str) and len(ags["lineitem"]) <= 1000:  # a cut URL would be wrong
        details["lineitem"] = ags["lineitem"]
    if _text(body.get(CANVAS_PLACEMENT_CLAIM), 100):
        details["platform_placement"] = _text(body.get(CANVAS_PLACEMENT_CLAIM), 100)
    # Data Privacy Launch: the person whose data the launch is about (not necessarily the launcher). Only there:
    # another message's for_user (a platform may send one with any launch) names a person Pathways has no use for,
    # and a deletion of that person would not find it (privacy._forget_launches_naming reads privacy launches).
    for_user = _mapping(body.get(CLAIM + "for_user")) if str(body.get(CLAIM + "message_type")) == DATA_PRIVACY else {}
    if _text(for_user.get("user_id"), 255):
        details["for_user"] = {"user_id": _text(for_user.get("user_id"), 255)}
    if str(body.get(CLAIM + "message_type")) == DATA_PRIVACY and deployment_administrator(
            roles if isinstance(roles, list) else []):
        # Acting on someone else's data across the deployment needs this (services/privacy.py).
        details[DEPLOYMENT_ADMIN] = True
    # The learner's language (Core §5.4.1 launch_presentation.locale, e.g. "es-MX"); pages pick theirs from it.
    locale = _text(_mapping(body.get(CLAIM + "launch_presentation")).get("locale"), 100)
    if re.fullmatch(r"[A-Za-z0-9]{1,8}(?:[-_][A-Za-z0-9]{1,8}){0,4}", locale):  # BCP 47 subtags: at most 8 chars
        details["locale"] = locale
    # Where the LMS takes the person back to (§5.4.1 return_url): the page of a launch whose time ran out links it.
    return_url = _text(_mapping(body.get(CLAIM + "launch_presentation")).get("return_url"), 1001)
    if return_url.startswith(("https://", "http://")) and len(return_url) <= 1000:  # a cut URL would be wrong
        details["return_url"] = return_url
    signed_roster = _text(nrps.get("context_memberships_url"), 1000)
    return LaunchFacts(
        issuer=str(body["iss"]),
        client_id=client_id,
        deployment_id=str(body[CLAIM + "deployment_id"]),
        message_type=str(body[CLAIM + "message_type"]),
        sub=user_id(body.get("sub")),
        access=access_for(roles if isinstance(roles, list) else [], in_course=in_course),
        role_labels=role_labels(roles if isinstance(roles, list) else []),
        name=display_name(body),
        email=email_address(body),
        context_id=context_id,
        context_title=_text(context.get("title")) or _text(link.get("title")),
        context_label=_text(context.get("label"), 255),
        resource_link_id=link_id,
        resource_link_title=_text(link.get("title")),
        memberships_url=signed_roster or _custom_memberships_url(custom),
        lineitems_url=_text(ags.get("lineitems"), 1000) or None,
        details=details,
        memberships_url_custom=not signed_roster,
        has_context=has_context,
        time_zone=_custom_time_zone(custom),
        course_role_sent=names_context_role(roles if isinstance(roles, list) else []),
    )


def _custom_time_zone(custom: object) -> str | None:
    """Return the time zone name the LMS filled in for TIME_ZONE_PARAM, or None.

    An LMS that cannot expand a substitution variable sends it as written ("$Person.address.timezone"): no zone.
    Whether the text names a real zone is the service's to check (learning.local_days.zone_named).
    """
    value = _text(custom.get(TIME_ZONE_PARAM), 100) if isinstance(custom, Mapping) else ""
    return value if value and not value.startswith("$") else None


# Custom parameters some platforms (Moodle, via substitution variables) use to pass the roster URL when the
# NRPS claim is absent, e.g. custom_context_memberships_url=$ToolProxyBinding.memberships.url.
CUSTOM_MEMBERSHIPS_KEYS = ("context_memberships_url", "context_memberships_v2_url", "nrps_url")


def _custom_memberships_url(custom: object) -> str | None:
    if not isinstance(custom, Mapping):
        return None
    for key in CUSTOM_MEMBERSHIPS_KEYS:
        value = custom.get(key)
        # An unexpanded substitution variable ("$ToolProxyBinding...") means the platform did not fill it in.
        if isinstance(value, str) and value.startswith(("https://", "http://")):
            return value[:1000]
    return None


#: What a tool may add to launch_presentation.return_url when it sends the person back (Core §5.4.1 return_url):
#: lti_msg / lti_errormsg for the person to read, lti_log / lti_errorlog for the platform's log.
RETURN_URL_MESSAGES = ("lti_msg", "lti_log", "lti_errormsg", "lti_errorlog")


def return_url_with(return_url: str, **messages: str) -> str:
    """Return the platform's return_url with these messages added to its query, each URL-encoded.

    The platform's own query (and fragment) is kept exactly as sent: it may carry its course or session ids.
    """
    unknown = set(messages) - set(RETURN_URL_MESSAGES)
    if unknown:
        raise ValueError(f"not a return_url message: {sorted(unknown)}")
    added = "&".join(f"{name}={quote(text, safe='')}" for name, text in messages.items() if text)
    if not added:
        return return_url
    address, hash_, fragment = return_url.partition("#")
    joiner = "" if address.endswith(("?", "&")) else "&" if "?" in address else "?"
    return f"{address}{joiner}{added}{hash_}{fragment}"


def way_back_to_lms(details: Mapping[str, Any] | None, errormsg: str, *, as_error: bool = True) -> str:
    """Return the launch's return_url carrying errormsg as lti_errormsg, or "" when the launch named none.

    Only a launch's details (facts_from_claims): they are read from an id_token whose signature was checked, so an
    address in a token nobody verified never becomes a link. `as_error=False`: a plain message (lti_msg), which
    the LMS shows as information, not as an error.
    """
    return_url = (details or {}).get("return_url")
    if not isinstance(return_url, str) or not return_url.startswith(("https://", "http://")):
        return ""  # none, or (stored by an older release) not a web address
    return return_url_with(return_url, **{"lti_errormsg" if as_error else "lti_msg": errormsg})
