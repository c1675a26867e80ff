"""Database rows, one module per aggregate."""

from .courses import Course, Enrollment, Person
from .launches import LaunchSession
from .platforms import Deployment, Platform, ToolKey

__all__ = ["Course", "Deployment", "Enrollment", "LaunchSession", "Person", "Platform", "ToolKey"]
