"""The teacher's class view: heatmap, needs help now, flexible groups, a student's plan, CSV export."""

from __future__ import annotations

import csv
import functools
import io
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import aliased

from ..extensions import db
from ..learning.alerts import Alert, FailedReview, SkillProgress, StudentSummary, needs_help_now
from ..learning.coursepack import Unit
from ..learning.diagnostic import TEACHER
from ..learning.grouping import MAX_SIZE, mixed_groups, same_need_groups
from ..learning.local_days import local_date
from ..learning.mastery import PROFICIENT_OR_ABOVE, Level
from ..learning.pacing import DONE_LEVEL, DONE_LEVELS, PacePlan, plan_pace
from ..learning.skills import Skill
from ..learning.translations import BASE_LANGUAGE
from ..models import AuditEntry, Course, Enrollment, ItemResponse, MasteryEvent, Person
from ..models.base import id_list
from ..text import NAME_NOT_SHARED
from .content import course_content, course_pack
from .diagnostic import placed_as_known, planning_levels_by_person
from .errors import N_, NotFound
from .goals import GoalView, course_goal_views, students_own_goals
from .help import open_requests
from .mastery import english_to_page_names, require_pack, stored_reason_parts
from .plan import ClassRow, StudentPlan, class_overview, plan_for
from .time_zones import course_zone

#: Heatmap orders a teacher can choose, with the words the sort menu shows.
SORTS: dict[str, str] = {
    "name": N_("Name (A to Z)"),
    "fewest": N_("Fewest skills at Proficient or above first"),
    "most": N_("Most skills at Proficient or above first"),
    "skill-low": N_("Level on the chosen skill, lowest first"),
    "skill-high": N_("Level on the chosen skill, highest first"),
}

GROUP_KINDS: dict[str, str] = {
    "same-need": N_("Same need (similar levels, for reteaching)"),
    "mixed": N_("Mixed levels (for projects)"),
}

#: Spreadsheets run a cell starting with these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Heatmap:
    """The class heatmap after the teacher's sort and filters, with the choices the form offers."""

    skills: list[Skill]
    rows: list[ClassRow]
    #: Every active student by name, whatever the filters, for the override form.
    students: list[ClassRow]
    all_skills: list[Skill]
    units: list[Unit]
    sort: str
    unit: str
    skill: str
    below: str
    #: Per student (person id): the skills their placement check stands in for, above the level they hold (their
    #: plan counts each as known and offers a short practice to confirm it, as the groups and their page say).
    placed: Mapping[int, frozenset[str]] = field(default_factory=dict)

    @property
    def sorts(self) -> dict[str, str]:
        """Return the orders the sort menu offers."""
        return SORTS

    @property
    def summary(self) -> list[list[tuple[Level, int]]]:
        """Return, for each skill shown, how many of the students shown are at each level, highest level first."""
        # One pass over each row's levels (often fewer than the skills), not one per skill over every row.
        column = {skill.id: i for i, skill in enumerate(self.skills)}
        tallies: list[dict[Level, int]] = [defaultdict(int) for _ in self.skills]
        for row in self.rows:
            for skill_id, level in row.levels.items():
                i = column.get(skill_id)
                if i is not None:
                    tallies[i][level] += 1
        counts = []
        for tally in tallies:
            tally[Level.NOT_STARTED] += len(self.rows) - sum(tally.values())  # no level yet reads Not started
            counts.append([(level, tally[level]) for level in reversed(Level) if tally[level]])
        return counts


def heatmap(course_id: int, platform_id: int, *, sort: str = "name", unit: str = "", skill: str = "",
            below: str = "", language: str = BASE_LANGUAGE) -> Heatmap:
    """Return the class heatmap sorted and filtered; unknown choices fall back to showing everything.

    Skills and units are named in `language` (the teacher's page's), the pack's translations where it has them.
    """
    pack = require_pack(course_id, language)
    all_skills, students = class_overview(course_id, platform_id, language)
    units = list(pack.units)
    chosen_unit = next((u for u in units if u.id == unit), None)
    shown = [s for s in all_skills if chosen_unit is None or s.id in chosen_unit.skills]
    skill = skill if any(s.id == skill for s in all_skills) else ""
    below_level = next((lv for lv in Level if lv.value == below and lv is not Level.NOT_STARTED), None)
    sort = sort if sort in SORTS and (skill or not sort.startswith("skill")) else "name"

    def level(row: ClassRow, skill_id: str) -> Level:
        return row.levels.get(skill_id, Level.NOT_STARTED)

    shown_ids = {s.id for s in shown}

    def proficient(row: ClassRow) -> int:
        return sum(1 for sid, lv in row.levels.items() if lv in PROFICIENT_OR_ABOVE and sid in shown_ids)

    # A row is rebuilt only when its count of skills shown differs from the overview's (a unit is chosen).
    rows = [r if (n := proficient(r)) == r.proficient else replace(r, proficient=n) for r in students]
    if below_level is not None:
        # With a chosen skill the filter reads "below X on that skill"; without one, "below X on any skill shown".
        checked = [skill] if skill else [s.id for s in shown]
        rows = [r for r in rows if any(level(r, sid).rank < below_level.rank for sid in checked)]
    rows.sort(key=lambda r: (r.name.casefold(), r.person_id))
    if sort == "fewest":
        rows.sort(key=lambda r: r.proficient)
    elif sort == "most":
        rows.sort(key=lambda r: -r.proficient)
    elif sort == "skill-low":
        rows.sort(key=lambda r: level(r, skill).rank)
    elif sort == "skill-high":
        rows.sort(key=lambda r: -level(r, skill).rank)
    # The skills each student's own plan counts above the level they hold (one query for the class's placement
    # checks, one more only when a check placed skills above the levels held): a cell the check stands in for says
    # so, as the student's page and the groups do, rather than a bare "Not started" beside classmates who need the
    # skill taught. Only the students whose check stands in for a skill are looked at in Python (bench Round 21b).
    placed = placed_as_known(course_id, {r.person_id: r.levels for r in students})
    return Heatmap(shown, rows, students, all_skills, units, sort, chosen_unit.id if chosen_unit else "", skill,
                   below_level.value if below_level else "", placed)


def _csv_cell(value: object) -> str:
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def class_csv(course_id: int, platform_id: int, *, actor_id: int, now: datetime) -> str:
    """Return the class table as CSV (one row per student), safe to open in a spreadsheet; the export is audited."""
    skills, rows = class_overview(course_id, platform_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_csv_cell(v) for v in ["Student", *(s.name for s in skills), "Proficient or above"]])
    for row in rows:
        levels = [row.levels.get(s.id, Level.NOT_STARTED).value for s in skills]
        # A file others read by machine: English throughout, like its header and level words.
        name = row.name or NAME_NOT_SHARED
        writer.writerow([_csv_cell(v) for v in [name, *levels, f"{row.proficient} of {len(skills)}"]])
    _audit(platform_id, course_id, actor_id, None, "export_class_csv", now)
    db.session.commit()
    return out.getvalue()


@dataclass(frozen=True)
class HelpEntry:
    """A student who needs help now, with every reason, most urgent first."""

    person_id: int
    name: str
    alerts: tuple[Alert, ...]
    #: The student's open "ask my teacher" requests the page shows, each (id, asked_at): "Mark as helped" closes these,
    #: not one sent since nor one asked again after that time.
    help_requests: tuple[tuple[int, datetime], ...] = ()


def needs_help_count(course_id: int, platform_id: int, *, now: datetime) -> int:
    """Return how many students need help now (none before the course has content)."""
    if course_pack(course_id) is None:
        return 0
    return len(needs_help(course_id, platform_id, now=now))


def needs_help(course_id: int, platform_id: int, *, now: datetime, language: str = BASE_LANGUAGE) -> list[HelpEntry]:
    """Return the students who need help now: stuck, a failed review, behind pace or inactive, each with why.

    The reasons name skills in `language` (the teacher's page's), as the student's own pages name them.
    """
    pack = require_pack(course_id, language)
    skills, rows = class_overview(course_id, platform_id)
    names = {s.id: s.name for s in pack.skills}
    # The ids themselves, not a subquery of the course's students: binding 3,000 costs about 2 ms a statement,
    # but PostgreSQL without fresh statistics (a class just synced) planned the subquery as nested loops and took
    # minutes.
    ids = [r.person_id for r in rows]
    if not ids:
        return []
    tries, first_answer, last_answer = _answers_since_rise(course_id, ids)
    events = _level_changes(course_id, ids)
    requests = open_requests(course_id, ids, now=now)
    # The launch read both rows already (services/launches.open_launch): no query here on a page.
    content = course_content(course_id)
    ends_on = content.ends_on if content is not None else None
    course = db.session.get(Course, course_id)
    started = course.created_at if course is not None else None
    # Days ("asked yesterday", pace targets) are counted in the course's time zone, not UTC.
    zone = course_zone(course_id)
    order = [s.id for s in skills]
    # Each stored level's rank, as Level.stored() reads it (an unknown or missing name is Not started, rank 0):
    # two lookups per level change of the class instead of two calls.
    rank_of = {level.value: level.rank for level in Level}

    def summaries() -> Iterator[StudentSummary]:
        # One at a time: a class's summaries all kept until the end were thousands of objects for the
        # garbage collector to walk, for a page that shows only how many students need help.
        for row in rows:
            history = events.get(row.person_id, [])
            failed = []
            for event in history:
                old, new = rank_of.get(event.old_level, 0), rank_of.get(event.new_level, 0)
                if event.source == "review" and new < old:
                    name = names.get(event.skill_id, event.skill_id)
                    failed.append(FailedReview(event.skill_id, name, event.at, Level.stored(event.new_level)))
            # Only the skills tried since their level last rose: a skill with no such try cannot be "stuck", the
            # one thing the alerts read these for (it was one object per skill with a level, for every student).
            progress = [SkillProgress(sid, names[sid], row.levels.get(sid, Level.NOT_STARTED), count)
                        for sid, count in tries.get(row.person_id, {}).items() if sid in names]
            last = last_answer.get(row.person_id)
            moments = ([last] if last else []) + ([row.last_launch_at] if row.last_launch_at else [])
            pace = None
            if ends_on is not None and started is not None:
                pace = _pace(order, row.levels, history, first_answer.get(row.person_id), course_start=started,
                             course_end=ends_on, now=now, zone=zone)
            asked = tuple((r.skill_id, names.get(r.skill_id, r.skill_id), r.asked_at)
                          for r in requests.get(row.person_id, []))
            yield StudentSummary(str(row.person_id), row.name, last_active=max(moments, default=None),
                                 skills=tuple(progress), failed_reviews=tuple(failed), pace=pace, asked=asked)

    return [HelpEntry(int(entry.student_id), entry.name, entry.alerts,
                      tuple(sorted((r.id, r.asked_at) for r in requests.get(int(entry.student_id), []))))
            for entry in needs_help_now(summaries(), now, zone=zone)]


def _pace(order: Sequence[str], levels: Mapping[str, Level], history: Sequence[sa.Row], first: datetime | None, *,
          course_start: datetime, course_end, now: datetime, zone: tzinfo) -> PacePlan | None:
    # Done at Proficient or above, dated by the latest rise to it, as the student's own pace (services/pacing.py):
    # the same skills, a skill done with no recorded rise (data from before events were kept) counted from today,
    # and the pace started at the first answer or the first level change (a teacher's level), whichever came first.
    reached: dict[str, datetime] = {}
    for event in history:
        if event.new_level in DONE_LEVELS and event.old_level not in DONE_LEVELS:
            reached[event.skill_id] = event.at
    done = DONE_LEVEL.rank
    today = local_date(now, zone)
    mastered_on = [local_date(reached[sid], zone) if sid in reached else today for sid in order
                   if levels.get(sid, Level.NOT_STARTED).rank >= done]
    remaining = [sid for sid in order if levels.get(sid, Level.NOT_STARTED).rank < done]
    started = min((d for d in (first, history[0].at if history else None) if d is not None), default=None)
    try:
        return plan_pace(remaining, mastered_on, course_start=local_date(course_start, zone), course_end=course_end,
                         today=today, started_on=local_date(started, zone) if started else None)
    except ValueError:
        return None  # an end date on or before the course's start says nothing about pace


def _answers_since_rise(course_id: int, person_ids: list[int]
                        ) -> tuple[dict[int, dict[str, int]], dict[int, datetime], dict[int, datetime]]:
    """Return, per student, their answers on each skill since its level last rose or a teacher set it (all of
    them if neither happened), and their first and last answer's times: what "Needs help now" reads of a class's
    answers.

    Counted in SQL, one statement (`_since_rise_query`): reading every answer of the class (person, skills, time)
    into Python made the page grow with the class's history, months of it; this returns a row per student and
    skill they answered, and one per student.
    """
    tries: dict[int, dict[str, int]] = defaultdict(dict)
    first: dict[int, datetime] = {}
    last: dict[int, datetime] = {}
    query = _since_rise_query(db.session.get_bind().dialect.name)
    found = db.session.execute(query, {"course_id": course_id, "ids": [int(i) for i in person_ids]})
    for person_id, skill_id, count, first_at, last_at in found:
        if skill_id is not None:
            if count:  # a skill's whole groups and its straddling groups come as two rows
                tries[person_id][skill_id] = tries[person_id].get(skill_id, 0) + count
        elif first_at is not None:
            first[person_id], last[person_id] = first_at, last_at
    return tries, first, last


@functools.cache
def _since_rise_query(dialect: str) -> sa.CompoundSelect:
    """Build, once per database kind, the statement `_answers_since_rise` runs (building it was most of its time).

    The students' ids are written into the statement as numbers (models.base.id_list), not bound one each. The
    answer that raised a level shares its time with the level change, so it is not "since". A rise is a change
    to a higher level (Level.stored's rank: an unknown name is Not started), as "Needs help now" ranks the level
    changes it reads in Python (`_level_changes`), or any level a teacher set.
    """
    course_id = sa.bindparam("course_id", type_=sa.Integer)
    ids = sa.bindparam("ids", type_=sa.Integer, expanding=True, literal_execute=True)
    rank = {level.value: level.rank for level in Level}
    rises = (
        sa.select(MasteryEvent.person_id, MasteryEvent.skill_id, sa.func.max(MasteryEvent.at).label("rose"))
        .where(MasteryEvent.course_id == course_id, MasteryEvent.person_id.in_(ids),
               sa.or_(sa.case(rank, value=MasteryEvent.new_level, else_=0) > sa.case(rank, value=MasteryEvent.old_level,
                                                                                       else_=0),
                      # A level the teacher set, even a lower one, is where the count starts again: the answers
                      # before it are what the teacher judged, not tries at the level they chose.
                      MasteryEvent.source == "override"))
        .group_by(MasteryEvent.person_id, MasteryEvent.skill_id)
        .subquery()
    )
    # One pass over the class's answers, grouped by student and skill list as text (a few dozen lists, one an
    # item, about): no JSON decoded per answer. Only the groups' lists are decoded, into their skills.
    skills_text = sa.cast(ItemResponse.skill_ids, sa.Text)
    groups = (
        sa.select(ItemResponse.person_id, skills_text.label("skills"), sa.func.count().label("answers"),
                  sa.func.min(ItemResponse.answered_at).label("first"),
                  sa.func.max(ItemResponse.answered_at).label("last"))
        .where(ItemResponse.course_id == course_id, ItemResponse.person_id.in_(ids))
        .group_by(ItemResponse.person_id, skills_text)
        .cte("answer_groups")
    )
    skill = _skills_of(groups.c.skills, dialect)
    # A group all after the skill's last rise (or with no rise) counts whole, one all before it not at all ...
    rose = rises.c.rose
    whole = sa.case((sa.or_(rose.is_(None), groups.c.first > rose), groups.c.answers), else_=0)
    since = (
        sa.select(groups.c.person_id, skill.c.value, sa.func.sum(whole), sa.cast(sa.null(), sa.DateTime),
                  sa.cast(sa.null(), sa.DateTime))
        .select_from(groups)
        .join(skill, sa.true())
        .outerjoin(rises, sa.and_(rises.c.person_id == groups.c.person_id, rises.c.skill_id == skill.c.value))
        .group_by(groups.c.person_id, skill.c.value)
    )
    # ... and a group on both sides of its skill's rise has its later answers counted, in the index's range
    # after the rise. Those groups are found from the rises, not from every group's skills: PostgreSQL takes a
    # list's skills for a hundred rows, costed a count per row of that and set its JIT compiler to work (some
    # 300 ms, for a statement that runs in 35).
    later = aliased(ItemResponse)
    after_rise = (
        sa.select(sa.func.count())
        .where(later.course_id == course_id, later.person_id == groups.c.person_id, later.answered_at > rose,
               sa.cast(later.skill_ids, sa.Text) == groups.c.skills)
        .scalar_subquery()
    )
    straddling = (
        sa.select(groups.c.person_id, rises.c.skill_id, sa.func.sum(after_rise), sa.cast(sa.null(), sa.DateTime),
                  sa.cast(sa.null(), sa.DateTime))
        .select_from(groups)
        .join(rises, sa.and_(rises.c.person_id == groups.c.person_id, groups.c.first <= rose, groups.c.last > rose,
                             _lists(groups.c.skills, rises.c.skill_id, dialect)))
        .group_by(groups.c.person_id, rises.c.skill_id)
    )
    # Each student's first and last answer, from the same groups (the one pass over the answers).
    span = (
        sa.select(groups.c.person_id, sa.cast(sa.null(), sa.String), sa.cast(sa.null(), sa.Integer),
                  sa.func.min(groups.c.first), sa.func.max(groups.c.last))
        .group_by(groups.c.person_id)
    )
    # The span first: a compound statement's columns take the first statement's types (datetimes here).
    return sa.union_all(span, since, straddling)


def _lists(skill_ids: sa.ColumnElement, skill_id: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """Return whether a JSON list of skills (as text) holds the skill, as each database says it."""
    if dialect == "postgresql":
        return sa.cast(skill_ids, postgresql.JSONB).op("?")(skill_id)
    listed = _skills_of(skill_ids, dialect)
    return sa.exists(sa.select(listed.c.value).where(listed.c.value == skill_id))


def _skills_of(skill_ids: sa.ColumnElement, dialect: str) -> sa.TableValuedAlias:
    """Return the skills of a JSON list (as text) as a table of one column, `value` (text), to join with it.

    The two databases Pathways runs on name this differently; anything but a list (none is written) has no skills.
    """
    if dialect == "postgresql":
        skill_ids = sa.cast(skill_ids, sa.JSON)
        listed = sa.case((sa.func.json_typeof(skill_ids) == "array", skill_ids),
                         else_=sa.cast(sa.literal("[]", sa.Text), sa.JSON))
        return sa.func.json_array_elements_text(listed).table_valued("value")
    listed = sa.case((sa.func.json_type(skill_ids) == "array", skill_ids), else_=sa.literal("[]", sa.Text))
    return sa.func.json_each(listed).table_valued("value")


def _level_changes(course_id: int, person_ids: list[int]) -> dict[int, list[sa.Row]]:
    """Return each student's level changes, oldest first: only the columns "Needs help now" reads.

    Rows, not MasteryEvent objects: a class of 3,000 has tens of thousands of events, and building whole
    events (and collecting them afterwards) was most of the class page's time.
    """
    found: dict[int, list[sa.Row]] = defaultdict(list)
    query = (sa.select(MasteryEvent.person_id, MasteryEvent.skill_id, MasteryEvent.old_level, MasteryEvent.new_level,
                       MasteryEvent.source, MasteryEvent.at)
             .where(MasteryEvent.course_id == course_id, MasteryEvent.person_id.in_(id_list(person_ids)))
             .order_by(MasteryEvent.at, MasteryEvent.id))
    for change in db.session.execute(query):
        found[change.person_id].append(change)
    return found


def _events(course_id: int, person_ids: Iterable[int]) -> dict[int, list[MasteryEvent]]:
    found: dict[int, list[MasteryEvent]] = defaultdict(list)
    query = (sa.select(MasteryEvent)
             .where(MasteryEvent.course_id == course_id, MasteryEvent.person_id.in_(id_list(person_ids)))
             .order_by(MasteryEvent.at, MasteryEvent.id))
    for event in db.session.scalars(query):
        found[event.person_id].append(event)
    return found



@dataclass(frozen=True)
class GroupMember:
    """A student in a group, with their levels on the skills the groups are about."""

    person_id: int
    name: str
    levels: tuple[Level, ...]
    #: Per skill: the placement check stands in for the level (the student's plan counts the skill as known and
    #: offers only a short practice to confirm it), so the groups placed them as ready on it.
    placed: tuple[bool, ...] = ()


@dataclass(frozen=True)
class GroupView:
    """One group as the teacher sees it: number, members and why."""

    number: int
    reason: str
    members: tuple[GroupMember, ...]
    #: The reason as translatable fragments (the suggested groups'; a teacher's arrangement is described in English).
    reason_parts: tuple = ()


@dataclass(frozen=True)
class Grouping:
    """Suggested (or teacher-arranged) groups for the next lesson, and the choices that made them."""

    kind: str
    skills: list[Skill]
    all_skills: list[Skill]
    groups: list[GroupView]


def suggest_groups(course_id: int, platform_id: int, *, skill_ids: Sequence[str], kind: str,
                   language: str = BASE_LANGUAGE) -> Grouping:
    """Suggest groups of 3-5 for the next lesson from readiness on the chosen skills, each with a reason.

    Skills are named in `language` (the teacher's page's), the pack's translations where it has them.
    """
    all_skills, rows = class_overview(course_id, platform_id, language)
    chosen = _chosen_skills(all_skills, rows, skill_ids)
    kind = kind if kind in GROUP_KINDS else "same-need"
    # Grouped by the levels each student's own plan goes by, as the class skill map counts readiness: a skill their
    # placement check found known counts as shown until their work contradicts it (not "introduce it" to a student
    # whose plan offers only a short practice to confirm it).
    planning = planning_levels_by_person(course_id, {r.person_id: r.levels for r in rows})
    levels = {str(r.person_id): planning[r.person_id] for r in rows}
    names = {s.id: s.name for s in all_skills}
    by_id = {r.person_id: r for r in rows}
    if kind == "mixed":
        made = mixed_groups(levels, [s.id for s in chosen], skill_names=names)
    else:
        # The skills where only the placement check stands in for a level (the members' badges say so): the
        # group's reason words those as the check's suggestion, not as a level the student holds.
        placed = {str(r.person_id): {s.id for s in chosen if planning[r.person_id].get(s.id, Level.NOT_STARTED).rank
                                     > r.levels.get(s.id, Level.NOT_STARTED).rank} for r in rows}
        made = same_need_groups(levels, [s.id for s in chosen], skill_names=names, placed=placed)
    groups = [
        GroupView(g.number, g.reason,
                  tuple(_member(by_id[int(pid)], chosen, planning[int(pid)]) for pid in g.student_ids), g.reason_parts)
        for g in made
    ] if rows else []
    return Grouping(kind, chosen, all_skills, groups)


def arrange_groups(course_id: int, platform_id: int, *, skill_ids: Sequence[str], kind: str,
                   placement: Mapping[int, int]) -> Grouping:
    """Return the teacher's own arrangement (student -> group number) as printable groups; nothing is stored."""
    all_skills, rows = class_overview(course_id, platform_id)
    chosen = _chosen_skills(all_skills, rows, skill_ids)
    members: dict[int, list[GroupMember]] = defaultdict(list)
    for row in rows:
        number = placement.get(row.person_id)
        # Only students of this course, and only sensible group numbers; anyone else in the form is ignored.
        if number is not None and 1 <= number <= len(rows):
            members[number].append(_member(row, chosen))
    groups = [
        GroupView(index, _describe(group, chosen), tuple(sorted(group, key=lambda m: m.name.casefold())))
        for index, (_, group) in enumerate(sorted(members.items()), start=1)
    ]
    return Grouping(kind if kind in GROUP_KINDS else "same-need", chosen, all_skills, groups)


def _chosen_skills(all_skills: list[Skill], rows: list[ClassRow], skill_ids: Sequence[str]) -> list[Skill]:
    wanted = set(skill_ids)
    chosen = [s for s in all_skills if s.id in wanted]
    if chosen or not all_skills:
        return chosen[:MAX_SIZE]
    # Next lesson's default: the first skill on the map that someone has not yet shown (Proficient or above).
    for skill in all_skills:
        if any(r.levels.get(skill.id, Level.NOT_STARTED).rank < Level.PROFICIENT.rank for r in rows):
            return [skill]
    return [all_skills[0]]


def _member(row: ClassRow, skills: Sequence[Skill], planning: Mapping[str, Level] | None = None) -> GroupMember:
    """The student's own levels (the table's); `planning` marks the skills their placement check stands in for."""
    own = tuple(row.levels.get(s.id, Level.NOT_STARTED) for s in skills)
    if planning is None:
        return GroupMember(row.person_id, row.name, own)
    placed = tuple(planning.get(skill.id, Level.NOT_STARTED).rank > level.rank
                   for skill, level in zip(skills, own, strict=True))
    return GroupMember(row.person_id, row.name, own, placed)


def _describe(members: Sequence[GroupMember], skills: Sequence[Skill]) -> str:
    parts = []
    for index, skill in enumerate(skills):
        counts: dict[Level, int] = defaultdict(int)
        for member in members:
            counts[member.levels[index]] += 1
        spread = ", ".join(f"{counts[lv]} {lv.value}" for lv in reversed(Level) if lv in counts)
        parts.append(f"{skill.name}: {spread}")
    return "Arranged by the teacher. " + "; ".join(parts) + "." if parts else "Arranged by the teacher."


@dataclass(frozen=True)
class HistoryEntry:
    """One change of level in a student's mastery history."""

    at: datetime
    skill_name: str
    old_level: Level
    new_level: Level
    source: str
    reason: str
    #: The reason's fragments, for a page in another language (`reason_text`); () when written by a person.
    reason_parts: tuple = ()


@dataclass(frozen=True)
class StudentDetail:
    """A student's page for the teacher: the plan as the student sees it, history and effort."""

    person_id: int
    name: str
    plan: StudentPlan
    history: list[HistoryEntry]
    responses: int
    correct: int
    #: The goals the student set for themselves.
    own_goals: tuple[GoalView, ...] = ()
    #: The course's goals (the teacher's, every student's): the plan's steps name them "your teacher's goal".
    course_goals: tuple[GoalView, ...] = ()


def student_detail(course_id: int, platform_id: int, person_id: int, *, actor_id: int, now: datetime,
                   language: str = BASE_LANGUAGE) -> StudentDetail:
    """Return one student's plan, levels with reasons and history for their teacher; the view is audited.

    The pack's texts (skill names, activity titles) are in `language`, the teacher's page's.
    """
    person = require_student(course_id, platform_id, person_id)
    # The reasons as the teacher reads them (about the student), naming skills in the page's language.
    plan = plan_for(course_id, person.id, now=now, language=language, audience=TEACHER)
    names = {v.skill_id: v.name for v in plan.skills}
    # Stored reasons name skills in English: a placement's is rewritten with the page's names.
    renamed: dict[str, str] = {}
    if language != BASE_LANGUAGE and (pack := course_pack(course_id, language)) is not None:
        renamed = english_to_page_names(course_id, pack)
    history = [
        HistoryEntry(e.at, names.get(e.skill_id, e.skill_id), Level.stored(e.old_level), Level.stored(e.new_level),
                     e.source, e.reason, stored_reason_parts(e.reason or "", e.source, TEACHER, renamed))
        for e in reversed(_events(course_id, [person.id]).get(person.id, []))
    ]
    total, correct = db.session.execute(
        sa.select(sa.func.count(ItemResponse.id), sa.func.count(ItemResponse.id).filter(ItemResponse.correct))
        .where(ItemResponse.course_id == course_id, ItemResponse.person_id == person.id)
    ).one()
    own_goals = students_own_goals(course_id, person.id, now=now, language=language)
    course_goals = course_goal_views(course_id, language=language)
    _audit(platform_id, course_id, actor_id, person.id, "view_student", now)
    db.session.commit()
    return StudentDetail(person.id, person.name or "", plan, history, total or 0, correct or 0, own_goals,
                         course_goals)


def require_student(course_id: int, platform_id: int, person_id: int) -> Person:
    """Return an active student of the course on the launch's platform, or refuse with 404."""
    person = db.session.scalars(
        sa.select(Person)
        .join(Enrollment, Enrollment.person_id == Person.id)
        .where(Person.id == person_id, Person.platform_id == platform_id, Enrollment.course_id == course_id,
               Enrollment.role == "student", Enrollment.active.is_(True))
    ).first()
    if person is None:
        raise NotFound(N_("There is no such student in this course."))
    return person


def _audit(platform_id: int, course_id: int, actor_id: int, subject_id: int | None, action: str,
           now: datetime) -> None:
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor_id,
                              subject_id=subject_id, action=action, at=now))
