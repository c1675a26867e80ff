"""Database rows, one module per aggregate."""

from .courses import Course, Enrollment, Person
from .launches import LaunchSession
from .learning import (
    AuditEntry,
    CourseContent,
    DiagnosticRun,
    Evidence,
    HelpRequest,
    ItemResponse,
    MasteryEvent,
    Reflection,
    ReportComment,
    ReviewSchedule,
    ServedItem,
    SkillAssignment,
    SkillMastery,
    StudentGoal,
)
from .outbox import ScoreOutbox, SkillLineItem
from .placements import Placement
from .platforms import Deployment, Platform, RegistrationInvite, ToolKey
from .workers import WorkerHeartbeat

__all__ = [
    "AuditEntry", "Course", "CourseContent", "Deployment", "DiagnosticRun", "Enrollment", "Evidence", "HelpRequest",
    "ItemResponse", "LaunchSession", "MasteryEvent", "Person", "Placement", "Platform", "Reflection",
    "RegistrationInvite", "ReportComment", "ReviewSchedule", "ScoreOutbox", "ServedItem", "SkillAssignment",
    "SkillLineItem", "SkillMastery", "StudentGoal", "ToolKey", "WorkerHeartbeat",
]
