"""Database rows, one module per aggregate."""

from .courses import Course, Enrollment, Person
from .launches import LaunchSession
from .outbox import ScoreOutbox, SkillLineItem
from .placements import Placement
from .platforms import Deployment, Platform, ToolKey

__all__ = ["Course", "Deployment", "Enrollment", "LaunchSession", "Person", "Placement", "Platform", "ScoreOutbox",
           "SkillLineItem", "ToolKey"]
