"""Clean text that comes from outside (launch claims, form fields) before it reaches a page or a column."""

from __future__ import annotations

import re
from typing import Any

# C0 controls except tab, newline and carriage return; DEL and C1 controls; lone UTF-16 surrogates (a JSON
# escape like "\ud800" decodes to one). PostgreSQL refuses NUL in text, and no name or answer needs the rest.
#: What stands for a person whose name the LMS did not share, in English: for exported files (the class CSV).
#: Services leave such a name empty; pages show it in their own language through the `person_name` filter.
NAME_NOT_SHARED = "(name not shared)"

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def strip_control(value: str) -> str:
    """Return the text without control characters (tab and line breaks stay)."""
    return _CONTROL.sub("", value)


def is_clean(value: str) -> bool:
    """Say whether the text has no control characters (ids with them cannot be ours or a platform's)."""
    return _CONTROL.search(value) is None


def strip_control_deep(value: Any) -> Any:
    """Return a JSON-like value with control characters removed from every string, keys included."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        # Most values of a launch's claims are strings: cleaned here, without a call each (a launch has ~90).
        return {(_CONTROL.sub("", k) if type(k) is str else strip_control_deep(k)):
                (_CONTROL.sub("", v) if type(v) is str else strip_control_deep(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_CONTROL.sub("", v) if type(v) is str else strip_control_deep(v) for v in value]
    return value
