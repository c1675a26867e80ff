"""A course's learning content and each student's learning record, always scoped to one course."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db
from .base import utcnow


class CourseContent(db.Model):
    """The course's skill map, activities, items and goals: a course pack (learning/coursepack.py) as JSON."""

    __tablename__ = "course_content"
    __table_args__ = (
        # The courses a teacher ever asked to refit (few): the worker's look for open requests at every pass reads
        # these index entries, not the table (migration 0027).
        sa.Index("ix_course_content_refit_requested", "refit_requested_at",
                 postgresql_where=sa.text("refit_requested_at IS NOT NULL"),
                 sqlite_where=sa.text("refit_requested_at IS NOT NULL")),
    )

    # The small columns first and the two documents last (migration 0018: SQLite walks a large value's overflow
    # pages to reach any column stored after it).
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), primary_key=True)
    # When the course ends, for pacing; None means "no end date set".
    ends_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    # Optional per-skill gradebook columns (off by default).
    per_skill_grades: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    # "due_so_far" (default: skills whose goal date has passed), "proficiency_share" or "four_point".
    grading_scheme: so.Mapped[str] = so.mapped_column(sa.String(30), default="due_so_far")
    updated_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow, onupdate=utcnow)
    # Which fit of `model_params` the course runs (None: never fitted, the cold-start prior), so a page can tell
    # whether its process already holds the model without reading the weights.
    model_revision: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    model_fitted_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # The teacher's "Refit now" (services/model_fitting.py): when the latest request was made, when the last fit
    # began (to the microsecond; model_fitted_at keeps whole seconds), and when a requested fit gave up (None once
    # a fit is stored). A request is open until a fit or a failed attempt begins after it. Deferred: only the model
    # page and the worker read them, by name, so every other load of the row leaves them out.
    refit_requested_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime, deferred=True)
    refit_tried_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime, deferred=True)
    refit_failed_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime, deferred=True)
    # Mastery model parameters fitted from the course's own history (learning/fitting.py `stored`): a weight per
    # item and skill, read once per process and fit (services/mastery.py model_for).
    model_params: so.Mapped[dict | None] = so.mapped_column(sa.JSON, deferred=True)
    # Deferred: most reads need the settings beside it, and the parsed pack is cached per process
    # (services/content.py), so the document is fetched only when it changed.
    pack: so.Mapped[dict] = so.mapped_column(sa.JSON, deferred=True)


class ItemResponse(db.Model):
    """One answer a student gave to a practice item."""

    __tablename__ = "item_response"
    __table_args__ = (sa.Index("ix_item_response_course_person_at", "course_id", "person_id", "answered_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    item_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    skill_ids: so.Mapped[list] = so.mapped_column(sa.JSON)
    answer: so.Mapped[str] = so.mapped_column(sa.String(500))
    correct: so.Mapped[bool] = so.mapped_column(sa.Boolean)
    hints_used: so.Mapped[int] = so.mapped_column(sa.Integer, default=0)
    # "practice", "diagnostic", "review" or "unit_check".
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="practice")
    answered_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    # False for a repeat of an item within a practice session: practice, but no mastery evidence.
    credited: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True, server_default=sa.true())


class ServedItem(db.Model):
    """A question the server gave one student in one course: only a served, unanswered item can be answered.

    A template's variant is kept with it (`params`), so the answer is checked against the numbers the student saw.
    """

    __tablename__ = "served_item"
    __table_args__ = (
        sa.Index("ix_served_item_learner", "course_id", "person_id", "skill_id", "served_at"),
        # The questions waiting for an answer (few at any time): the plan page's waiting unit-check questions are
        # read from these, not from everything the student was ever served (migration 0019).
        sa.Index("ix_served_item_open", "course_id", "person_id", "source",
                 postgresql_where=sa.text("answered_at IS NULL"), sqlite_where=sa.text("answered_at IS NULL")),
        # Every answer asks whether the same variant was answered elsewhere lately (serving._ANSWERED_ELSEWHERE):
        # without it that read walks the learner's whole history (migration 0021).
        sa.Index("ix_served_item_variant", "course_id", "person_id", "variant", "answered_at"),
    )

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    item_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    # The template's parameter values ({} for a fixed item) and their canonical key, "item|a=1,b=2".
    params: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    variant: so.Mapped[str] = so.mapped_column(sa.String(300))
    # "practice", "diagnostic" (the placement check), "review" or "unit_check".
    source: so.Mapped[str] = so.mapped_column(sa.String(20), default="practice")
    # False when this variant was already answered in the same practice session: practice without credit. Set at
    # serving from what was answered then, and settled by the answer's claim (another copy may be answered first).
    credit: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=True)
    # The hints the server has shown on this question (migration 0021): raised when a page shows one more, never
    # by a form's or address's number, and what the answer records as hints used (a form's number could be lowered).
    hints_shown: so.Mapped[int] = so.mapped_column(sa.Integer, default=0, server_default="0")
    served_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    # Set once, by a conditional update: the first answer wins and a repeated post changes nothing.
    answered_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    correct: so.Mapped[bool | None] = so.mapped_column(sa.Boolean)


class HelpRequest(db.Model):
    """A student's "ask my teacher" about a skill: it puts them on the teacher's needs-help list until answered."""

    __tablename__ = "help_request"
    __table_args__ = (sa.Index("ix_help_request_course_asked", "course_id", "asked_at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    asked_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    # Set when the teacher marks it helped; an open request stays on the list.
    resolved_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)


class SkillAssignment(db.Model):
    """A skill the teacher assigned to one student; a class or group assignment is one row per student then enrolled."""

    __tablename__ = "skill_assignment"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", "skill_id", name="uq_skill_assignment"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    due_on: so.Mapped[date | None] = so.mapped_column(sa.Date)
    # Who assigned it; the row outlives that person's account being deleted.
    assigned_by: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    assigned_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class ReportComment(db.Model):
    """The teacher's comment for a student's family report: one per student per course, shown as written."""

    __tablename__ = "report_comment"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", name="uq_report_comment"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    text: so.Mapped[str] = so.mapped_column(sa.String(2000))
    # Who wrote it last; the comment outlives that person's account being deleted.
    author_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    updated_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class SkillMastery(db.Model):
    """A student's current mastery estimate for one skill (skill_id "*" holds the learner-wide state)."""

    __tablename__ = "skill_mastery"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", "skill_id", name="uq_skill_mastery"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    # learning/mastery.py SkillState.to_dict()
    state: so.Mapped[dict] = so.mapped_column(sa.JSON)
    level: so.Mapped[str] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str] = so.mapped_column(sa.String(300), default="")
    # A teacher's override wins over the model until new evidence arrives; the override is evidence too.
    overridden: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    updated_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class MasteryEvent(db.Model):
    """A change of level, and why: the mastery history a student, teacher or family can read."""

    __tablename__ = "mastery_event"
    __table_args__ = (sa.Index("ix_mastery_event_course_person", "course_id", "person_id", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    old_level: so.Mapped[str] = so.mapped_column(sa.String(20))
    new_level: so.Mapped[str] = so.mapped_column(sa.String(20))
    # "practice", "diagnostic", "review", "unit_check", "evidence" or "override".
    source: so.Mapped[str] = so.mapped_column(sa.String(20))
    reason: so.Mapped[str] = so.mapped_column(sa.String(500), default="")
    # An override's note for the student (its `reason` is the teacher's own, shown only to teachers).
    student_note: so.Mapped[str | None] = so.mapped_column(sa.String(250))
    # Who caused it when a person did (a teacher's override or evidence review); None for the model.
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class ReviewSchedule(db.Model):
    """When a mastered skill is next due for spaced review (an FSRS card)."""

    __tablename__ = "review_schedule"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", "skill_id", name="uq_review_schedule"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    card: so.Mapped[dict] = so.mapped_column(sa.JSON)
    due_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, index=True)


class StudentGoal(db.Model):
    """A goal the student set: what, by when, why."""

    __tablename__ = "student_goal"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    title: so.Mapped[str] = so.mapped_column(sa.String(300))
    why: so.Mapped[str] = so.mapped_column(sa.String(1000), default="")
    by_date: so.Mapped[date | None] = so.mapped_column(sa.Date)
    skill_ids: so.Mapped[list] = so.mapped_column(sa.JSON, default=list)
    done: so.Mapped[bool] = so.mapped_column(sa.Boolean, default=False)
    created_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class Reflection(db.Model):
    """A short reflection after a practice session; the teacher can read it."""

    __tablename__ = "reflection"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    prompt: so.Mapped[str] = so.mapped_column(sa.String(300))
    text: so.Mapped[str] = so.mapped_column(sa.String(4000))
    written_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)


class Evidence(db.Model):
    """Work a student submits to show a skill (a link or text), waiting for the teacher's review."""

    __tablename__ = "evidence"

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"), index=True)
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    skill_id: so.Mapped[str] = so.mapped_column(sa.String(100))
    # "project", "explanation", "recording" or "other": the way the student chose to show mastery.
    kind: so.Mapped[str] = so.mapped_column(sa.String(20))
    url: so.Mapped[str | None] = so.mapped_column(sa.String(1000))
    text: so.Mapped[str] = so.mapped_column(sa.String(4000), default="")
    # "pending", "accepted" or "returned".
    status: so.Mapped[str] = so.mapped_column(sa.String(20), default="pending")
    level_awarded: so.Mapped[str | None] = so.mapped_column(sa.String(20))
    teacher_comment: so.Mapped[str] = so.mapped_column(sa.String(2000), default="")
    reviewer_id: so.Mapped[int | None] = so.mapped_column(sa.ForeignKey("person.id", ondelete="SET NULL"))
    submitted_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    reviewed_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # An attached photo, PDF or recording: the store's opaque key (services/storage.py), the type sniffed from
    # its bytes, its size, and the name the student's device gave it (shown, never used as a path).
    file_key: so.Mapped[str | None] = so.mapped_column(sa.String(80))
    file_type: so.Mapped[str | None] = so.mapped_column(sa.String(40))
    file_size: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    file_name: so.Mapped[str | None] = so.mapped_column(sa.String(200))


class DiagnosticRun(db.Model):
    """A student's placement check: the adaptive state while it runs, and when it finished."""

    __tablename__ = "diagnostic_run"
    __table_args__ = (sa.UniqueConstraint("course_id", "person_id", name="uq_diagnostic_run"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    course_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("course.id", ondelete="CASCADE"))
    person_id: so.Mapped[int] = so.mapped_column(sa.ForeignKey("person.id", ondelete="CASCADE"))
    state: so.Mapped[dict] = so.mapped_column(sa.JSON, default=dict)
    started_at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
    finished_at: so.Mapped[datetime | None] = so.mapped_column(sa.DateTime)
    # learning/diagnostic.py CheckBaseline.to_dict(), set when the check finishes: what later evidence is compared
    # with to tell whether it contradicts the check (None while it runs, or when it was skipped).
    baseline: so.Mapped[dict | None] = so.mapped_column(sa.JSON)


class AuditEntry(db.Model):
    """Who viewed or changed which student's data, and when; ids only, no personal data."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_course_at", "course_id", "at"),)

    id: so.Mapped[int] = so.mapped_column(primary_key=True)
    platform_id: so.Mapped[int] = so.mapped_column(sa.Integer)
    course_id: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    actor_id: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    subject_id: so.Mapped[int | None] = so.mapped_column(sa.Integer)
    # e.g. "view_plan", "override", "export", "delete_student".
    action: so.Mapped[str] = so.mapped_column(sa.String(40))
    at: so.Mapped[datetime] = so.mapped_column(sa.DateTime, default=utcnow)
