"""Languages: which one a page is shown in, and display-time words for values the domain keeps in English.

Messages live in lti_tool/translations (Flask-Babel): templates mark text with `_()` / `{% trans %}`, views with
`gettext`. Values that the domain and services keep in English (level names, pace status, evidence kinds,
reflection prompts, placement-check words) stay English in data and in data attributes; pages translate them
as they show them, through the `level_label` and `localized` filters below, so the catalog lists them here.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import Enum

from babel.support import NullTranslations, Translations
from flask import Blueprint, Flask, g, has_app_context, has_request_context, request, session
from flask_babel import format_date, format_decimal, get_locale, get_translations, gettext, ngettext, refresh
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup

from ..learning.mastery import Level
from ..learning.plan_units import UnitProgress

#: Languages with a complete catalog for student and teacher pages; the first is the default.
SUPPORTED = ("en", "es")
DEFAULT = SUPPORTED[0]

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}")

bp = Blueprint("i18n", __name__)


def N_(text: str) -> str:  # the name pybabel extracts by default
    """Mark text for the catalog without translating it yet."""
    return text


#: Fixed English words that services and the domain hand to pages (kept in English there: tests and stored data
#: rely on them). tests/web/test_i18n.py checks this list still matches those sources.
DOMAIN_WORDS = (
    # lti_tool.learning.mastery.Level
    N_("Not started"), N_("Attempted"), N_("Familiar"), N_("Proficient"), N_("Mastered"),
    # lti_tool.learning.pacing.PaceStatus
    N_("Not started yet"), N_("Just started"), N_("On track"), N_("Behind"), N_("Ahead"), N_("All done"),
    # lti_tool.services.evidence.EVIDENCE_KINDS and lti_tool.services.reflections.REFLECTION_PROMPTS
    N_("A project"), N_("An explanation (written)"), N_("A recording (audio or video)"), N_("Something else"),
    N_("What was hard?"), N_("What will you try next?"),
    # lti_tool.web.diagnostic.BELIEF_WORDS
    N_("The check says you know this"), N_("The check says you probably know this"), N_("A good place to start"),
    N_("Comes later, after what it builds on"), N_("Not checked yet"),
    # lti_tool.learning.alerts.AlertKind (the "Needs help now" list)
    N_("asked for help"), N_("stuck"), N_("failed review"), N_("behind pace"), N_("inactive"),
)


#: lti_tool.text.NAME_NOT_SHARED, written out so pybabel extracts it.
NAME_NOT_SHARED = N_("(name not shared)")


#: LTI context role names (Core §A.2.3) and the sub-roles a roster meets, in words; other names are spelled out.
LMS_ROLE_WORDS = {
    "Administrator": N_("Administrator"), "ContentDeveloper": N_("Content developer"),
    "Instructor": N_("Instructor"), "Learner": N_("Learner"), "Mentor": N_("Mentor"), "Manager": N_("Manager"),
    "Member": N_("Member"), "Officer": N_("Officer"), "TeachingAssistant": N_("Teaching assistant"),
    "Grader": N_("Grader"),
}
_CAMEL_HUMP = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _role_words(name: str) -> str:
    known = LMS_ROLE_WORDS.get(name)
    if known is not None:
        return gettext(known)
    return _CAMEL_HUMP.sub(" ", name).capitalize()


@bp.app_template_filter("lms_roles")
def lms_roles(labels: str | None) -> str:
    """Return the roles the LMS gave a member, as stored ("Instructor, Instructor#TeachingAssistant"), in words.

    A teacher reads "Instructor, Teaching assistant", not the spec's names. Any other sub-role keeps its principal
    in front ("Learner#Instructor" is "Learner (Instructor)"): alone, "Instructor" would read as a teacher.
    """
    # A roster of 300 has a handful of distinct labels: each is worded once per language, not per row.
    return _lms_roles_in(labels or "", page_language())


@functools.lru_cache(maxsize=256)
def _lms_roles_in(labels: str, language: str) -> str:
    del language  # the cache's key: gettext below answers in the page's language, which this names
    words: dict[str, None] = {}
    for label in labels.split(","):
        principal, _, sub = label.strip().partition("#")
        if not principal:
            continue
        if principal == "Instructor" and sub.startswith("TeachingAssistant"):
            words[_role_words("TeachingAssistant")] = None
        elif sub:
            words[f"{_role_words(principal)} ({_role_words(sub)})"] = None
        else:
            words[_role_words(principal)] = None
    return ", ".join(words)


@bp.app_template_filter("person_name")
def person_name(name: str | None) -> str:
    """Return a person's name, or the page's words for a name the LMS did not share (services leave it empty)."""
    return name or gettext(NAME_NOT_SHARED)


def language_of(tag: object) -> str | None:
    """Return the supported language a BCP 47 tag such as "es-MX" asks for, or None."""
    if not isinstance(tag, str):
        return None
    primary = re.split(r"[-_]", tag.strip(), maxsplit=1)[0]
    if not _LANGUAGE_TAG.fullmatch(primary):
        return None
    language = primary.lower()
    return language if language in SUPPORTED else None


def select_locale() -> str:
    """Choose the page's language: the launch's locale claim, else the browser's preference, else English."""
    if not has_request_context():
        return DEFAULT
    launch = getattr(g, "launch", None)
    # A launch that ran out, or one validated but refused, is not the request's launch; its language is the person's.
    chosen = language_of((launch.details or {}).get("locale") if launch is not None else g.get("launch_locale"))
    if chosen:
        return chosen
    if launch is None:
        # A page of a launch that could not be read (the database is down): the language this browser's cookie
        # remembers for it, so a Spanish launch's "try again in a minute" is in Spanish whatever the browser asks.
        chosen = remembered_language(g.get("asked_launch_id"))
        if chosen:
            return chosen
    return request.accept_languages.best_match(SUPPORTED) or DEFAULT


#: The session key mapping the launches this browser holds to the language each named ({launch id: "es"}).
LAUNCH_LANGUAGES = "languages"


def remember_language(launch_id: str, details: Mapping[str, object] | None, held: Sequence[str]) -> None:
    """Keep in the session cookie the language a launch named (when it named a supported one), for pages drawn
    when the launch cannot be read; only launches the browser still holds (`held`) keep theirs."""
    listed = session.get(LAUNCH_LANGUAGES)
    kept = {i: code for i, code in listed.items() if i in held and code in SUPPORTED} \
        if isinstance(listed, dict) else {}
    language = language_of((details or {}).get("locale"))
    if language:
        kept[launch_id] = language
    else:
        kept.pop(launch_id, None)
    if kept:
        session[LAUNCH_LANGUAGES] = kept
    else:
        session.pop(LAUNCH_LANGUAGES, None)


def remembered_language(launch_id: object) -> str | None:
    """Return the language the session cookie remembers for a launch it holds, or None."""
    if not isinstance(launch_id, str):
        return None
    listed = session.get(LAUNCH_LANGUAGES)
    code = listed.get(launch_id) if isinstance(listed, dict) else None
    return code if code in SUPPORTED else None


def speak_language_of(details: Mapping[str, object] | None) -> None:
    """Make the rest of this request speak the language a launch that opened no session named (locale claim).

    For pages about an expired launch or a validated launch refused at the door: the page is in the person's
    language, not the browser's. Looked up anew, in case the request's language was read before.
    """
    g.launch_locale = str((details or {}).get("locale") or "")
    refresh()


_CATALOGUE = "pathways_catalogue"


def page_catalogue() -> Translations | NullTranslations:
    """Return the page's catalogue (Flask-Babel's translations), found once per request and language.

    Flask-Babel finds the catalogue anew for every word (its context, domain and locale: about 7 µs), and a plan
    page looks up some fifty. It is kept with the locale it was found for, so a page that switches language with
    `force_locale` (the class's family reports, each in its family's language) gets that language's words.
    """
    if not has_app_context():
        return get_translations()
    return _page_words()[2]


def _page_words() -> tuple[object, object, Translations | NullTranslations, dict[str, Markup]]:
    """Return (Flask-Babel's namespace in g, the page's locale, its catalogue, the catalogue's template words).

    Checked by the locale Flask-Babel keeps on its namespace (`force_locale` swaps it there, and back), which is
    two attribute reads where `get_locale()` is several lookups through `g`. Should Flask-Babel keep it elsewhere,
    the check fails and the catalogue is found each time: slower, never wrong.
    """
    # The context's own `g`, asked through its proxy once: `g.get` through the proxy is a failed attribute look-up
    # (an AttributeError raised and caught) before the proxy finds it, about 1.5 µs, and a page asks some sixty times.
    held = g._get_current_object().get(_CATALOGUE)
    if held is not None and getattr(held[0], "babel_locale", None) is held[1]:
        return held
    locale = get_locale()
    catalogue = get_translations()
    words = _TEMPLATE_WORDS.get(catalogue)
    if words is None:
        words = _TEMPLATE_WORDS[catalogue] = {}
    held = (g.get("_flask_babel"), locale, catalogue, words)
    setattr(g, _CATALOGUE, held)
    return held


#: Per catalogue (Flask-Babel keeps one per language and process), the templates' words without values as the
#: pages show them: `{% trans %}Sign out{% endtrans %}` is then one dict lookup, not a catalogue lookup, a Markup
#: and a % formatting. Bounded: a template may translate a value (`_(word)`), which has no end of spellings.
_TEMPLATE_WORDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TEMPLATE_WORDS_KEPT = 2000


@bp.app_template_global("drawn_once_per_language")
def drawn_once_per_language(name: str, draw: Callable[[], str]) -> Markup:
    """Return `draw()`, a macro whose markup depends on nothing but the page's language, drawn once per catalogue.

    The plan page's key to the skill map (five levels, each with its dots and its word) is the same on every
    student's page in a language: drawn once per catalogue and process, it is no longer a macro's loop per page.
    """
    drawn = _DRAWN.get(page_catalogue())
    if drawn is None:
        drawn = _DRAWN[page_catalogue()] = {}
    markup = drawn.get(name)
    if markup is None:
        markup = drawn[name] = Markup(draw())  # noqa: S704 - a template macro's own output, escaped by it
    return markup


#: Per catalogue, the markup `drawn_once_per_language` keeps: one entry per macro that asks (a fixed few).
_DRAWN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@pass_eval_context
def _template_gettext(context: EvalContext, string: str, **variables: object) -> str:
    """`_()` and `{% trans %}` in templates: Jinja's newstyle gettext (jinja2.ext), words kept per catalogue.

    As Jinja's, the catalogue's text is markup (the templates' own, translated) and the values are escaped into it.
    """
    if variables or not context.autoescape:
        text = page_catalogue().ugettext(string)
        if context.autoescape:
            text = Markup(text)  # noqa: S704 - the template's own text, as Jinja's gettext
        return text % variables  # as Jinja's: always a format string, the values escaped into Markup
    words = _page_words()[3]
    text = words.get(string)
    if text is None:
        text = Markup(page_catalogue().ugettext(string)) % {}  # noqa: S704 - as above
        if len(words) < _TEMPLATE_WORDS_KEPT:
            words[string] = text
    return text


@pass_eval_context
def _template_ngettext(context: EvalContext, singular: str, plural: str, num: int, **variables: object) -> str:
    """`{% trans count=… %}…{% pluralize %}…` in templates: Jinja's newstyle ngettext, one call less."""
    variables.setdefault("num", num)
    text = page_catalogue().ungettext(singular, plural, num)
    if context.autoescape:
        text = Markup(text)  # noqa: S704 - the template's own text, as Jinja's ngettext
    return text % variables


def install_page_gettext(app: Flask) -> None:
    """Have templates' `_()`, `{% trans %}` and their plural and context forms look words up in `page_catalogue`.

    The same callables Flask-Babel installs, but for how they find the catalogue; gettext and ngettext, which
    every page calls some fifty times, are Jinja's own newstyle wrappers written out (one call each instead of
    two or three, and the words without values kept per catalogue).
    """
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_catalogue().ugettext(s),
        ngettext=lambda s, p, n: page_catalogue().ungettext(s, p, n),
        pgettext=lambda c, s: page_catalogue().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_catalogue().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # `_()` is Jinja's alias that looks `gettext` up in the page's context, and both asked for that context: a
    # call in a block or loop with its own variables copied the context first. They need only the autoescaping.
    app.jinja_env.globals.update(gettext=_template_gettext, ngettext=_template_ngettext, _=_template_gettext)


@bp.app_template_global("page_language")
def page_language() -> str:
    """Return the language code for `<html lang>`."""
    # The locale the page's catalogue was found for, checked as `_page_words` checks it (get_locale() itself is a
    # few look-ups through `g`'s proxy, and a plan page asks seven times); None outside an app context, as there.
    locale = _page_words()[1] if has_app_context() else None
    return locale.language if locale is not None else DEFAULT


@bp.app_template_filter("localized")
def localized(value: object) -> str:
    """Return a fixed English word from the domain or services in the page's language."""
    text = value.value if isinstance(value, Enum) else value
    if not isinstance(text, str) or not text:
        return "" if text is None else str(text)
    return page_catalogue().ugettext(text)


#: A heatmap cell's name for screen readers; the class view looks it up once and fills it in per cell.
HEATMAP_CELL = N_("%(level)s: %(name)s's answers on %(skill)s")
_LEVELS = DOMAIN_WORDS[:5]


def heatmap_words() -> tuple[dict[str, str], str]:
    """Return each level's name and the cell label's pattern in the page's language, looked up once per page.

    A class of 300 on 16 skills has 4,800 cells; two catalogue lookups per cell (~30 µs each) were most of the
    page's time.
    """
    return {level: gettext(level) for level in _LEVELS}, gettext(HEATMAP_CELL, level="%(level)s", name="%(name)s",
                                                                 skill="%(skill)s")


@bp.app_template_global("level_words")
def level_words() -> dict[str, str]:
    """Return each level's name (keyed by its English value, so a Level works too) in the page's language.

    For pages that name a level per row or per map box: one catalogue lookup per level and page instead of one
    per row (a plan page on a 400-skill course named 800 levels).
    """
    catalogue = page_catalogue()
    return {level: catalogue.ugettext(level) for level in _LEVELS}


@bp.app_template_global("unit_counts")
def unit_counts(units: Sequence[UnitProgress]) -> list[str]:
    """Return each unit's "n of N skills at Proficient or above" in the page's language, in the units' order.

    The plan page lists every unit of the course (a hundred on a 400-skill course): one catalogue lookup per
    distinct count, not one per unit.
    """
    texts: dict[tuple[int, int], str] = {}
    counts = []
    for unit in units:
        key = (unit.proficient, len(unit.skill_ids))  # unit.total, without a property call per unit
        text = texts.get(key)
        if text is None:
            text = texts[key] = ngettext("%(proficient)d of %(num)d skill at Proficient or above",
                                         "%(proficient)d of %(num)d skills at Proficient or above", key[1],
                                         proficient=unit.proficient)
        counts.append(text)
    return counts


@bp.app_template_filter("friendly_date")
def friendly_date(value: date) -> str:
    """Return a day as a person reads it: "2 December 2026" in English, the locale's long date otherwise.

    A datetime gives its (UTC) day: students are shown when, not a clock time in a zone they do not live in.
    """
    day = value.date() if isinstance(value, datetime) else value
    if page_language() == DEFAULT:
        return f"{day.day} {day.strftime('%B %Y')}"
    return format_date(day, "long")


#: Set on `g` once a page shows a moment through `local_time`: base.html then loads js/local-time.js.
LOCAL_TIMES = "pathways_local_times"


@bp.app_template_filter("local_time")
def local_time(value: datetime | str | None, style: str = "datetime") -> Markup:
    """Return a stored moment (naive UTC, or ISO 8601 text) as a `<time>` that js/local-time.js shows in local time.

    LTI tells the tool no time zone, so the page says "2026-12-02 14:05 UTC" (or, with style "date", the UTC day as
    `friendly_date` gives it), which the script rewrites in the browser's own zone and the page's language; without
    script the UTC text stays, still right.
    """
    if value is None or value == "":
        return Markup("")
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    setattr(g, LOCAL_TIMES, True)
    shown = friendly_date(moment) if style == "date" else f"{moment:%Y-%m-%d %H:%M} UTC"
    return Markup('<time datetime="{}Z" data-local="{}">{}</time>').format(
        moment.isoformat(timespec="seconds"), style, shown)


@bp.app_template_filter("level_label")
def level_label(level: object) -> str:
    """Return a mastery level's name (a Level or its English value) in the page's language."""
    return localized(level)


@bp.app_template_filter("why_text")
def why_text(step: object) -> str:
    """Return a next step's reason in the page's language, built from the planner's sentence templates."""
    return _render(getattr(step, "why_parts", ()), " ") or getattr(step, "why", "")


@bp.app_template_filter("reason_text")
def reason_text(view: object) -> str:
    """Return a mastery estimate's reason in the page's language, from the model's fragments."""
    return _render(getattr(view, "reason_parts", ()), "") or getattr(view, "reason", "")


#: Said after what the next level needs when it asks for questions not got right yet and the learner missed one
#: (`SkillView.missed_comes_back_later`): on the plan and on the practice feedback alike.
MISSED_COMES_BACK_LATER = N_("A question you missed comes back for another try only after a long break (about half "
                             "a day).")


#: Said instead of what the next level needs when the teacher set the level below what the learner's answers showed
#: (`SkillView.held_by_teacher`): answers no longer raise it, only the teacher does. On the plan and the feedback.
TEACHER_HOLDS_LEVEL = N_("Your teacher set this level, and only your teacher changes it now. Keep practising: your "
                         "teacher sees your answers.")


@bp.app_template_global("needs_texts")
def needs_texts(views: Sequence[object]) -> list[str]:
    """Return, for each skill view, what its next level still needs in words (`SkillView.needs`, from the mastery
    model's rules; for a level the teacher set, what the learner's own answers still need to raise it), "" at
    Mastered; for a level only the teacher changes (`SkillView.held_by_teacher`), that the teacher does.

    For the plan's table: the page's catalogue is found once for all its rows, not once per word.
    """
    catalogue = page_catalogue()
    words = catalogue.ugettext
    later = words(MISSED_COMES_BACK_LATER)
    held = None
    texts = []
    for view in views:
        if getattr(view, "held_by_teacher", False):
            held = held or words(TEACHER_HOLDS_LEVEL)
            texts.append(held)
            continue
        texts.append(_needs_text(getattr(view, "needs", None), words, catalogue.ungettext,
                                 teacher_set=getattr(view, "overridden", False))
                     + (" " + later if getattr(view, "missed_comes_back_later", False) else ""))
    return texts


def _needs_text(needs: object, words: Callable[[str], str], ungettext: Callable[[str, str, int], str], *,
                teacher_set: bool = False) -> str:
    # Named `ungettext`, as the catalogue's own, so that pybabel extracts its plural messages.
    if needs is None:
        return ""
    if needs.level is Level.ATTEMPTED:
        if teacher_set:
            # The teacher's Not started: only a right answer raises a teacher's level (`record_answer`); a wrong
            # one leaves it at Not started.
            return words(N_("To get started: get one question on it right."))
        return words(N_("To get started: answer one question on it."))
    if needs.answers == 0:
        # Only the other sitting is missing (`SkillView.another_sitting`): the feedback page's words for it.
        return words(N_("To reach Mastered, take a break of an hour or more, then come back and show it sticks."))
    level, num, new = words(needs.level.value), needs.answers, needs.new_questions
    if needs.more:
        text = words(N_("To reach %(level)s: keep practising. It takes more than %(num)d right answers from here.")
                     ) % {"level": level, "num": num}
    elif new == num:
        text = ungettext("To reach %(level)s: %(num)d more right answer, on a question you haven’t got right yet.",
                         "To reach %(level)s: %(num)d more right answers, on questions you haven’t got right yet.",
                         num) % {"level": level, "num": num}
    elif new:
        text = ungettext("To reach %(level)s: %(answers)d more right answers, %(num)d of them on a question you "
                         "haven’t got right yet.",
                         "To reach %(level)s: %(answers)d more right answers, %(num)d of them on questions you "
                         "haven’t got right yet.", new) % {"level": level, "answers": num, "num": new}
    else:
        text = ungettext("To reach %(level)s: %(num)d more right answer.",
                         "To reach %(level)s: %(num)d more right answers.", num) % {"level": level, "num": num}
    if needs.another_sitting:
        text += " " + words(N_("At least one of them after a break of an hour or more, to show it sticks."))
    return text


@bp.app_template_filter("pace_text")
def pace_text(pace: object) -> str:
    """Return the pace explanation in the page's language, from the pacing module's sentence templates."""
    return _render(getattr(pace, "explanation_parts", ()), " ") or getattr(pace, "explanation", "")


def _value(key: str, value: object) -> object:
    if isinstance(value, tuple):
        return _names(value)
    if isinstance(value, date):
        return format_date(value, "long")
    if key == "rate":  # skills a week, "1.2" from the learning core, is "1,2" in Spanish
        return format_decimal(float(value), "#,##0.#")
    return gettext(value) if key.startswith("level") else value  # "level", "level_high": level names


def _render(parts: object, separator: str) -> str:
    if not parts or page_language() == DEFAULT:
        return ""
    pieces = []
    for template, values in parts:  # type: ignore[union-attr]
        params = {key: _value(key, value) for key, value in values.items()}
        pieces.append(gettext(template, **params) if params else gettext(template))
    return separator.join(pieces)


def _names(names: tuple[str, ...]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return gettext(N_("%(rest)s and %(last)s"), rest=", ".join(names[:-1]), last=names[-1])


def translated(error: object) -> str:
    """Return a service's refusal in the page's language (its English message when not catalogued)."""
    message = getattr(error, "message", str(error))
    template = getattr(error, "template", None)
    if not template or page_language() == DEFAULT:
        return message
    return _in_page_language(template, getattr(error, "params", {}) or {})


def message_text(message: object) -> str:
    """Return a sentence from the domain or a service in the page's language.

    A Message (learning/messages.py: a str that keeps its N_() template and values) is translated from its
    template, each value that is itself a Message too; any other text is shown as written (English).
    """
    if not _is_message(message) or page_language() == DEFAULT:
        return str(message)
    return _in_page_language(message.template, message.values)  # type: ignore[attr-defined]


def _is_message(value: object) -> bool:
    return isinstance(getattr(value, "template", None), str) and isinstance(getattr(value, "values", None), Mapping)


def _in_page_language(template: str, values: Mapping[str, object]) -> str:
    params = _translated_values(values)
    return gettext(template, **params) if params else gettext(template)


def _translated_values(values: Mapping[str, object]) -> dict[str, object]:
    # Only Messages are translated: numbers stay numbers for "%(limit)d".
    return {key: message_text(value) if _is_message(value) else value for key, value in values.items()}
