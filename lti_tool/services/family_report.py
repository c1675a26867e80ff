"""Family reports: a student's progress written for their family, the teacher's comment on it, and print-all.

The levels are the class view's (services.plan.class_overview / mastery.levels_by_person), so a report never
tells a family something the teacher's heatmap does not. What comes next is read from those levels and the skill
map (what the child is practising, then what they are ready to start, by the plan's own rule of readiness), not
from the student's plan and its reasons: those are written to the student. Print-all reads the whole class in a
fixed number of statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa

from ..extensions import db
from ..learning.coursepack import CoursePack
from ..learning.mastery import Level
from ..models import AuditEntry, LaunchSession, ReportComment
from ..models.base import upsert
from .classroom import require_student
from .diagnostic import planning_levels_by_person
from .errors import N_, NotFound, ServiceError
from .mastery import levels_by_person, lock_learner_row, require_pack
from .permissions import Action, Actor, require
from .plan import class_overview

#: The longest comment a teacher can write on a report (the column's size).
COMMENT_LIMIT = 2000
#: How many skills "coming up next" names: enough to talk about at home, few enough to remember.
UP_NEXT = 3


@dataclass(frozen=True)
class SkillLine:
    """A skill in a family report: its name from the course pack and the student's level (the class view's)."""

    name: str
    level: Level


@dataclass(frozen=True)
class GoalLine:
    """A course goal in a family report: how many of its skills the child can do on their own."""

    title: str
    description: str
    due: date | None
    shown: int
    skills: tuple[SkillLine, ...]


@dataclass(frozen=True)
class FamilyReport:
    """One student's progress report, in plain words for their family, with the teacher's comment."""

    person_id: int
    #: The student's name from the LMS, or "" when it did not share one: the template writes that in the report's
    #: own language (the `person_name` filter under force_locale), which a placeholder filled in here could not be.
    name: str
    course_title: str
    total: int
    mastered: list[str]
    proficient: list[str]
    working_on: list[SkillLine]
    up_next: list[str]
    goals: list[GoalLine]
    comment: str
    #: The student's language from their last launch (a BCP 47 tag as the LMS sent it), or None if unknown.
    launch_locale: str | None
    #: The language the report is written in (skill names, goals and course title come from the pack in it).
    language: str

    @property
    def shown(self) -> int:
        """Return how many skills the child can do on their own (Proficient or Mastered)."""
        return len(self.mastered) + len(self.proficient)


#: Picks a report's language from the student's launch locale (None if unknown): the teacher's choice, else theirs.
LanguageChoice = Callable[[str | None], str]


def family_report(course_id: int, platform_id: int, person_id: int, *, actor: Actor, now: datetime,
                  language_for: LanguageChoice) -> FamilyReport:
    """Return one student's family report in the language `language_for` picks; the view is audited."""
    require(actor, Action.VIEW_CLASS)
    person = require_student(course_id, platform_id, person_id)
    require_pack(course_id)
    levels = levels_by_person(course_id, [person.id])[person.id]
    planning = planning_levels_by_person(course_id, {person.id: levels})[person.id]
    comments = _comments(course_id, [person.id])
    locale = _launch_locales(course_id, [person.id]).get(person.id)
    language = language_for(locale)
    pack = require_pack(course_id, language)
    _audit(platform_id, course_id, actor.person_id, [person.id], now)
    db.session.commit()
    return _report(pack, person.id, person.name or "", levels, comments.get(person.id, ""), locale,
                   language, planning)


def class_family_reports(course_id: int, platform_id: int, *, actor: Actor, now: datetime,
                         language_for: LanguageChoice) -> list[FamilyReport]:
    """Return every active student's family report, by name; each view is audited. Statements stay flat in size."""
    require(actor, Action.VIEW_CLASS)
    require_pack(course_id)
    _, rows = class_overview(course_id, platform_id)
    ids = [row.person_id for row in rows]
    planning = planning_levels_by_person(course_id, {row.person_id: row.levels for row in rows})
    comments = _comments(course_id, ids)
    locales = _launch_locales(course_id, ids)
    languages = {pid: language_for(locales.get(pid)) for pid in ids}
    # One translated pack per language in the class (the per-process cache holds them), read before the commit
    # below expires the course's content row.
    packs = {language: require_pack(course_id, language) for language in set(languages.values())}
    _audit(platform_id, course_id, actor.person_id, ids, now)
    db.session.commit()
    return [_report(packs[languages[row.person_id]], row.person_id, row.name, row.levels,
                    comments.get(row.person_id, ""), locales.get(row.person_id), languages[row.person_id],
                    planning[row.person_id])
            for row in rows]


def save_report_comment(course_id: int, platform_id: int, person_id: int, text: str, *, actor: Actor,
                        now: datetime) -> None:
    """Keep the teacher's comment for the student's family report; an empty comment removes it."""
    # Writing to a family about a child's progress is a teaching judgement, like reviewing evidence with a
    # comment: the roles that assess may, a content developer (who builds the course) may not.
    require(actor, Action.ASSESS)
    person = require_student(course_id, platform_id, person_id)
    text = text.replace("\r\n", "\n").strip()
    if len(text) > COMMENT_LIMIT:
        raise ServiceError(N_("Keep the comment to %(limit)d characters or fewer."), limit=COMMENT_LIMIT)
    # The student's lock first: a teacher deleting the student's data meanwhile either finishes first (then this
    # is refused) or waits for this to commit and deletes the comment too, never leaving one for a child whose
    # data is gone.
    try:
        lock_learner_row(course_id, person.id, now)
    except NotFound:
        db.session.rollback()
        raise NotFound("There is no such student in this course.") from None
    if not text:
        db.session.execute(sa.delete(ReportComment).where(ReportComment.course_id == course_id,
                                                          ReportComment.person_id == person.id))
    else:
        # Written whether or not the comment exists: two saves at once (a double click, two teachers) both
        # succeed, the later one's text kept, instead of the second failing on the row the first created.
        upsert(ReportComment, [{"course_id": course_id, "person_id": person.id, "text": text,
                                "author_id": actor.person_id, "updated_at": now}],
               ("course_id", "person_id"), ("text", "author_id", "updated_at"))
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor.person_id,
                              subject_id=person.id, action="comment_report", at=now))
    db.session.commit()


def _report(pack: CoursePack, person_id: int, name: str, levels: Mapping[str, Level], comment: str,
            launch_locale: str | None, language: str, planning: Mapping[str, Level]) -> FamilyReport:
    graph = pack.skill_graph
    names = {s.id: s.name for s in pack.skills}
    order = graph.topological_order()

    def level(skill_id: str) -> Level:
        return levels.get(skill_id, Level.NOT_STARTED)

    def can_do(skill_id: str) -> bool:
        return level(skill_id).rank >= Level.PROFICIENT.rank

    # Ready to start: not begun, and everything it builds on is ready as the child's own plan counts it (what they
    # can do, or what their placement check found they know and their practice has not contradicted since), so
    # the report and the plan agree on what comes next (`services.diagnostic.planning_levels_by_person`).
    ready_rank = Level.PROFICIENT.rank
    ready = [sid for sid in order if level(sid) is Level.NOT_STARTED
             and all(planning.get(p, Level.NOT_STARTED).rank >= ready_rank for p in graph.prerequisites_of(sid))]
    goals = []
    for goal in pack.goals:
        skills = tuple(SkillLine(names.get(sid, sid), level(sid)) for sid in goal.skills)
        goals.append(GoalLine(goal.title, goal.description, _day(goal.due), sum(1 for s in goal.skills if can_do(s)),
                              skills))
    return FamilyReport(
        person_id=person_id,
        name=name,
        course_title=pack.course.title,
        total=len(order),
        mastered=[names[sid] for sid in order if level(sid) is Level.MASTERED],
        proficient=[names[sid] for sid in order if level(sid) is Level.PROFICIENT],
        working_on=[SkillLine(names[sid], level(sid)) for sid in order
                    if Level.NOT_STARTED.rank < level(sid).rank < Level.PROFICIENT.rank],
        up_next=[names[sid] for sid in ready[:UP_NEXT]],
        goals=goals,
        comment=comment,
        launch_locale=launch_locale,
        language=language,
    )


def _day(text: str | None) -> date | None:
    """Return a goal's due date (the pack keeps YYYY-MM-DD), so the report can write it in the family's language."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _comments(course_id: int, person_ids: list[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return dict(db.session.execute(sa.select(ReportComment.person_id, ReportComment.text).where(
        ReportComment.course_id == course_id, ReportComment.person_id.in_(person_ids))).all())


def _launch_locales(course_id: int, person_ids: list[int]) -> dict[int, str]:
    """Return each student's language from their latest launch into this course that carried one."""
    if not person_ids:
        return {}
    found: dict[int, str] = {}
    query = (sa.select(LaunchSession.person_id, LaunchSession.details)
             .where(LaunchSession.course_id == course_id, LaunchSession.person_id.in_(person_ids),
                    LaunchSession.access == "student")
             .order_by(LaunchSession.created_at))
    for person_id, details in db.session.execute(query):
        locale = (details or {}).get("locale")
        if isinstance(locale, str) and locale:
            found[person_id] = locale  # later launches overwrite earlier ones
    return found


def _audit(platform_id: int, course_id: int, actor_id: int, person_ids: Iterable[int], now: datetime) -> None:
    rows = [dict(platform_id=platform_id, course_id=course_id, actor_id=actor_id, subject_id=pid,
                 action="view_report", at=now) for pid in person_ids]
    if rows:
        # One multi-row INSERT, so printing a class of 40 costs what printing one student does.
        db.session.execute(sa.insert(AuditEntry), rows)
