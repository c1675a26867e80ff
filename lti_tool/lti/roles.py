"""LTI role vocabulary and how roles map to what a person may do in Pathways.

Spec: LTI 1.3 Core §5.3.7 (roles claim) and Appendix A.2 (role vocabularies). Context roles decide: Canvas
also sends institution roles (a student may carry an institution "Instructor" role from another course), so
institution and system roles are consulted only when the launch carries no context role at all. Into a course (a
launch naming a context) they then give only a learner's access, or an Administrator's: Canvas sends no context
role to someone who opens a course they are not enrolled in (its visibility "Institution" or "Public", an account
admin browsing), and an institution Instructor or Faculty teaches somewhere, not in this course.

A sub-role (`membership/<Principal>#<Sub>`, Core §A.2.2) belongs to its principal role: only the principal decides
what a person may do, and a sub-role only narrows within it (Instructor#TeachingAssistant is a teaching
assistant). A Learner#Instructor is a learner. A sub-role sent without its principal (the spec asks for both)
counts as that principal's: Canvas and others send TAs that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
CONTEXT_PREFIX = LIS + "membership"
INSTITUTION_PREFIX = LIS + "institution/person"
SYSTEM_PREFIX = LIS + "system/person"
#: The same vocabulary as some platforms write it, over https: the same roles (Core §A.2 defines them over http).
LIS_HTTPS = "https://purl.imsglobal.org/vocab/lis/v2/"
#: LTI 1.1's LIS role URNs, still sent by platforms and NRPS answers carried over from LTI 1.1: the same LIS role
#: names, a sub-role after its principal ("urn:lti:role:ims/lis/Learner/Instructor" is a Learner's sub-role).
URN_SCOPES = (("urn:lti:role:ims/lis/", "context"), ("urn:lti:instrole:ims/lis/", "institution"),
              ("urn:lti:sysrole:ims/lis/", "system"))
#: One LIS role name (letters, digits and "-", "_", "."), nothing else: a URN with more parts is no role we know.
_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class Access(StrEnum):
    """What Pathways lets a launched person do."""

    TEACHER = "teacher"
    STUDENT = "student"
    NONE = "none"


class RoleScope(StrEnum):
    CONTEXT = "context"
    INSTITUTION = "institution"
    SYSTEM = "system"


@dataclass(frozen=True)
class Role:
    """One parsed role: its scope, principal name and optional sub-role."""

    scope: RoleScope
    name: str
    sub_role: str | None = None

    @property
    def label(self) -> str:
        """The role as Pathways stores it (Enrollment.lti_roles): "Instructor", or "Learner#Instructor" for a
        sub-role, so that reading it back cannot take the sub-role for a principal role (stored_course_role)."""
        return f"{self.name}#{self.sub_role}" if self.sub_role else self.name


TEACHER_ROLES = frozenset({"Instructor", "TeachingAssistant", "ContentDeveloper", "Administrator"})
STUDENT_ROLES = frozenset({"Learner"})
# Institution-level names that mean the same when no context role is present.
INSTITUTION_TEACHER_ROLES = frozenset({"Instructor", "Faculty", "Administrator"})
#: Of those, the ones that speak for a course the person has no role in: an institution Administrator's authority
#: covers every course of the institution, an Instructor's or Faculty's only the courses they teach.
COURSE_WIDE_TEACHER_ROLES = frozenset({"Administrator"})
#: LIS institution and system role names that are no context role's name (LTI Core §A.2.1–A.2.3): stored beside
#: a teaching name, they are not a 0.1.0 sub-role's principal.
WIDER_ONLY_ROLES = frozenset({"Faculty", "Staff", "Student", "Guest", "Other", "Alumni", "Observer",
                              "ProspectiveStudent", "None", "AccountAdmin", "Creator", "SysAdmin", "SysSupport",
                              "User"})
INSTITUTION_STUDENT_ROLES = frozenset({"Student", "Learner"})
#: A stored role label: a name, or principal#sub-role (LIS names are letters, digits and "-").
_LABEL = re.compile(r"[A-Za-z0-9_.-]+(?:#[A-Za-z0-9_.-]+)?")


def parse_role(uri: str) -> Role | None:
    """Parse a role URI or a bare (deprecated but still sent) context role name; None when unrecognised."""
    if not isinstance(uri, str) or not uri.strip():
        return None
    uri = uri.strip()
    if uri.startswith(LIS_HTTPS):
        uri = LIS + uri[len(LIS_HTTPS):]
    for urn, scope_name in URN_SCOPES:
        if uri.startswith(urn):
            return _urn_role(uri[len(urn):], RoleScope(scope_name))
    for prefix, scope in (
        (CONTEXT_PREFIX, RoleScope.CONTEXT),
        (INSTITUTION_PREFIX, RoleScope.INSTITUTION),
        (SYSTEM_PREFIX, RoleScope.SYSTEM),
    ):
        if uri.startswith(prefix):
            rest = uri[len(prefix):]
            # "#Instructor" or "/Instructor#TeachingAssistant" (sub-role form, Core §A.2.3.1)
            if rest.startswith("#"):
                return Role(scope, rest[1:])
            if rest.startswith("/") and "#" in rest:
                name, sub = rest[1:].split("#", 1)
                return Role(scope, name, sub)
            return None
    if "://" not in uri and "#" not in uri and "/" not in uri:
        # Short names ("Instructor", "Learner") are context roles (Core §A.2.3.1 allows them).
        return Role(RoleScope.CONTEXT, uri)
    return None


def _urn_role(rest: str, scope: RoleScope) -> Role | None:
    """Read what follows an LTI 1.1 role URN's prefix: "Name", or for a context role "Principal/Sub"; else None.

    Only the principal decides (as for the LIS v2 form): "Learner/Instructor" is a Learner whose sub-role is
    Instructor, never an Instructor. Institution and system roles have no sub-roles in LTI 1.1.
    """
    parts = rest.split("/")
    if not all(_NAME.fullmatch(part) for part in parts):
        return None
    if len(parts) == 1:
        return Role(scope, parts[0])
    if len(parts) == 2 and scope is RoleScope.CONTEXT:
        return Role(scope, parts[0], parts[1])
    return None


def parse_roles(uris: Iterable[object] | None) -> list[Role]:
    """Parse every recognisable role in a roles claim, ignoring the rest."""
    if not isinstance(uris, list | tuple):
        return []
    return [role for role in (parse_role(u) for u in uris if isinstance(u, str)) if role]


def access_for(uris: Iterable[object] | None, *, in_course: bool = False) -> Access:
    """Decide teacher, student or no access, preferring context roles over institution roles.

    `in_course`: the launch names a course (a context), so wider roles stand in for a course role only as far as
    they reach every course (COURSE_WIDE_TEACHER_ROLES).
    """
    roles = parse_roles(uris)
    context = [r for r in roles if r.scope is RoleScope.CONTEXT]
    if context:
        # The principal decides: a Learner#Instructor is a Learner (a sub-role names no principal of its own).
        if any(r.name in TEACHER_ROLES for r in context):
            return Access.TEACHER
        if any(r.name in STUDENT_ROLES for r in context):
            return Access.STUDENT
        return Access.NONE
    wider = [r for r in roles if r.scope is not RoleScope.CONTEXT]
    if any(r.name in (COURSE_WIDE_TEACHER_ROLES if in_course else INSTITUTION_TEACHER_ROLES) for r in wider):
        return Access.TEACHER
    if any(r.name in INSTITUTION_STUDENT_ROLES for r in wider):
        return Access.STUDENT
    return Access.NONE


def names_context_role(uris: Iterable[object] | None) -> bool:
    """Tell whether the roles claim names any role in the context (a course role), not only wider ones."""
    return any(role.scope is RoleScope.CONTEXT for role in parse_roles(uris))


#: Institution or system roles that speak for the whole deployment (Core A.2.1, A.2.2): only these may act on
#: another person's data through a Data Privacy Launch beyond the courses the launcher teaches.
DEPLOYMENT_ADMIN_ROLES = frozenset({"Administrator", "SysAdmin"})


def deployment_administrator(uris: Iterable[object] | None) -> bool:
    """Tell whether the roles claim names an institution or system Administrator (not a course's administrator).

    A context Administrator (membership#Administrator) administers one course and counts as a teacher of it; an
    institution Instructor or Faculty teaches somewhere, not everywhere. Neither speaks for the deployment. Nor does
    an Administrator from outside the school (`EXTERNAL_ADMINISTRATOR_SUB_ROLES`), in any scope: sent with the
    plain principal as Core §A.2.2 asks, the sub-role says which administrator they are.
    """
    roles = parse_roles(uris)
    return not _external_administrator(roles) and any(
        r.scope is not RoleScope.CONTEXT and r.name in DEPLOYMENT_ADMIN_ROLES for r in roles)


#: The stored labels' column size (Enrollment.lti_roles).
ROLE_LABELS_LIMIT = 500


def role_labels(uris: Iterable[object] | None, limit: int = ROLE_LABELS_LIMIT) -> str:
    """Return the launch's context roles as Pathways stores them, e.g. "Instructor, Instructor#TeachingAssistant".

    A sub-role keeps its principal in front of it: stored as a bare name ("Learner, Instructor", as release 0.1.0
    did), a Learner#Instructor read back later as an Instructor (services/privacy.py reads these).
    """
    roles = parse_roles(uris)
    context = [r for r in roles if r.scope is RoleScope.CONTEXT] or roles
    # Only names that read back as themselves: a role sent as "#Learner, Instructor" would read back as two.
    labels = dict.fromkeys(role.label for role in context if _LABEL.fullmatch(role.label))
    # Whole labels only, within the column: a cut "Instructor#Teach" would read back as an Instructor. The roles
    # that narrow the principal beside them (`_narrows`) are kept first: a claim longer than the column (an LMS
    # sending every role it knows) was kept in order up to it, and an Administrator#ExternalSupport,
    # Instructor#GuestInstructor or TeachingAssistant dropped behind its kept principal read back with the
    # principal's whole rights. Stored in the claim's order (the roster shows them so).
    narrowing = dict.fromkeys(role.label for role in context if _narrows(role) and role.label in labels)
    kept: list[str] = []
    for label in {**narrowing, **labels}:
        if len(", ".join([*kept, label])) > limit:
            break
        kept.append(label)
    return ", ".join(label for label in labels if label in kept)


def course_role(uris: Iterable[object] | None, *, in_course: bool = False) -> str:
    """Name the Pathways role of a launch (services/permissions.py): the narrowest role the claim gives.

    A teaching assistant arrives as Instructor plus the Instructor#TeachingAssistant sub-role (Core A.2.3.1
    asks platforms to send the principal role with a sub-role), so that sub-role decides; other sub-roles
    change nothing (a Learner#Instructor is a learner). A Learner who is also a Mentor (a parent who studies in
    the course, Canvas's observer beside a student enrolment) is a learner: mentors have no pages, and a learner
    sees only their own work, so this gives them nothing of anyone else's. `in_course` as for `access_for`, so the
    two agree: an institution Instructor who opens a course with no role in it is no instructor of it.
    """
    roles = parse_roles(uris)
    context = [r for r in roles if r.scope is RoleScope.CONTEXT]
    if context:
        return _context_course_role(context)
    wider = {r.name for r in roles}
    if wider & {"Administrator", "SysAdmin"}:
        return "external_administrator" if _external_administrator(roles) else "administrator"
    if wider & INSTITUTION_TEACHER_ROLES and not in_course:
        return "instructor"
    if wider & INSTITUTION_STUDENT_ROLES:
        return "learner"
    return "mentor" if "Mentor" in wider else "none"


#: The Instructor sub-roles that get a teaching assistant's rights: the six teaching-assistant ones LTI 1.3 Core
#: §A.2.3.1 lists, and Grader. Only TeachingAssistant was read so: a TA sent as Instructor#TeachingAssistantSection
#: had the instructor's rights (deleting and exporting the course's data, changing its grading). A Grader marks
#: work (the same list): a sub-role narrows within its principal, and marking is what a teaching assistant may do
#: (review evidence, set levels, resend grades), not owning the course's data or its grading scheme.
TEACHING_ASSISTANT_SUB_ROLES = frozenset({
    "TeachingAssistant", "TeachingAssistantGroup", "TeachingAssistantOffering", "TeachingAssistantSection",
    "TeachingAssistantSectionAssociation", "TeachingAssistantTemplate", "Grader"})


#: The Instructor sub-roles (Core §A.2.3.1) of someone who teaches in the course without being one of the school's
#: teachers of it: a visiting teacher (GuestInstructor) or one from another institution (ExternalInstructor, e.g. a
#: college's instructor of a dual-enrolment course). Read as Instructor, they had the instructor's rights: exporting
#: and deleting students' data and changing how mastery becomes a grade. They teach and mark like a teaching
#: assistant, but take no student's personal data out of Pathways and delete nothing (docs/roles.md).
GUEST_INSTRUCTOR_SUB_ROLES = frozenset({"GuestInstructor", "ExternalInstructor"})


#: The Administrator sub-roles (Core §A.2.3.1) of people who are not the school's own: a vendor's developers and
#: support staff, or a hosting company's system administrators. Read as Administrator, they could export and delete
#: every student's data, in the course and, through a Data Privacy Launch, across the deployment. They keep the
#: course running (its content, roster and grade posts) but take no student's data out of Pathways, delete nothing
#: and make no teaching or grading decision (docs/roles.md). Developer, Support and SystemAdministrator without
#: "External" are the school's own staff: administrators.
EXTERNAL_ADMINISTRATOR_SUB_ROLES = frozenset({"ExternalDeveloper", "ExternalSupport", "ExternalSystemAdministrator"})


def _narrows(role: Role) -> bool:
    """Tell whether this role gives less than the principal beside it does (stored first: role_labels): a narrowing
    sub-role, or LTI 1.1's TeachingAssistant principal (urn:lti:role:ims/lis/TeachingAssistant), which makes an
    Instructor beside it a teaching assistant (_context_course_role)."""
    return (role.name == "Instructor" and role.sub_role in TEACHING_ASSISTANT_SUB_ROLES | GUEST_INSTRUCTOR_SUB_ROLES
            or role.name == "Administrator" and role.sub_role in EXTERNAL_ADMINISTRATOR_SUB_ROLES
            or role.name == "TeachingAssistant")


def _external_administrator(roles: Iterable[Role]) -> bool:
    return any(r.name == "Administrator" and r.sub_role in EXTERNAL_ADMINISTRATOR_SUB_ROLES for r in roles)


def _context_course_role(context: list[Role]) -> str:
    names = {r.name for r in context}
    # A sub-role narrowing within its own principal; the guest's is the narrowest. (Not by a name added to `names`:
    # a context role named "GuestInstructor" is no LIS principal and gives nothing.)
    if any(r.name == "Instructor" and r.sub_role in GUEST_INSTRUCTOR_SUB_ROLES for r in context):
        return "guest_instructor"
    if any(r.name == "Instructor" and r.sub_role in TEACHING_ASSISTANT_SUB_ROLES for r in context):
        names.add("TeachingAssistant")
    # An external sub-role narrows the Administrator principal sent beside it (not another principal: an Instructor
    # of the course stays one).
    administrator = "external_administrator" if _external_administrator(context) else "administrator"
    for label, role in (("TeachingAssistant", "teaching_assistant"), ("Instructor", "instructor"),
                        ("Administrator", administrator), ("ContentDeveloper", "content_developer"),
                        ("Learner", "learner"), ("Mentor", "mentor")):
        if label in names:
            return role
    return "none"


def stored_course_role(labels: str | None) -> str:
    """Return the Pathways role that stored role labels (Enrollment.lti_roles, role_labels) give.

    New labels write a sub-role with its principal ("Learner#Instructor"). Labels without any "#" may come from
    release 0.1.0, which wrote a sub-role as a bare name after its principal: "Learner, Instructor" for a
    Learner#Instructor, "Foo, Instructor" for a Foo#Instructor (a principal Pathways does not know). Any name there
    that is not a teaching role may be the principal of the teaching names beside it, so those then read as
    nothing, whatever the other name is: access comes from principal roles only (Core §A.2.2). (A person sent both
    principal roles reads so too: the cautious way.)
    """
    names = [part.strip() for part in (labels or "").split(",") if part.strip()]
    roles = [Role(RoleScope.CONTEXT, *name.split("#", 1)) for name in names]
    # Institution and system role names are stored too when a launch has no context role (role_labels); none of
    # them is a context principal, so they govern nothing beside them ("Faculty, Instructor" is an instructor).
    if not any("#" in name for name in names) and set(names) - TEACHER_ROLES - WIDER_ONLY_ROLES:
        roles = [r for r in roles if r.name not in TEACHER_ROLES]
    return _context_course_role(roles)
