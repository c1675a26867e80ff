"""Response headers and cookie settings that keep Pathways safe inside an LMS iframe."""

from __future__ import annotations

import base64
import json
import logging
import math
import secrets
import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlsplit

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context, request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from . import process_copy
from .bounded_json import decode_json
from .exposure import is_loopback_host
from .extensions import CACHE_OUTAGES, cache, db
from .kept_map import KeptMap
from .lti.outbound import OriginRefused, csp_origin, origin_matches, service_csp_origin
from .models import Platform
from .noted import NotedOnce

log = logging.getLogger(__name__)
#: The shared cache's entry of the platforms' origins (by id and by registration); a new name when its shape
#: changes, so processes of the release before and after an upgrade never read each other's.
FRAME_CACHE_KEY = "frame-ancestors:by-client"
#: How much longer than the longest launch session the session cookie (the browser's list of launches) is kept.
LAUNCH_COOKIE_GRACE = timedelta(days=7)


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, unchanged, with the signing serializer built once per secret key.

    Flask builds a new serializer (keys, salt, signer settings) when it opens and again when it saves each
    request's session; the secret key and its fallbacks are read on every request, so a changed key counts at once.
    """

    def __init__(self) -> None:
        #: The keys, their serializer, and the cookies it verified by their exact text (when each was signed and
        #: what it held), in one tuple: a thread that read it never files a cookie checked with other keys.
        self._kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None, KeptMap[str, tuple[int, Any]]] | None = None

    def _current(self, app: Flask) -> tuple[URLSafeTimedSerializer | None, KeptMap[str, tuple[int, Any]]]:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._kept
        if kept is None or kept[0] != keys:
            serializer = None
            if app.secret_key:  # Flask's serializer (current key last), which remembers the cookies it signs
                serializer = _RememberingSerializer(
                    [*keys[1], app.secret_key],
                    salt=self.salt,
                    serializer=self.serializer,
                    signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
                )
                serializer.remember = self._remember_signed
            # verified with other keys: each cookie is checked again with these
            kept = self._kept = (keys, serializer, KeptMap(MAX_VERIFIED_COOKIES))
        return kept[1], kept[2]

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        return self._current(app)[0]

    def _remember_signed(self, serializer: URLSafeTimedSerializer, value: str, signed_at: int, payload: Any) -> None:
        """Remember a cookie this process just signed as verified, when reading it back would give `payload` itself.

        The launch's POST sets the cookie its landing page brings: that page then checks only its age, as for a
        cookie verified before. A payload the tagged JSON would change (a flashed message's tuple, Markup, a date)
        is not remembered: it is verified when it comes back, as before.
        """
        kept = self._kept
        if kept is None or kept[1] is not serializer or not _plain_json(payload) or _FLASHES in payload:
            return  # signed with keys changed since: not for this process's current keys
        kept[2].put(value, (signed_at, _thawed(payload)))

    def open_session(self, app: Flask, request: Any) -> SecureCookieSession | None:
        """Flask's session, with each distinct cookie's signature checked and its payload decoded once per process.

        A browser sends the same cookie with every page until a launch or a sign-out changes it, and checking and
        decoding it (base64, HMAC, zlib, tagged JSON) was about a fortieth of a page's instructions. A cookie this
        process verified, byte for byte the same, holds the same payload signed at the same moment, so only its age
        is checked again, as itsdangerous checks it; any other cookie goes through itsdangerous as before.
        """
        serializer, verified = self._current(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        known = verified.get(value)
        if known is not None and 0 <= int(time.time()) - known[0] <= max_age:
            return self.session_class(_thawed(known[1]))
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if isinstance(data, dict) and _FLASHES not in data:
            # Not a cookie carrying flashed messages: it is read once (the page that shows them changes it), and
            # they may quote what a student wrote ("Goal added: …"), which would outlive a deletion of their data
            # here, in memory, until the map filled up.
            verified.put(value, (int(signed_at.timestamp()), _thawed(data)))
        return self.session_class(data)


#: Where Flask keeps flashed messages in the session (flask.helpers.flash).
_FLASHES = "_flashes"

#: At most this many verified session cookies are remembered per process (each a few hundred bytes); a few thousand
#: browsers' pages in a row push the oldest out rather than grow it.
MAX_VERIFIED_COOKIES = 4096


class _RememberingSerializer(URLSafeTimedSerializer):
    """The session cookie's serializer, which tells the session interface each cookie it signs (`remember`)."""

    remember: Any = None

    def dumps(self, obj: Any, salt: Any = None) -> Any:
        signed_at = int(time.time())  # at or before the time the signature carries: never ages slower than it
        value = super().dumps(obj, salt)
        if self.remember is not None and salt is None and isinstance(obj, dict):
            self.remember(self, value, signed_at, obj)
        return value


def _plain_json(value: Any) -> bool:
    """Tell whether Flask's tagged JSON reads `value` back as an equal value of the same types."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return True
    if kind is list:
        return all(_plain_json(item) for item in value)
    if kind is dict:  # a one-key dict whose key is a tag (" t", " di", …) is tagged: no key starts with a blank
        return all(type(key) is str and not key.startswith(" ") and _plain_json(item) for key, item in value.items())
    return False


def _thawed(data: Any) -> Any:
    """Return a copy of a session payload whose lists and dicts are new: a request may change its session's in place,
    and the remembered payload must stay as the cookie holds it."""
    if isinstance(data, dict):
        return {key: _thawed(item) for key, item in data.items()}
    if isinstance(data, list):
        return [_thawed(item) for item in data]
    if isinstance(data, tuple):
        return tuple(_thawed(item) for item in data)  # a flashed message's (category, text), whatever it holds
    return data  # str, int, float, bool, None, bytes, Markup, datetime, UUID: never changed in place


def configure_cookies(app: Flask) -> None:
    """Make session cookies work in a cross-site iframe when served over HTTPS."""
    app.session_interface = KeptSerializerSessionInterface()
    secure = app.config["BASE_URL"].startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="pathways_session",
        SESSION_COOKIE_HTTPONLY=True,
        # Set the cookie only when a launch changes it, so a refused request never carries one.
        SESSION_REFRESH_EACH_REQUEST=False,
        SESSION_COOKIE_SECURE=secure,
        # An LMS frames us from another site: only SameSite=None cookies reach us there, and browsers
        # accept SameSite=None only with Secure. Over plain HTTP (local demo) keep the browser default.
        SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
        # Partitioned (CHIPS): kept per LMS site where browsers block third-party cookies (Chromium, incognito).
        SESSION_COOKIE_PARTITIONED=secure,
        # The launch session's row decides how long a launch works (it slides while in use, up to
        # LAUNCH_SESSION_MAX_SECONDS): the cookie only names the browser's launches, and outlives the longest one by
        # a week, so a tab left over a weekend is told its time ran out, not that the launch is not its own.
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=app.config["LAUNCH_SESSION_MAX_SECONDS"]) + LAUNCH_COOKIE_GRACE,
        WTF_CSRF_SSL_STRICT=False,  # the Referer is the LMS's inside an iframe; the token suffices
        # A form's token lasts as long as the longest session could: the session (checked first) ends it, never a
        # shorter fixed limit in the middle of a session still in use. A page may be given a token signed up to
        # CSRF_TOKEN_REUSE_SECONDS before it (KeptCsrfTokens), so the limit counts from then.
        WTF_CSRF_TIME_LIMIT=app.config["LAUNCH_SESSION_MAX_SECONDS"] + CSRF_TOKEN_REUSE_SECONDS,
    )


#: A page is given the CSRF token this process signed for the same session's secret up to this long before, rather
#: than one signed anew (WTF_CSRF_TIME_LIMIT is longer by as much).
CSRF_TOKEN_REUSE_SECONDS = 60
#: At most this many signed tokens are kept per process (one per browser session's secret).
MAX_KEPT_CSRF_TOKENS = 4096


class KeptCsrfTokens:
    """Flask-WTF's form token (`generate_csrf`), each session's signed once a minute per process, not once a page.

    Signing it (a new serializer, JSON, a timestamp, base64, an HMAC) was about 0.3 million instructions of every
    page with a form. Only Flask-WTF's public API is used, so an upgrade of it either keeps working or fails the
    tests: every token is one generate_csrf signed, and a page is given its session's kept token through the
    request's cache generate_csrf documents (`g.<WTF_CSRF_FIELD_NAME>`), which it answers from before signing.
    Flask-WTF checks every form as before (validate_csrf); only the token's timestamp may be up to
    CSRF_TOKEN_REUSE_SECONDS older than the page. A session's CSRF secret is its own, so a token is only ever given
    to pages of the session it was made for.
    """

    def __init__(self) -> None:
        #: (signing key, the session's CSRF secret) -> (at or before when generate_csrf signed it, the token)
        self._signed: KeptMap[tuple[Any, str], tuple[int, str]] = KeptMap(MAX_KEPT_CSRF_TOKENS)

    def token(self) -> str:
        """The templates' csrf_token(): generate_csrf's token, which is the session's kept one while it is young."""
        page = g._get_current_object()  # the context's own `g`: a page with many forms asks this many times
        config = current_app.config
        field_name = config["WTF_CSRF_FIELD_NAME"]
        token = page.get(field_name)
        if token is not None:
            return token  # this request's token, settled: what generate_csrf answers from now on too
        secret = session.get(field_name)
        if not isinstance(secret, str):
            return generate_csrf()  # no secret yet: Flask-WTF makes one with the first token it signs
        key = (config.get("WTF_CSRF_SECRET_KEY") or config["SECRET_KEY"], secret)
        now = int(time.time())  # itsdangerous stamps int(time.time()) too: the token is never younger than this
        kept = self._signed.get(key)
        if kept is not None and 0 <= now - kept[0] <= CSRF_TOKEN_REUSE_SECONDS:
            setattr(page, field_name, kept[1])  # generate_csrf, asked later in this request, answers it too
            return kept[1]
        token = generate_csrf()
        self._signed.put(key, (now, token))
        return token


def _use_kept_csrf_tokens(app: Flask) -> None:
    """Make the templates' csrf_token() KeptCsrfTokens' (after Flask-WTF's init_app, which names its own).

    Flask-WTF names generate_csrf in the templates' globals and, through a context processor, in every page's
    context (where a template looks first). Both are named again here, through Flask's public API: the global, and
    a context processor that runs after Flask-WTF's. Should a Flask-WTF wire its name otherwise, its own
    generate_csrf is what pages get: forms still post, only every page signs again (tests/perf fails).
    """
    names = {"csrf_token": KeptCsrfTokens().token}
    app.jinja_env.globals.update(names)
    app.context_processor(lambda: names)


def _platform_origins() -> dict[str, dict[str, list[str]]]:
    """Return each registered platform's origins, by platform id and by registration (issuer and client id).

    Kept a few seconds per process (`process_copy`) and a minute in the shared cache.

    Every response carries the header built from this, so neither a cache nor a database outage may fail it:
    without the cache the map is rebuilt each time; without the database it is empty (and not remembered).
    """
    # Every response reads this: this process keeps the map a few seconds, so most responses skip the shared
    # cache's round trip (a third of a millisecond of a Redis client's CPU, on every page). The shared entry is
    # what registration clears, so another process may use its copy up to PROCESS_FRAME_SECONDS longer.
    copy = process_copy.held(_FRAME_COPY, "", PROCESS_FRAME_SECONDS)
    if copy is not None:
        return copy
    cached = _cache_get(FRAME_CACHE_KEY)
    if isinstance(cached, dict):
        process_copy.hold(_FRAME_COPY, "", cached)
        return cached
    by_id: dict[str, list[str]] = {}
    by_client: dict[str, list[str]] = {}
    try:
        rows = db.session.execute(sa.select(Platform.id, Platform.auth_login_url, Platform.issuer,
                                            Platform.client_id, Platform.service_origins)).all()
    except sa.exc.SQLAlchemyError:
        # No database yet (or it is down): no platform may frame us rather than fail the response.
        db.session.rollback()
        return {"by_id": {}, "by_client": {}}
    for platform_id, login_url, issuer, client_id, service_origins in rows:
        # The service origins an admin added are the LMS's own hosts too: Canvas Cloud and Blackboard SaaS frame
        # the tool from the school's host, which is neither the issuer's nor the login URL's. Each is read through
        # the normaliser add-origin stores with, so one stored before it (https://School.Instructure.com, an
        # internationalised host) frames as its browser form, and one that can frame nothing is left out.
        extra = {o for o in map(_stored_service_origin, (service_origins or "").split()) if o}
        origins = sorted({o for o in (csp_origin(login_url), csp_origin(issuer)) if o} | extra)
        by_id[str(platform_id)] = origins
        # Keyed by registration, never by issuer alone: Canvas Cloud tenants share one issuer, and one school's
        # host must not frame another school's login.
        by_client[_client_key(issuer, client_id)] = origins
    value = {"by_id": by_id, "by_client": by_client}
    _cache_set(FRAME_CACHE_KEY, value, 60)
    process_copy.hold(_FRAME_COPY, "", value)
    return value


def _stored_service_origin(value: str) -> str | None:
    try:
        return service_csp_origin(value)
    except OriginRefused:
        return None


def _client_key(issuer: str, client_id: str) -> str:
    return json.dumps([issuer, client_id])  # a string: the shared cache stores the map as JSON


#: How long a process keeps the platforms' origins before asking the shared cache again (`_platform_origins`).
PROCESS_FRAME_SECONDS = 10.0
_FRAME_COPY = "pathways.frame_ancestors"


def frame_ancestors(*, platform_id: int | None = None, client: tuple[str, str] | None = None,
                    launch_details: Mapping[str, object] | None = None) -> str:
    """Return who may frame this response: ourselves, the one platform it belongs to, configured extras.

    A page of a launch names only that launch's platform (and the origins its signed claims name as the LMS's
    pages: `signed_frame_origins`); login and launch pages name the registration (issuer, client id) the request
    comes from, if it is registered; every other page (errors, JWKS, health) only the defaults.
    """
    urls = _signed_urls(launch_details)
    if urls is None:  # a return URL that is not a string: worked out as it is, never kept
        return " ".join(sorted(_framers(platform_id, client, launch_details)))
    known = _platform_origins() if platform_id is not None or client else None
    # Every response asks this, a launch's pages with the same few inputs: kept per process with the platforms' map
    # it was worked out from (a new map, every PROCESS_FRAME_SECONDS at most, works it out again).
    kept_answers = current_app.extensions[_ANCESTORS_KEPT]
    key = (platform_id, client, urls, current_app.config["FRAME_ANCESTORS"])
    kept = kept_answers.get(key)
    if kept is not None and kept[0] is known:
        return kept[1]
    answer = " ".join(sorted(_framers(platform_id, client, launch_details, known)))
    kept_answers.put(key, (known, answer))
    return answer


#: `app.extensions` key: frame_ancestors' answers by their inputs, each with the platforms' map it read.
_ANCESTORS_KEPT = "pathways.frame_ancestors_kept"
MAX_KEPT_ANCESTORS = 4096


def _signed_urls(details: Mapping[str, object] | None) -> tuple[object, ...] | None:
    """The values signed_frame_origins reads from a launch's details, or None when one is not a string."""
    if not details:
        return ()
    dl = details.get("deep_linking")
    urls = (details.get("return_url"), dl.get("deep_link_return_url") if isinstance(dl, Mapping) else None)
    return urls if all(url is None or isinstance(url, str) for url in urls) else None


def outage_frame_ancestors(*, platform_id: int | None, client: tuple[str, str] | None,
                           launch_details: Mapping[str, object] | None) -> str:
    """Return who may frame the 503 page of a database outage, without asking the database.

    A launch's page whose database went away before its launch was read does not know its platform: so that the
    student inside the LMS's iframe reads "try again in a minute" rather than a frame the browser refused, every
    registered platform this process or the shared cache knows of may frame it. That page shows nothing of anyone
    and offers nothing to click into, so letting another registered LMS frame it grants nothing.
    """
    known = _platform_origins_known()
    origins = {"'self'", *signed_frame_origins(launch_details), *current_app.config["FRAME_ANCESTORS"].split()}
    if platform_id is not None:
        origins.update(known["by_id"].get(str(platform_id), []))
    elif request.path.startswith("/c/"):  # a launch's page (web/course.py launch_blueprint)
        for platform_origins in known["by_id"].values():
            origins.update(platform_origins)
    if client:
        origins.update(known["by_client"].get(_client_key(*client), []))
    return " ".join(sorted(origins))


def _platform_origins_known() -> dict[str, dict[str, list[str]]]:
    """_platform_origins as this process (a recent copy, else its last) or the shared cache knows it; never the
    database (it is away, or answers too slowly to wait for), and never an error."""
    copy = process_copy.held(_FRAME_COPY, "", PROCESS_FRAME_SECONDS)
    if copy is None:
        cached = _cache_get(FRAME_CACHE_KEY)
        copy = cached if isinstance(cached, dict) else process_copy.held(_FRAME_COPY, "", math.inf)
    return copy if copy is not None else {"by_id": {}, "by_client": {}}


def _framers(platform_id: int | None, client: tuple[str, str] | None,
             launch_details: Mapping[str, object] | None,
             known: dict[str, dict[str, list[str]]] | None = None) -> set[str]:
    """The sources frame_ancestors names, as a set (the framed-login log compares against them); `known`: the
    platforms' map if read already."""
    origins = {"'self'", *signed_frame_origins(launch_details)}
    if platform_id is not None or client:
        known = known if known is not None else _platform_origins()
        if platform_id is not None:
            origins.update(known["by_id"].get(str(platform_id), []))
        if client:
            origins.update(known["by_client"].get(_client_key(*client), []))
    origins.update(current_app.config["FRAME_ANCESTORS"].split())
    return origins


#: Framed logins' pages this process logged as not allowed to frame us, per registration.
_NOTED_FRAMERS = NotedOnce()


def note_login_framer(issuer: str, client_id: str, referer: str | None) -> None:
    """Log, once a while, the page a framed login came from when that page may not frame Pathways.

    A hosted LMS frames the login from the school's host; until an admin registers it, the browser refuses to
    show the login's page there and nothing else reaches Pathways: the log is where the admin can learn which
    host, and the command. Only logged, never shown: the Referer is the visitor's word, so the admin checks it
    (the message says so); only an origin fit for the directive is written (no spaces or control characters can
    forge a log line), and NotedOnce bounds memory and log lines per registration.
    """
    from .lti.toolconf import add_origin_command

    where = csp_origin(referer)
    if where is None or where == csp_origin(current_app.config["BASE_URL"]):
        return
    allowed = sorted(_framers(None, (issuer, client_id), None) - {"'self'"})
    if origin_matches(where, allowed) or not _NOTED_FRAMERS.first_time((issuer, client_id), where):
        return
    log.warning("a login of platform %s (client id %s) was framed by a page on %s, which may not frame Pathways: "
                "the browser will not show Pathways there. If %s is the LMS's own (the school's host), run: %s",
                issuer, client_id, where, where, add_origin_command(issuer, client_id, where))


def _cache_get(key: str) -> object | None:
    try:
        return cache.get(key)
    except CACHE_OUTAGES:
        return None


def _cache_set(key: str, value: object, timeout: int) -> None:
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_OUTAGES:
        pass  # the map is rebuilt on the next response


def forget_frame_ancestors() -> None:
    """Drop the cached origins after the platform registry changes (this process's copy and the shared one)."""
    process_copy.drop(_FRAME_COPY)
    try:
        cache.delete(FRAME_CACHE_KEY)
    except CACHE_OUTAGES:
        pass  # nothing cached can outlive the outage by more than its minute


def signed_frame_origins(details: Mapping[str, object] | None) -> list[str]:
    """Return the origins a verified launch's signed claims name as the LMS's own pages, for that launch's frames.

    Canvas Cloud and Blackboard SaaS frame the tool from the school's host, which the registration (issuer, login
    URL) does not name; the launch does: launch_presentation.return_url and deep_link_return_url are where the LMS
    takes the person back to, on the page that frames us. Only `details` of a launch whose id_token was verified
    (signature, audience, nonce, state) come here, for the pages of that launch alone, in the browser that made
    it: browser-side framing only. Nothing is fetched from these origins and no registration changes
    (docs/security.md, "Framing"). https only, but loopback (a test LMS on this machine).
    """
    if not details:
        return []
    dl = details.get("deep_linking")
    urls = (details.get("return_url"), dl.get("deep_link_return_url") if isinstance(dl, Mapping) else None)
    found = []
    for url in urls:
        # One plain host each (csp_origin: no "*", labels and host of DNS length), never a pattern.
        where = csp_origin(url)
        if where and where not in found and (
                where.startswith("https://") or is_loopback_host(urlsplit(where).hostname or "")):
            found.append(where)
    return found


#: `g` key: the form-action sources of this response when not Pathways alone (None: the page names none it can).
_FORM_ACTION = "pathways_form_action"


def forms_post_here_then_to(url: str | None) -> None:
    """Let this page's forms post to Pathways, which answers with a redirect to `url`'s origin (the LMS's login).

    Browsers hold a form's redirects to form-action too: the "new window" form posts to /lti/login, which sends the
    browser on to the platform's authorization endpoint.
    """
    where = csp_origin(url)
    setattr(g, _FORM_ACTION, "'self'" + (f" {where}" if where and where != "'self'" else ""))


def forms_post_only_to(url: str) -> None:
    """Let this page's one form post to exactly `url` (the LMS's Deep Linking return address) and nowhere else.

    Its origin as csp_origin writes it, and its path (no query: form-action never compares one), so a form slipped
    into the page cannot post the signed answer to another page of the same LMS either. A redirect the LMS answers
    with stays on that origin (browsers compare no path after a redirect). An address the header cannot name
    leaves the page without form-action rather than a form the browser refuses to send.
    """
    where = csp_origin(url)
    # ";" and "," would end the directive or the source: escaped, they match the same path (browsers decode both).
    source = where + quote(urlsplit(url).path, safe="/-._~%!$&()*+=:@") if where else None
    setattr(g, _FORM_ACTION, source)


def _form_action(page: Any) -> str:
    sources = page.get(_FORM_ACTION, "'self'")
    return f"; form-action {sources}" if sources else ""


def csp_nonce() -> str:
    """Return this response's script nonce (templates: <script nonce="{{ csp_nonce() }}">)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def _requesting_client() -> tuple[str, str] | None:
    """Name the registration (issuer, client id) a login or launch request says it comes from, to let it frame our
    answer.

    The id_token is not verified here: issuer and client id only select which *registered* platform's origins may
    frame the reply (a launch error or the storage check page), which grants nothing else. Never the issuer alone:
    Canvas Cloud tenants share one, and one school's host must not frame another school's pages. A login without
    client_id (LTI Core §4.1 allows it) names the issuer's only approved registration, as the login itself does
    (toolconf.sole_client_id); when there are several, no platform's origins are added. A login page names the
    registration its validated login is for (frame_for_login); a refused login, its parameters as the login read
    them (login_request_params), never a POST's query string beside its form.
    """
    if request.endpoint == "lti.login":
        held = g.get(_LOGIN_CLIENT)
        if held is not None:
            return held
        try:
            params = login_request_params()
        except HTTPException:  # a body too large to read
            return None
        issuer, client_id = params.get("iss"), params.get("client_id")
        if not isinstance(issuer, str) or not issuer:
            return None
        if not client_id:
            client_id = _sole_client_id(issuer)
        return (issuer, client_id) if isinstance(client_id, str) and client_id else None
    if request.endpoint in ("launch.launch", "launch.launch_verified"):
        try:
            token = request.form.get("id_token", "")
        except HTTPException:  # a body too large to read
            return None
        held = g.get(_DECODED_LAUNCH)
        # The launch validator decoded this very token already (pylti1p3's format check): the same payload.
        claims = held[1] if held is not None and held[0] == token else _unverified_claims(token)
        if not isinstance(claims, dict):
            return None
        issuer, client_id = claims.get("iss"), _token_client_id(claims)
        return (issuer, client_id) if isinstance(issuer, str) and issuer and client_id else None
    return None


def login_request_params() -> ImmutableMultiDict[str, str]:
    """Return the parameters of an OIDC login where pylti1p3's FlaskRequest reads them: a GET's query string, the
    form of any other method, never a mix (a POST's query could name another registration than the login it carries).
    """
    return request.args if request.method == "GET" else request.form


#: `g` key: (issuer, client id) of the registration a login was validated for; its page's frame-ancestors name it.
_LOGIN_CLIENT = "pathways_login_client"


def frame_for_login(issuer: str | None, client_id: str | None) -> None:
    """Let the registration this validated login is for frame the login's page (and no other)."""
    if issuer and client_id:
        setattr(g, _LOGIN_CLIENT, (issuer, client_id))


def _sole_client_id(issuer: str) -> str | None:
    from .lti.toolconf import sole_client_id

    try:
        return sole_client_id(issuer)
    except sa.exc.SQLAlchemyError:  # the database is down: no platform's origins rather than a failed response
        db.session.rollback()
        return None


def _token_client_id(claims: Mapping[str, object]) -> str | None:
    """Return the client id an (unverified) id_token is for: its azp, or its one audience (OIDC Core §3.1.3.7)."""
    aud, azp = claims.get("aud"), claims.get("azp")
    audiences = aud if isinstance(aud, list) else [aud]
    if isinstance(azp, str) and azp in audiences:
        return azp
    if azp is None and len(audiences) == 1 and isinstance(audiences[0], str) and audiences[0]:
        return audiences[0]
    return None


_DECODED_LAUNCH = "pathways_decoded_launch"
#: The longest id_token a launch reads: a real one is 2 to 10 KB; more is refused before anything decodes it.
MAX_ID_TOKEN_CHARS = 64 * 1024
#: `g` key: the details of the verified launch this response belongs to (its page, its error or expiry page, its
#: refusal), whose signed return URLs may frame it (signed_frame_origins). Set only from a verified id_token.
LAUNCH_DETAILS = "pathways_launch_details"
#: `g` key set by the 503 page of a database outage or conflict (errors.py): its headers must not ask the database.
DATABASE_GONE = "pathways_database_gone"


def frame_for_launch(details: Mapping[str, object] | None) -> None:
    """Let the origins this verified launch's signed claims name frame the response (signed_frame_origins)."""
    setattr(g, LAUNCH_DETAILS, details)


def note_decoded_token(token: str, claims: object) -> None:
    """Keep an id_token's payload as the launch validator decoded it (unverified) for this request's headers.

    The Content-Security-Policy names the registration a launch claims (_requesting_client); decoding the
    3,000-character token again for it was about 0.2 million instructions a launch. Only a payload decoded from the
    same token is used, and only as _unverified_claims would read it (both decode base64url, then JSON).
    """
    if has_app_context():
        setattr(g, _DECODED_LAUNCH, (token, claims))


def _unverified_claims(token: object) -> object:
    """Return a JWT's payload, unverified, or None if it is not three base64url segments with a JSON payload.

    The standard library reads it in a few microseconds; PyJWT checks the whole token character by character
    in Python first (a fifth of a millisecond for a launch token), which only its verifying decode needs.
    Anyone may post a token, and this runs for every launch response, refusals included: an over-long or deeply
    nested one must give None, never an exception out of the response's headers.
    """
    if not isinstance(token, str) or len(token) > MAX_ID_TOKEN_CHARS or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        return decode_json(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (ValueError, TypeError):  # binascii.Error, UnicodeDecodeError and JSONTooDeep are ValueErrors
        return None


def _launch_platform(page: Any, launch: Any) -> int | None:
    """Return the launch's platform without loading the launch row again.

    A view that committed expired the row, and reading it here, in an after_request hook past every error handler,
    met a database that went away since as a bare 500 (a class export the audit log says was made). The page noted
    the platform when it opened the launch (web/course.py); the row's own value serves a launch opened otherwise.
    """
    noted = page.get("launch_platform_id")
    return noted if noted is not None else getattr(launch, "platform_id", None)


def content_security_policy() -> str:
    # The context's own `g`, asked through its proxy once: every response asks this, and each look-up through the
    # proxy cost a few microseconds (web/course.py add_launch_id).
    page = g._get_current_object()
    launch = page.get("launch")
    if request.endpoint == "registration.register":
        # The LMS shows Dynamic Registration in an iframe, from a host we cannot know beforehand (Canvas frames it
        # from the school's host, not its issuer's): the page tells only its own result, and its one control (Done)
        # only asks the framing page to close it.
        ancestors = "*"
    else:
        # A launch whose time ran out still shows its page inside its own LMS (errors.py, launch_expired).
        platform_id = _launch_platform(page, launch) if launch is not None else page.get("expired_platform_id")
        framing = outage_frame_ancestors if page.get(DATABASE_GONE) else frame_ancestors
        ancestors = framing(platform_id=platform_id, client=_requesting_client(),
                            launch_details=page.get(LAUNCH_DETAILS))
    scripts = "'self'"
    if "csp_nonce" in page:
        scripts += f" 'nonce-{page.csp_nonce}'"
    # form-action: Pathways' own forms post to Pathways; markup slipped into a page (which script-src keeps from
    # running) must not post a form, with the page's CSRF token or a Deep Linking answer, anywhere else.
    return (f"script-src {scripts}; object-src 'none'; base-uri 'self'{_form_action(page)}; "
            f"frame-ancestors {ancestors}")


def register(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.extensions[_ANCESTORS_KEPT] = KeptMap(MAX_KEPT_ANCESTORS)
    _use_kept_csrf_tokens(app)

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Page URLs carry launch ids and cookie-less launch tokens (lt=): never sent as a Referer, to other sites nor
        # to Pathways itself, where a proxy's access log (nginx's "combined" format) would write them down with every
        # stylesheet, script and form post the page asks for.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        # Pages show names, progress and grades: no browser or proxy may keep a copy. Responses that may be
        # cached (JWKS, static files) set their own Cache-Control first.
        response.headers.setdefault("Cache-Control", "no-store")
        config = current_app.config
        https = request.is_secure or config["BASE_URL"].startswith("https://")
        if https and config["HSTS_SECONDS"] > 0:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={config['HSTS_SECONDS']}")
        return response
