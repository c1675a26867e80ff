"""Clean text that comes from outside (launch claims, form fields) before it reaches a page or a column."""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab, newline and carriage return; DEL and C1 controls; lone UTF-16 surrogates (a JSON
# escape like "\ud800" decodes to one). PostgreSQL refuses NUL in text, and no name or answer needs the rest.
#: What stands for a person whose name the LMS did not share, in English: for exported files (the class CSV).
#: Services leave such a name empty; pages show it in their own language through the `person_name` filter.
NAME_NOT_SHARED = "(name not shared)"

#: The longest title an LMS keeps for a link or a gradebook column: Canvas makes a graded link an assignment, whose
#: title it refuses past 255 characters; Moodle keeps a grade item's name in 255 (grade_items.itemname). Neither Deep
#: Linking 2.0 nor AGS 2.0 sets a limit on a content item's `title` or a line item's `label`.
LABEL_LIMIT = 255

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _plain(value: str) -> bool:
    # Most text is printable ASCII, which has none of them: str.isascii() is a flag check and isprintable() a tight
    # loop (printable ASCII is space to "~"), where the pattern's set of ranges is tested character by character (a
    # launch's 3,000-character id_token and its claims' strings were 7% of the launch POST's instructions).
    # strip_control_deep spells the same test inline, to save a call per claim.
    return value.isascii() and value.isprintable()


def strip_control(value: str) -> str:
    """Return the text without control characters (tab and line breaks stay)."""
    return value if _plain(value) else _CONTROL.sub("", value)


def is_clean(value: str) -> bool:
    """Say whether the text has no control characters (ids with them cannot be ours or a platform's)."""
    return _plain(value) or _CONTROL.search(value) is None


def is_token(value: str) -> bool:
    """Say whether the text is one printable word: no control, format or whitespace characters.

    Stricter than is_clean (which it implies), for ids an admin is shown in a listing or a command: a tab or a line
    break there forges a column or a line, a bidi override reorders what is shown, and a space splits an argument.
    """
    return value.isprintable() and " " not in value


def one_line(value: str) -> str:
    """Return the text as one printable line: line breaks and tabs become spaces, other controls go."""
    if _plain(value):
        return " ".join(value.split())
    return " ".join("".join(c if c.isprintable() else " " if c.isspace() else "" for c in value).split())


def escape_unprintable(value: str) -> str:
    """Return the text with every unprintable character written as its escape (a tab as \\t, ESC as \\x1b).

    For a terminal: text from outside must not move the cursor, colour the screen or start a line of its own.
    """
    if value.isprintable():
        return value
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in value)


def strip_control_deep(value: Any) -> Any:
    """Return a JSON-like value with control characters removed from every string, keys included."""
    if isinstance(value, str):
        return strip_control(value)
    if isinstance(value, dict):
        # Most values of a launch's claims are strings: cleaned here, without a call each (a launch has ~90).
        return {(k if type(k) is str and k.isascii() and k.isprintable() else strip_control_deep(k)):
                (v if type(v) is str and v.isascii() and v.isprintable() else strip_control_deep(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [v if type(v) is str and v.isascii() and v.isprintable() else strip_control_deep(v) for v in value]
    return value


def cut(text: str, limit: int) -> str:
    """Return text whole if it fits in limit characters, else cut with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
