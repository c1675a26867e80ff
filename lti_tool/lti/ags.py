"""Assignment and Grade Services 2.0 calls (https://www.imsglobal.org/spec/lti-ags/v2p0/), via pylti1p3.

pylti1p3's AssignmentsGradesService builds the requests (media types, URL endings); our PlatformConnector
carries them (shared token cache, timeout, exact paging). We add what pylti1p3 lacks: line item lookup with
the spec's `resource_id`/`tag` filters (§3.2.4) instead of reading every line item, results paging, and a
plain error message a teacher can read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem

from .services import (
    MEDIA_LINEITEM,
    MEDIA_RESULTS,
    SCOPE_LINEITEM,
    SCOPE_LINEITEM_READONLY,
    SCOPE_RESULT_READONLY,
    SCOPE_SCORE,
    PlatformConnector,
    ServiceCallError,
    walk_pages,
)

# Every call asks for the same scope set, so one cached access token serves line items, scores and results; a
# platform that refuses the set (invalid_scope) is asked for each call's own scope (PlatformConnector).
AGS_SCOPES = [SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE]


@dataclass(frozen=True)
class Score:
    """An AGS score for one user on one line item (AGS 2.0 §3.4)."""

    user_id: str
    score_given: float | None
    score_maximum: float | None
    activity_progress: str
    grading_progress: str
    timestamp: datetime
    comment: str = ""
    # What Pathways sent this user on this line item before: None for the first score, else the comment of the
    # latest one ("" for none). Canvas counts submissions and comments (score_extensions, post_score).
    last_sent_comment: str | None = None

    @property
    def first(self) -> bool:
        """Tell whether this is the first score Pathways sends this user on this line item."""
        return self.last_sent_comment is None


@dataclass(frozen=True)
class Result:
    """The platform's current result for one user on a line item (AGS 2.0 §3.3)."""

    user_id: str
    result_score: float | None
    result_maximum: float | None
    comment: str | None


def ags_timestamp(moment: datetime) -> str:
    """Format a naive-UTC or aware datetime as ISO 8601 with microseconds and an offset, as AGS wants."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="microseconds")


def _service(connector: PlatformConnector, lineitems_url: str | None = None) -> AssignmentsGradesService:
    data: dict[str, Any] = {"scope": list(AGS_SCOPES)}
    if lineitems_url:
        data["lineitems"] = lineitems_url
    return AssignmentsGradesService(connector, data)  # type: ignore[arg-type]


def _with_query(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params)


def find_or_create_lineitem(
    connector: PlatformConnector,
    lineitems_url: str,
    *,
    resource_id: str,
    tag: str,
    label: str,
    score_maximum: float,
    resource_link_id: str | None = None,
) -> str:
    """Return the URL of the course's line item with this resourceId and tag, creating it if there is none."""
    found = find_lineitem(connector, lineitems_url, resource_id, tag)
    if found:
        return found
    wanted: dict[str, object] = {"label": label, "scoreMaximum": score_maximum, "resourceId": resource_id, "tag": tag}
    if resource_link_id:
        try:
            created = _create(connector, lineitems_url, {**wanted, "resourceLinkId": resource_link_id})
        except ServiceCallError as exc:
            # resourceLinkId is optional (AGS 2.0 §3.2). Canvas ties a new line item to a link only when the link is
            # graded already (an assignment) and refuses it otherwise (412: a module item, or an assignment the
            # teacher deleted): made without it, the column is one of its own, found again by resourceId and tag.
            if exc.status not in LINK_REFUSED:
                raise
            created = _create(connector, lineitems_url, wanted)
    else:
        created = _create(connector, lineitems_url, wanted)
    body = created["body"]
    if not isinstance(body, dict) or not _is_url(body.get("id")):
        raise ServiceCallError("The platform created a line item but did not say where it is.")
    # Two workers may have created one each at the same moment: all settle on the platform's first one
    # and remove their own extra, so the gradebook shows one column.
    first = find_lineitem(connector, lineitems_url, resource_id, tag)
    if first and first != body["id"]:
        _delete(connector, body["id"])
        return first
    return body["id"]


#: Answers to a new line item naming a resourceLinkId that refuse the link, not the line item: made again without it.
LINK_REFUSED = frozenset({400, 404, 412, 422})


def _create(connector: PlatformConnector, lineitems_url: str, fields: dict[str, object]) -> dict[str, Any]:
    """POST a new line item (AGS 2.0 §3.2.6) and return the platform's answer."""
    # pylti1p3's find_or_create would list every line item again; the caller just looked with the filter.
    return connector.make_service_request(
        AGS_SCOPES,
        lineitems_url,
        is_post=True,
        data=json.dumps(fields),
        content_type=MEDIA_LINEITEM,
        accept=MEDIA_LINEITEM,
    )


def find_lineitem(connector: PlatformConnector, lineitems_url: str, resource_id: str, tag: str) -> str | None:
    """Return the URL of the course's line item with this resourceId and tag, or None (needs lineitem.readonly)."""
    service = _service(connector, lineitems_url)
    first = _with_query(lineitems_url, {"resource_id": resource_id, "tag": tag})
    try:
        for items in walk_pages(first, service.get_lineitems_page, "line item"):
            for item in items:
                # Filters are a SHOULD for platforms; check the fields ourselves too. A platform's odd entry
                # (not an object, an id that is not a string) is skipped: it cannot be our column.
                if not isinstance(item, dict) or not _is_url(item.get("id")):
                    continue
                if item.get("resourceId") == resource_id and item.get("tag") == tag:
                    return item["id"]
    except LtiException as exc:
        raise ServiceCallError(f"The platform's line items could not be read: {exc}") from exc
    return None


def _is_url(value: object) -> bool:
    """Tell whether a line item id from a platform's answer can be a URL we call: a non-empty string."""
    return isinstance(value, str) and bool(value)


def may_read_lineitems(connector: PlatformConnector) -> bool:
    """Tell whether the platform's scopes for the course let us GET a line item (AGS 2.0 §3.2); unknown ones may.

    A link with only the score scope (§3.1.1.3) may post scores and nothing else: reading its line item anyway
    asks with a token that does not cover it.
    """
    scopes = connector.ags_scopes
    return scopes is None or SCOPE_LINEITEM in scopes or SCOPE_LINEITEM_READONLY in scopes


def may_read_results(connector: PlatformConnector) -> bool:
    """Tell whether the platform's scopes for the course let us read a line item's results (AGS 2.0 §3.3)."""
    return scopes_allow_results(connector.ags_scopes)


def scopes_allow_results(scopes: Collection[str] | None) -> bool:
    """Tell whether a course's AGS scopes (None or empty: not known) let us read results (AGS 2.0 §3.3)."""
    return not scopes or SCOPE_RESULT_READONLY in scopes


def lineitem_exists(connector: PlatformConnector, lineitem_url: str) -> bool:
    """Tell whether the platform still shows this line item (a GET, AGS 2.0 §3.2); False only when it says gone.

    Callers ask only where may_read_lineitems() allows it.

    Only 404 or 410 says the column is gone: a platform that will not show it to us (401, 403, 405: no line item
    scope) has not said so, and forgetting a column we cannot look at would fail every later score.
    Raises ServiceCallError when the platform does not answer or asks us to come back later.
    """
    try:
        connector.make_service_request(AGS_SCOPES, lineitem_url, accept=MEDIA_LINEITEM)
    except ServiceCallError as exc:
        if exc.transient or exc.status is None:
            raise
        return exc.status not in (404, 410)
    return True


def _delete(connector: PlatformConnector, lineitem_url: str) -> None:
    """Delete a line item we created (pylti1p3's connector speaks only GET and POST)."""
    connector.check_service_url(lineitem_url)
    headers = {"Authorization": "Bearer " + connector.get_access_token(AGS_SCOPES, needed=[SCOPE_LINEITEM])}
    try:
        connector._requests_session.delete(lineitem_url, headers=headers, timeout=connector._timeout)
    except requests.RequestException:
        pass  # an extra empty column is untidy, not wrong; scores all go to the first one


CANVAS_SUBMISSION = "https://canvas.instructure.com/lti/submission"


def is_canvas(issuer: str | None) -> bool:
    """Tell whether an issuer is Canvas (hosted: canvas.instructure.com; self-hosted issuers say "canvas")."""
    return bool(issuer) and ("instructure.com" in issuer or "canvas" in issuer.lower())


def score_extensions(issuer: str | None, score: Score) -> dict[str, object]:
    """Return platform-specific score extensions: Canvas's submission details, so SpeedGrader shows the grade.

    Canvas makes every score a new submission attempt unless the extension says `new_submission: false` (its
    absence counts as true): past the assignment's allowed attempts it refuses the score (422), and each
    submitted_at moves the submission's time, so a re-grade after the due date would mark the student late. Only
    the student's first score on the line item is their submission; later ones only grade it.
    """
    if not is_canvas(issuer):
        return {}
    if not score.first:
        return {CANVAS_SUBMISSION: {"new_submission": False}}
    return {
        CANVAS_SUBMISSION: {
            "new_submission": True,
            "submission_type": "basic_lti_launch",
            "submitted_at": ags_timestamp(score.timestamp),
        }
    }


def checked_against_canvas(connector: PlatformConnector, lineitem_url: str, score: Score) -> Score:
    """Return the score to post, as a re-grade when Canvas already holds a result for a "first" score.

    A post whose answer never reached the outbox (its worker lost the lease, died, or timed out while Canvas still
    took the score) is sent again. Canvas accepts a score with the same timestamp as the last one (it refuses only
    an older one, scores_controller.rb `verify_valid_timestamp`), so the same timestamp does not stop it, and a
    "first" score would be the student's submission again: a second attempt, or a 422 past the allowed attempts,
    and its comment posted twice. Canvas creates a result only from a score posted to the column (its grading
    updates one, never makes one), so a result for the student means one of ours landed, holding what was sent.
    Needs the result.readonly scope; without it, or when Canvas will not show its results, the score goes as before.
    """
    if not score.first or not is_canvas(connector._registration.get_issuer()):
        return score
    if not may_read_results(connector):
        return score
    try:
        results = read_results(connector, lineitem_url, score.user_id)
    except ServiceCallError as exc:
        if exc.transient:
            raise  # the post would meet the same outage: retried later
        return score  # a refusal (or a column gone) is for the post to meet and report
    found = next((r for r in results if r.user_id == score.user_id), None)
    if found is None:
        return score
    return replace(score, last_sent_comment=found.comment or "")


def is_schoology(issuer: str | None) -> bool:
    """Tell whether an issuer is Schoology (https://schoology.schoology.com), read as is_canvas reads Canvas's.

    A false match costs only a blank comment, which every platform takes.
    """
    return bool(issuer) and "schoology" in issuer.lower()


#: What Schoology is sent for "no comment". It refuses a score without one (Unicon's tool13demo, Score.java: "Schoology
#: requires this to be a non-null value. It may be whitespace"). Whitespace is the form known to pass; an empty string
#: may count as missing to a check for a blank value, and a space shows as nothing next to the grade.
SCHOOLOGY_NO_COMMENT = " "


def comment_to_send(issuer: str | None, score: Score) -> str:
    """Return the comment to post with a score ("" for none: the field is left out).

    Canvas adds every comment it receives to the submission's comments (and notifies the student), so one the
    student already got is not sent again. Other platforms keep the comment with the result, replaced by the
    next score's, so it goes with every score. Schoology always gets one (SCHOOLOGY_NO_COMMENT when there is none).
    """
    if is_canvas(issuer) and score.comment == score.last_sent_comment:
        return ""
    if is_schoology(issuer) and not score.comment:
        return SCHOOLOGY_NO_COMMENT
    return score.comment


def post_score(connector: PlatformConnector, lineitem_url: str, score: Score) -> None:
    """Post one score to a line item's scores endpoint with the AGS score media type."""
    grade = (
        Grade()
        .set_activity_progress(score.activity_progress)
        .set_grading_progress(score.grading_progress)
        .set_timestamp(ags_timestamp(score.timestamp))
        .set_user_id(score.user_id)
    )
    if score.score_given is not None:
        grade.set_score_given(score.score_given)
    if score.score_maximum is not None:
        grade.set_score_maximum(score.score_maximum)
    issuer = connector._registration.get_issuer()
    comment = comment_to_send(issuer, score)
    if comment:
        grade.set_comment(comment)
    extensions = score_extensions(issuer, score)
    if extensions:
        grade.set_extra_claims(extensions)
    try:
        _service(connector).put_grade(grade, LineItem({"id": lineitem_url}))  # type: ignore[typeddict-item]
    except LtiException as exc:
        raise ServiceCallError(f"The score could not be sent: {exc}") from exc


def read_results(connector: PlatformConnector, lineitem_url: str, user_id: str | None = None) -> list[Result]:
    """Return the platform's results for a line item (every page), optionally for one user."""
    url = AssignmentsGradesService._add_url_path_ending(lineitem_url, "results")
    def read(page_url: str) -> tuple[list, str | None]:
        page = connector.make_service_request(AGS_SCOPES, page_url, accept=MEDIA_RESULTS)
        if not isinstance(page["body"], list):
            raise ServiceCallError("The platform answered the results request with something other than a list.")
        return page["body"], page["next_page_url"]

    results: list[Result] = []
    for body in walk_pages(_with_query(url, {"user_id": user_id}) if user_id else url, read, "results"):
        for item in body:
            if isinstance(item, dict) and isinstance(item.get("userId"), str):
                results.append(Result(item["userId"], _number(item.get("resultScore")),
                                      _number(item.get("resultMaximum")), _text(item.get("comment"))))
    return results


def _number(value: object) -> float | None:
    """Return a result's score as a float, or None when the platform sent none or something that is no number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)  # some platforms send numbers as strings
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def platform_message(error: ServiceCallError) -> str:
    """Return what to show about a failed call: our plain message with its reason code, never the platform's text."""
    return error.message
