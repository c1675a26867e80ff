"""Student agency in the learning plan: the student's reflections, and the class's for the teacher (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import AuditEntry, Person, Reflection
from .errors import N_, ServiceError
from .mastery import lock_learner_row, require_pack

REFLECTION_PROMPTS = (N_("What was hard?"), N_("What will you try next?"))
#: How a reflection's prompt is kept when it was written about a skill (read back by `reflection_prompt_parts`).
AFTER_PRACTISING = N_("%(prompt)s (after practising %(skill)s)")


@dataclass(frozen=True)
class ReflectionView:
    """One reflection: who wrote it (for the teacher), the prompt, and the answer."""

    id: int
    person_id: int
    name: str
    prompt: str
    text: str
    written_at: datetime


def write_reflection(course_id: int, person_id: int, answers: Mapping[str, str], *, skill_id: str = "",
                     now: datetime) -> int:
    """Keep the student's answers to the reflection prompts (one row per answered prompt); return how many."""
    pack = require_pack(course_id)
    skill_name = pack.skill_graph[skill_id].name if skill_id and skill_id in pack.skill_graph else ""
    rows: list[Reflection] = []
    for number, prompt in enumerate(REFLECTION_PROMPTS):
        text = (answers.get(prompt) or "").strip()
        if not text:
            continue
        if len(text) > 4000:  # the form names its fields answer_0, answer_1 … in the prompts' order
            raise ServiceError(N_("Keep each answer to 4000 characters."), form_field=f"answer_{number}")
        shown = AFTER_PRACTISING % {"prompt": prompt, "skill": skill_name} if skill_name else prompt
        rows.append(Reflection(course_id=course_id, person_id=person_id, prompt=shown[:300], text=text,
                               written_at=now))
    if not rows:
        raise ServiceError(N_("Write something for at least one of the questions."), form_field="answer_0")
    lock_learner_row(course_id, person_id, now)  # a delete of the learner's data sees these rows or refuses them
    if _kept_just_now(course_id, person_id, rows, now):
        db.session.commit()
        return len(rows)
    db.session.add_all(rows)
    db.session.commit()
    return len(rows)


#: How long after a reflection the same answers count as the same post sent again (a double click, a reload).
REPEAT_WINDOW = timedelta(minutes=10)


def _kept_just_now(course_id: int, person_id: int, rows: list[Reflection], now: datetime) -> bool:
    """Tell whether every answer was kept a moment ago: read under the learner's lock, so a double click's second
    post finds the first's rows and the teacher does not read each answer twice."""
    kept = {tuple(row) for row in db.session.execute(
        sa.select(Reflection.prompt, Reflection.text).where(
            Reflection.course_id == course_id, Reflection.person_id == person_id,
            Reflection.written_at >= now - REPEAT_WINDOW)
    )}
    return all((row.prompt, row.text) in kept for row in rows)


def reflection_prompt_parts(kept: str) -> tuple[str, str] | None:
    """Return (prompt, skill name) of a kept reflection prompt ("" when about no skill), or None when it is not one
    of REFLECTION_PROMPTS (a prompt of an older wording): pages show that as kept."""
    for prompt in REFLECTION_PROMPTS:
        if kept == prompt:
            return prompt, ""
        before, _, after = AFTER_PRACTISING.partition("%(skill)s")
        start = before % {"prompt": prompt}
        if kept.startswith(start) and kept.endswith(after) and len(kept) > len(start) + len(after):
            return prompt, kept[len(start):len(kept) - len(after)]
    return None


def _reflections(query: sa.Select) -> list[ReflectionView]:
    return [
        ReflectionView(r.id, r.person_id, name or "", r.prompt, r.text, r.written_at)
        for r, name in db.session.execute(query)
    ]


def my_reflections(course_id: int, person_id: int, *, limit: int = 50) -> list[ReflectionView]:
    """Return the student's own reflections, newest first."""
    return _reflections(
        sa.select(Reflection, Person.name)
        .join(Person, Person.id == Reflection.person_id)
        .where(Reflection.course_id == course_id, Reflection.person_id == person_id)
        .order_by(Reflection.written_at.desc(), Reflection.id.desc())
        .limit(limit)
    )


def class_reflections(course_id: int, platform_id: int, *, actor_id: int, now: datetime,
                      limit: int = 300) -> list[ReflectionView]:
    """Return the class's reflections, newest first, for the course's teacher; the reading is audited."""
    views = _reflections(
        sa.select(Reflection, Person.name)
        .join(Person, Person.id == Reflection.person_id)
        .where(Reflection.course_id == course_id, Person.platform_id == platform_id)
        .order_by(Reflection.written_at.desc(), Reflection.id.desc())
        .limit(limit)
    )
    db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor_id, subject_id=None,
                              action="view_reflections", at=now))
    db.session.commit()
    return views
