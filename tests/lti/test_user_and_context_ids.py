"""The ids a launch names its user and course by (`sub`, `context.id`): kept exactly, or the launch is refused.

Subs that cleaned to the same text ("\\x01", "\\x02", " " all to "", long ones cut to 255 characters) made
different users one person. A numeric context id is still read as "no course", as it always was.
"""

from __future__ import annotations

import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.lti.claims import LINK_CONTEXT
from lti_tool.models import Course, LaunchSession, Person
from lti_tool.services.launches import is_placeholder
from tests.support import CLAIM

NO_USABLE_SUB = "A user id in this launch is empty, too long or has characters that are not allowed"
DL = "LtiDeepLinkingRequest"
PRIVACY_LAUNCH = "DataPrivacyLaunchRequest"


def _counts(tool) -> tuple[int, int]:
    with tool.app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Person)),
                db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession)))


def _launch_course(tool, page) -> Course:
    launch_id = page.url.split("/c/", 1)[1].split("/", 1)[0]
    with tool.app.app_context():
        course = db.session.get(Course, db.session.get(LaunchSession, launch_id).course_id)
        db.session.expunge(course)
        return course


def test_a_launch_whose_sub_pathways_cannot_keep_exactly_is_refused_and_records_no_one(sandbox, tool):
    sandbox.launch("teacher")
    before = _counts(tool)
    # Empty once cleaned, changed by cleaning, or longer than the column (Core §5.3.6: at most 255 characters).
    for sub in ("\x01", "\x02", " ", "student-9\x00", " student-9", "s" * 256):
        pending = sandbox.begin("student")
        page = pending.post(pending.resign(sub=sub))
        assert page.status_code == 400, (sub, page.status_code, page.text[:300])
        assert NO_USABLE_SUB in page.text, sub
    # Missing or empty: an anonymous user (Core §5.3.6), refused with 403 by the token checks; not a string (a
    # number): refused by them too, before Pathways reads the sub.
    for sub, status in (("", 403), (None, 403), (1001, 400)):
        pending = sandbox.begin("student")
        assert pending.post(pending.resign(sub=sub)).status_code == status, sub
    assert _counts(tool) == before


def test_a_sub_of_255_characters_is_kept_whole(sandbox, tool):
    long_sub = "s" * 254 + "x"
    pending = sandbox.begin("student")
    assert pending.post(pending.resign(sub=long_sub)).status_code == 200
    with tool.app.app_context():
        assert db.session.scalars(sa.select(Person.sub).where(Person.sub == long_sub)).one() == long_sub


def test_a_numeric_context_id_keeps_each_link_its_own_course_as_before(sandbox, tool):
    # The spec asks for a string. A number has always been read as "no context" (each link its own course, Deep
    # Linking a placeholder); reading it as the course would move an upgraded platform's students to empty courses.
    context = {"id": 4242, "title": "Algebra", "label": "ALG"}
    courses = []
    for link in ("link-a", "link-b"):
        page = sandbox.launch("teacher", claim_overrides={CLAIM + "context": context,
                                                          CLAIM + "resource_link": {"id": link}})
        assert page.status_code == 200, page.text[:300]
        courses.append(_launch_course(tool, page))
    assert [c.context_id for c in courses] == [LINK_CONTEXT + "link-a", LINK_CONTEXT + "link-b"]
    picker = sandbox.launch("teacher", message_type=DL, claim_overrides={CLAIM + "context": context})
    assert picker.status_code == 200, picker.text[:300]
    assert is_placeholder(_launch_course(tool, picker))


def test_a_privacy_launch_naming_a_user_by_an_id_that_would_change_when_cleaned_is_refused(sandbox, tool):
    # for_user "student-2\x00" was cleaned to "student-2": the teacher's controls acted on Liam, whom it did not name.
    sandbox.launch("teacher")
    sandbox.launch("student-2")
    for user_id in ("student-2\x00", " student-2", 2002):
        page = sandbox.launch("teacher", message_type=PRIVACY_LAUNCH, claim_overrides={
            CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": user_id}})
        assert page.status_code == 400, (user_id, page.text[:300])
        assert NO_USABLE_SUB in page.text and "Liam" not in page.text
    page = sandbox.launch("teacher", message_type=PRIVACY_LAUNCH, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": "student-2"}})
    assert page.status_code == 200 and "Liam O" in page.text
