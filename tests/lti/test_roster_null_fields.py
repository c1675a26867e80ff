"""A roster whose optional member fields come as JSON null (NRPS 2.0 §2.3) reads as if they were left out.

Platforms built on Java or .NET models often serialize an unset optional field as `null` rather than leaving it
out (Jackson's and Newtonsoft's defaults). NRPS says a member whose `status` is not given is Active: a null status
read as "not Active" marked the whole class inactive on the next full sync, and no newcomer was ever recorded.
"""

from __future__ import annotations

import re

import pytest

from tests.support import submit_form


def _roster_rows(page) -> dict[str, tuple[str, str]]:
    return {name: (role, status) for name, role, status in re.findall(
        r"<tr><td>([^<]+)</td><td>(\w+)</td><td>[^<]*</td><td>(\w+)</td></tr>", page.text)}


def _sync_again_with_every_status(sandbox, tool, status, newcomer: str, **statuses):
    """Sync the roster, then again reading it whole with everyone's status `status` (`statuses` by sub), a newcomer
    named `newcomer` among them; return the page after the second sync."""
    page = sandbox.launch("teacher")
    assert "Roster updated: 7 members" in submit_form(page, "roster/sync").text
    for user in tool.platform.users.values():
        user.status = status
    tool.platform.add_user("student-9", roles=["Learner"], name=newcomer, context_id="math-7")
    tool.platform.users["student-9"].status = status
    for sub, other in statuses.items():
        tool.platform.users[sub.replace("_", "-")].status = other
    tool.platform._roster_snapshots.clear()  # the whole roster is read, so leavers are decided from it
    return submit_form(page, "roster/sync")


def test_a_null_status_is_an_active_member(sandbox, tool):
    page = _sync_again_with_every_status(sandbox, tool, None, "Ana Null")  # sent as "status": null

    assert "0 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Zainab Hassan"] == ("Student", "Active")
    assert rows["Daniel Reyes"] == ("Teacher", "Active")
    assert rows["Ana Null"] == ("Student", "Active")
    assert all(status == "Active" for _, status in rows.values())


@pytest.mark.parametrize("active, inactive", [
    ("active", "inactive"),
    ("ACTIVE", "DELETED"),
    (" Active ", "Inactive"),
    ("http://purl.imsglobal.org/vocab/lis/v2/status#Active", "http://purl.imsglobal.org/vocab/lis/v2/status#Inactive"),
])
def test_a_status_in_another_case_or_as_the_lis_iri_is_read_by_its_term(sandbox, tool, active, inactive):
    # NRPS 2.0 names Active, Inactive and Deleted; LIS 2.0 and Caliper write the same terms as IRIs of the status
    # vocabulary. Only "Active" exactly was taken: the whole class was marked inactive, and no newcomer recorded.
    page = _sync_again_with_every_status(sandbox, tool, active, "Ana Nueva", student_4=inactive)

    assert "1 no longer active" in page.text
    rows = _roster_rows(page)
    assert rows["Noah Kim"] == ("Student", "Inactive")
    assert rows["Ana Nueva"] == ("Student", "Active")
    assert rows["Daniel Reyes"] == ("Teacher", "Active")
    assert [name for name, (_, status) in rows.items() if status != "Active"] == ["Noah Kim"]
