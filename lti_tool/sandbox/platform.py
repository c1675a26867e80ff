"""An in-memory LTI 1.3 platform: the state and rules behind the sandbox LMS's HTTP endpoints.

Specs followed: LTI 1.3 Core (https://www.imsglobal.org/spec/lti/v1p3/), 1EdTech Security Framework 1.0
(https://www.imsglobal.org/spec/security/v1p0/), Deep Linking 2.0, NRPS 2.0 and AGS 2.0. The Flask layer in
app.py only parses requests and renders; every decision a real platform would make is taken here, so tests can
reason about it without HTTP.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from lti_tool.sandbox import vocab as v

# Clock skew we forgive on "issued at" of JWTs the tool sends; exp gets none, it must still be in the future.
LEEWAY_SECONDS = 5
ID_TOKEN_LIFETIME = 300
ACCESS_TOKEN_LIFETIME = 3600
PENDING_LAUNCH_LIFETIME = 600
PRIVACY_LAUNCH_REQUEST = "DataPrivacyLaunchRequest"
FOR_USER_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/for_user"
CANVAS_PLACEMENT_CLAIM = "https://www.instructure.com/placement"
CANVAS_SUBMISSION = "https://canvas.instructure.com/lti/submission"  # Canvas's score extension
_HMAC_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# Paging cursors start with a capital and mix case on purpose: a client that lower-cases the Link URL breaks.
_CURSOR_PARAM = "Cursor"
_CURSOR_PREFIX = "Pg"


class SandboxError(Exception):
    """A request the platform refuses; app.py turns it into an HTTP response."""

    def __init__(
        self, status: int, error: str, description: str, *, headers: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
    ):
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.headers = dict(headers or {})
        # A JSON answer of the platform's own shape in place of {"error", "error_description"} (Canvas's "errors").
        self.body = dict(body) if body is not None else None


@dataclass
class ToolRegistration:
    """What an administrator types into an LMS when adding an LTI 1.3 tool."""

    client_id: str
    deployment_id: str
    login_url: str
    redirect_uris: list[str]
    jwks_url: str
    target_link_uri: str
    deep_link_url: str | None = None


@dataclass
class SandboxUser:
    """A person in the LMS; roles are full LIS URIs."""

    sub: str
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None
    picture: str | None = None
    roles: list[str] = field(default_factory=list)
    status: str = "Active"

    @property
    def display_name(self) -> str:
        """Return the name to show on pages."""
        return self.name or " ".join(p for p in (self.given_name, self.family_name) if p) or self.sub

    @property
    def is_instructor(self) -> bool:
        """Tell whether the user may place tools in the course (Instructor or one of its sub-roles)."""
        return any(r == v.INSTRUCTOR or r.startswith(v.MEMBERSHIP[:-1] + "/Instructor#") for r in self.roles)


@dataclass
class SandboxResourceLink:
    """A placement of the tool in a course (LTI 1.3 Core §3.1.3)."""

    id: str
    title: str
    url: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    # Where the LMS shows the link, as Canvas names it in its placement claim (e.g. "course_navigation").
    placement: str | None = None
    # Deep Linking 2.0 §3.4.2 windows from the content item: {"startDateTime": …, "endDateTime": …}.
    available: dict[str, str] = field(default_factory=dict)
    submission: dict[str, str] = field(default_factory=dict)
    # The content item's `text` (DL 2.0 §3.4.2), sent back as the resource link claim's description (Core §5.3.5).
    text: str = ""


@dataclass
class SandboxCourse:
    """A course (LTI context) with its members and tool placements."""

    context_id: str
    title: str
    label: str
    members: list[str] = field(default_factory=list)
    resource_links: dict[str, SandboxResourceLink] = field(default_factory=dict)


@dataclass
class _PendingLaunch:
    sub: str
    message_type: str
    context_id: str
    resource_link_id: str
    custom: dict | None
    claim_overrides: dict
    remove_claims: list[str]
    target_link_uri: str
    expires_at: float
    locale: str = "en"


@dataclass
class AccessGrant:
    """What a bearer token allows."""

    client_id: str
    scopes: frozenset[str]
    expires_at: float


DEMO_TEACHER = "teacher"
DEMO_TA = "ta"
DEMO_STUDENTS = ("student-1", "student-2", "student-3", "student-4", "student-5")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_uint(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def _rsa_thumbprint(key: rsa.RSAPrivateKey) -> str:
    # RFC 7638: a kid that stays the same for the same key, so a reloaded demo key does not look new.
    numbers = key.public_key().public_numbers()
    canonical = json.dumps(
        {"e": _b64_uint(numbers.e), "kty": "RSA", "n": _b64_uint(numbers.n)}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _parse_timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str):
        raise SandboxError(400, "invalid_request", f"{name} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise SandboxError(400, "invalid_request", f"{name} is not ISO-8601: {value!r}") from None
    if parsed.tzinfo is None:
        # Without an offset timestamps cannot be ordered reliably, and ordering is what they are for.
        raise SandboxError(400, "invalid_request", f"{name} needs a UTC offset: {value!r}")
    return parsed


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _audience_contains(aud: Any, expected: str) -> bool:
    return aud == expected or (isinstance(aud, list) and expected in aud)


class SandboxPlatform:
    """A real LTI 1.3 platform kept in memory: one registered tool, courses, users, keys and gradebook."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:5000/sandbox",
        *,
        name: str = "Sandbox LMS",
        key_pem: bytes | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self.base_url = base_url
        self.name = name
        self.guid = str(uuid.uuid4())
        self.tool: ToolRegistration | None = None
        self.courses: dict[str, SandboxCourse] = {}
        self.users: dict[str, SandboxUser] = {}
        self.token_requests: list[dict] = []
        # The latest calls to the course services (NRPS, AGS), as {"method", "url", "status"}: tests check what a
        # tool asked for, e.g. that it never reads a line item its token's scopes do not cover. Bounded: a demo
        # sandbox runs for days.
        self.service_requests: deque[dict] = deque(maxlen=10_000)
        self.deep_link_responses: list[dict] = []
        self.fail_next: list[int | str] = []
        self.fail_next_token: list[int | str] = []
        # Raw bodies for the next NRPS membership answers, each sent with 200 and the container's media type in
        # place of the real page (no Link header): a test plays a platform answering oddly ("{}", '{"members":
        # null}', "" for an empty body). None serves that request normally, so a later page can be the odd one.
        self.membership_answers: list[str | None] = []
        self.page_size = 100
        self.registration_names_deployment = True  # Dynamic Registration's answer carries the deployment id
        # What the platform's configuration says it is and supports (Dynamic Registration §3.4); a test can play
        # another LMS here, e.g. Canvas, which lists its placements per message type.
        self.product_family_code = "sandbox"
        self.messages_supported: list[dict] = [
            {"type": v.RESOURCE_LINK_REQUEST},
            {"type": v.DEEP_LINKING_REQUEST, "placements": ["ContentArea"]},
            {"type": PRIVACY_LAUNCH_REQUEST},
        ]
        # Schoology refuses a score whose comment is missing or null ("it may be whitespace"); True plays it.
        self.score_comment_required = False
        # What a score post is answered with: None, 204 with no body; a (body, content type) pair plays a platform
        # answering 200 with a body of its own, which AGS 2.0 does not define (e.g. ("OK", "text/plain")).
        self.score_answer: tuple[str, str] | None = None
        # A redirect status (301, 302, 303, 307, 308): score posts are answered with it, to the platform's sign-in page
        # (an SSO in front of the LMS whose session ran out), before the gradebook sees them. None: served.
        self.score_redirect: int | None = None
        self.relative_links = False  # paging Link headers as absolute URLs, or relative ones (RFC 8288 allows both)
        # Paging links written as RFC 8288 also allows: relation types in any case ("Next", compared
        # case-insensitively, §2.1.1), several in one rel (§3.3: the link to the last page is rel="Next Last"), and a
        # title whose quoted text holds "," and ";" before the rel.
        self.rich_link_relations = False
        self._last_page_urls: set[str] = set()
        # Deep Linking's accept_lineitem (DL 2.0 §4.4.1): False plays a platform (or placement) that ignores the
        # lineItem of content items; the answers it receives keep what the tool sent (deep_link_responses).
        self.accept_lineitem = True
        # Deep Linking's accept_multiple (DL 2.0 §4.4.1, optional): None leaves it out of the request, as some
        # platforms do. Unless it was sent as true, a response with several content items is refused, as a platform
        # that takes one link may.
        self.accept_multiple: bool | None = True
        # Dynamic Registration's optional `authorization_server`: when set, the configuration names it and the token
        # endpoint wants it as the client assertion's aud (D2L Brightspace's differs from its token endpoint).
        self.authorization_server: str | None = None
        self.timeout_seconds = 10.0
        # How far ahead the "429-date" failure's Retry-After (an HTTP-date, whole seconds) lies.
        self.retry_after_date_seconds = 3.0
        self.clock: Callable[[], float] = time.time
        self._keys: dict[str, rsa.RSAPrivateKey] = {}
        self._current_kid = ""
        if key_pem is None:
            self.rotate_key()
        else:
            key = serialization.load_pem_private_key(key_pem, password=None)
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError("key_pem must hold an RSA private key")
            self._current_kid = _rsa_thumbprint(key)
            self._keys[self._current_kid] = key
        self._login_hints: dict[str, str] = {}
        self._hint_of: dict[str, str] = {}
        self._pending: dict[str, _PendingLaunch] = {}
        self._deep_link_data: dict[str, dict] = {}
        self._access_tokens: dict[str, AccessGrant] = {}
        self._seen_jtis: dict[str, float] = {}
        self._tool_jwks: dict | None = None
        self._line_items: dict[tuple[str, str], dict] = {}
        self._scores: dict[tuple[str, str], list[dict]] = {}
        # Canvas's submissions (its AGS scores_controller.rb): a score is a new submission attempt unless its
        # CANVAS_SUBMISSION extension says new_submission false (or submission_type none), whatever the issuer.
        # With allowed_attempts set, the attempt after the last allowed one is refused with 422, as Canvas does.
        self.allowed_attempts: int | None = None
        self._submissions: dict[tuple[str, str, str], list[dict]] = {}
        self._next_line_item = 1
        self._registration_tokens: set[str] = set()
        self._roster_snapshots: dict[str, dict[str, dict]] = {}
        # Moodle keeps a score's time as whole seconds (gradebookservices: strtotime) and refuses (409) a score not in
        # a later second than the last one for that user and line item; False: full precision, as AGS reads.
        self.score_times_in_whole_seconds = False
        # Canvas refuses only a score older than the result (scores_controller.rb: `result.updated_at > timestamp`):
        # one with the same timestamp is taken again (True plays it); AGS platforms may refuse it (409 here).
        self.same_score_timestamp_taken = False
        # Moodle (gradebookservices scores.php) stamps a score without a number with its own clock and then refuses
        # (409) any score not later than that time; so does a teacher's edit in its gradebook. A number N plays it
        # with this platform's clock N seconds ahead of the tool's; None keeps the score's own timestamp.
        self.blank_score_clock_ahead_seconds: float | None = None
        # Canvas compares a score's timestamp with its result's updated_at, the time by its own clock when it stored
        # the last score (not that score's timestamp), and refuses an older one with 400 and its `errors` body
        # (scores_controller.rb verify_valid_timestamp; its API docs: "Returns a 400 if the timestamp is earlier than
        # the updated_at time of the Result"). A number N plays it with that clock N seconds ahead of the tool's (0:
        # the same clock, where a score stamped before the previous one was stored is refused); None: off.
        self.result_clock_ahead_seconds: float | None = None
        self._stamped: dict[tuple[str, str, str], datetime] = {}  # (context, item, user): the platform's own time
        # Canvas ties a new line item to a resourceLinkId only when that link is already graded (an assignment, so it
        # has a line item): for any other link (a module item) it refuses the line item with 412 (line_items_controller
        # check_for_bad_resource_link). True plays it; False takes any resource link of the course, as Moodle does.
        self.line_item_link_must_be_graded = False
        # The longest line item label the LMS keeps (Canvas's assignment titles and Moodle's grade item names: 255);
        # a longer one is refused with 422, as Canvas refuses the assignment. None: any length (AGS sets none).
        self.max_label_length: int | None = None
        # None: grant any supported scope; a set: the only scopes this tool may have. A token request asking for
        # another is refused whole (invalid_scope), as Canvas refuses scopes its developer key lacks, unless
        # narrowing_grants: then the token gets the scopes allowed and the answer's `scope` names them (RFC 6749
        # §5.1), as Moodle's token.php grants what the tool's settings allow of what it asked for.
        self.grantable_scopes: set[str] | None = None
        self.narrowing_grants = False
        # False: launches' AGS claim has no `scope` list, so the tool cannot know which scopes the LMS will grant.
        self.ags_claim_names_scopes = True
        self.registrations: list[dict] = []
        self.jwks_requests = 0  # how often tools fetched our key set (tests check refetch limits)
        # A hosted LMS (Canvas Cloud, Blackboard SaaS) names itself with an issuer on no host of its own
        # (https://canvas.instructure.com) and serves its login, token and keys on base_url (sso.canvaslms.com), but
        # the school's pages, roster, gradebook and Deep Linking return on the school's host: set both to play one.
        self.fixed_issuer: str | None = None
        self.school_url: str | None = None

    # ---- URLs: derived from base_url at call time, because tests learn the port after construction ----
    @property
    def base_url(self) -> str:
        """Return the URL the platform is mounted at, without a trailing slash."""
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")

    @property
    def issuer(self) -> str:
        """Return the platform's issuer identifier (LTI 1.3 Core §5.1.2)."""
        return self.fixed_issuer or self.base_url

    @property
    def school_base_url(self) -> str:
        """Return where the school's pages and services are: school_url when set (a hosted LMS), else base_url."""
        return (self.school_url or self.base_url).rstrip("/")

    @property
    def auth_url(self) -> str:
        """Return the OIDC authorization endpoint."""
        return self.base_url + "/auth"

    @property
    def token_url(self) -> str:
        """Return the OAuth 2 token endpoint."""
        return self.base_url + "/token"

    @property
    def jwks_url(self) -> str:
        """Return the platform's public key set URL."""
        return self.base_url + "/jwks"

    @property
    def deep_link_return_url(self) -> str:
        """Return where tools post LtiDeepLinkingResponse messages."""
        return self.school_base_url + "/deep_link_return"

    def url(self, path: str = "/") -> str:
        """Return an absolute URL for a path inside the sandbox (the school's pages)."""
        return self.school_base_url + path

    def memberships_url(self, context_id: str) -> str:
        """Return the NRPS context membership URL of a course."""
        return f"{self.school_base_url}/courses/{context_id}/memberships"

    def lineitems_url(self, context_id: str) -> str:
        """Return the AGS line items container URL of a course."""
        return f"{self.school_base_url}/courses/{context_id}/lineitems"

    def lineitem_url(self, context_id: str, item_id: str) -> str:
        """Return the URL (and AGS id) of one line item."""
        return f"{self.lineitems_url(context_id)}/{item_id}"

    # ---- registration, courses, users ----
    def register_tool(
        self,
        *,
        client_id: str,
        deployment_id: str,
        login_url: str,
        redirect_uris: list[str],
        jwks_url: str,
        target_link_uri: str,
        deep_link_url: str | None = None,
    ) -> ToolRegistration:
        """Register the (single) tool, replacing any earlier registration."""
        with self._lock:
            self.tool = ToolRegistration(
                client_id,
                deployment_id,
                login_url,
                list(redirect_uris),
                jwks_url,
                target_link_uri,
                deep_link_url,
            )
            self._tool_jwks = None
            return self.tool

    @property
    def course(self) -> SandboxCourse:
        """Return the default course: the first one added."""
        if not self.courses:
            raise LookupError("the sandbox has no course yet; call add_course() or seed_demo()")
        return next(iter(self.courses.values()))

    def add_course(self, context_id: str, title: str, label: str) -> SandboxCourse:
        """Create a course, or rename it if it exists."""
        with self._lock:
            course = self.courses.get(context_id)
            if course is None:
                course = self.courses[context_id] = SandboxCourse(context_id, title, label)
            else:
                course.title, course.label = title, label
            return course

    def add_resource_link(
        self,
        resource_link_id: str,
        title: str,
        *,
        context_id: str | None = None,
        url: str | None = None,
        custom: dict[str, str] | None = None,
        placement: str | None = None,
    ) -> SandboxResourceLink:
        """Place the tool in a course as a resource link."""
        with self._lock:
            link = SandboxResourceLink(resource_link_id, title, url, dict(custom or {}), placement)
            self._course(context_id).resource_links[resource_link_id] = link
            return link

    def add_activity(
        self, resource_link_id: str, title: str, *, accept_grades: bool, score_maximum: float = 100,
        context_id: str | None = None,
    ) -> SandboxResourceLink:
        """Add the tool as an activity by hand, without Deep Linking (Moodle's "Add an activity or resource").

        With "accept grades" on, the LMS makes the activity's own gradebook column and binds it to the link,
        as Moodle does; launches of the link then name it in the AGS claim (`lineitem`).
        """
        link = self.add_resource_link(resource_link_id, title, context_id=context_id)
        if accept_grades:
            course = self._course(context_id)
            self.create_line_item(course.context_id, {"label": title, "scoreMaximum": score_maximum,
                                                      "resourceLinkId": resource_link_id})
        return link

    def add_user(
        self,
        sub: str,
        *,
        roles: list[str],
        name: str | None = None,
        given_name: str | None = None,
        family_name: str | None = None,
        email: str | None = None,
        context_id: str | None = None,
        status: str = "Active",
        picture: str | None = None,
    ) -> SandboxUser:
        """Create (or update) a user and enrol them in a course; short role names become full LIS URIs."""
        with self._lock:
            user = SandboxUser(
                sub, name, given_name, family_name, email, picture, [v.full_role(r) for r in roles], status
            )
            self.users[sub] = user
            course = self._course(context_id)
            if sub not in course.members:
                course.members.append(sub)
            return user

    def seed_demo(self) -> None:
        """Create the demo course "Grade 7 Mathematics" with a teacher, a TA and five students."""
        self.add_course("math-7", "Grade 7 Mathematics", "MATH7")
        people = [
            (DEMO_TEACHER, ["Instructor"], "Amara", "Okafor"),
            (DEMO_TA, ["Instructor", "TeachingAssistant"], "Daniel", "Reyes"),
            (DEMO_STUDENTS[0], ["Learner"], "Priya", "Shah"),
            (DEMO_STUDENTS[1], ["Learner"], "Liam", "O'Connor"),
            (DEMO_STUDENTS[2], ["Learner"], "Sofía", "García"),
            (DEMO_STUDENTS[3], ["Learner"], "Noah", "Kim"),
            (DEMO_STUDENTS[4], ["Learner"], "Zainab", "Hassan"),
        ]
        for sub, roles, given, family in people:
            email = f"{given}.{family}".lower().replace("'", "").replace("í", "i") + "@example.edu"
            self.add_user(
                sub,
                roles=roles,
                name=f"{given} {family}",
                given_name=given,
                family_name=family,
                email=email,
                context_id="math-7",
            )
        # The course menu link: a navigation placement, nobody is graded there (Canvas's course_navigation).
        self.add_resource_link("pathways-home", "Pathways", context_id="math-7", placement="course_navigation")

    def _course(self, context_id: str | None) -> SandboxCourse:
        if context_id is None:
            return self.course
        try:
            return self.courses[context_id]
        except KeyError:
            raise LookupError(f"unknown course {context_id!r}") from None

    def _registered_tool(self) -> ToolRegistration:
        if self.tool is None:
            raise RuntimeError("no tool is registered with the sandbox platform")
        return self.tool

    # ---- keys and signing ----
    @property
    def kid(self) -> str:
        """Return the key id new tokens are signed with."""
        return self._current_kid

    @property
    def private_key(self) -> rsa.RSAPrivateKey:
        """Return the current signing key."""
        return self._keys[self._current_kid]

    def export_key_pem(self) -> bytes:
        """Return the current private key as unencrypted PKCS#8 PEM (to persist the demo platform's key)."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    def rotate_key(self) -> str:
        """Make a new RSA-2048 key current and return its kid; older keys stay published until retired."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = secrets.token_urlsafe(12)
        with self._lock:
            self._keys[kid] = key
            self._current_kid = kid
        return kid

    def retire_key(self, kid: str) -> None:
        """Withdraw an old key from the JWKS."""
        with self._lock:
            if kid == self._current_kid:
                raise ValueError("cannot retire the current signing key; rotate_key() first")
            del self._keys[kid]

    def public_jwks(self) -> dict:
        """Return the JWKS document (RFC 7517) with every published key."""
        with self._lock:
            keys = list(self._keys.items())
        out = []
        for kid, key in keys:
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
            out.append({"kty": "RSA", "n": jwk["n"], "e": jwk["e"], "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": out}

    def sign(
        self,
        claims: dict,
        *,
        kid: str | None = None,
        alg: str = "RS256",
        key: Any = None,
        headers: dict | None = None,
    ) -> str:
        """Sign any claims as a compact JWS; tests use this to forge tokens (alg "none", HS256 with a PEM, …).

        kid defaults to the current kid even when another key is given; a header value of None removes it.
        """
        header: dict[str, Any] = {
            "alg": alg,
            "typ": "JWT",
            "kid": kid if kid is not None else self._current_kid,
        }
        for name, value in (headers or {}).items():
            if value is None:
                header.pop(name, None)
            else:
                header[name] = value
        signing_input = (
            _b64(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + _b64(json.dumps(claims, separators=(",", ":")).encode())
        ).encode("ascii")
        if alg.lower() == "none":
            return signing_input.decode() + "."
        if alg in _HMAC_HASHES:
            # By hand: PyJWT refuses PEM-looking HMAC secrets, exactly the attack tests need to mount.
            if key is None:
                raise ValueError(f"{alg} needs a secret key")
            secret = key.encode() if isinstance(key, str) else key
            if not isinstance(secret, bytes):
                secret = secret.public_key().public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
            signature = hmac.new(secret, signing_input, _HMAC_HASHES[alg]).digest()
        else:
            algorithm = jwt.get_algorithm_by_name(alg)
            signing_key = self.private_key if key is None else key
            if isinstance(signing_key, (bytes, str)):
                signing_key = algorithm.prepare_key(signing_key)
            signature = algorithm.sign(signing_input, signing_key)
        return signing_input.decode() + "." + _b64(signature)

    # ---- launches (LTI 1.3 Core §5, Security Framework §5.1.1) ----
    def login_hint_for(self, sub: str) -> str:
        """Return the opaque login_hint the platform uses for a user."""
        with self._lock:
            hint = self._hint_of.get(sub)
            if hint is None:
                hint = secrets.token_urlsafe(16)
                self._hint_of[sub] = hint
                self._login_hints[hint] = sub
            return hint

    def start_launch(
        self,
        sub: str,
        *,
        message_type: str = v.RESOURCE_LINK_REQUEST,
        context_id: str | None = None,
        resource_link_id: str = "pathways-home",
        custom: dict | None = None,
        claim_overrides: dict | None = None,
        remove_claims: list[str] | None = None,
        target_link_uri: str | None = None,
        locale: str = "en",
    ) -> str:
        """Begin a third-party-initiated login and return the tool's login initiation URL.

        locale is the person's LMS language, sent in the launch_presentation claim (BCP 47, e.g. "es")."""
        tool = self._registered_tool()
        if sub not in self.users:
            raise KeyError(f"unknown user {sub!r}")
        course = self._course(context_id)
        if sub not in course.members:
            # A real LMS only shows the tool to people enrolled in the course.
            raise LookupError(f"{sub!r} is not a member of {course.context_id!r}")
        if target_link_uri is None:
            target_link_uri = self._target_link_uri(message_type, course, resource_link_id)
        message_hint = secrets.token_urlsafe(24)
        with self._lock:
            self._pending[message_hint] = _PendingLaunch(
                sub,
                message_type,
                course.context_id,
                resource_link_id,
                custom,
                dict(claim_overrides or {}),
                list(remove_claims or []),
                target_link_uri,
                self.clock() + PENDING_LAUNCH_LIFETIME,
                locale,
            )
        query = urlencode(
            {
                "iss": self.issuer,
                "login_hint": self.login_hint_for(sub),
                "target_link_uri": target_link_uri,
                "lti_message_hint": message_hint,
                "client_id": tool.client_id,
                "lti_deployment_id": tool.deployment_id,
            }
        )
        return tool.login_url + ("&" if "?" in tool.login_url else "?") + query

    def _target_link_uri(self, message_type: str, course: SandboxCourse, resource_link_id: str) -> str:
        tool = self._registered_tool()
        if message_type == v.DEEP_LINKING_REQUEST:
            return tool.deep_link_url or tool.target_link_uri
        link = course.resource_links.get(resource_link_id)
        return (link.url if link and link.url else None) or tool.target_link_uri

    def launch_claims(
        self,
        sub: str,
        nonce: str,
        *,
        message_type: str = v.RESOURCE_LINK_REQUEST,
        context_id: str | None = None,
        resource_link_id: str = "pathways-home",
        custom: dict | None = None,
        target_link_uri: str | None = None,
        locale: str = "en",
    ) -> dict:
        """Return the complete id_token claim set a platform like Canvas or Moodle sends."""
        tool = self._registered_tool()
        user = self.users[sub]
        course = self._course(context_id)
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": tool.client_id,
            "azp": tool.client_id,
            "sub": user.sub,
            "exp": now + ID_TOKEN_LIFETIME,
            "iat": now,
            "nonce": nonce,
        }
        for attr in ("name", "given_name", "family_name", "email", "picture"):
            if getattr(user, attr):
                claims[attr] = getattr(user, attr)
        claims.update(
            {
                v.MESSAGE_TYPE: message_type,
                v.VERSION: v.LTI_VERSION,
                v.DEPLOYMENT_ID: tool.deployment_id,
                v.TARGET_LINK_URI: target_link_uri
                or self._target_link_uri(message_type, course, resource_link_id),
                v.ROLES: list(user.roles),
                v.CONTEXT: {
                    "id": course.context_id,
                    "label": course.label,
                    "title": course.title,
                    "type": [v.COURSE_OFFERING],
                },
                v.TOOL_PLATFORM: {
                    "guid": self.guid,
                    "name": self.name,
                    "product_family_code": "sandbox",
                    "version": "1.0",
                },
                v.LAUNCH_PRESENTATION: {
                    "document_target": "iframe",
                    "return_url": self.url("/"),
                    "locale": locale,
                },
                v.NRPS_CLAIM: {
                    "context_memberships_url": self.memberships_url(course.context_id),
                    "service_versions": ["2.0"],
                },
            }
        )
        ags: dict[str, Any] = {"lineitems": self.lineitems_url(course.context_id)}
        if self.ags_claim_names_scopes:
            ags["scope"] = list(v.AGS_SCOPES)
        link_custom: dict[str, str] = {}
        if message_type == v.DEEP_LINKING_REQUEST:
            data = secrets.token_urlsafe(16)
            with self._lock:
                self._deep_link_data[data] = {"context_id": course.context_id, "sub": sub,
                                              "accept_lineitem": self.accept_lineitem,
                                              "accept_multiple": self.accept_multiple is True}
            claims[v.DL_SETTINGS] = {
                "deep_link_return_url": self.deep_link_return_url,
                "accept_types": ["ltiResourceLink"],
                "accept_presentation_document_targets": ["iframe", "window"],
                **({} if self.accept_multiple is None else {"accept_multiple": self.accept_multiple}),
                "accept_lineitem": self.accept_lineitem,
                "auto_create": True,
                "data": data,
            }
        else:
            link = course.resource_links.get(resource_link_id)
            claims[v.RESOURCE_LINK] = {
                "id": resource_link_id,
                "title": link.title if link else resource_link_id,
                **({"description": link.text} if link and link.text else {}),
            }
            if link:
                link_custom = dict(link.custom)
                if link.placement:
                    claims[CANVAS_PLACEMENT_CLAIM] = link.placement
            # Platforms name the line item bound to the link, so the tool can post to it without searching.
            with self._lock:
                bound = [
                    self.lineitem_url(ctx, item_id)
                    for (ctx, item_id), item in self._line_items.items()
                    if ctx == course.context_id and item.get("resourceLinkId") == resource_link_id
                ]
            if len(bound) == 1:
                ags["lineitem"] = bound[0]
        claims[v.AGS_CLAIM] = ags
        if message_type == PRIVACY_LAUNCH_REQUEST:
            # LTI Data Privacy Launch 1.0: about a user, not a course or link; for_user names whose data.
            for claim in (v.CONTEXT, v.RESOURCE_LINK, v.NRPS_CLAIM, v.AGS_CLAIM):
                claims.pop(claim, None)
            claims[FOR_USER_CLAIM] = {"user_id": user.sub, **({"name": user.name} if user.name else {})}
        merged_custom = {**link_custom, **(custom or {})}
        if merged_custom:
            claims[v.CUSTOM] = merged_custom
        return claims

    def authorize(self, params: Mapping[str, str]) -> tuple[str, str, str]:
        """Answer an OIDC authentication request: return (redirect_uri, id_token, state) or raise."""

        def refuse(message: str) -> SandboxError:
            return SandboxError(400, "invalid_request", message)

        tool = self.tool
        if tool is None:
            raise refuse("no tool is registered")
        if "openid" not in params.get("scope", "").split():
            raise refuse("scope must include openid")
        if params.get("response_type") != "id_token":
            raise refuse("response_type must be id_token")
        if params.get("response_mode") != "form_post":
            raise refuse("response_mode must be form_post")
        if params.get("prompt") != "none":
            raise refuse("prompt must be none")
        if params.get("client_id") != tool.client_id:
            raise refuse("unknown client_id")
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in tool.redirect_uris:
            raise refuse("redirect_uri is not registered for this tool")
        with self._lock:
            sub = self._login_hints.get(params.get("login_hint", ""))
            if sub is None:
                raise refuse("unknown login_hint")
            message_hint = params.get("lti_message_hint", "")
            pending = self._pending.get(message_hint)
            if pending is None or pending.sub != sub:
                raise refuse("lti_message_hint does not match a pending launch for this user")
            if pending.expires_at < self.clock():
                del self._pending[message_hint]
                raise refuse("the launch has expired; start it again")
            nonce, state = params.get("nonce", ""), params.get("state", "")
            if not nonce:
                raise refuse("nonce is required")
            if not state:
                raise refuse("state is required")
            del self._pending[message_hint]  # one use only
        claims = self.launch_claims(
            pending.sub,
            nonce,
            message_type=pending.message_type,
            context_id=pending.context_id,
            resource_link_id=pending.resource_link_id,
            custom=pending.custom,
            target_link_uri=pending.target_link_uri,
            locale=pending.locale,
        )
        for name, value in pending.claim_overrides.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        for name in pending.remove_claims:
            claims.pop(name, None)
        return redirect_uri, self.sign(claims), state

    # ---- verifying JWTs the tool signs ----
    def _fetch_tool_jwks(self) -> dict:
        """Download the tool's JWKS (tests of the platform alone may monkeypatch this)."""
        response = requests.get(self._registered_tool().jwks_url, timeout=5)
        response.raise_for_status()
        return response.json()

    def _tool_key(self, kid: str) -> Any:
        jwks, fetched = self._tool_jwks, False
        while True:
            if jwks is None:
                # Network I/O outside the lock: the tool may be serving its JWKS from the same process.
                try:
                    jwks = self._fetch_tool_jwks()
                except (requests.RequestException, ValueError) as exc:
                    raise SandboxError(
                        400, "invalid_client", f"cannot fetch the tool's JWKS: {exc}"
                    ) from None
                self._tool_jwks, fetched = jwks, True
            for jwk in jwks.get("keys", []) if isinstance(jwks, dict) else []:
                if jwk.get("kid") == kid:
                    try:
                        return jwt.PyJWK(jwk, algorithm="RS256").key
                    except jwt.PyJWTError as exc:
                        raise SandboxError(
                            400, "invalid_client", f"unusable tool key {kid!r}: {exc}"
                        ) from None
            if fetched:
                raise SandboxError(400, "invalid_client", f"no key {kid!r} in the tool's JWKS")
            jwks = None  # an unknown kid may mean the tool rotated its key: fetch once more

    def _verify_tool_jwt(self, token: str, error: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise SandboxError(400, error, f"malformed JWT: {exc}") from None
        if header.get("alg") != "RS256":
            raise SandboxError(400, error, "only RS256 is accepted")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise SandboxError(400, error, "the JWT header has no kid")
        key = self._tool_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError as exc:
            raise SandboxError(400, error, f"invalid JWT: {exc}") from None
        now = self.clock()
        if not _is_number(claims.get("exp")) or claims["exp"] <= now:
            raise SandboxError(400, error, "the JWT has expired or has no exp")
        if not _is_number(claims.get("iat")) or claims["iat"] > now + LEEWAY_SECONDS:
            raise SandboxError(400, error, "the JWT has no iat or was issued in the future")
        return claims

    # ---- LTI Dynamic Registration 1.0 ----
    @property
    def openid_configuration_url(self) -> str:
        return self.url("/.well-known/openid-configuration")

    @property
    def registration_url(self) -> str:
        return self.url("/register")

    def openid_configuration(self) -> dict:
        """Return the platform's OpenID configuration (Dynamic Registration §3.4)."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": self.auth_url,
            "token_endpoint": self.token_url,
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            "jwks_uri": self.jwks_url,
            "registration_endpoint": self.registration_url,
            "scopes_supported": ["openid", *sorted(v.AGS_SCOPES), v.SCOPE_NRPS],
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "claims_supported": ["iss", "sub", "aud", "name", "given_name", "family_name", "email"],
            **({"authorization_server": self.authorization_server} if self.authorization_server else {}),
            "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                "product_family_code": self.product_family_code,
                "version": "1.0",
                "messages_supported": self.messages_supported,
                "variables": ["Context.id", "ResourceLink.id"],
            },
        }

    def registration_launch_url(self, tool_registration_url: str) -> str:
        """Return what the LMS opens when an admin registers a tool (Dynamic Registration §3.3).

        The tool's registration URL (which may already carry query parameters, such as a one-time invite) with
        openid_configuration and a fresh registration_token added.
        """
        from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

        parts = urlsplit(tool_registration_url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        query += [("openid_configuration", self.openid_configuration_url),
                  ("registration_token", self.new_registration_token())]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def new_registration_token(self) -> str:
        """Issue a one-time token an admin's "register tool" action hands to the tool."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._registration_tokens.add(token)
        return token

    def register_dynamically(self, authorization: str | None, body: Any) -> dict:
        """Accept a tool's registration request and register it (Dynamic Registration §3.5-3.6)."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            if token not in self._registration_tokens:
                raise SandboxError(401, "invalid_token", "the registration token is missing, unknown or used")
            self._registration_tokens.discard(token)
        if not isinstance(body, dict):
            raise SandboxError(400, "invalid_client_metadata", "the body must be a JSON object")
        config = body.get("https://purl.imsglobal.org/spec/lti-tool-configuration")
        required = ("initiate_login_uri", "redirect_uris", "jwks_uri")
        missing = [name for name in required if not body.get(name)]
        if not isinstance(config, dict) or missing or not isinstance(body.get("redirect_uris"), list):
            problem = missing or "tool configuration"
            raise SandboxError(400, "invalid_client_metadata", f"missing or malformed: {problem}")
        if body.get("token_endpoint_auth_method") != "private_key_jwt":
            raise SandboxError(400, "invalid_client_metadata", "token_endpoint_auth_method must be private_key_jwt")
        deep_link_url = None
        for message in config.get("messages") or []:
            if isinstance(message, dict) and message.get("type") == v.DEEP_LINKING_REQUEST:
                deep_link_url = message.get("target_link_uri") or config.get("target_link_uri")
        client_id = "dyn-" + secrets.token_urlsafe(8)
        deployment_id = "dyn-deployment-" + secrets.token_urlsafe(6)
        self.register_tool(
            client_id=client_id,
            deployment_id=deployment_id,
            login_url=body["initiate_login_uri"],
            redirect_uris=[str(u) for u in body["redirect_uris"]],
            jwks_url=body["jwks_uri"],
            target_link_uri=config.get("target_link_uri") or body["redirect_uris"][0],
            deep_link_url=deep_link_url,
        )
        self.registrations.append(body)
        return {
            **body,
            "client_id": client_id,
            "registration_client_uri": self.url(f"/register/{client_id}"),
            # Moodle names the deployment here; Canvas does not (its admins see it with the tool).
            "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                **config, **({"deployment_id": deployment_id} if self.registration_names_deployment else {})},
        }

    # ---- OAuth 2 client credentials (Security Framework §4.1) ----
    def issue_token(self, form: Mapping[str, str]) -> dict:
        """Grant an access token for a client-credentials request with a JWT client assertion."""
        requested = form.get("scope", "").split()
        record: dict[str, Any] = {
            "client_id": None,
            "scopes": requested,
            "granted": [],
            "ok": False,
            "reason": "",
        }
        try:
            grant = self._grant(form, requested, record)
        except SandboxError as exc:
            record["reason"] = exc.description
            record["error"] = exc.error
            with self._lock:
                self.token_requests.append(record)
            raise
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._access_tokens[token] = grant
            record.update(ok=True, granted=sorted(grant.scopes), reason="granted")
            self.token_requests.append(record)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME,
            "scope": " ".join(sorted(grant.scopes)),
        }

    def _grant(self, form: Mapping[str, str], requested: list[str], record: dict) -> AccessGrant:
        if form.get("grant_type") != "client_credentials":
            raise SandboxError(400, "unsupported_grant_type", "grant_type must be client_credentials")
        if form.get("client_assertion_type") != v.JWT_BEARER:
            raise SandboxError(400, "invalid_request", f"client_assertion_type must be {v.JWT_BEARER}")
        assertion = form.get("client_assertion", "")
        if not assertion:
            raise SandboxError(400, "invalid_request", "client_assertion is required")
        tool = self.tool
        if tool is None:
            raise SandboxError(400, "invalid_client", "no tool is registered")
        claims = self._verify_tool_jwt(assertion, "invalid_client")
        record["client_id"] = claims.get("iss")
        if claims.get("iss") != tool.client_id or claims.get("sub") != tool.client_id:
            raise SandboxError(400, "invalid_client", "iss and sub must both be the client_id")
        audience = self.authorization_server or self.token_url
        if not _audience_contains(claims.get("aud"), audience):
            raise SandboxError(400, "invalid_client", "aud must name the authorization server" if
                               self.authorization_server else "aud must name the token endpoint")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise SandboxError(400, "invalid_client", "jti is required")
        now = self.clock()
        with self._lock:
            # Forget jtis whose assertion has expired anyway: a replay of those fails on exp.
            self._seen_jtis = {k: exp for k, exp in self._seen_jtis.items() if exp > now}
            if jti in self._seen_jtis:
                raise SandboxError(400, "invalid_grant", "this client assertion (jti) was already used")
            self._seen_jtis[jti] = float(claims["exp"])
        if not requested:
            raise SandboxError(400, "invalid_scope", "scope is required")
        allowed = v.SUPPORTED_SCOPES if self.grantable_scopes is None else self.grantable_scopes & v.SUPPORTED_SCOPES
        if not self.narrowing_grants and not set(requested) <= allowed and self.grantable_scopes is not None:
            # Like Canvas when the developer key lacks a scope: asking for a scope not allowed fails outright.
            raise SandboxError(400, "invalid_scope", "a requested scope is not allowed for this tool")
        granted = frozenset(s for s in requested if s in allowed)
        if not granted:
            raise SandboxError(400, "invalid_scope", "none of the requested scopes is offered")
        return AccessGrant(tool.client_id, granted, now + ACCESS_TOKEN_LIFETIME)

    def check_access(self, authorization: str | None, accepted_scopes: Iterable[str]) -> AccessGrant:
        """Return the grant behind an Authorization header if it holds one of the scopes (RFC 6750)."""
        challenge = 'Bearer realm="sandbox"'
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise SandboxError(
                401,
                "invalid_request",
                "a Bearer access token is required",
                headers={"WWW-Authenticate": challenge},
            )
        with self._lock:
            grant = self._access_tokens.get(token.strip())
        if grant is None or grant.expires_at <= self.clock():
            raise SandboxError(
                401,
                "invalid_token",
                "the access token is unknown or expired",
                headers={"WWW-Authenticate": challenge + ', error="invalid_token"'},
            )
        accepted = set(accepted_scopes)
        if not grant.scopes & accepted:
            raise SandboxError(
                403,
                "insufficient_scope",
                "the access token lacks a required scope",
                headers={
                    "WWW-Authenticate": challenge
                    + ', error="insufficient_scope", scope="'
                    + " ".join(sorted(accepted))
                    + '"'
                },
            )
        return grant

    def record_service_request(self, method: str, url: str, status: int) -> None:
        """Note one call to the course services (service_requests)."""
        with self._lock:
            self.service_requests.append({"method": method, "url": url, "status": status})

    def take_failure(self, *, token_endpoint: bool = False) -> int | str | None:
        """Pop the next injected failure for a service (or token) request, if any."""
        with self._lock:
            queue = self.fail_next_token if token_endpoint else self.fail_next
            return queue.pop(0) if queue else None

    def take_membership_answer(self) -> str | None:
        """Pop the next odd body queued for a memberships request (membership_answers); None: answer normally."""
        with self._lock:
            return self.membership_answers.pop(0) if self.membership_answers else None

    # ---- paging ----
    @staticmethod
    def _page_bounds(args: Mapping[str, str], default_limit: int) -> tuple[int, int]:
        for name in args:
            if name.lower() == _CURSOR_PARAM.lower() and name != _CURSOR_PARAM:
                raise SandboxError(
                    400, "invalid_request", f"unknown parameter {name!r} (paging URLs are case-sensitive)"
                )
        try:
            limit = int(args.get("limit", default_limit))
        except ValueError:
            raise SandboxError(400, "invalid_request", "limit must be an integer") from None
        if limit < 1:
            raise SandboxError(400, "invalid_request", "limit must be positive")
        cursor = args.get(_CURSOR_PARAM)
        offset = 0
        if cursor is not None:
            try:
                if not cursor.startswith(_CURSOR_PREFIX):
                    raise ValueError(cursor)
                raw = cursor[len(_CURSOR_PREFIX) :]
                offset = int(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode("ascii"))
            except (ValueError, binascii.Error, UnicodeDecodeError):
                raise SandboxError(400, "invalid_request", f"invalid {_CURSOR_PARAM} {cursor!r}") from None
        return offset, limit

    def _next_url(self, base: str, params: dict[str, str], offset: int, limit: int, total: int) -> str | None:
        if offset + limit >= total:
            return None
        query = {
            **params,
            "limit": str(limit),
            _CURSOR_PARAM: _CURSOR_PREFIX + _b64(str(offset + limit).encode()),
        }
        url = base + "?" + urlencode(query)
        if self.rich_link_relations and offset + 2 * limit >= total:
            with self._lock:
                self._last_page_urls.add(url)
        return url

    def next_link_params(self, next_url: str) -> str:
        """Return the parameters of a Link to the next page, after its URL: '; rel="next"', or richer."""
        if not self.rich_link_relations:
            return '; rel="next"'
        with self._lock:
            rel = "Next Last" if next_url in self._last_page_urls else "Next"
        return f'; title="More, please; the next page"; rel="{rel}"'

    # ---- NRPS 2.0 ----
    def _member_record(self, user: SandboxUser) -> dict[str, Any]:
        member: dict[str, Any] = {"status": user.status, "user_id": user.sub, "roles": list(user.roles)}
        for attr in ("name", "given_name", "family_name", "email", "picture"):
            if getattr(user, attr):
                member[attr] = getattr(user, attr)
        return member

    def memberships(self, context_id: str, args: Mapping[str, str]) -> tuple[dict, str | None, str | None]:
        """Return one page of the membership container, the next page's URL and, on the last page, the
        `differences` URL (NRPS 2.0 §2.4.2): a later call to it lists only members changed since this one."""
        course = self._service_course(context_id)
        offset, limit = self._page_bounds(args, self.page_size)
        role = args.get("role")
        since = args.get("since")
        wanted = v.full_role(role) if role else ""

        def has_role(roles: Sequence[str]) -> bool:
            return wanted in roles or any(r.endswith("#" + role) for r in roles)

        current: dict[str, dict] | None = None
        with self._lock:
            if since is None:
                # Build only this page's records (and, on the last page, the snapshot for `differences`):
                # building every member for every page made a paged sync quadratic in the roster's size.
                subs = [s for s in course.members if has_role(self.users[s].roles)] if role else course.members
                total = len(subs)
                page = [self._member_record(self.users[sub]) for sub in subs[offset : offset + limit]]
                if offset + limit >= total and not role:
                    current = {sub: self._member_record(self.users[sub]) for sub in course.members}
            else:
                current = {sub: self._member_record(self.users[sub]) for sub in course.members}
                before = self._roster_snapshots.get(since)
                if before is None:
                    raise SandboxError(400, "invalid_request", "unknown or expired differences token")
                changed = [m for sub, m in current.items() if before.get(sub) != m]
                # Members no longer in the course are reported with status Deleted.
                gone = [{**m, "status": "Deleted"} for sub, m in before.items() if sub not in current]
                records = changed + gone
                if role:
                    records = [m for m in records if has_role(m["roles"])]
                total = len(records)
                page = records[offset : offset + limit]
        body = {
            "id": self.memberships_url(context_id),
            "context": {"id": course.context_id, "label": course.label, "title": course.title},
            "members": page,
        }
        params = {k: val for k, val in (("role", role), ("since", since)) if val}
        next_url = self._next_url(self.memberships_url(context_id), params, offset, limit, total)
        differences_url = None
        if next_url is None and not role:
            token = secrets.token_urlsafe(8)
            with self._lock:
                self._roster_snapshots[token] = current
            differences_url = self.memberships_url(context_id) + "?" + urlencode({"since": token})
        return body, next_url, differences_url

    def _service_course(self, context_id: str) -> SandboxCourse:
        course = self.courses.get(context_id)
        if course is None:
            raise SandboxError(404, "not_found", f"no course {context_id!r}")
        return course

    # ---- AGS 2.0: line items ----
    @property
    def line_items(self) -> dict[str, dict]:
        """Return every line item by its id (URL), as AGS LineItem JSON (a snapshot)."""
        with self._lock:
            return {
                self.lineitem_url(ctx, item_id): {
                    "id": self.lineitem_url(ctx, item_id),
                    **copy.deepcopy(item),
                }
                for (ctx, item_id), item in self._line_items.items()
            }

    @property
    def scores(self) -> dict[str, list[dict]]:
        """Return the scores received per line item URL, oldest first (a snapshot)."""
        with self._lock:
            return {
                self.lineitem_url(ctx, item_id): copy.deepcopy(s)
                for (ctx, item_id), s in self._scores.items()
            }

    def _line_item_json(self, context_id: str, item_id: str) -> dict:
        return {
            "id": self.lineitem_url(context_id, item_id),
            **copy.deepcopy(self._line_items[(context_id, item_id)]),
        }

    def _validated_line_item(self, course: SandboxCourse, body: Any) -> dict:
        if not isinstance(body, dict):
            raise SandboxError(400, "invalid_request", "a line item must be a JSON object")
        label = body.get("label")
        if not isinstance(label, str) or not label.strip():
            raise SandboxError(400, "invalid_request", "label is required")
        if self.max_label_length is not None and len(label) > self.max_label_length:
            raise SandboxError(422, "unprocessable_entity", f"label is longer than {self.max_label_length} characters")
        maximum = body.get("scoreMaximum")
        if not _is_number(maximum) or maximum <= 0:
            raise SandboxError(400, "invalid_request", "scoreMaximum must be a number greater than 0")
        item: dict[str, Any] = {"scoreMaximum": maximum, "label": label}
        for name in ("resourceId", "tag", "resourceLinkId"):
            if body.get(name) is not None:
                if not isinstance(body[name], str):
                    raise SandboxError(400, "invalid_request", f"{name} must be a string")
                item[name] = body[name]
        if "resourceLinkId" in item and item["resourceLinkId"] not in course.resource_links:
            raise SandboxError(400, "invalid_request", "resourceLinkId names no resource link in this course")
        for name in ("startDateTime", "endDateTime"):
            if body.get(name) is not None:
                _parse_timestamp(body[name], name)
                item[name] = body[name]
        if body.get("gradesReleased") is not None:
            if not isinstance(body["gradesReleased"], bool):
                raise SandboxError(400, "invalid_request", "gradesReleased must be a boolean")
            item["gradesReleased"] = body["gradesReleased"]
        return item

    def check_link_of_new_line_item(self, context_id: str, body: Any) -> None:
        """Refuse (412) a tool's new line item for a link without one, where line_item_link_must_be_graded says so."""
        link = body.get("resourceLinkId") if isinstance(body, dict) else None
        if not self.line_item_link_must_be_graded or link is None:
            return
        with self._lock:
            graded = any(ctx == context_id and item.get("resourceLinkId") == link
                         for (ctx, _), item in self._line_items.items())
        if not graded:
            raise SandboxError(412, "precondition_failed", "the resource link is not graded (it has no line item)")

    def create_line_item(self, context_id: str, body: Any) -> dict:
        """Create a line item in a course and return its JSON."""
        course = self._service_course(context_id)
        item = self._validated_line_item(course, body)
        with self._lock:
            item_id = str(self._next_line_item)
            self._next_line_item += 1
            self._line_items[(context_id, item_id)] = item
            self._scores[(context_id, item_id)] = []
            return self._line_item_json(context_id, item_id)

    def list_line_items(self, context_id: str, args: Mapping[str, str]) -> tuple[list[dict], str | None]:
        """Return one page of a course's line items, filtered as AGS 2.0 §3.2.4 allows."""
        self._service_course(context_id)
        offset, limit = self._page_bounds(args, self.page_size)
        filters = {"resource_link_id": "resourceLinkId", "resource_id": "resourceId", "tag": "tag"}
        with self._lock:
            items = [
                self._line_item_json(ctx, item_id)
                for (ctx, item_id), item in self._line_items.items()
                if ctx == context_id and all(item.get(f) == args[p] for p, f in filters.items() if p in args)
            ]
        params = {p: args[p] for p in filters if p in args}
        return items[offset : offset + limit], self._next_url(
            self.lineitems_url(context_id), params, offset, limit, len(items)
        )

    def _existing(self, context_id: str, item_id: str) -> tuple[str, str]:
        self._service_course(context_id)
        if (context_id, item_id) not in self._line_items:
            raise SandboxError(404, "not_found", "no such line item")
        return context_id, item_id

    def get_line_item(self, context_id: str, item_id: str) -> dict:
        """Return one line item."""
        with self._lock:
            self._existing(context_id, item_id)
            return self._line_item_json(context_id, item_id)

    def update_line_item(self, context_id: str, item_id: str, body: Any) -> dict:
        """Replace a line item's fields (PUT) and return it."""
        course = self._service_course(context_id)
        with self._lock:
            key = self._existing(context_id, item_id)
            if isinstance(body, dict) and body.get("id") not in (None, self.lineitem_url(*key)):
                raise SandboxError(400, "invalid_request", "the id in the body does not match the URL")
            self._line_items[key] = self._validated_line_item(course, body)
            return self._line_item_json(*key)

    def delete_line_item(self, context_id: str, item_id: str) -> None:
        """Delete a line item and its scores."""
        with self._lock:
            key = self._existing(context_id, item_id)
            del self._line_items[key]
            self._scores.pop(key, None)
            self._stamped = {k: t for k, t in self._stamped.items() if k[:2] != key}
            for gone in [k for k in self._submissions if k[:2] == key]:
                del self._submissions[gone]

    # ---- AGS 2.0: scores and results ----
    def post_score(self, context_id: str, item_id: str, body: Any) -> None:
        """Record a score (AGS 2.0 §3.4); out-of-order or repeated timestamps are refused with 409."""
        course = self._service_course(context_id)
        if not isinstance(body, dict):
            raise SandboxError(400, "invalid_request", "a score must be a JSON object")
        user_id = body.get("userId")
        if not isinstance(user_id, str) or user_id not in course.members:
            raise SandboxError(400, "invalid_request", "userId is not a member of this course")
        given, maximum = body.get("scoreGiven"), body.get("scoreMaximum")
        if given is not None:
            if not _is_number(given) or given < 0:
                raise SandboxError(400, "invalid_request", "scoreGiven must be a number ≥ 0")
            if not _is_number(maximum) or maximum <= 0:
                raise SandboxError(
                    400, "invalid_request", "scoreMaximum must be a number > 0 when scoreGiven is set"
                )
        elif maximum is not None and (not _is_number(maximum) or maximum <= 0):
            raise SandboxError(400, "invalid_request", "scoreMaximum must be a number > 0")
        if body.get("activityProgress") not in v.ACTIVITY_PROGRESS:
            raise SandboxError(
                400, "invalid_request", f"activityProgress must be one of {sorted(v.ACTIVITY_PROGRESS)}"
            )
        if body.get("gradingProgress") not in v.GRADING_PROGRESS:
            raise SandboxError(
                400, "invalid_request", f"gradingProgress must be one of {sorted(v.GRADING_PROGRESS)}"
            )
        if body.get("comment") is not None and not isinstance(body["comment"], str):
            raise SandboxError(400, "invalid_request", "comment must be a string")
        if self.score_comment_required and body.get("comment") is None:
            raise SandboxError(400, "invalid_request", "comment is required (it may be whitespace)")
        stamp_time = self._score_time(_parse_timestamp(body.get("timestamp"), "timestamp"))
        with self._lock:
            key = self._existing(context_id, item_id)
            previous = [s for s in self._scores[key] if s["userId"] == user_id]
            last = self._stamped.get((*key, user_id)) or (
                self._score_time(previous[-1]["timestamp"]) if previous else None)
            if self.result_clock_ahead_seconds is not None and last is not None and last > stamp_time:
                message = (f"Provided timestamp of {body['timestamp']} before last updated timestamp of "
                           f"{last.isoformat(timespec='milliseconds')}")
                raise SandboxError(400, "bad_request", message,
                                   body={"errors": {"type": "bad_request", "message": message}})
            if last is not None and (last > stamp_time if self.same_score_timestamp_taken else last >= stamp_time):
                # AGS 2.0: the platform must not let an older (or repeated) update overwrite a newer one.
                raise SandboxError(
                    409, "conflict", "a score with the same or a later timestamp is already recorded"
                )
            self._count_submission(key, user_id, body)
            self._scores[key].append(copy.deepcopy(body))
            self._stamped.pop((*key, user_id), None)
            if self.result_clock_ahead_seconds is not None:
                self._stamped[(*key, user_id)] = datetime.fromtimestamp(
                    self.clock() + self.result_clock_ahead_seconds, UTC)
            if given is None and self.blank_score_clock_ahead_seconds is not None:
                ahead = datetime.fromtimestamp(self.clock() + self.blank_score_clock_ahead_seconds, UTC)
                self._stamped[(*key, user_id)] = self._score_time(ahead)

    def _count_submission(self, key: tuple[str, str], user_id: str, body: dict) -> None:
        extension = body.get(CANVAS_SUBMISSION)
        extension = extension if isinstance(extension, dict) else {}
        if extension.get("new_submission") is False or extension.get("submission_type") == "none":
            return
        attempts = self._submissions.setdefault((*key, user_id), [])
        if self.allowed_attempts is not None and len(attempts) >= self.allowed_attempts:
            raise SandboxError(422, "unprocessable_entity",
                               "The maximum number of allowed attempts has been reached for this submission")
        attempts.append({"submitted_at": extension.get("submitted_at"), "comment": body.get("comment")})

    def submissions(self, lineitem_url: str, user_id: str) -> list[dict]:
        """Return the submission attempts (as Canvas counts them) a user made on a line item, oldest first."""
        with self._lock:
            for (ctx, item_id, user), attempts in self._submissions.items():
                if user == user_id and self.lineitem_url(ctx, item_id) == lineitem_url:
                    return copy.deepcopy(attempts)
        return []

    def _score_time(self, stamp: datetime | str) -> datetime:
        """Return a score's time as this platform compares it: cut to the whole second where Moodle would."""
        moment = stamp if isinstance(stamp, datetime) else _parse_timestamp(stamp, "timestamp")
        return moment.replace(microsecond=0) if self.score_times_in_whole_seconds else moment

    def results(
        self, context_id: str, item_id: str, args: Mapping[str, str]
    ) -> tuple[list[dict], str | None]:
        """Return one page of the latest result per user for a line item."""
        with self._lock:
            key = self._existing(context_id, item_id)
            latest: dict[str, dict] = {}
            for score in self._scores[key]:
                latest[score["userId"]] = score
        url = self.lineitem_url(*key)
        wanted = args.get("user_id")
        out = []
        for user_id, score in latest.items():
            if wanted and user_id != wanted:
                continue
            result: dict[str, Any] = {"id": f"{url}/results/{user_id}", "scoreOf": url, "userId": user_id}
            if score.get("scoreGiven") is not None:
                result["resultScore"] = score["scoreGiven"]
                result["resultMaximum"] = score["scoreMaximum"]
            if score.get("comment") is not None:
                result["comment"] = score["comment"]
            out.append(result)
        offset, limit = self._page_bounds(args, self.page_size)
        params = {"user_id": wanted} if wanted else {}
        return out[offset : offset + limit], self._next_url(url + "/results", params, offset, limit, len(out))

    def latest_scores(self, context_id: str) -> dict[str, dict[str, dict]]:
        """Return {line item URL: {user_id: latest score}} for a course (the gradebook)."""
        with self._lock:
            book: dict[str, dict[str, dict]] = {}
            for (ctx, item_id), scores in self._scores.items():
                if ctx == context_id:
                    latest = book.setdefault(self.lineitem_url(ctx, item_id), {})
                    for score in scores:
                        latest[score["userId"]] = copy.deepcopy(score)
            return book

    # ---- Deep Linking 2.0 ----
    def _check_title_length(self, item: dict) -> None:
        """Refuse a content item whose title or lineItem label is longer than the LMS keeps (max_label_length).

        Canvas makes a graded link an assignment and refuses its title past 255 characters; Moodle keeps a grade
        item's name in 255. Refused before anything is placed, as the LMS refuses the whole response.
        """
        if self.max_label_length is None:
            return
        line_item = item.get("lineItem") if isinstance(item.get("lineItem"), dict) else {}
        for name, value in (("title", item.get("title")), ("lineItem.label", line_item.get("label"))):
            if isinstance(value, str) and len(value) > self.max_label_length:
                raise SandboxError(422, "unprocessable_entity",
                                   f"{name} is longer than {self.max_label_length} characters")

    def receive_deep_link_response(self, token: str) -> dict:
        """Verify an LtiDeepLinkingResponse, place its content items and return the verified payload."""
        tool = self.tool
        if tool is None:
            raise SandboxError(400, "invalid_request", "no tool is registered")
        claims = self._verify_tool_jwt(token, "invalid_request")
        if claims.get("iss") != tool.client_id:
            raise SandboxError(400, "invalid_request", "iss must be the tool's client_id")
        if not _audience_contains(claims.get("aud"), self.issuer):
            raise SandboxError(400, "invalid_request", "aud must be the platform issuer")
        if not claims.get("nonce"):
            raise SandboxError(400, "invalid_request", "nonce is required")
        # Blackboard Learn requires a sub (the user, or the tool's application id); other platforms ignore it.
        if "sub" in claims and (not isinstance(claims["sub"], str) or not claims["sub"]):
            raise SandboxError(400, "invalid_request", "sub must be a non-empty string")
        if claims.get(v.MESSAGE_TYPE) != v.DEEP_LINKING_RESPONSE:
            raise SandboxError(400, "invalid_request", f"message_type must be {v.DEEP_LINKING_RESPONSE}")
        if claims.get(v.VERSION) != v.LTI_VERSION:
            raise SandboxError(400, "invalid_request", f"version must be {v.LTI_VERSION}")
        if claims.get(v.DEPLOYMENT_ID) != tool.deployment_id:
            raise SandboxError(400, "invalid_request", "deployment_id does not match the registration")
        items = claims.get(v.DL_CONTENT_ITEMS, [])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise SandboxError(400, "invalid_request", "content_items must be a list of objects")
        for item in items:
            if item.get("type") != "ltiResourceLink":
                raise SandboxError(
                    400, "invalid_request", f"content item type {item.get('type')!r} was not requested"
                )
            line_item = item.get("lineItem")
            if line_item is not None and (
                not isinstance(line_item, dict)
                or not _is_number(line_item.get("scoreMaximum"))
                or line_item["scoreMaximum"] <= 0
            ):
                raise SandboxError(400, "invalid_request", "lineItem needs scoreMaximum > 0")
            self._check_title_length(item)
            for window in ("available", "submission"):
                value = item.get(window)
                if value is None:
                    continue
                if not isinstance(value, dict) or set(value) - {"startDateTime", "endDateTime"}:
                    raise SandboxError(400, "invalid_request", f"{window} must hold startDateTime/endDateTime")
                for name, stamp in value.items():
                    _parse_timestamp(stamp, f"{window}.{name}")
        with self._lock:
            # data echoes our request (DL 2.0 §4.4.1); consuming it lets each request be answered once.
            origin = self._deep_link_data.pop(claims.get(v.DL_DATA) or "", None)
            if origin is None:
                raise SandboxError(400, "invalid_request", "data does not match an open deep linking request")
            if len(items) > 1 and not origin.get("accept_multiple", True):
                raise SandboxError(400, "invalid_request", "this request accepts one content item only")
            course = self.courses[origin["context_id"]]
            placed = []
            for item in items:
                link_id = "rl-" + secrets.token_hex(6)
                custom = item.get("custom") if isinstance(item.get("custom"), dict) else {}
                link = self.add_resource_link(
                    link_id,
                    str(item.get("title") or "Pathways activity"),
                    context_id=course.context_id,
                    url=item.get("url"),
                    custom={str(k): str(val) for k, val in custom.items()},
                )
                link.available = dict(item.get("available") or {})
                link.text = item["text"] if isinstance(item.get("text"), str) else ""
                link.submission = dict(item.get("submission") or {})
                entry: dict[str, Any] = {"resource_link": link, "line_item": None}
                # We said we ignore line items: a tool's lineItem makes no column (DL 2.0 §4.4.1).
                if item.get("lineItem") and origin.get("accept_lineitem", True):
                    spec = item["lineItem"]
                    body = {
                        "label": spec.get("label") or link.title,
                        "scoreMaximum": spec["scoreMaximum"],
                        "resourceLinkId": link_id,
                        **{k: spec[k] for k in ("resourceId", "tag") if isinstance(spec.get(k), str)},
                    }
                    entry["line_item"] = self.create_line_item(course.context_id, body)
                placed.append(entry)
            self.deep_link_responses.append(claims)
        return {"claims": claims, "course": course, "placed": placed}
