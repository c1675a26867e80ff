"""A local LTI 1.3 platform (the "sandbox LMS") for `pathways demo` and the test suite."""

from lti_tool.sandbox.app import create_sandbox_app
from lti_tool.sandbox.platform import (
    DEMO_STUDENTS,
    DEMO_TA,
    DEMO_TEACHER,
    SandboxCourse,
    SandboxError,
    SandboxPlatform,
    SandboxResourceLink,
    SandboxUser,
    ToolRegistration,
)

__all__ = [
    "DEMO_STUDENTS",
    "DEMO_TA",
    "DEMO_TEACHER",
    "SandboxCourse",
    "SandboxError",
    "SandboxPlatform",
    "SandboxResourceLink",
    "SandboxUser",
    "ToolRegistration",
    "create_sandbox_app",
]
