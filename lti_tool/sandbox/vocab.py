"""LTI 1.3 / Advantage vocabulary the sandbox platform speaks: claim names, roles, scopes, media types."""

LTI = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = LTI + "message_type"
VERSION = LTI + "version"
DEPLOYMENT_ID = LTI + "deployment_id"
TARGET_LINK_URI = LTI + "target_link_uri"
RESOURCE_LINK = LTI + "resource_link"
ROLES = LTI + "roles"
CONTEXT = LTI + "context"
TOOL_PLATFORM = LTI + "tool_platform"
LAUNCH_PRESENTATION = LTI + "launch_presentation"
CUSTOM = LTI + "custom"

NRPS_CLAIM = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS_CLAIM = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"

DL = "https://purl.imsglobal.org/spec/lti-dl/claim/"
DL_SETTINGS = DL + "deep_linking_settings"
DL_CONTENT_ITEMS = DL + "content_items"
DL_DATA = DL + "data"
DL_MSG = DL + "msg"
DL_LOG = DL + "log"
DL_ERRORMSG = DL + "errormsg"
DL_ERRORLOG = DL + "errorlog"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"
DEEP_LINKING_RESPONSE = "LtiDeepLinkingResponse"
LTI_VERSION = "1.3.0"

COURSE_OFFERING = "http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"

# LIS context roles (LTI 1.3 Core §A.2.3); sub-roles live under their principal role's path.
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
INSTRUCTOR = MEMBERSHIP + "Instructor"
LEARNER = MEMBERSHIP + "Learner"
TEACHING_ASSISTANT = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
SHORT_ROLES = {
    "Administrator": MEMBERSHIP + "Administrator",
    "ContentDeveloper": MEMBERSHIP + "ContentDeveloper",
    "Instructor": INSTRUCTOR,
    "Learner": LEARNER,
    "Mentor": MEMBERSHIP + "Mentor",
    "Manager": MEMBERSHIP + "Manager",
    "Member": MEMBERSHIP + "Member",
    "Officer": MEMBERSHIP + "Officer",
    "TeachingAssistant": TEACHING_ASSISTANT,
}

AGS_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/"
SCOPE_LINEITEM = AGS_SCOPE + "lineitem"
SCOPE_LINEITEM_READONLY = AGS_SCOPE + "lineitem.readonly"
SCOPE_RESULT_READONLY = AGS_SCOPE + "result.readonly"
SCOPE_SCORE = AGS_SCOPE + "score"
SCOPE_NRPS = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
AGS_SCOPES = (SCOPE_LINEITEM, SCOPE_LINEITEM_READONLY, SCOPE_RESULT_READONLY, SCOPE_SCORE)
SUPPORTED_SCOPES = frozenset((*AGS_SCOPES, SCOPE_NRPS))

MEDIA_MEMBERSHIPS = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
MEDIA_LINEITEMS = "application/vnd.ims.lis.v2.lineitemcontainer+json"
MEDIA_LINEITEM = "application/vnd.ims.lis.v2.lineitem+json"
MEDIA_SCORE = "application/vnd.ims.lis.v1.score+json"
MEDIA_RESULTS = "application/vnd.ims.lis.v2.resultcontainer+json"

# AGS 2.0 §3.4 score enumerations.
ACTIVITY_PROGRESS = frozenset({"Initialized", "Started", "InProgress", "Submitted", "Completed"})
GRADING_PROGRESS = frozenset({"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"})

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def full_role(role: str) -> str:
    """Return the full LIS URI for a short context role name; pass full URIs through."""
    if "://" in role or role.startswith("urn:"):
        return role
    return SHORT_ROLES.get(role, MEMBERSHIP + role)
