"""Student agency in the learning plan: evidence a student submits (a link, text or a file) and the teacher reviews.

Accepted evidence never lowers a level: lowering is the class view's override.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO
from urllib.parse import urlsplit

import sqlalchemy as sa

from ..extensions import db
from ..learning.mastery import Level, SkillState
from ..learning.translations import BASE_LANGUAGE
from ..models import AuditEntry, Evidence, MasteryEvent, Person, SkillMastery
from .errors import N_, NotFound, ServiceError
from .goals import course_skill_names
from .mastery import lock_learner, lock_learner_row, model_for, require_pack, teacher_hold, thresholds_for
from .permissions import Action, Actor, may, require
from .publishing import publish_mastery
from .reviews import start_if_mastered
from .storage import (
    ALLOWED_TYPES,
    AUDIO_TYPES,
    IMAGE_TYPES,
    INLINE_TYPES,
    VIDEO_TYPES,
    StoreUnavailable,
    check_file,
    describe_size,
    evidence_store,
)

#: The ways to show mastery a student can choose, in the words the form shows.
EVIDENCE_KINDS: Mapping[str, str] = {
    "project": "A project",
    "explanation": "An explanation (written)",
    "recording": "A recording (audio or video)",
    "other": "Something else",
}
#: Levels a teacher can award for accepted evidence: evidence shows the skill, so at least Familiar.
AWARDABLE_LEVELS = (Level.FAMILIAR, Level.PROFICIENT, Level.MASTERED)


@dataclass(frozen=True)
class EvidenceView:
    """One piece of evidence, as the student and the teacher see it."""

    id: int
    person_id: int
    name: str
    skill_id: str
    skill_name: str
    kind: str
    kind_label: str
    url: str | None
    text: str
    status: str  # "pending", "accepted" or "returned"
    level_awarded: Level | None
    teacher_comment: str
    submitted_at: datetime
    reviewed_at: datetime | None
    file_type: str | None = None
    file_size: int | None = None
    file_name: str | None = None
    #: Only on the view an accept returns: the student's level on the skill after it (never below their level before).
    level_now: Level | None = None

    @property
    def has_file(self) -> bool:
        return self.file_type is not None

    @property
    def is_image(self) -> bool:
        return self.file_type in IMAGE_TYPES

    @property
    def is_audio(self) -> bool:
        return self.file_type in AUDIO_TYPES

    @property
    def is_video(self) -> bool:
        return self.file_type in VIDEO_TYPES

    @property
    def file_size_label(self) -> str:
        return describe_size(self.file_size or 0)


@dataclass(frozen=True)
class EvidenceFile:
    """An attached file, ready to send: an open seekable file (the caller closes it) and its size, so a player's
    byte range is read without the rest; its sniffed type, a safe download name and whether a browser may open it
    in its own tab (storage.INLINE_TYPES) rather than download it."""

    file: IO[bytes]
    size: int
    content_type: str
    download_name: str
    inline: bool


def clean_link(raw: str | None) -> str | None:
    """Return a safe http(s) link, None for an empty one, or refuse anything else (javascript:, data: …)."""
    url = (raw or "").strip()
    if not url:
        return None
    if len(url) > 1000:
        raise ServiceError(N_("That link is too long (1000 characters at most)."), form_field="url")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise ServiceError(N_("A link cannot contain spaces or control characters."), form_field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise ServiceError(N_("That link is not a web address."), form_field="url") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ServiceError(N_("Links must be web addresses starting with http:// or https://."), form_field="url")
    if parts.username is not None or parts.password is not None:
        raise ServiceError(N_("A link cannot contain a user name or password."), form_field="url")
    return url


def _evidence_views(query: sa.Select, names: Mapping[str, str]) -> list[EvidenceView]:
    views = []
    for row, name in db.session.execute(query):
        try:
            awarded = Level(row.level_awarded) if row.level_awarded else None
        except ValueError:
            awarded = None
        views.append(EvidenceView(row.id, row.person_id, name or "", row.skill_id,
                                  names.get(row.skill_id, row.skill_id), row.kind,
                                  EVIDENCE_KINDS.get(row.kind, row.kind), row.url, row.text, row.status, awarded,
                                  row.teacher_comment or "", row.submitted_at, row.reviewed_at,
                                  row.file_type if row.file_key else None, row.file_size,
                                  row.file_name if row.file_key else None))
    return views


def _safe_file_name(raw: str | None, content_type: str) -> str:
    """Return the device's file name cut to letters, digits and a few marks, with the extension of its real type."""
    stem = (raw or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = "".join(c if (c.isascii() and c.isalnum()) or c in "-_ " else "_" for c in stem).strip()[:100] or "evidence"
    return f"{stem}.{ALLOWED_TYPES[content_type]}"


def submit_evidence(course_id: int, person_id: int, *, skill_id: str, kind: str, url: str, text: str,
                    now: datetime, upload: tuple[str, bytes] | None = None,
                    language: str = BASE_LANGUAGE) -> EvidenceView:
    """Submit a link, text or a file (name, bytes) as evidence for a skill; the LMS shows it as waiting.

    The skill is named in `language` (the student's page's) in what comes back and in a refusal.
    """
    names = course_skill_names(course_id, language)
    if skill_id not in names:
        raise ServiceError(N_("Choose a skill from this course."), form_field="skill_id")
    if kind not in EVIDENCE_KINDS:
        raise ServiceError(N_("Choose how you are showing it: a project, an explanation, a recording or other."),
                           form_field="kind")
    link = clean_link(url)
    text = (text or "").strip()
    if len(text) > 4000:
        raise ServiceError(N_("Keep the text to 4000 characters; put longer work behind a link."), form_field="text")
    file_type = check_file(upload[1]) if upload else None
    if not link and not text and file_type is None:
        raise ServiceError(N_("Add a link to your work, attach a file, or write it here."), form_field="text")
    _refuse_if_waiting(course_id, person_id, skill_id, names)  # before a file is stored for nothing
    row = Evidence(course_id=course_id, person_id=person_id, skill_id=skill_id, kind=kind, url=link, text=text,
                   status="pending", teacher_comment="", submitted_at=now)
    store = evidence_store()
    if file_type is not None:
        try:
            row.file_key = store.save(upload[1], extension=ALLOWED_TYPES[file_type])
        except StoreUnavailable as exc:
            # A full disk or an unreachable bucket is ours to fix, not the student's: say so (a 503, the form
            # keeps what they wrote) rather than fail with a 500.
            raise StoreUnavailable(N_("Pathways cannot keep files just now. Try again later, or send a link "
                                      "to your work instead.")) from exc
        row.file_type, row.file_size = file_type, len(upload[1])
        row.file_name = _safe_file_name(upload[0], file_type)
    try:
        # Under the learner's lock, as every writer that publishes: a class republish reading "nothing pending"
        # before this commits must not send that older state after it.
        lock_learner_row(course_id, person_id, now)
        # Again under the lock: a double click's two sends both passed the check above before either saved.
        _refuse_if_waiting(course_id, person_id, skill_id, names)
        db.session.add(row)
        db.session.flush()
        # The gradebook says "waiting for the teacher" (gradingProgress PendingManual) while evidence is pending.
        publish_mastery(course_id, person_id, now=now)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        if row.file_key:
            with contextlib.suppress(StoreUnavailable):
                store.delete(row.file_key)  # no row names it: keep no orphan in the store
        raise
    return my_evidence(course_id, person_id, only=row.id, language=language)[0]


def _refuse_if_waiting(course_id: int, person_id: int, skill_id: str, names: Mapping[str, str]) -> None:
    """Refuse evidence for a skill while the student's earlier evidence for it waits for the teacher."""
    waiting = db.session.scalar(
        sa.select(Evidence.id).where(Evidence.course_id == course_id, Evidence.person_id == person_id,
                                     Evidence.skill_id == skill_id, Evidence.status == "pending")
    )
    if waiting is not None:
        raise ServiceError(
            N_("Your evidence for %(skill)s is already waiting for your teacher."), skill=names[skill_id]
        )


def my_evidence(course_id: int, person_id: int, *, only: int | None = None,
                language: str = BASE_LANGUAGE) -> list[EvidenceView]:
    """Return the student's own evidence, newest first."""
    query = (
        sa.select(Evidence, Person.name)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Evidence.person_id == person_id)
        .order_by(Evidence.submitted_at.desc(), Evidence.id.desc())
    )
    if only is not None:
        query = query.where(Evidence.id == only)
    return _evidence_views(query, course_skill_names(course_id, language))


def evidence_file(course_id: int, platform_id: int, evidence_id: int, *, actor: Actor,
                  now: datetime) -> EvidenceFile:
    """Return an evidence file to its student or to a teacher of the course; anyone else is told it is not there."""
    row = db.session.scalars(
        sa.select(Evidence)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.id == evidence_id, Evidence.course_id == course_id, Person.platform_id == platform_id)
    ).first()
    own = row is not None and row.person_id == actor.person_id and may(actor, Action.LEARN)
    # The same 404 for someone else's file and for no file, so ids reveal nothing.
    if row is None or not row.file_key or not (own or may(actor, Action.VIEW_CLASS)):
        raise NotFound(N_("There is no such file."))
    try:
        handle, size = evidence_store().open_file(row.file_key)
    except FileNotFoundError as exc:
        raise NotFound(N_("There is no such file.")) from exc
    if not own:
        # A student's photo or recording is personal data: a teacher's opening of it is audited, like reflections.
        # Every request is, a player's byte ranges of one film included: skipping "later" ranges would let anyone
        # read a file unaudited by never asking for its first byte.
        db.session.add(AuditEntry(platform_id=platform_id, course_id=course_id, actor_id=actor.person_id,
                                  subject_id=row.person_id, action="view_evidence_file", at=now))
        try:
            db.session.commit()
        except Exception:
            handle.close()
            raise
    return EvidenceFile(handle, size, row.file_type, row.file_name or _safe_file_name(None, row.file_type),
                        row.file_type in INLINE_TYPES)


def evidence_queue(course_id: int, platform_id: int, *, reviewed_limit: int = 20, language: str = BASE_LANGUAGE
                   ) -> tuple[list[EvidenceView], list[EvidenceView]]:
    """Return (pending evidence oldest first, the latest reviewed) for the course's teacher, skills in `language`."""
    names = course_skill_names(course_id, language)
    base = (
        sa.select(Evidence, Person.name)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Person.platform_id == platform_id)
    )
    pending = _evidence_views(
        base.where(Evidence.status == "pending").order_by(Evidence.submitted_at, Evidence.id), names
    )
    reviewed = _evidence_views(
        base.where(Evidence.status != "pending")
        .order_by(Evidence.reviewed_at.desc(), Evidence.id.desc())
        .limit(reviewed_limit),
        names,
    )
    return pending, reviewed


def pending_evidence_count(course_id: int, platform_id: int) -> int:
    """Return how much evidence in the course waits for the teacher's review."""
    return db.session.scalar(
        sa.select(sa.func.count(Evidence.id))
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.course_id == course_id, Person.platform_id == platform_id, Evidence.status == "pending")
    ) or 0


def _pending(course_id: int, platform_id: int, evidence_id: int) -> Evidence:
    row = db.session.scalars(
        sa.select(Evidence)
        .join(Person, Person.id == Evidence.person_id)
        .where(Evidence.id == evidence_id, Evidence.course_id == course_id, Person.platform_id == platform_id)
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise NotFound(N_("There is no such evidence in this course."))
    if row.status != "pending":
        raise ServiceError(N_("This evidence has been reviewed already."))
    return row


def _still_pending(course_id: int, platform_id: int, evidence_id: int) -> Evidence:
    """Read the evidence again under its student's lock (the caller took it): refuse it if reviewed meanwhile.

    Checked only before the lock, two teachers accepting and returning the same evidence at once both went on: on
    PostgreSQL the accept's change locked the evidence before it waited for the learner, the return held the
    learner and waited for the evidence (a deadlock, a 503); on SQLite both were saved, the evidence "returned"
    with its level raised. Under the lock, the second review finds the first one's and is refused.
    """
    try:
        return _pending(course_id, platform_id, evidence_id)
    except ServiceError:
        db.session.rollback()  # end the refused review's transaction: no lock is held while the queue is drawn
        raise


def accept_evidence(course_id: int, platform_id: int, evidence_id: int, *, level: str, comment: str,
                    actor: Actor, now: datetime, language: str = BASE_LANGUAGE) -> EvidenceView:
    """Accept evidence at a level: raise the student's level to it (never lower) and update the gradebook."""
    require(actor, Action.ASSESS)
    actor_id = actor.person_id
    row = _pending(course_id, platform_id, evidence_id)
    names = course_skill_names(course_id)
    try:
        awarded = Level(level)
    except ValueError as exc:
        raise ServiceError(N_("Choose the level the evidence shows."), form_field="level") from exc
    if awarded not in AWARDABLE_LEVELS:
        raise ServiceError(N_("Accepted evidence shows at least Familiar; to return it, use “Return with a comment”."),
                           form_field="level")
    comment = (comment or "").strip()
    if len(comment) > 2000:
        raise ServiceError(N_("Keep the comment to 2000 characters."), form_field="comment")
    # The learner's lock first, like every mastery write (so a parallel answer cannot overwrite this), and before
    # the evidence is changed: see _still_pending.
    rows = lock_learner(course_id, row.person_id, now)
    row = _still_pending(course_id, platform_id, evidence_id)
    row.status = "accepted"
    row.level_awarded = awarded.value
    row.teacher_comment = comment
    row.reviewer_id = actor_id
    row.reviewed_at = now
    mastery = rows.get(row.skill_id)
    old_level = Level(mastery.level) if mastery else Level.NOT_STARTED
    if awarded.rank > old_level.rank:
        if mastery is None:
            mastery = SkillMastery(course_id=course_id, person_id=row.person_id, skill_id=row.skill_id,
                                   state=SkillState(row.skill_id).to_dict())
            db.session.add(mastery)
        elif mastery.state.get("held_below"):
            # A level the teacher holds (set below what the answers had shown) stays held if the evidence still
            # shows less than those answers did, as a level the teacher sets (`teacher_hold`); else the doubt is over.
            mastery.state = teacher_hold(mastery, SkillState.from_dict(mastery.state), awarded,
                                         model_for(course_id), thresholds_for(require_pack(course_id))).to_dict()
        reason = f"Shown with {EVIDENCE_KINDS.get(row.kind, 'evidence').lower()}, accepted by the teacher"
        mastery.level = awarded.value
        mastery.reason = (f"{reason}: {comment}" if comment else reason + ".")[:300]
        # Like an override, the teacher's level stands until practice earns more (services.mastery._record_answer).
        mastery.overridden = True
        mastery.updated_at = now
        db.session.add(MasteryEvent(course_id=course_id, person_id=row.person_id, skill_id=row.skill_id,
                                    old_level=old_level.value, new_level=awarded.value, source="evidence",
                                    reason=(comment or f"Evidence accepted: {names.get(row.skill_id, '')}")[:500],
                                    actor_id=actor_id, at=now))
        # Mastered on accepted evidence is mastered: its spaced reviews start as they would from the answers.
        start_if_mastered(course_id, row.person_id, row.skill_id, old_level, awarded, now)
    db.session.flush()
    # Always publish: even without a new level, the gradebook moves from PendingManual to FullyGraded.
    publish_mastery(course_id, row.person_id, now=now)
    db.session.commit()
    # The view comes back with its skill named in `language` (the teacher's page's) for the confirmation, and with
    # the level the student has now: below their level, the accepted level changes nothing.
    view = my_evidence(course_id, row.person_id, only=row.id, language=language)[0]
    return replace(view, level_now=max(awarded, old_level, key=lambda level: level.rank))


def return_evidence(course_id: int, platform_id: int, evidence_id: int, *, comment: str, actor: Actor,
                    now: datetime, language: str = BASE_LANGUAGE) -> EvidenceView:
    """Return evidence to the student with a comment saying what to add; the gradebook stops waiting."""
    require(actor, Action.ASSESS)
    actor_id = actor.person_id
    row = _pending(course_id, platform_id, evidence_id)
    comment = (comment or "").strip()
    if not comment:
        raise ServiceError(N_("Add a comment so the student knows what to do next."), form_field="comment")
    if len(comment) > 2000:
        raise ServiceError(N_("Keep the comment to 2000 characters."), form_field="comment")
    lock_learner_row(course_id, row.person_id, now)  # as every writer that publishes (see submit_evidence)
    row = _still_pending(course_id, platform_id, evidence_id)
    row.status = "returned"
    row.teacher_comment = comment
    row.reviewer_id = actor_id
    row.reviewed_at = now
    db.session.flush()
    publish_mastery(course_id, row.person_id, now=now)
    db.session.commit()
    # The view comes back with its skill named in `language` (the teacher's page's) for the confirmation.
    return my_evidence(course_id, row.person_id, only=row.id, language=language)[0]
