"""HTTP face of the sandbox LMS: a Flask app to mount under a path prefix (DispatcherMiddleware)."""

from __future__ import annotations

import email.utils
import json
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from flask import Flask, Response, abort, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException

from lti_tool.paths import TEMPLATES_DIR
from lti_tool.sandbox import vocab as v
from lti_tool.sandbox.platform import SandboxError, SandboxPlatform, SandboxUser
from lti_tool.sandbox.profiles import PROFILES

_JSON_PATHS = ("/courses/", "/token")
# What a demo visitor may choose on the course page: the LMS language sent in the launch (Pathways has an
# English and a Spanish catalogue), and how the LMS opens Pathways.
LAUNCH_LANGUAGES = {"en": "English", "es": "Español (Spanish)"}
OPENINGS = {
    "window": "In its own window (cookies work)",
    "frame": "Inside the course page, for a browser that blocks third-party cookies (LMS offers platform storage)",
    "frame-nostorage": "Inside the course page, LMS without platform storage (Pathways offers a new window)",
}


def create_sandbox_app(platform: SandboxPlatform) -> Flask:
    """Build the sandbox LMS WSGI app; every absolute URL it emits comes from platform.base_url."""
    app = Flask(__name__, template_folder=str(TEMPLATES_DIR), static_folder=None)
    # No session is used, but if one ever is, it must not clobber the tool's "session" cookie.
    app.config["SESSION_COOKIE_NAME"] = "sandbox_session"
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["sandbox_platform"] = platform

    def sandbox_url(path: str = "/", **query: str | None) -> str:
        params = {k: val for k, val in query.items() if val is not None}
        return platform.url(path) + ("?" + urlencode(params) if params else "")

    app.jinja_env.globals.update(
        platform=platform, sandbox_url=sandbox_url, quote=lambda s: quote(s, safe=""), role_label=role_label
    )

    @app.errorhandler(SandboxError)
    def sandbox_error(exc: SandboxError) -> Response:
        if request.path.startswith(_JSON_PATHS):
            body = json.dumps(exc.body if exc.body is not None else
                              {"error": exc.error, "error_description": exc.description})
            response = Response(body, exc.status, mimetype="application/json")
        else:
            response = Response(exc.description + "\n", exc.status, mimetype="text/plain")
        response.headers.update(exc.headers)
        if request.path == "/token":
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def record_service_request(response: Response) -> Response:
        # After the error handlers too: a refused call (403 for a missing scope) is recorded with its status.
        if request.path.startswith("/courses/"):
            platform.record_service_request(request.method, request.base_url, response.status_code)
        return response

    def inject_failure(*, token_endpoint: bool = False) -> None:
        """Answer with the next injected failure instead of serving the request, if one is queued."""
        failure = platform.take_failure(token_endpoint=token_endpoint)
        if failure is None or failure == "ok":
            return  # "ok" serves this request normally, so a test can fail a later one (a roster's second page)
        if failure == "slow":
            time.sleep(platform.timeout_seconds)  # then serve normally: the work happens, the client gave up
            return
        if failure == "timeout":
            time.sleep(platform.timeout_seconds)
            failure = 504
        if failure == "garbage":
            # What a proxy or load balancer in front of a lost LMS may answer: 200 and a page, not the JSON asked for.
            abort(Response("<html><body><h1>Service Unavailable</h1></body></html>", 200, mimetype="text/html"))
        if failure == "truncated":
            # JSON cut off mid-way (a connection reset behind a buffering proxy), with a 200.
            abort(Response('{"access_token": "abc", "token_type": "Bea', 200, mimetype="application/json"))
        if failure == "drip":
            # An answer that trickles in a byte at a time: each gap well inside a read timeout, the whole far over it.
            def trickle():
                end = time.monotonic() + platform.timeout_seconds
                while time.monotonic() < end:
                    yield b" "
                    time.sleep(0.05)
                yield b"{}"

            abort(Response(trickle(), 200, mimetype="application/json"))
        if failure == "canvas-throttle":
            # Canvas's answer to too many API calls: 403, a plain-text body and the remaining quota at 0.
            throttled = Response("403 Forbidden (Rate Limit Exceeded)\n", 403, mimetype="text/plain")
            throttled.headers["X-Rate-Limit-Remaining"] = "0.0"
            abort(throttled)
        if failure == "429-date":
            # Retry-After as an HTTP-date (RFC 9110 §10.2.3), retry_after_date_seconds from now.
            busy = Response(json.dumps({"error": "injected_failure"}), 429, mimetype="application/json")
            busy.headers["Retry-After"] = email.utils.formatdate(time.time() + platform.retry_after_date_seconds,
                                                                 usegmt=True)
            abort(busy)
        if not isinstance(failure, int):
            raise ValueError(f"unknown fail_next entry {failure!r}")
        response = Response(
            json.dumps({"error": "injected_failure", "error_description": f"sandbox fail_next {failure}"}),
            failure,
            mimetype="application/json",
        )
        if failure in (429, 503):
            response.headers["Retry-After"] = "1"
        abort(response)

    def json_body(media_type: str) -> Any:
        if request.mimetype != media_type:
            raise SandboxError(415, "unsupported_media_type", f"Content-Type must be {media_type}")
        try:
            return json.loads(request.get_data(as_text=True))
        except ValueError:
            raise SandboxError(400, "invalid_request", "the body is not valid JSON") from None

    def link_target(url: str) -> str:
        # RFC 8288 allows a relative link (resolved against the request's URL); some platforms send one.
        if not platform.relative_links:
            return url
        parts = urlsplit(url)
        return urlunsplit(("", "", parts.path, parts.query, ""))

    def json_response(body: Any, media_type: str, status: int = 200, next_url: str | None = None) -> Response:
        response = Response(json.dumps(body), status, mimetype=media_type)
        if next_url:
            response.headers["Link"] = f"<{link_target(next_url)}>{platform.next_link_params(next_url)}"
        return response

    def no_content() -> Response:
        response = Response(status=204)
        del response.headers["Content-Type"]  # a 204 has no body, so no media type either
        return response

    # ---- pages ----
    def launch_settings() -> dict[str, str]:
        """The visitor's launch choices (course page form), carried on every launch link as query parameters."""
        locale = request.args.get("locale", "en")
        opening = request.args.get("open", "window")
        return {"locale": locale if locale in LAUNCH_LANGUAGES else "en",
                "open": opening if opening in OPENINGS else "window"}

    @app.get("/")
    def course_page() -> str:
        return render_template(
            "sandbox/course.html", courses=list(platform.courses.values()), users=platform.users,
            settings=launch_settings(), languages=LAUNCH_LANGUAGES, openings=OPENINGS,
            # Launch links carry only the choices that differ from the defaults.
            link_settings={k: val for k, val in launch_settings().items() if val not in ("en", "window")},
        )

    @app.get("/launch")
    @app.get("/launch/<sub>")
    def launch(sub: str | None = None) -> Response:
        sub = sub or request.args.get("sub", "")
        if platform.tool is None:
            return Response("No tool is registered with the sandbox platform.\n", 409, mimetype="text/plain")
        settings = launch_settings()
        if settings["open"] != "window" and request.args.get("message_type") != v.DEEP_LINKING_REQUEST:
            # Opening inside the course page is the frame page's job (platform storage, or none).
            return redirect(sandbox_url("/frame/" + quote(sub), **{
                "context_id": request.args.get("context_id"), "resource_link_id": request.args.get("resource_link_id"),
                "locale": settings["locale"], "storage": "none" if settings["open"] == "frame-nostorage" else None,
            }), 302)
        try:
            url = platform.start_launch(
                sub,
                message_type=request.args.get("message_type", v.RESOURCE_LINK_REQUEST),
                context_id=request.args.get("context_id") or None,
                resource_link_id=request.args.get("resource_link_id") or "pathways-home",
                locale=settings["locale"],
            )
        except (KeyError, LookupError) as exc:
            return Response(f"Cannot launch: {exc}\n", 404, mimetype="text/plain")
        return redirect(url, 302)

    @app.get("/frame/<sub>")
    def frame(sub: str) -> Response:
        """Show the tool inside an LMS page, framed the way ?lms= (canvas, moodle, brightspace, blackboard) does."""
        if platform.tool is None:
            return Response("No tool is registered with the sandbox platform.\n", 409, mimetype="text/plain")
        profile = PROFILES.get(request.args.get("lms", "sandbox"))
        if profile is None:
            return Response(f"Unknown LMS profile; one of: {', '.join(PROFILES)}\n", 404, mimetype="text/plain")
        try:
            url = platform.start_launch(
                sub,
                message_type=request.args.get("message_type", v.RESOURCE_LINK_REQUEST),
                context_id=request.args.get("context_id") or None,
                resource_link_id=request.args.get("resource_link_id") or "pathways-home",
                locale=launch_settings()["locale"],
                claim_overrides=({v.ROLES: profile.roles_for(platform.users[sub].roles)}
                                 if profile.institution_roles and sub in platform.users else None),
            )
        except (KeyError, LookupError) as exc:
            return Response(f"Cannot launch: {exc}\n", 404, mimetype="text/plain")
        # The frame talks to this page (window.parent), which keeps the tool's values in memory for the visit.
        src = url + ("&" + urlencode({"lti_storage_target": profile.storage_target}) if profile.has_storage else "")
        # ?storage=none plays a platform that names a target but answers no messages, to show the tool's fallback.
        html = render_template("sandbox/frame.html", src=src, user=platform.users[sub], profile=profile,
                               storage=profile.has_storage and request.args.get("storage") != "none")
        return Response(html, 200, headers={"Cache-Control": "no-store"}, mimetype="text/html")

    @app.get("/storage_frame")
    def storage_frame() -> Response:
        """The hidden frame some LMSs keep tool data in (Canvas: post_message_forwarding; Learn: lti_storage_frame)."""
        return Response(render_template("sandbox/storage_frame.html"), 200, headers={"Cache-Control": "no-store"},
                        mimetype="text/html")

    @app.route("/auth", methods=["GET", "POST"])
    def auth() -> Response:
        params = request.form if request.method == "POST" else request.args
        redirect_uri, id_token, state = platform.authorize(params)
        html = render_template("sandbox/autopost.html", action=redirect_uri, id_token=id_token, state=state)
        return Response(html, 200, headers={"Cache-Control": "no-store"}, mimetype="text/html")

    @app.get("/jwks")
    def jwks() -> Response:
        platform.jwks_requests += 1
        return Response(json.dumps(platform.public_jwks()), mimetype="application/json")

    @app.post("/token")
    def token() -> Response:
        inject_failure(token_endpoint=True)
        body = platform.issue_token(request.form)
        return Response(json.dumps(body), mimetype="application/json", headers={"Cache-Control": "no-store"})

    # ---- NRPS 2.0 ----
    @app.get("/courses/<context_id>/memberships")
    def memberships(context_id: str) -> Response:
        inject_failure()
        platform.check_access(request.headers.get("Authorization"), [v.SCOPE_NRPS])
        odd = platform.take_membership_answer()
        if odd is not None:
            return Response(odd, 200, mimetype=v.MEDIA_MEMBERSHIPS)
        body, next_url, differences_url = platform.memberships(context_id, request.args)
        response = json_response(body, v.MEDIA_MEMBERSHIPS, next_url=next_url)
        if differences_url:
            link = f'<{link_target(differences_url)}>; rel="differences"'
            response.headers["Link"] = ", ".join(filter(None, [response.headers.get("Link"), link]))
        return response

    # ---- AGS 2.0 ----
    @app.route("/courses/<context_id>/lineitems", methods=["GET", "POST"])
    def lineitems(context_id: str) -> Response:
        inject_failure()
        if request.method == "POST":
            platform.check_access(request.headers.get("Authorization"), [v.SCOPE_LINEITEM])
            body = json_body(v.MEDIA_LINEITEM)
            platform.check_link_of_new_line_item(context_id, body)
            item = platform.create_line_item(context_id, body)
            response = json_response(item, v.MEDIA_LINEITEM, 201)
            response.headers["Location"] = item["id"]
            return response
        platform.check_access(
            request.headers.get("Authorization"), [v.SCOPE_LINEITEM, v.SCOPE_LINEITEM_READONLY]
        )
        items, next_url = platform.list_line_items(context_id, request.args)
        return json_response(items, v.MEDIA_LINEITEMS, next_url=next_url)

    @app.route("/courses/<context_id>/lineitems/<item_id>", methods=["GET", "PUT", "DELETE"])
    def lineitem(context_id: str, item_id: str) -> Response:
        inject_failure()
        if request.method == "GET":
            platform.check_access(
                request.headers.get("Authorization"), [v.SCOPE_LINEITEM, v.SCOPE_LINEITEM_READONLY]
            )
            return json_response(platform.get_line_item(context_id, item_id), v.MEDIA_LINEITEM)
        platform.check_access(request.headers.get("Authorization"), [v.SCOPE_LINEITEM])
        if request.method == "PUT":
            item = platform.update_line_item(context_id, item_id, json_body(v.MEDIA_LINEITEM))
            return json_response(item, v.MEDIA_LINEITEM)
        platform.delete_line_item(context_id, item_id)
        return no_content()

    @app.post("/courses/<context_id>/lineitems/<item_id>/scores")
    def scores(context_id: str, item_id: str) -> Response:
        inject_failure()
        if platform.score_redirect is not None:
            return redirect(sandbox_url("/sso/sign-in"), platform.score_redirect)
        platform.check_access(request.headers.get("Authorization"), [v.SCOPE_SCORE])
        platform.post_score(context_id, item_id, json_body(v.MEDIA_SCORE))
        if platform.score_answer is not None:
            body, content_type = platform.score_answer
            return Response(body, 200, content_type=content_type)
        return no_content()

    @app.route("/sso/sign-in", methods=["GET", "POST"])
    def sign_in() -> Response:
        # Where score_redirect sends a score post: a page for a person, answered 200 to anything.
        return Response("<!doctype html><html><body><h1>Sign in to the LMS</h1><form method=post>"
                        "<input name=password type=password></form></body></html>", 200, mimetype="text/html")

    @app.get("/courses/<context_id>/lineitems/<item_id>/results")
    def results(context_id: str, item_id: str) -> Response:
        inject_failure()
        platform.check_access(request.headers.get("Authorization"), [v.SCOPE_RESULT_READONLY])
        items, next_url = platform.results(context_id, item_id, request.args)
        return json_response(items, v.MEDIA_RESULTS, next_url=next_url)

    # ---- Deep Linking 2.0 ----
    @app.post("/deep_link_return")
    def deep_link_return() -> str:
        outcome = platform.receive_deep_link_response(request.form.get("JWT", ""))
        claims = outcome["claims"]
        return render_template(
            "sandbox/deep_link_done.html",
            course=outcome["course"],
            placed=outcome["placed"],
            msg=claims.get(v.DL_MSG),
            errormsg=claims.get(v.DL_ERRORMSG),
        )

    @app.get("/.well-known/openid-configuration")
    def openid_configuration() -> Response:
        return jsonify(platform.openid_configuration())

    @app.post("/register")
    def register() -> Response:
        body = request.get_json(silent=True)
        return jsonify(platform.register_dynamically(request.headers.get("Authorization"), body))

    @app.get("/gradebook")
    def gradebook() -> str:
        books = []
        for course in platform.courses.values():
            latest = platform.latest_scores(course.context_id)
            items = [
                item
                for url, item in platform.line_items.items()
                if url.startswith(platform.lineitems_url(course.context_id) + "/")
            ]
            members = [platform.users[sub] for sub in course.members]
            books.append({"course": course, "items": items, "latest": latest, "members": members})
        return render_template("sandbox/gradebook.html", books=books)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        if exc.response is not None:  # abort(response) from inject_failure
            return exc.response
        if request.path.startswith(_JSON_PATHS):
            body = json.dumps(
                {"error": exc.name.lower().replace(" ", "_"), "error_description": exc.description}
            )
            return Response(body, exc.code or 500, mimetype="application/json")
        return Response(f"{exc.code} {exc.name}\n", exc.code or 500, mimetype="text/plain")

    return app


def role_label(user: SandboxUser) -> str:
    """Return the user's context roles in words, e.g. "Instructor, Teaching assistant"."""
    words = {"TeachingAssistant": "Teaching assistant", "ContentDeveloper": "Content developer"}
    names = [r.rsplit("#", 1)[-1] for r in user.roles]
    return ", ".join(words.get(n, n) for n in names) or "No role"
