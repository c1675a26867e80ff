"""Record a validated launch and look launch sessions up again."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any

import requests
import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from ..learning.local_days import zone_named
from ..lti.claims import DATA_PRIVACY, LaunchFacts, facts_from_claims, user_ids_exact
from ..lti.launch import NewWindowNeeded as NewWindowNeeded  # the web layer catches it
from ..lti.launch import validate_launch
from ..lti.outbound import csp_origin, origin
from ..lti.platform_storage import StorageCheckNeeded as StorageCheckNeeded  # the web layer catches it
from ..lti.platform_storage import read_launch_token
from ..lti.platform_storage import sign_launch_token as sign_launch_token
from ..lti.platform_storage import tab_binding as tab_binding
from ..lti.platform_storage import tab_matches as tab_matches
from ..lti.roles import Access
from ..lti.toolconf import (
    RegisteredPlatform,
    add_origin_command,
    find_deployment,
    find_platform,
    on_platform,
    platform_origins,
)
from ..models import (
    Course,
    CourseContent,
    DiagnosticRun,
    Enrollment,
    LaunchSession,
    Person,
    Placement,
    Platform,
    ServedItem,
)
from ..models.base import RowsAsLoaded, commit_keeping_rows, insert_if_missing, still_loaded, transient_of
from ..noted import NotedOnce
from .errors import N_, TRY_AGAIN, Forbidden, NotFound, ServiceError, TryAgain
from .serving import hold_served

log = logging.getLogger(__name__)

RESOURCE_LINK = "LtiResourceLinkRequest"
DEEP_LINKING = "LtiDeepLinkingRequest"
#: How stale a course's last launch time may be before a launch writes it again.
COURSE_LAUNCH_STAMP = timedelta(seconds=60)


class LaunchOutcome(Enum):
    SESSION = "session"
    NO_ACCESS = "no_access"
    UNSUPPORTED = "unsupported"


class LaunchRefused(ServiceError):
    """A launch whose token was validated but that Pathways refuses; its page may lead back to the LMS page it named.

    `details` are the launch's (lti/claims.py facts_from_claims), read from the signature-checked id_token.
    """

    def __init__(self, message: str, facts: LaunchFacts) -> None:
        super().__init__(message)
        self.details = facts.details


@dataclass(frozen=True)
class AcceptedLaunch:
    """What a valid launch led to: a launch session, or a polite refusal page."""

    kind: LaunchOutcome
    facts: LaunchFacts
    session: LaunchSession | None = None  # as inserted (not attached to the database session)
    session_id: str = ""


def accept_launch(
    *,
    form: Mapping[str, str],
    cookies: Mapping[str, str],
    is_secure: bool,
    settings: Mapping[str, Any],
    tool_conf: Any,
    http: requests.Session,
    now: datetime,
    storage_proof: Mapping[str, str] | None = None,
) -> AcceptedLaunch:
    """Validate a posted launch (raises LaunchError) and open a launch session for teachers and students.

    Raises StorageCheckNeeded when the browser sent no state cookie but the login kept state and nonce in
    platform storage; storage_proof carries what the check page read from there.
    """
    claims, client_id = validate_launch(
        tool_conf, form=form, cookies=cookies, is_secure=is_secure, settings=settings, http=http,
        storage_proof=storage_proof,
    )
    facts = facts_from_claims(claims, client_id)
    if facts.message_type not in (RESOURCE_LINK, DEEP_LINKING, DATA_PRIVACY):
        return AcceptedLaunch(LaunchOutcome.UNSUPPORTED, facts)
    if not facts.has_context and not facts.resource_link_id and not gets_placeholder(facts):
        # Neither a course nor a link to scope it to (an id of blanks or control characters), and no placeholder of
        # its own: no course to open, and joining a shared stand-in would make everyone who sent one classmates.
        raise LaunchRefused(N_("This launch names neither a course nor a link (its ids are empty). Ask your LMS "
                               "administrator to check how the tool is set up."), facts)
    if not user_ids_exact(claims):
        # Kept cleaned or cut, different users would become one person (their work, their plan, their data).
        raise LaunchRefused(N_("A user id in this launch is empty, too long or has characters that are not "
                               "allowed, so Pathways cannot tell whose it is. Ask your LMS administrator to check how "
                               "the tool is set up."), facts)
    if facts.access is Access.NONE or (facts.message_type == DEEP_LINKING and facts.access is not Access.TEACHER):
        return AcceptedLaunch(LaunchOutcome.NO_ACCESS, facts)
    launch = record_launch(
        facts,
        store_email=settings["STORE_EMAIL"],
        session_seconds=min(settings["LAUNCH_SESSION_SECONDS"], settings["LAUNCH_SESSION_MAX_SECONDS"]),
        now=now,
        tab_bound=storage_proof is not None,
    )
    if facts.access is Access.TEACHER and facts.message_type == RESOURCE_LINK:
        from .roster import request_roster_sync

        course = db.session.get(Course, launch.course_id)
        if request_roster_sync(course, now=now, min_seconds=settings["ROSTER_SYNC_MIN_SECONDS"]):
            db.session.commit()
    # A placeholder course stays empty: a Deep Linking picker there offers what a course without content does.
    if settings.get("DEFAULT_COURSE_PACK") == "demo" and facts.message_type != DATA_PRIVACY \
            and not gets_placeholder(facts):
        from .content import course_content, import_demo_pack

        if course_content(launch.course_id) is None:
            import_demo_pack(launch.course_id, now=now, keep_existing=True)
    return AcceptedLaunch(LaunchOutcome.SESSION, facts, launch, launch.id)


def record_launch(
    facts: LaunchFacts, *, store_email: bool, session_seconds: int, now: datetime, tab_bound: bool = False
) -> LaunchSession:
    """Upsert the course, person and enrolment the launch describes and open a launch session (commits).

    `tab_bound`: the launch came through the platform-storage check, so only its tab's launch token opens it
    (TAB_BOUND). Returns the session as inserted (not attached to the database session: nothing reads it back).
    """
    if facts.access is Access.NONE:
        raise Forbidden("Your role in this course does not give access to Pathways.")
    platform = find_platform(facts.issuer, facts.client_id)
    deployment = find_deployment(platform.id, facts.deployment_id) if platform else None
    if platform is None or deployment is None:
        # Validation already checked both; a registry change in between is the only way here.
        raise Forbidden("This deployment of the tool is not registered with Pathways.")
    _note_unregistered_pages(platform, facts)
    # Rows are read and written with Core statements, not as ORM objects: a launch writes each row whole or not
    # at all, and the unit of work's flush (finding what changed, ordering the statements) cost more CPU than the
    # statements themselves (about 1 ms of a launch's 5 on SQLite).
    launch_id = secrets.token_urlsafe(24)
    if gets_placeholder(facts):
        # A privacy launch is about a person, not a course, and a Deep Linking request without a context names no
        # course: neither joins a course or an enrolment (a shared stand-in course would make everyone who opened
        # one classmates, sharing its roster, pack and placements). The session still needs a course row: its own.
        course_id, refused = _placeholder(platform.id, deployment.id, facts.message_type, launch_id, now), []
        person_id = _upsert_person(platform.id, facts, store_email, None)
    else:
        known = _returning(platform.id, deployment.id, facts)
        course_id, refused = _upsert_course(platform, deployment.id, facts, now, known)
        person_id = _upsert_person(platform.id, facts, store_email, known)
        enrolled = _upsert_enrollment(platform.id, course_id, person_id, facts, now, store_email)
        if enrolled is None:
            # A deletion of the course's data (a teacher's, the retention purge) committed after the launch read
            # it. The LMS says the course exists: the launch makes it again, as the course's first launch would.
            course_id, refused = _upsert_course(platform, deployment.id, facts, now, None)
            enrolled = _upsert_enrollment(platform.id, course_id, person_id, facts, now, store_email)
            if enrolled is None:  # deleted again in between (PostgreSQL only): not worth a third round
                raise TryAgain(TRY_AGAIN)
        person_id = enrolled
    details = {**facts.details, REFUSED_SERVICE_ORIGINS: refused} if refused else facts.details
    if tab_bound:
        details = {**details, TAB_BOUND: True}
    # Made without the ORM's attribute events (their history is never read): the row is written by the Core insert
    # below, and the object only carries its values on, in no session, as the constructor would have made it.
    launch = transient_of(
        LaunchSession,
        {
            "id": launch_id,
            "platform_id": platform.id,
            "deployment_id": deployment.id,
            "course_id": course_id,
            "person_id": person_id,
            "access": facts.access.value,
            "message_type": facts.message_type,
            "resource_link_id": facts.resource_link_id,
            # The teacher's page says which service addresses were refused, so an admin can approve them.
            "details": details,
            "created_at": now,
            "expires_at": now + timedelta(seconds=session_seconds),
        },
    )
    if facts.message_type == RESOURCE_LINK:
        from .placements import placement_for_launch

        # Before the session is inserted, so that it is inserted once with its placement (no UPDATE after).
        placement = placement_for_launch(launch, facts.resource_link_title)
        if placement is not None:
            launch.details = {**launch.details, "placement_id": placement.id}
    db.session.execute(_insert_launch(), {column: getattr(launch, column) for column in _LAUNCH_COLUMNS})
    db.session.commit()
    return launch


#: The context ids of placeholder courses begin with this. Claims never carry control characters (lti/claims.py
#: strips them), so no platform's context can be mistaken for one, and the clean-up below can never delete a real
#: course.
PLACEHOLDER = "\x1f"
#: One prefix per kind of launch that gets a placeholder (the privacy one is what earlier versions wrote).
PRIVACY_PLACEHOLDER = PLACEHOLDER + "privacy-launch:"
DEEP_LINKING_PLACEHOLDER = PLACEHOLDER + "deep-linking:"
#: The launches without a context that hang on a placeholder course of their own: its prefix and title (a Deep
#: Linking picker says "your course" for a course without a title).
_PLACEHOLDERS = {DATA_PRIVACY: (PRIVACY_PLACEHOLDER, "Data privacy launch"),
                 DEEP_LINKING: (DEEP_LINKING_PLACEHOLDER, "")}
#: The context id of the one course per deployment that every launch without a context shared before placeholders
#: (it was "no-context", which a real LMS course may be called too: migration 0023 gives the stand-in this mark).
#: Not a placeholder (no prefix of theirs): no launch reaches it, and the placeholder clean-up must not delete it.
LEGACY_SHARED_CONTEXT = PLACEHOLDER + "legacy-no-context"
#: The least time an ended launch's row is kept, whatever LAUNCH_SESSION_KEEP_DAYS says: a tab opened after its
#: time ran out is told so with a link back to the LMS, inside the LMS's frame, and both come from that row.
ENDED_LAUNCH_GRACE = timedelta(days=1)


def gets_placeholder(facts: LaunchFacts) -> bool:
    """Tell whether the launch hangs on a placeholder course of its own (a privacy or Deep Linking one, no context)."""
    return not facts.has_context and facts.message_type in _PLACEHOLDERS


#: Every placeholder's prefix, matched in full: a course made before claims were cleaned of control characters
#: (release 0.1.0) may have a context id that starts with the bare mark, and it is a real course.
PLACEHOLDER_PREFIXES = tuple(prefix for prefix, _ in _PLACEHOLDERS.values())


def is_placeholder(course: Course) -> bool:
    """Tell whether the course is one launch's placeholder, not a course of the platform's."""
    return course.context_id.startswith(PLACEHOLDER_PREFIXES)


def placeholder_course(context_id: sa.ColumnElement) -> sa.ColumnElement[bool]:
    """Return the SQL condition "this context id is a placeholder's" (`is_placeholder`)."""
    return sa.or_(*(context_id.startswith(prefix, autoescape=True) for prefix in PLACEHOLDER_PREFIXES))


def _placeholder(platform_id: int, deployment_pk: int, message_type: str, launch_id: str, now: datetime) -> int:
    """Create the course row one launch session hangs on (no enrolment, no content: it holds nothing of anyone).

    Its context id carries the launch's own random id, so no other launch ever finds it. Placeholders whose
    session ended more than ENDED_LAUNCH_GRACE ago are removed here, so they do not pile up.
    """
    # One statement: the expired sessions (and a picker's placements) go with their course (ON DELETE CASCADE,
    # SQLite's foreign keys are on).
    db.session.execute(sa.delete(_COURSE).where(
        _COURSE.c.deployment_id == deployment_pk,
        placeholder_course(_COURSE.c.context_id),
        ~sa.exists().where(LaunchSession.course_id == _COURSE.c.id,
                           LaunchSession.expires_at > now - ENDED_LAUNCH_GRACE)))
    prefix, title = _PLACEHOLDERS[message_type]
    return db.session.execute(
        sa.insert(_COURSE).values(platform_id=platform_id, deployment_id=deployment_pk,
                                  context_id=prefix + launch_id, title=title, label="",
                                  created_at=now, last_launch_at=now)
        .returning(_COURSE.c.id)
    ).scalar_one()


#: Return pages off their platform's origins this process logged, per platform (bounded, never deaf for long).
_NOTED_PAGES = NotedOnce()


def _note_unregistered_pages(platform: RegisteredPlatform, facts: LaunchFacts) -> None:
    """Log, once a while, the host a platform's signed return URL names when the admin has not registered it.

    The launch's own pages may be framed from there (security.signed_frame_origins), but the platform's roster,
    gradebook and Deep Linking return are refused there until an admin adds it: the log names the command, for a
    host add-origin accepts (csp_origin: lowercase, punycode, no "*").
    """
    where = csp_origin(facts.details.get("return_url"))
    if where is None or on_platform(where, platform_origins(platform)) or \
            not _NOTED_PAGES.first_time(platform.id, where):
        return
    log.warning("platform %s's launches return to %s, not one of its registered origins; if its roster, "
                "gradebook or Deep Linking return are there too (Canvas Cloud, Blackboard SaaS: the school's "
                "host), run: %s", platform.id, where, add_origin_command(platform.issuer, platform.client_id, where))


#: Launch details key: origins of roster or gradebook URLs the launch sent that are not the platform's.
REFUSED_SERVICE_ORIGINS = "refused_service_origins"
#: Launch details key, True when the launch came through the platform-storage check: its page is bound to one tab
#: by a signed launch token and that tab's secret. The check's final POST is CSRF-exempt, so anyone can post their
#: own such launch into another person's browser (login CSRF); a session cookie must never open it, or that
#: browser's forms would save into their account with no tab secret asked (open_launch refuses).
TAB_BOUND = "tab_bound"


def refused_service_fixes(launch: LaunchSession) -> list[tuple[str, str]]:
    """Return the signed service origins the launch could not use, each with the command that lets the platform.

    Only origins the platform signed are listed (_upsert_course), and only the launch's teacher is shown them.
    """
    refused = (launch.details or {}).get(REFUSED_SERVICE_ORIGINS)
    platform = db.session.get(Platform, launch.platform_id) if refused else None
    if platform is None:
        return []
    return [(where, add_origin_command(platform.issuer, platform.client_id, where)) for where in refused]


_COURSE, _PERSON, _ENROLLMENT = Course.__table__, Person.__table__, Enrollment.__table__
# What a launch may change on a course it finds, and what it reads to tell.
_COURSE_KEPT = ("title", "label", "last_launch_at", "memberships_url", "memberships_url_custom", "lineitems_url",
                "ags_scopes", "time_zone")
_LAUNCH_COLUMNS = ("id", "platform_id", "deployment_id", "course_id", "person_id", "access", "message_type",
                   "resource_link_id", "details", "created_at", "expires_at")


def _returning(platform_id: int, deployment_pk: int, facts: LaunchFacts) -> sa.Row | None:
    """Return the course and person of a launch in one row when both exist already.

    Most launches are a returning person in a known course; a first launch of either finds None here and takes
    the race-safe insert path (_find_or_insert).
    """
    return db.session.execute(_returning_query(), {"platform_id": platform_id, "sub": facts.sub,
                                                   "deployment_id": deployment_pk, "context_id": facts.context_id}
                              ).first()


# Statements every launch or page runs are built once: SQLAlchemy keeps a built statement's cache key, which it
# otherwise computes again for each new select (with its construction, most of a simple query's CPU).
@cache
def _returning_query() -> sa.Select:
    return (
        sa.select(_COURSE.c.id.label("course_id"), *(_COURSE.c[name].label("course_" + name) for name in _COURSE_KEPT),
                  _PERSON.c.id.label("person_id"), _PERSON.c.name.label("person_name"),
                  _PERSON.c.email.label("person_email"))
        .select_from(_COURSE)
        .join(_PERSON, sa.and_(_PERSON.c.platform_id == sa.bindparam("platform_id"),
                               _PERSON.c.sub == sa.bindparam("sub")))
        .where(_COURSE.c.deployment_id == sa.bindparam("deployment_id"),
               _COURSE.c.context_id == sa.bindparam("context_id"))
        # Held until the launch commits: a deletion or the retention purge anonymising this person waits for
        # its enrolment and session (services/privacy.py), or, having gone first, makes this row not match.
        .with_for_update(read=True, of=_PERSON)
    )


@cache
def _insert_launch() -> sa.Insert:
    return sa.insert(LaunchSession.__table__).values({name: sa.bindparam(name) for name in _LAUNCH_COLUMNS})


@cache
def _course_and_sub_query() -> sa.Select:
    sub = sa.select(_PERSON.c.sub).where(_PERSON.c.id == sa.bindparam("person")).scalar_subquery()
    return (sa.select(_COURSE.c.id, sub.label("sub")).where(_COURSE.c.id == sa.bindparam("course"))
            .with_for_update(read=True, key_share=True, of=_COURSE))


@cache
def _update_enrollment() -> sa.Update:
    return (
        sa.update(_ENROLLMENT)
        .where(_ENROLLMENT.c.course_id == sa.bindparam("course"), _ENROLLMENT.c.person_id == sa.bindparam("person"))
        .values(role=sa.bindparam("new_role"), lti_roles=sa.bindparam("new_lti_roles"), active=True,
                last_launch_at=sa.bindparam("new_last_launch_at"))
    )


def _find_or_insert(model: type, values: dict[str, Any], keys: tuple[str, ...], columns: tuple[str, ...], *,
                    shared_lock: bool = False) -> sa.Row:
    """Return these columns of the row with these unique keys, inserting it (race-safely) when it does not exist yet.

    `shared_lock`: hold the row FOR SHARE until the transaction ends (PostgreSQL; SQLite ignores it).
    """
    table = model.__table__
    query = sa.select(*(table.c[name] for name in columns)).where(*(table.c[key] == values[key] for key in keys))
    if shared_lock:
        query = query.with_for_update(read=True)
    row = db.session.execute(query).first()
    if row is None:
        insert_if_missing(model, values, keys)
        row = db.session.execute(query).one()
    return row


def _upsert_course(platform: RegisteredPlatform, deployment_pk: int, facts: LaunchFacts, now: datetime,
                   known: sa.Row | None) -> tuple[int, list[str]]:
    """Bring the launch's course up to date with it (an UPDATE only when something changed).

    Returns its id and the origins of the service URLs it did not keep (not on the platform's origins).
    """
    # Read first (a returning launch found it already); else INSERT ... ON CONFLICT DO NOTHING and read again, so
    # a class launching a new course at once creates it once.
    if known is not None:
        course_id = known.course_id
        current = {name: known._mapping["course_" + name] for name in _COURSE_KEPT}
    else:
        row = _find_or_insert(
            Course, {"platform_id": platform.id, "deployment_id": deployment_pk, "context_id": facts.context_id,
                     "title": "", "label": ""},
            ("deployment_id", "context_id"), ("id", *_COURSE_KEPT))
        course_id, current = row[0], dict(zip(_COURSE_KEPT, row[1:], strict=True))
    wanted = dict(current)
    wanted["title"] = facts.context_title or current["title"] or "Untitled course"
    wanted["label"] = facts.context_label or current["label"] or ""
    # Every launch of the class would otherwise rewrite this one row, each waiting for the row lock of the one
    # before on PostgreSQL; the time is read for retention, in days, so a minute's precision is plenty.
    if current["last_launch_at"] is None or now - current["last_launch_at"] >= COURSE_LAUNCH_STAMP:
        wanted["last_launch_at"] = now
    # A roster or line-items URL (the roster one may come from a teacher-set custom parameter) is kept only on
    # the platform's own origins: our platform-wide token must never be sent to another course's or a stranger's.
    origins = platform_origins(platform) if facts.memberships_url or facts.lineitems_url else []
    refused: list[str] = []
    for name, url, signed in (("memberships_url", facts.memberships_url, not facts.memberships_url_custom),
                              ("lineitems_url", facts.lineitems_url, True)):
        if url and on_platform(url, origins):
            wanted[name] = url
            if name == "memberships_url":
                wanted["memberships_url_custom"] = not signed
        elif url:
            where = csp_origin(url)  # as add-origin takes it; None when no host could be registered
            # Canvas Cloud's and Blackboard SaaS's APIs live on the school's host, not the issuer's or login's: the
            # log and the teacher's page name it and the command that adds it. Only for what the platform itself
            # signed: a custom parameter (a teacher may set one) must never lead an admin into sending the
            # platform's token to a host someone typed.
            if signed and where:
                log.warning("ignored a %s outside platform %s's origins: %s; if it is the LMS's own, run: %s", name,
                            platform.id, where, add_origin_command(platform.issuer, platform.client_id, where))
            else:
                log.warning("ignored a service URL outside the platform's origins: %r", origin(url))
            # The teacher's page only while the course has no working URL.
            if signed and not current[name] and where and where not in refused:
                refused.append(where)
    if facts.details.get("ags_scopes"):
        wanted["ags_scopes"] = list(facts.details["ags_scopes"])
    # The LMS's time zone of a teacher (the custom parameter TIME_ZONE_PARAM) is the course's until one is set; a
    # teacher chooses another on the settings page. A student's is theirs alone, never the course's.
    if current["time_zone"] is None and facts.access is Access.TEACHER and zone_named(facts.time_zone):
        wanted["time_zone"] = facts.time_zone
    changes = {name: value for name, value in wanted.items() if value != current[name]}
    if "time_zone" in changes:
        # Only while the course still has none: a zone a teacher saved on the settings page after this launch read
        # the course (nothing locks the course row) stays, and the LMS's is not written over it.
        changes["time_zone"] = sa.func.coalesce(_COURSE.c.time_zone, changes["time_zone"])
    if changes:
        db.session.execute(sa.update(_COURSE).where(_COURSE.c.id == course_id).values(**changes))
    return course_id, refused


def _upsert_person(platform_id: int, facts: LaunchFacts, store_email: bool, known: sa.Row | None) -> int:
    """Bring the launch's person up to date with it (an UPDATE only when the name or email changed); return the id."""
    if known is not None:
        person_id, name, email = known.person_id, known.person_name, known.person_email
    else:
        person_id, name, email = _find_or_insert(
            Person, {"platform_id": platform_id, "sub": facts.sub, "name": ""}, ("platform_id", "sub"),
            ("id", "name", "email"), shared_lock=True)  # as _returning_query holds it
    changes = {"name": facts.name or name or "", "email": facts.email if store_email else None}
    changes = {key: value for key, value in changes.items() if value != {"name": name, "email": email}[key]}
    if changes:
        # Only while the row is still this sub's: on SQLite a deletion may have anonymised it since it was read
        # (no row lock there), and its erased name and email must stay erased (_upsert_enrollment then moves on).
        db.session.execute(sa.update(_PERSON).where(_PERSON.c.id == person_id, _PERSON.c.sub == facts.sub)
                           .values(**changes))
    return person_id


def _upsert_enrollment(platform_id: int, course_id: int, person_id: int, facts: LaunchFacts, now: datetime,
                       store_email: bool) -> int | None:
    """Record the person's role in the course and the time of this launch (creating the enrolment if needed).

    Returns the person the launch goes on with: the one read, or a new one when a deletion anonymised that one
    since (see below); None, writing nothing, when a deletion removed the course since it was read.
    """
    params = {"course": course_id, "person": person_id, "new_role": facts.access.value,
              "new_lti_roles": facts.role_labels, "new_last_launch_at": now}
    # A returning person's enrolment is written by one UPDATE; a first launch finds none and inserts it, and when
    # another request inserted it meanwhile (ON CONFLICT DO NOTHING waited for it), updates that one.
    if db.session.execute(_update_enrollment(), params).rowcount:
        # Enrolled, so not anonymised (an anonymised person has no enrolment), and it stays so: PostgreSQL holds
        # the person FOR SHARE, SQLite's write lock is this transaction's since that UPDATE.
        return person_id
    # No enrolment: a first launch in the course, or a deletion's, committed after this launch read the person
    # (SQLite has no row lock to keep it out; PostgreSQL's FOR SHARE does) or the course (no lock on either).
    # Both are read again now that no deletion can come between: the UPDATE above took SQLite's write lock, and
    # PostgreSQL's FOR KEY SHARE waits for a deletion of the course under way and then finds no row, or keeps
    # one from starting until this launch commits (it does not hold up a launch's UPDATE of the course).
    found = db.session.execute(_course_and_sub_query(), {"course": course_id, "person": person_id}).first()
    if found is None:
        return None  # the course is gone: the caller makes it again
    # Anonymised, the person is no one the LMS knows: the launch goes on as a first launch would, with a new
    # person, and nothing goes to the erased one.
    if found.sub != facts.sub:
        person_id = _upsert_person(platform_id, facts, store_email, None)
        params["person"] = person_id
    values = {"course_id": course_id, "person_id": person_id, "role": facts.access.value,
              "lti_roles": facts.role_labels, "active": True, "last_launch_at": now}
    if not insert_if_missing(Enrollment, values, ("course_id", "person_id")):
        db.session.execute(_update_enrollment(), params)
    return person_id


#: The rows a launch page opens, each made from its columns of one Core statement (see `_open_launch_query`).
_LAUNCH_ROWS = tuple(RowsAsLoaded(model) for model in (LaunchSession, Course, Person, CourseContent, DiagnosticRun,
                                                       Placement, ServedItem))
#: What a launch read with its person and course refreshes with after a commit (as when they were joinedloads).
_LAUNCH_LOADED_WITH = (so.joinedload(LaunchSession.person), so.joinedload(LaunchSession.course))


@cache
def _open_launch_query(answering: bool = False) -> sa.Select:
    # A Core statement (the tables' columns, not the mapped classes'): the ORM's result set-up cost as much as the
    # statement itself on every page (Round 17 in bench/README.md); `open_launch` makes the objects.
    launch, course, person, content, run, placement, served = (rows.mapper.local_table for rows in _LAUNCH_ROWS)
    query = (
        sa.select(*(column for rows in _LAUNCH_ROWS[:6] for column in rows.columns))
        .select_from(launch)
        .join(course, course.c.id == launch.c.course_id)
        .join(person, person.c.id == launch.c.person_id)
        .outerjoin(content, content.c.course_id == launch.c.course_id)
        .outerjoin(run, sa.and_(run.c.course_id == launch.c.course_id, run.c.person_id == launch.c.person_id))
        # The placement a graded link's launch opened (its id is kept in the launch's details), if still there.
        .outerjoin(placement, sa.and_(placement.c.id == launch.c.details["placement_id"].as_integer(),
                                      placement.c.course_id == launch.c.course_id))
        .where(launch.c.id == sa.bindparam("launch_id"))
    )
    if not answering:
        return query
    # An answer's question (:served_id), only if it was served to this launch's person in this course (serving.served
    # reads the same on its own). Not the run of misses on its skill: the answer redirects to its feedback page,
    # which reads the run up to this answer itself (services/feedback.py).
    return (
        query.add_columns(*_LAUNCH_ROWS[6].columns)
        .outerjoin(served, sa.and_(served.c.id == sa.bindparam("served_id"), served.c.course_id == launch.c.course_id,
                                   served.c.person_id == launch.c.person_id))
    )


def _launch_rows(found: sa.Row) -> tuple[Any, ...]:
    """Make the ORM objects of `_open_launch_query`'s row: the launch (its course and person loaded with it), its
    content, run and placement (None where the outer join found none), then the served row if read."""
    session, values, made, at = db.session(), tuple(found), [], 0
    for rows in _LAUNCH_ROWS[:6] if len(found) == _OPEN_LAUNCH_WIDTH else _LAUNCH_ROWS:
        made.append(values[at:at + len(rows.columns)])
        at += len(rows.columns)
    launch_values, *others = made
    course, person, content, run, placement, *question = (
        rows(session, values) for rows, values in zip(_LAUNCH_ROWS[1:], others, strict=False))
    launch = _LAUNCH_ROWS[0](session, launch_values, course=course, person=person)
    state = so.attributes.instance_state(launch)
    if not state.load_options:  # made here, not one the session held already
        state.load_options, state.load_path = _LAUNCH_LOADED_WITH, _LAUNCH_ROWS[0].mapper._path_registry
    return launch, content, run, placement, *question


_OPEN_LAUNCH_WIDTH = sum(len(rows.columns) for rows in _LAUNCH_ROWS[:6])  # without an answer's question


class LaunchExpired(ServiceError):
    """A launch this browser holds (its cookie names it, or a launch token we signed does) whose time ran out.

    Told apart from a launch the browser never held: the page says to open Pathways again from the course, and
    links back there when the launch gave a return URL. `launch` is the expired row (None once it is deleted).
    """

    status = 403
    TITLE = N_("Your time in Pathways ran out")

    def __init__(self, launch: LaunchSession | None) -> None:
        super().__init__(N_("Pathways stops working a while after it was last used, to keep your work safe on shared "
                            "computers. To carry on, open Pathways again from your course."))
        self.launch = launch

    @property
    def details(self) -> dict[str, Any]:
        """The expired launch's details (lti/claims.py facts_from_claims: its language, its return_url), or {}."""
        return dict(self.launch.details or {}) if self.launch is not None else {}


class SignedOut(LaunchExpired):
    """A launch this browser itself signed out of (its cookie or its tab's launch token says so).

    Its pages answer so, not "a launch this browser did not make": that browser made it. Only that browser is
    told: for any other the launch is one it never held.
    """

    status = 404
    TITLE = N_("You have signed out of Pathways")

    def __init__(self, launch: LaunchSession | None) -> None:
        ServiceError.__init__(self, N_("This browser can no longer open your Pathways pages. To use Pathways again, "
                                       "open it from your course in your LMS."))
        self.launch = launch


#: The key in a launch session's details that says it ended by signing out, not by running out of time.
SIGNED_OUT = "signed_out"


def open_launch(launch_id: str, allowed_ids: list[str], *, now: datetime,
                answering: int | None = None, window: int = 0, longest: int = 0,
                by_token: bool = False, signed_out_ids: list[str] = ()) -> LaunchSession:
    """Return the launch session if this browser holds it and it has not expired (LaunchExpired if it has).

    `by_token`: a signed launch token named it (open_launch_by_token), not the session cookie; a launch made
    through the platform-storage check (TAB_BOUND) opens only so.

    With `answering` (an answer's post: the id of the question it answers), that question is read in the same
    statement and held for `serving.served`, so the answer does not ask for it again. With `window` (seconds), a
    session in use slides: see `_slide`; `longest` (seconds after the launch) is the end no use moves it past.
    `signed_out_ids`: the launches this browser signed out of (its session cookie keeps them), whose pages then say
    so.
    """
    if isinstance(launch_id, str) and launch_id not in allowed_ids and launch_id in signed_out_ids:
        raise SignedOut(db.session.get(LaunchSession, launch_id))
    if not isinstance(launch_id, str) or launch_id not in allowed_ids:
        raise NotFound(N_("This page belongs to a launch this browser did not make. Open Pathways from your course."))
    # Every page shows the person and the course and reads the course's content (its pack and settings); every
    # student home page also asks about the placement check, and a graded link's home page shows its placement:
    # one query for the six rows, whose content, run and placement the services then find in this request's
    # memos instead of asking again.
    from .content import hold_content
    from .diagnostic import hold_run

    params: dict[str, Any] = {"launch_id": launch_id}
    if answering is not None:
        params["served_id"] = answering
    found = db.session.execute(_open_launch_query(answering is not None), params).first()
    if found is not None:
        found = _launch_rows(found)
    if found is not None and not by_token and (found[0].details or {}).get(TAB_BOUND):
        # Only a cookie written before such launches were kept out of sessions names one (or a bug that lets one in).
        raise NotFound(N_("This page belongs to a launch this browser did not make. Open Pathways from your course."))
    if found is None or found[0].expires_at <= now or (
            longest and found[0].created_at + timedelta(seconds=longest) <= now):
        # The browser holds this launch (checked above), so it is its own launch whose time ran out (or whose row
        # was deleted since): never "a launch this browser did not make".
        if found is not None and (found[0].details or {}).get(SIGNED_OUT):
            raise SignedOut(found[0])  # a cookie-less tab's token still names it: that tab signed out
        raise LaunchExpired(found[0] if found is not None else None)
    launch, content, run, placement, *question = found
    if window:
        _slide(launch, now=now, window=window, longest=longest)
    if content is not None:
        hold_content(content)
    hold_run(launch.course_id, launch.person_id, run)
    placement_id = (launch.details or {}).get("placement_id")
    if placement_id:
        # None too: a placement deleted since the launch is known to be gone for this request.
        db.session.info.setdefault(_PLACEMENTS, {})[(launch.course_id, placement_id)] = placement
    if answering is not None:
        # The served row only where it is this learner's in this course (the join says so): None when it is not.
        hold_served(launch.course_id, launch.person_id, answering, question[0])
    return launch


def _slide(launch: LaunchSession, *, now: datetime, window: int, longest: int) -> None:
    """Move a session in use forward to `window` seconds from now, at most `longest` seconds after its launch.

    Only when less than half the window is left, so a page costs no write but about one an hour per session in use
    (with the default two hours). The UPDATE names the end it read and requires it still ahead: a session that
    ended meanwhile (signed out, or another request's slide) is left as it is, and none ever comes back to life.
    """
    ends = launch.expires_at
    if ends - now >= timedelta(seconds=window) / 2:
        return
    later = now + timedelta(seconds=window)
    if longest:
        later = min(later, launch.created_at + timedelta(seconds=longest))
    if later <= ends:
        return  # at its absolute end already
    moved = db.session.execute(
        sa.update(LaunchSession)
        .where(LaunchSession.id == launch.id, LaunchSession.expires_at == ends, LaunchSession.expires_at > now)
        .values(expires_at=later)
    ).rowcount
    # Committed at once, keeping the rows just read (the page still needs them): the slide holds whatever the
    # page does next.
    commit_keeping_rows()
    if moved:
        so.attributes.set_committed_value(launch, "expires_at", later)


def open_launch_by_token(launch_id: str, token: object, *, secret_key: str, max_age: int, now: datetime,
                         answering: int | None = None, window: int = 0,
                         longest: int = 0) -> tuple[LaunchSession, str]:
    """Return the launch session a signed launch token names (cookie-less launches) and the tab it is bound to."""
    named = read_launch_token(token, secret_key, max_age=max_age)
    if named is None or named[0] != launch_id:
        stale = read_launch_token(token, secret_key, max_age=None) if named is None else None
        if stale is not None and stale[0] == launch_id:
            # A token we signed for this launch, only idle too long: its time ran out (no session is opened).
            raise LaunchExpired(db.session.get(LaunchSession, launch_id))
        raise NotFound(N_("This page belongs to a launch this browser did not make. Open Pathways from your course."))
    launch = open_launch(launch_id, [launch_id], now=now, answering=answering, window=window, longest=longest,
                         by_token=True)
    return launch, named[1]


def token_names_launch(token: object, launch_id: str, *, secret_key: str) -> bool:
    """Tell whether a launch token is one we signed for this launch, whatever its age (no database read).

    For deciding, before a body is read, whether the request can belong to the launch; open_launch_by_token still
    checks the token's age and the launch itself.
    """
    named = read_launch_token(token, secret_key, max_age=None)
    return named is not None and named[0] == launch_id


def course_roster(launch: LaunchSession) -> list[sa.Row]:
    """Return the members of the launch's course (name, role, lti_roles, active), teachers first, then by name."""
    # The columns the course page shows, with the names in the same query: not an enrolment and a person object
    # for every member, built and then collected for a page that only prints four values of each.
    return list(
        db.session.execute(
            sa.select(Person.name, Enrollment.role, Enrollment.lti_roles, Enrollment.active)
            .select_from(Enrollment).join(Person, Person.id == Enrollment.person_id)
            .where(Enrollment.course_id == launch.course_id, Person.platform_id == launch.platform_id)
            .order_by(Enrollment.role.desc(), Person.name)
        )
    )


def current_placement(launch: LaunchSession) -> Placement | None:
    """Return the placement this launch opened, if it came through a placed link (read with the launch)."""
    placement_id = (launch.details or {}).get("placement_id")
    if not placement_id:
        return None
    memo: dict[tuple[int, int], Placement | None] = db.session.info.setdefault(_PLACEMENTS, {})
    key = (launch.course_id, placement_id)
    placement = memo.get(key)
    # After a commit or rollback the kept row may have changed or gone: read it afresh then.
    if key not in memo or (placement is not None and not still_loaded(placement)):
        placement = memo[key] = db.session.scalars(
            sa.select(Placement).where(Placement.id == placement_id, Placement.course_id == launch.course_id)
        ).first()
    return placement


_PLACEMENTS = "pathways.launch_placements"


def delete_ended_launches(before: datetime, batch: int) -> int:
    """Delete up to `batch` launch sessions that ended before `before`, oldest first; commits; return how many.

    The worker calls this every pass: an indexed range on expires_at, at most `batch` rows, so a pass costs the
    same whatever the backlog (issue 14), and a backlog goes a batch per pass. On PostgreSQL rows another worker
    is deleting are skipped, not waited for.
    """
    table = LaunchSession.__table__
    ended = (
        sa.select(table.c.id).where(table.c.expires_at < before).order_by(table.c.expires_at).limit(batch)
        .with_for_update(skip_locked=True).scalar_subquery()
    )
    deleted = db.session.execute(
        sa.delete(table).where(table.c.id.in_(ended)).execution_options(synchronize_session=False)
    ).rowcount or 0
    db.session.commit()
    return deleted


def open_launch_of(launch_ids: list[str], facts: LaunchFacts, *, now: datetime) -> str | None:
    """Return the newest of `launch_ids` (a browser's launches) that the person of `facts` made and is still open.

    A launch refused for its role (no access) starts no session; when the same person holds another launch in this
    browser (a course where they do teach or study), its home page is the refusal page's way on. Only their own:
    on a shared computer the launches of whoever used it before are not offered to the next person.
    """
    if not launch_ids:
        return None
    return db.session.scalar(
        sa.select(LaunchSession.id)
        .join(Person, Person.id == LaunchSession.person_id)
        .join(Platform, Platform.id == LaunchSession.platform_id)
        .where(LaunchSession.id.in_(launch_ids), LaunchSession.expires_at > now, Platform.issuer == facts.issuer,
               Platform.client_id == facts.client_id, Person.sub == facts.sub)
        .order_by(LaunchSession.created_at.desc())
        .limit(1)
    )


def launches_not_of(launch_ids: list[str], facts: LaunchFacts, person_id: int | None = None) -> set[str]:
    """Return those of `launch_ids` (a browser's launches) that someone other than the person `facts` name made.

    A classroom or family computer is shared: the launches of whoever used it before stay in its session cookie,
    and its history names their pages, for hours after they signed out of the LMS. A launch by someone else ends
    that browser's hold on them (web/launch.py), so the next person cannot open them from the history or Back.
    `person_id` is that person's row when the launch just recorded it; a validated launch that opens nothing (a
    role with no pages, such as a parent's Mentor role; a message Pathways does not handle) recorded no one, and
    the person is told apart by their platform and `sub`. Someone Pathways never saw made none of them.
    """
    if not launch_ids:
        return set()
    if person_id is not None:
        theirs = LaunchSession.person_id != person_id
    else:
        mine = (sa.select(Person.id).join(Platform, Platform.id == Person.platform_id)
                .where(Platform.issuer == facts.issuer, Platform.client_id == facts.client_id,
                       Person.sub == facts.sub))
        theirs = LaunchSession.person_id.not_in(mine)
    return set(db.session.scalars(sa.select(LaunchSession.id).where(LaunchSession.id.in_(launch_ids), theirs)))


def end_launch(launch: LaunchSession, *, now: datetime) -> None:
    """End a launch session now (sign-out): its pages and launch token stop working at once.

    Its details say it was signed out, so a page its tab opens after (the browser's Back) says that, not that its
    time ran out.
    """
    db.session.execute(
        sa.update(LaunchSession).where(LaunchSession.id == launch.id, LaunchSession.expires_at > now)
        .values(expires_at=now, details={**(launch.details or {}), SIGNED_OUT: True})
    )
    db.session.commit()
