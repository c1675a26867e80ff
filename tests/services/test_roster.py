"""The teacher updates the roster from the LMS: newcomers appear, leavers are kept but marked inactive."""

from __future__ import annotations

import re

import pytest

from lti_tool.extensions import db
from lti_tool.models import Enrollment, Person
from tests.support import submit_form


def _roster_rows(page) -> dict[str, tuple[str, str]]:
    rows = {}
    for name, role, status in re.findall(r"<tr><td>([^<]+)</td><td>(\w+)</td><td>[^<]*</td><td>(\w+)</td></tr>", page.text):
        rows[name] = (role, status)
    return rows


def test_roster_sync_records_everyone_with_their_roles(sandbox):
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    rows = _roster_rows(page)
    assert rows["Daniel Reyes"] == ("Teacher", "Active")
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert len(rows) == 7


def test_a_member_who_left_the_course_is_kept_but_marked_inactive(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.courses["math-7"].members.remove("student-5")
    page = submit_form(page, "roster/sync")
    assert "1 no longer active" in page.text
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Inactive")


def test_an_inactive_status_from_the_lms_marks_the_member_inactive(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")  # known first: someone new listed Inactive is not recorded at all (below)
    tool.platform.users["student-4"].status = "Inactive"
    page = submit_form(page, "roster/sync")
    assert _roster_rows(page)["Noah Kim"] == ("Student", "Inactive")


def test_a_role_change_in_the_lms_is_recorded(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.add_user("student-3", roles=["Instructor"], name="Sofía García", context_id="math-7")
    page = submit_form(page, "roster/sync")
    assert _roster_rows(page)["Sofía García"] == ("Teacher", "Active")


def test_emails_are_not_stored_unless_the_admin_turns_it_on(sandbox, tool):
    submit_form(sandbox.launch("teacher"), "roster/sync")
    with tool.app.app_context():
        from lti_tool.extensions import db
        from lti_tool.models import Person

        assert all(p.email is None for p in db.session.scalars(db.select(Person)))


def test_a_platform_error_during_sync_is_shown_to_the_teacher_and_changes_nothing(sandbox, tool):
    page = sandbox.launch("teacher")
    tool.platform.fail_next.append(500)
    page = submit_form(page, "roster/sync")
    assert "could not be read" in page.text
    assert len(_roster_rows(page)) == 1


def test_a_teacher_launch_asks_the_worker_to_sync_a_stale_roster(sandbox, tool):
    from lti_tool.jobs.worker import drain

    page = sandbox.launch("teacher")
    assert "Zainab Hassan" not in page.text  # only the teacher so far
    stats = drain(tool.app, once=True)
    assert stats.roster_syncs == 1
    page = page.http.get(page.url)
    assert "Zainab Hassan" in page.text
    sandbox.launch("teacher")  # a fresh sync is not due again within ROSTER_SYNC_MIN_SECONDS
    assert drain(tool.app, once=True).roster_syncs == 0


def test_students_launching_do_not_trigger_roster_syncs(sandbox, tool):
    from lti_tool.jobs.worker import drain

    sandbox.launch("student")
    assert drain(tool.app, once=True).roster_syncs == 0


def test_a_roster_url_passed_as_a_custom_parameter_is_used_when_the_nrps_claim_is_missing(sandbox, tool):
    from tests.support import CLAIM

    nrps = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
    pending = sandbox.begin("teacher")
    url = pending.claims[nrps]["context_memberships_url"]
    page = pending.post(pending.resign(**{nrps: None, CLAIM + "custom": {"context_memberships_url": url}}))
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 7 members" in page.text


def test_a_custom_roster_url_naming_another_course_of_the_platform_is_not_read(sandbox, tool):
    # Our token reads any course of the platform: a teacher who sets the custom parameter to another course's
    # roster URL (same host) must not pull that class's names into theirs.
    import sqlalchemy as sa

    from lti_tool.extensions import db
    from lti_tool.models import Enrollment, Person
    from tests.support import CLAIM

    nrps = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
    platform = sandbox.platform
    platform.add_course("science-8", "Grade 8 Science", "SCI8")
    platform.add_user("teacher-sci", roles=["Instructor"], name="Sam Lee", context_id="science-8")
    platform.add_resource_link("pathways-home", "Pathways", context_id="science-8")
    pending = sandbox.begin("teacher-sci", context_id="science-8")
    other = platform.memberships_url("math-7")
    page = pending.post(pending.resign(**{nrps: None, CLAIM + "custom": {"context_memberships_url": other}}))
    assert page.status_code == 200
    synced = submit_form(page, "roster/sync")
    assert "roster is not this course" in synced.text.replace("&#39;", "'")
    assert "Priya Shah" not in synced.text
    with tool.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrollment).join(Person)
                                 .where(Person.sub == "student-1")) == 0

    # The platform's own signed URL for the course works as before, and clears the custom mark.
    page = sandbox.launch("teacher-sci", context_id="science-8")
    assert "Roster updated: 1 member," in submit_form(page, "roster/sync").text


def test_a_roster_url_on_another_host_is_not_used_and_the_teacher_is_told_which_to_approve(sandbox, tool):
    # Canvas Cloud serves its APIs from the school's host, not the issuer's or the login's: until an admin adds it
    # as a service origin, our token is never sent there, and the teacher's page says what to ask for.
    nrps = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
    elsewhere = "https://school.instructure.example/api/lti/courses/7/names_and_roles"
    pending = sandbox.begin("teacher")
    page = pending.post(pending.resign(**{nrps: {**pending.claims[nrps], "context_memberships_url": elsewhere}}))
    assert page.status_code == 200
    notice = re.search(r'<section[^>]*data-testid="refused-services".*?</section>', page.text, re.S)
    assert notice and "https://school.instructure.example" in notice.group(0)
    assert "/api/lti/courses" not in notice.group(0)  # origin only
    # The one command the admin runs, for this platform and this origin (issuer and client id as registered).
    assert (f"pathways platform add-origin {tool.platform.issuer} pathways-sandbox "
            "https://school.instructure.example") in notice.group(0)
    synced = submit_form(page, "roster/sync")
    assert "did not offer its roster service" in synced.text
    assert not [r for r in tool.platform.token_requests if r["ok"]]  # no token was even asked for

    page = sandbox.launch("teacher")  # the platform's own roster URL again: connected, no notice
    assert 'data-testid="refused-services"' not in page.text
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text


def test_a_roster_url_a_custom_parameter_points_elsewhere_is_never_offered_to_the_admin(sandbox, tool):
    # A teacher can set custom parameters: what they type must not become "ask your admin to approve this host".
    from tests.support import CLAIM

    nrps = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
    pending = sandbox.begin("teacher")
    page = pending.post(pending.resign(**{nrps: None, CLAIM + "custom": {"nrps_url": "https://evil.example/x"}}))
    assert page.status_code == 200 and 'data-testid="refused-services"' not in page.text
    assert "did not offer its roster service" in submit_form(page, "roster/sync").text


def test_a_later_sync_asks_the_platform_only_for_differences(sandbox, tool):
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    tool.platform.add_user("student-6", roles=["Learner"], name="Ava Novak", context_id="math-7")
    tool.platform.courses["math-7"].members.remove("student-5")
    page = submit_form(page, "roster/sync")
    # Only the newcomer and the leaver come back from the platform; the message counts the course's members.
    assert "Roster updated: 7 members, 1 new, 1 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Ava Novak"] == ("Student", "Active")
    assert rows["Zainab Hassan"] == ("Student", "Inactive")
    assert rows["Priya Shah"] == ("Student", "Active")  # absent from the differences, so unchanged


def test_when_the_platform_forgets_the_differences_point_the_whole_roster_is_read_again(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform._roster_snapshots.clear()  # the platform expired its differences tokens
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 7 members" in page.text


def test_a_sync_that_fails_half_way_marks_nobody_inactive_and_is_read_whole_next_time(sandbox, tool):
    from lti_tool.extensions import db
    from lti_tool.models import Course

    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    with tool.app.app_context():
        synced_at = db.session.scalar(db.select(Course.roster_synced_at))
    tool.platform.courses["math-7"].members.remove("student-5")
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read
    tool.platform.page_size = 3
    # The differences request (refused: unknown token) and the first page are served; the second page fails.
    tool.platform.fail_next.extend(["ok", "ok", 500])
    page = submit_form(page, "roster/sync")
    assert "could not be read" in page.text
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Active")  # only a complete read finds leavers
    with tool.app.app_context():
        assert db.session.scalar(db.select(Course.roster_synced_at)) == synced_at
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 6 members, 0 new, 1 no longer active" in page.text
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Inactive")


def test_a_roster_bigger_than_a_batch_is_written_and_its_leavers_found(sandbox, tool):
    # 1,107 members: several write batches in one 2,000-member page and several pages of the leaver search.
    for n in range(1100):
        tool.platform.add_user(f"bulk-{n:04d}", roles=["Learner"], name=f"Bulk {n:04d}", context_id="math-7")
    tool.platform.page_size = 2000
    page = sandbox.launch("teacher")
    assert "Roster updated: 1107 members, 1106 new, 0 no longer active" in submit_form(page, "roster/sync").text
    members = tool.platform.courses["math-7"].members
    for n in range(0, 1100, 2):
        members.remove(f"bulk-{n:04d}")
    tool.platform.users["bulk-0001"].status = "Inactive"
    tool.platform.add_user("bulk-0003", roles=["Instructor"], name="Bulk Teacher", context_id="math-7")
    tool.platform._roster_snapshots.clear()  # a whole read, which decides the leavers itself
    tool.platform.page_size = 100
    page = submit_form(page, "roster/sync")
    # 557 listed, one of them Inactive: 556 active members.
    assert "Roster updated: 556 members, 0 new, 551 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Bulk 0000"] == ("Student", "Inactive") and rows["Bulk 1098"] == ("Student", "Inactive")
    assert rows["Bulk 0001"] == ("Student", "Inactive") and rows["Bulk 1099"] == ("Student", "Active")
    assert rows["Bulk Teacher"] == ("Teacher", "Active")


def test_emails_are_stored_when_turned_on_and_dropped_when_turned_off(make_tool):
    from lti_tool.extensions import db
    from lti_tool.models import Person
    from tests.support import SandboxActions

    tool = make_tool(STORE_EMAIL=True)
    page = SandboxActions(tool).launch("teacher")
    submit_form(page, "roster/sync")
    with tool.app.app_context():
        emails = {p.name: p.email for p in db.session.scalars(db.select(Person))}
    assert emails["Zainab Hassan"] == "zainab.hassan@example.edu"
    tool.app.config["STORE_EMAIL"] = False
    tool.platform._roster_snapshots.clear()
    submit_form(page, "roster/sync")
    with tool.app.app_context():
        assert all(p.email is None for p in db.session.scalars(db.select(Person)))


def test_a_student_the_lms_makes_a_mentor_is_marked_inactive_by_a_differences_sync(sandbox, tool):
    # NRPS 2.0 differences name a changed member once; a role that no longer gives access ends the enrolment
    # there (no full read follows to find it), so no more scores are posted for someone the LMS does not grade.
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    tool.platform.users["student-5"].roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 6 members, 0 new, 1 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Zainab Hassan"] == ("Student", "Inactive")
    assert rows["Priya Shah"] == ("Student", "Active")
    # Back to Learner: active again.
    tool.platform.users["student-5"].roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    page = submit_form(page, "roster/sync")
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Active")


def test_a_student_the_lms_makes_an_observer_is_marked_inactive_by_a_full_sync_too(sandbox, tool):
    page = sandbox.launch("teacher")
    tool.platform.users["student-5"].roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]
    submit_form(page, "roster/sync")
    tool.platform.users["student-5"].roles = ["http://purl.imsglobal.org/vocab/lis/v2/membership#Observer"]
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 6 members, 0 new, 1 no longer active" in page.text
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Inactive")


def test_a_new_member_in_a_role_pathways_does_not_serve_is_not_recorded_at_all(sandbox, tool):
    # A parent's Mentor or an Observer would be a name with no enrolment: kept for nothing, and once the retention
    # purge anonymised it, recorded again by the next full sync. A known person is still updated (their Learner
    # enrolment made inactive, as above).
    tool.platform.add_user("mentor-1", roles=["Mentor"], name="Rosa Parent", email="rosa@example.edu",
                           context_id="math-7")
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    assert "Rosa Parent" not in page.text
    with tool.app.app_context():
        assert db.session.scalars(db.select(Person).where(Person.sub == "mentor-1")).first() is None
        assert len(db.session.scalars(db.select(Person)).all()) == 7


def test_a_differences_sync_with_no_changes_still_counts_the_courses_members(sandbox, tool):
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members, 6 new, 0 no longer active" in submit_form(page, "roster/sync").text
    page = submit_form(page, "roster/sync")  # the platform lists no differences since the last sync
    assert "Roster updated: 7 members, 0 new, 0 no longer active" in page.text
    assert len(_roster_rows(page)) == 7


def test_a_learner_with_the_instructor_sub_role_is_listed_as_a_student(sandbox, tool):
    # LIS membership/Learner#Instructor is a sub-role of Learner (LTI Core §A.2.2): it made the member a teacher.
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    tool.platform.users["student-5"].roles = [lis + "#Learner", lis + "/Learner#Instructor"]
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Active")
    assert "Learner (Instructor)" in page.text  # the LMS role, in words: not read as a teacher


def test_a_member_with_a_teaching_sub_role_of_an_unknown_principal_is_not_a_teacher(sandbox, tool):
    # membership/Foo#Instructor: the Instructor sub-role of a principal Pathways does not know gives no role.
    lis = "http://purl.imsglobal.org/vocab/lis/v2/membership"
    tool.platform.users["student-5"].roles = [lis + "#Learner", lis + "/Foo#Instructor"]
    tool.platform.users["student-4"].roles = [lis + "/Foo#Instructor"]
    rows = _roster_rows(submit_form(sandbox.launch("teacher"), "roster/sync"))
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert rows.get("Noah Kim", ("", ""))[0] != "Teacher"


def test_a_member_whose_user_id_would_change_when_cleaned_is_not_taken_for_another(sandbox, tool):
    # "student-5\x01" cleaned to "student-5": the listing's later entry renamed Zainab and took her enrolment.
    tool.platform.add_user("student-5\x01", roles=["Learner"], name="Someone Else", context_id="math-7")
    page = submit_form(sandbox.launch("teacher"), "roster/sync")
    rows = _roster_rows(page)
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert "Someone Else" not in rows


def test_a_differences_read_that_times_out_is_asked_again_later_not_read_whole(sandbox, tool):
    # HTTP 408 (Request Timeout) is a transient answer like a 5xx or 429: the differences point still stands.
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.add_user("student-6", roles=["Learner"], name="Ava Novak", context_id="math-7")
    tool.platform.fail_next.append(408)
    page = submit_form(page, "roster/sync")
    assert "could not be read" in page.text
    assert "Ava Novak" not in _roster_rows(page)
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 8 members, 1 new, 0 no longer active" in page.text


def _people_named(tool) -> set[str]:
    with tool.app.app_context():
        return {p.sub for p in db.session.scalars(db.select(Person))}


def test_a_differences_listing_stores_no_newcomer_it_lists_as_inactive_or_deleted(make_tool):
    # Data minimisation: someone the LMS says is not (or no longer) in the course is no one Pathways serves, so
    # their name and email are not kept. A known member turning Inactive is still marked so.
    from tests.support import SandboxActions

    tool = make_tool(STORE_EMAIL=True)
    page = SandboxActions(tool).launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    tool.platform.add_user("gone-1", roles=["Learner"], name="Dana Gone", email="dana@example.edu",
                           context_id="math-7", status="Deleted")
    tool.platform.add_user("away-1", roles=["Learner"], name="Eli Away", email="eli@example.edu",
                           context_id="math-7", status="Inactive")
    tool.platform.users["student-4"].status = "Inactive"

    page = submit_form(page, "roster/sync")  # the platform lists only the three changed members

    assert "Roster updated: 6 members, 0 new, 1 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Noah Kim"] == ("Student", "Inactive")
    assert "Dana Gone" not in page.text and "Eli Away" not in page.text
    assert not {"gone-1", "away-1"} & _people_named(tool)


def test_a_full_roster_stores_no_newcomer_it_lists_as_inactive_or_deleted(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.add_user("gone-1", roles=["Learner"], name="Dana Gone", context_id="math-7", status="Deleted")
    tool.platform.add_user("away-1", roles=["Learner"], name="Eli Away", context_id="math-7", status="Inactive")
    tool.platform.users["student-4"].status = "Inactive"
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read

    page = submit_form(page, "roster/sync")

    rows = _roster_rows(page)
    assert "Dana Gone" not in rows and "Eli Away" not in rows
    assert rows["Noah Kim"] == ("Student", "Inactive")
    assert not {"gone-1", "away-1"} & _people_named(tool)


# NRPS 2.0 §2.3: a membership container carries a `members` array of membership objects. A 2xx answer without one
# (an empty body, an error object, a null, an entry that is not an object) is not an empty course.
NOT_MEMBERSHIP_CONTAINERS = ["{}", '{"members": null}', '{"error": "maintenance"}', '{"members": "x"}', "",
                             '["student-1"]', '{"members": [null]}']


def _active_enrolments(tool) -> list[bool]:
    with tool.app.app_context():
        return list(db.session.scalars(db.select(Enrollment.active)))


@pytest.mark.parametrize("answer", NOT_MEMBERSHIP_CONTAINERS)
def test_a_roster_answer_without_a_members_array_marks_nobody_inactive(sandbox, tool, answer):
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read
    # The differences request (refused: unknown token) is served; the whole roster's answer is the odd one.
    tool.platform.membership_answers.extend([None, answer])
    page = submit_form(page, "roster/sync")
    assert page.status_code == 200 and "Traceback" not in page.text
    assert "The roster could not be read from the platform" in page.text
    assert "not_membership_container" in page.text
    assert set(_roster_rows(page).values()) == {("Teacher", "Active"), ("Student", "Active")}
    assert _active_enrolments(tool) == [True] * 7


def test_an_automatic_sync_given_an_empty_roster_answer_keeps_the_teacher_in_the_course(sandbox, tool):
    from lti_tool.jobs.worker import drain

    sandbox.launch("teacher")  # asks the worker for a sync
    tool.platform.membership_answers.append("")
    assert drain(tool.app, once=True).roster_syncs == 0
    assert _active_enrolments(tool) == [True]  # the teacher's, still active


def test_a_later_roster_page_without_a_members_array_marks_nobody_inactive(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.courses["math-7"].members.remove("student-5")
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read
    tool.platform.page_size = 3
    # The differences request (refused) and the first page are served; the second page is an empty object.
    tool.platform.membership_answers.extend([None, None, "{}"])
    page = submit_form(page, "roster/sync")
    assert "not_membership_container" in page.text
    assert _roster_rows(page)["Zainab Hassan"] == ("Student", "Active")  # only a complete read finds leavers
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 6 members, 0 new, 1 no longer active" in page.text


def test_a_differences_answer_without_a_members_array_changes_nothing_and_is_asked_again(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform.add_user("student-6", roles=["Learner"], name="Ava Novak", context_id="math-7")
    tool.platform.membership_answers.append('{"members": null}')
    page = submit_form(page, "roster/sync")
    assert "not_membership_container" in page.text
    assert "Ava Novak" not in _roster_rows(page)
    page = submit_form(page, "roster/sync")  # the same differences point, read again
    assert "Roster updated: 8 members, 1 new, 0 no longer active" in page.text


def test_a_course_the_lms_lists_with_no_members_is_read_as_empty(sandbox, tool):
    page = sandbox.launch("teacher")
    submit_form(page, "roster/sync")
    tool.platform._roster_snapshots.clear()  # the differences point is gone: the whole roster is read
    tool.platform.membership_answers.extend([None, '{"members": []}'])  # a real container, listing nobody
    page = submit_form(page, "roster/sync")
    assert "Roster updated: 0 members, 0 new, 7 no longer active" in page.text
