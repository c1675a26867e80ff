"""How real LMSs frame a tool and offer platform storage: the sandbox LMS page plays one of these per visit.

Each profile follows the platform's published behaviour (1EdTech "LTI Client Side postMessages" and "OIDC Login
with LTI Client Side postMessages", https://www.imsglobal.org/spec/lti-cs-oidc/v0p1):
- where the login says storage lives (`lti_storage_target`, or nothing when the platform has no storage);
- which window answers `lti.capabilities` (always the tool frame's parent) and which frame answers
  `lti.put_data`/`lti.get_data` (named by the optional `frame` field of the capabilities reply).
"""

from __future__ import annotations

from dataclasses import dataclass

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@dataclass(frozen=True)
class LmsProfile:
    """One LMS's way of framing a tool."""

    name: str
    title: str
    # The login's lti_storage_target parameter; None: the platform offers no storage (sends nothing).
    storage_target: str | None
    # The sibling frame (in the LMS page) that holds the storage; None: the parent window itself answers.
    storage_frame: str | None
    # What the page tells a reader about the quirk.
    note: str
    # Institution role URIs sent beside the course role (Brightspace's "Send Institution Role"), by course role.
    institution_roles: tuple[tuple[str, str], ...] = ()
    # The storage messages' subjects: "lti.capabilities" and so on, or their earlier names, which Brightspace
    # answers alone ("org.imsglobal.lti.capabilities", in its lti-components LtiPostmessageApi).
    storage_subjects: str = "lti."

    @property
    def has_storage(self) -> bool:
        return self.storage_target is not None

    def roles_for(self, roles: list[str], *, institution_role: str | None = None) -> list[str]:
        """Return the roles claim this LMS sends for someone with these course roles.

        institution_role overrides the person's institution role (e.g. a student who teaches elsewhere).
        """
        if not self.institution_roles:
            return list(roles)
        mapped = dict(self.institution_roles)
        extra = [institution_role] if institution_role else [mapped[r] for r in roles if r in mapped]
        return list(roles) + [r for r in extra if r not in roles]


PROFILES: dict[str, LmsProfile] = {
    profile.name: profile
    for profile in (
        LmsProfile(
            "canvas", "Canvas", "post_message_forwarding", "post_message_forwarding",
            "Canvas sends lti_storage_target=post_message_forwarding; a hidden frame of that name holds the data "
            "and the capabilities reply names it.",
        ),
        LmsProfile(
            "moodle", "Moodle", None, None,
            "Moodle offers no platform storage and sends no lti_storage_target; with its launch container left "
            "at “Embed”, the tool runs in this frame and only its own cookies can carry the login.",
        ),
        LmsProfile(
            "brightspace", "D2L Brightspace", "_parent", None,
            "Brightspace (since July 2022) sends lti_storage_target=_parent: the LMS window that frames the tool "
            "answers the storage messages itself, under their earlier names only (org.imsglobal.lti.capabilities, "
            "org.imsglobal.lti.put_data, org.imsglobal.lti.get_data). With “Send Institution Role” it sends "
            "institution role URIs beside the course role; each deployment has its own GUID deployment id.",
            storage_subjects="org.imsglobal.lti.",
            institution_roles=(
                (LIS + "membership#Instructor", LIS + "institution/person#Instructor"),
                (LIS + "membership#Learner", LIS + "institution/person#Student"),
            ),
        ),
        LmsProfile(
            "blackboard", "Blackboard Learn", "lti_storage_frame", "lti_storage_frame",
            "Blackboard Learn never adds lti_storage_target to the registered redirect URL; the storage frame "
            "(lti_storage_frame) is named in the frame field of its lti.capabilities reply.",
        ),
        # The sandbox's own page: storage in the parent window, as the original sandbox frame did.
        LmsProfile("sandbox", "Sandbox LMS", "_parent", None, "The sandbox answers storage messages itself."),
    )
}
