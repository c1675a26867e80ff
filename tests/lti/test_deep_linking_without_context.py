"""A Deep Linking request without a context claim: each opens only its own picker, on a placeholder course of its
own, and no two teachers share a course (or a roster, a pack, placements) through it."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import jwt
import sqlalchemy as sa

from lti_tool.extensions import db
from lti_tool.lti.claims import LINK_CONTEXT
from lti_tool.models import Course, Enrollment, LaunchSession, Person, Placement
from lti_tool.services.content import demo_pack_data, import_pack
from lti_tool.services.launches import LEGACY_SHARED_CONTEXT
from tests.support import CLAIM, SandboxActions, parse_form, submit_form

DL = "LtiDeepLinkingRequest"
PRIVACY_LAUNCH = "DataPrivacyLaunchRequest"
ONLY_THE_PICKER = "This launch opened only the page for adding Pathways to your LMS course."
UNIT_OPTION = 'name="option" value="u-'


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _picker_without_context(sandbox, as_: str = "teacher"):
    page = sandbox.launch(as_, message_type=DL, claim_overrides={CLAIM + "context": None})
    assert page.status_code == 200, page.text[:500]
    assert "/deep-link" in page.url
    return page


def _second_teacher(sandbox) -> str:
    sandbox.platform.add_user("teacher-2", roles=["Instructor"], name="Tomás Vidal", context_id="math-7")
    return "teacher-2"


def _base(page) -> str:
    return re.search(r"/c/[^/?]+", page.url).group(0)


def _get(page, tool, path: str):
    return page.http.get(tool.url(_base(page) + path), timeout=30)


def _post(page, tool, path: str, files=None, **values: str):
    """POST to a path of the page's launch with the picker form's CSRF token, as a hand-made form would."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return page.http.post(tool.url(_base(page) + path), data={"csrf_token": token, **values}, files=files,
                          timeout=30)


def _launch_course(tool, page) -> Course:
    launch_id = _base(page)[len("/c/"):]
    with tool.app.app_context():
        course = db.session.get(Course, db.session.get(LaunchSession, launch_id).course_id)
        db.session.expunge(course)
        return course


def _members(tool, course_id: int) -> list[str]:
    with tool.app.app_context():
        return sorted(db.session.scalars(sa.select(Person.sub).join(Enrollment, Enrollment.person_id == Person.id)
                                         .where(Enrollment.course_id == course_id)))


def _send_back(page):
    """Post the picker's answer, and the signed response it leads to, back to the LMS; return the LMS's page."""
    returning = submit_form(page, "/deep-link", title_plan="Pathways plan")
    assert returning.status_code == 200, returning.text[:500]
    action, fields = parse_form(returning.text, returning.url)
    return returning.http.post(action, data=fields, timeout=30)


def test_two_teachers_deep_linking_without_a_context_share_no_course_roster_or_pack(sandbox, tool):
    first = _picker_without_context(sandbox, "teacher")
    second = _picker_without_context(sandbox, _second_teacher(sandbox))
    mine, theirs = _launch_course(tool, first), _launch_course(tool, second)
    assert mine.id != theirs.id
    # Neither joined a course anyone can find: no enrolment, and no shared "no-context" course.
    assert _members(tool, mine.id) == [] and _members(tool, theirs.id) == []
    with tool.app.app_context():
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Course)
                                     .where(Course.context_id == "no-context"))
    # One cannot give their course a pack the other's picker then offers.
    assert _post(first, tool, "/content/demo").status_code == 403
    assert UNIT_OPTION not in _picker_without_context(sandbox, "teacher-2").text
    # Nor see the other in a roster.
    home = _get(first, tool, "/")  # the course page, with its roster: the picker instead
    assert home.url.endswith("/deep-link") and "Tomás" not in home.text


def test_a_deep_linking_session_without_a_context_opens_only_the_picker(sandbox, tool):
    page = _picker_without_context(sandbox)
    pack = json.dumps(demo_pack_data(_now().date())).encode()
    refused = {
        "class view": _get(page, tool, "/class"),
        "content export": _get(page, tool, "/content/export"),
        "privacy page": _get(page, tool, "/privacy/"),
        "roster sync": _post(page, tool, "/roster/sync"),
        "content upload": _post(page, tool, "/content/import", files={"pack": ("pack.json", pack)}),
        "demo pack": _post(page, tool, "/content/demo"),
    }
    for name, response in refused.items():
        assert response.status_code == 403, name
        assert ONLY_THE_PICKER in response.text, name
    # The picker still opens, and the session still signs out. The course page (where an error page's way back
    # leads) is the picker.
    assert _get(page, tool, "/deep-link").status_code == 200
    home = _get(page, tool, "/")
    assert home.status_code == 200 and home.url.endswith("/deep-link") and ONLY_THE_PICKER not in home.text
    with tool.app.app_context():
        course = db.session.get(Course, _launch_course(tool, page).id)
        assert course.roster_sync_due_at is None and course.memberships_url is None and course.lineitems_url is None


def test_the_picker_without_a_context_offers_the_learning_plan_and_sends_it_back(make_tool):
    tool = make_tool(DEFAULT_COURSE_PACK="demo")  # which a real course launched now would get
    sandbox = SandboxActions(tool)
    page = _picker_without_context(sandbox)
    assert "<h1>Add Pathways to your course</h1>" in page.text
    assert 'value="plan"' in page.text and UNIT_OPTION not in page.text
    assert _send_back(page).status_code == 200
    (item,) = tool.platform.deep_link_responses[-1]["https://purl.imsglobal.org/spec/lti-dl/claim/content_items"]
    assert item["title"] == "Pathways plan" and item["custom"]["pathways_placement"]
    # The LMS placed the link in its course; a student opening it lands in that course's plan.
    placed = [link_id for link_id, link in tool.platform.courses["math-7"].resource_links.items()
              if link.title == "Pathways plan"]
    student = sandbox.launch("student", resource_link_id=placed[0])
    assert student.status_code == 200 and "Pathways plan" in student.text


def test_an_old_shared_no_context_course_grants_nothing_new(sandbox, tool):
    # What earlier versions left: one course every Deep Linking request without a context joined, with a pack.
    assert sandbox.launch("teacher").status_code == 200
    with tool.app.app_context():
        math = db.session.scalars(sa.select(Course).where(Course.context_id == "math-7")).one()
        shared = Course(platform_id=math.platform_id, deployment_id=math.deployment_id, context_id=LEGACY_SHARED_CONTEXT,
                        title="Untitled course", label="")
        db.session.add(shared)
        db.session.flush()
        sam = Person(platform_id=math.platform_id, sub="teacher-elsewhere", name="Sam Lee")
        db.session.add(sam)
        db.session.flush()
        db.session.add(Enrollment(course_id=shared.id, person_id=sam.id, role="teacher", lti_roles="Instructor",
                                  active=True))
        db.session.commit()
        shared_id = shared.id
        import_pack(shared_id, demo_pack_data(_now().date()), now=_now())
    page = _picker_without_context(sandbox)
    assert UNIT_OPTION not in page.text  # the old course's units are not offered
    assert _launch_course(tool, page).id != shared_id
    assert _members(tool, shared_id) == ["teacher-elsewhere"]  # nobody joined it
    assert _send_back(page).status_code == 200
    with tool.app.app_context():
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Placement)
                                     .where(Placement.course_id == shared_id))


def test_a_teachers_own_data_lists_no_placeholder_and_old_placeholders_are_removed(sandbox, tool):
    assert sandbox.launch("teacher").status_code == 200
    first = _picker_without_context(sandbox)
    assert _send_back(first).status_code == 200
    placeholder = _launch_course(tool, first)
    teacher = sandbox.sub("teacher")
    own = sandbox.launch("teacher", message_type=PRIVACY_LAUNCH, claim_overrides={
        CLAIM + "context": None, CLAIM + "resource_link": None, CLAIM + "for_user": {"user_id": teacher}})
    assert own.status_code == 200, own.text[:500]
    link = re.search(r'href="([^"]*/privacy/my-data\.json[^"]*)"', own.text).group(1).replace("&amp;", "&")
    data = own.http.get(tool.url(link) if link.startswith("/") else link, timeout=30).json()
    assert [c["course"]["context_id"] for c in data["courses"]] == ["math-7"]
    # A day after its session ended, the next launch that needs a placeholder removes it with its placements; not a
    # real course whose context id began with the placeholders' mark (release 0.1.0 kept control characters).
    with tool.app.app_context():
        db.session.execute(sa.update(LaunchSession).where(LaunchSession.course_id == placeholder.id)
                           .values(expires_at=_now() - timedelta(days=1, minutes=1)))
        old_course = Course(platform_id=placeholder.platform_id, deployment_id=placeholder.deployment_id,
                            context_id="\x1f2019-algebra", title="Algebra 2019")
        db.session.add(old_course)
        db.session.commit()
        old_course_id = old_course.id
    _picker_without_context(sandbox)
    with tool.app.app_context():
        assert db.session.get(Course, old_course_id) is not None
        db.session.delete(db.session.get(Course, old_course_id))
        db.session.commit()
        assert db.session.get(Course, placeholder.id) is None
        assert not db.session.scalar(sa.select(sa.func.count()).select_from(Placement)
                                     .where(Placement.course_id == placeholder.id))
        assert db.session.scalars(sa.select(Course.context_id).order_by(Course.id)).all()[0] == "math-7"


def test_a_link_launch_without_a_context_whose_link_id_is_blank_is_refused_and_joins_no_shared_course(sandbox, tool):
    # Such a launch fell back to the deployment's shared "no-context" course: everyone who sent one became
    # classmates there. An id of blanks or control characters names no link: refused, with no session.
    for blank in ("   ", "\x1f\x01"):
        page = sandbox.launch("student", claim_overrides={CLAIM + "context": None,
                                                          CLAIM + "resource_link": {"id": blank}})
        assert page.status_code == 400, page.text[:300]
        assert "This launch names neither a course nor a link" in page.text
    # A number where the spec asks for a string is still an id: the launch is scoped to that link.
    page = sandbox.launch("student", claim_overrides={CLAIM + "context": None, CLAIM + "resource_link": {"id": 12345}})
    assert page.status_code == 200, page.text[:300]
    assert _launch_course(tool, page).context_id == LINK_CONTEXT + "12345"
    with tool.app.app_context():
        assert not db.session.scalars(sa.select(Course).where(Course.context_id == "no-context")).all()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession)) == 1


def _art_club(sandbox, context_id: str):
    """Make an LMS course "Art club" with the given context id, Priya and Tomás its students; launch Priya there."""
    platform = sandbox.platform
    platform.add_course(context_id, "Art club", "ART")
    platform.add_resource_link("pathways-home", "Pathways", context_id=context_id)
    for sub, name in (("student-1", "Priya Shah"), ("student-2", "Tomás Vidal")):
        platform.add_user(sub, roles=["Learner"], name=name, context_id=context_id)
    page = sandbox.launch("student", context_id=context_id)
    assert "My learning plan" in page.text  # a course like any other
    return page


def test_a_link_launched_without_a_context_never_shares_the_course_an_lms_calls_by_its_stand_in_id(sandbox, tool):
    # Such a launch was filed under "link:<link id>", a context id a real LMS course may have (here: an art club
    # whose id is "link:L1"): the art club and link L1 launched without a context became one course, each side
    # enrolled with the other (one roster, one content, one class list).
    art = _art_club(sandbox, "link:L1")
    linked = sandbox.launch("student-2", context_id="link:L1",
                            claim_overrides={CLAIM + "context": None, CLAIM + "resource_link": {"id": "L1"}})
    assert linked.status_code == 200, linked.text[:300]
    art_club, link_course = _launch_course(tool, art), _launch_course(tool, linked)
    assert art_club.id != link_course.id
    assert (art_club.context_id, art_club.title) == ("link:L1", "Art club")
    assert link_course.context_id == LINK_CONTEXT + "L1"
    assert _members(tool, art_club.id) == ["student-1"]
    assert _members(tool, link_course.id) == ["student-2"]
    # Each goes on landing in its own course.
    assert _launch_course(tool, sandbox.launch("student", context_id="link:L1")).id == art_club.id
    again = sandbox.launch("student-2", context_id="link:L1",
                           claim_overrides={CLAIM + "context": None, CLAIM + "resource_link": {"id": "L1"}})
    assert _launch_course(tool, again).id == link_course.id


def test_a_launch_naming_no_course_or_link_keeps_nothing_under_a_context_id_an_lms_can_send(sandbox, tool):
    # Such a launch's context id fell back to "no-context", the id a real LMS course may have (here: an art club).
    # It is refused with a plain 4xx, and its id is one no claim can carry (a control character), so whatever reads
    # it can never land in that course.
    from lti_tool.lti.claims import facts_from_claims
    from lti_tool.text import strip_control

    _art_club(sandbox, "no-context")
    for claims in ({CLAIM + "context": None, CLAIM + "resource_link": {"id": " "}},
                   {CLAIM + "context": {"id": "\x1f", "title": "Art club"}, CLAIM + "resource_link": {"id": "\x00"}}):
        for accept in ("text/html", "application/json"):
            pending = sandbox.begin("student-2", context_id="no-context")
            token = pending.resign(**claims)
            facts = facts_from_claims(jwt.decode(token, options={"verify_signature": False}), "client")
            assert not facts.has_context and strip_control(facts.context_id) != facts.context_id
            page = pending.http.post(pending.action, data={"id_token": token, "state": pending.state},
                                     headers={"Accept": accept}, timeout=30)
            assert page.status_code == 400, page.text[:300]
            assert "This launch names neither a course nor a link" in page.text
            assert "pathways_session" not in page.cookies
    with tool.app.app_context():
        art_club = db.session.scalars(sa.select(Course).where(Course.context_id == "no-context")).one()
        assert _members(tool, art_club.id) == ["student-1"]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LaunchSession)) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Course)) == 1


def test_links_with_the_longest_ids_the_spec_allows_get_their_own_courses_without_overflowing_the_column(sandbox,
                                                                                                          tool):
    # A link id may have 255 characters; with the stand-in's prefix the context id had 261, more than the column
    # holds (PostgreSQL refused the launch with a server error). Two such links differing only at the end must not
    # be cut into one course either.
    courses = []
    for last in ("A", "B"):
        link_id = "L" * 254 + last
        page = sandbox.launch("student", claim_overrides={CLAIM + "context": None,
                                                          CLAIM + "resource_link": {"id": link_id}})
        assert page.status_code == 200, page.text[:300]
        course = _launch_course(tool, page)
        assert course.context_id.startswith(LINK_CONTEXT) and len(course.context_id) <= 255
        courses.append(course.id)
    assert courses[0] != courses[1]
    again = sandbox.launch("student", claim_overrides={CLAIM + "context": None,
                                                       CLAIM + "resource_link": {"id": "L" * 254 + "A"}})
    assert _launch_course(tool, again).id == courses[0]
