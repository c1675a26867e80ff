"""Database rows, one module per aggregate."""

from .courses import Course, Enrollment, Person
from .launches import LaunchSession
from .learning import (
    AuditEntry,
    CourseContent,
    DiagnosticRun,
    Evidence,
    ItemResponse,
    MasteryEvent,
    Reflection,
    ReviewSchedule,
    SkillMastery,
    StudentGoal,
)
from .outbox import ScoreOutbox, SkillLineItem
from .placements import Placement
from .platforms import Deployment, Platform, RegistrationInvite, ToolKey
from .workers import WorkerHeartbeat

__all__ = [
    "AuditEntry", "Course", "CourseContent", "Deployment", "DiagnosticRun", "Enrollment", "Evidence", "ItemResponse",
    "LaunchSession", "MasteryEvent", "Person", "Placement", "Platform", "Reflection",
    "RegistrationInvite", "ReviewSchedule", "ScoreOutbox",
    "SkillLineItem", "SkillMastery", "StudentGoal", "ToolKey", "WorkerHeartbeat",
]
