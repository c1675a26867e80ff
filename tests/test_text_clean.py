"""text.py's printable-ASCII shortcut cleans exactly what its pattern cleans."""

from __future__ import annotations

import random

from lti_tool.text import _CONTROL, escape_unprintable, is_clean, is_token, one_line, strip_control, strip_control_deep


def _samples() -> list[str]:
    rng = random.Random(14)
    singles = [chr(c) for c in range(0, 0x3000)] + [chr(c) for c in range(0xD800, 0xE000, 7)] + ["\U0001f600"]
    found = ["", "plain text", "tab\there", "line\nbreak\r\n", "é accent", "nul\x00", "del\x7f", "c1\x85"]
    for _ in range(2000):
        found.append(
            "".join(
                rng.choice(singles) if rng.random() < 0.1 else chr(rng.randint(32, 126))
                for _ in range(rng.randint(0, 40))
            )
        )
    return singles + found


def test_the_shortcut_agrees_with_the_pattern() -> None:
    for text in _samples():
        assert is_clean(text) is (_CONTROL.search(text) is None), repr(text)
        assert strip_control(text) == _CONTROL.sub("", text), repr(text)


def test_deep_cleaning_keys_values_and_lists() -> None:
    claims = {"name\x00": "Zoë\x01 O'Connor", "roles": ["a\x7f", "plain", {"k": "\ud800v"}], "n": 3, "ok": "plain"}
    assert strip_control_deep(claims) == {
        "name": "Zoë O'Connor",
        "roles": ["a", "plain", {"k": "v"}],
        "n": 3,
        "ok": "plain",
    }


def test_ids_names_and_listings_from_an_lms_hold_nothing_a_terminal_would_act_on() -> None:
    for text in _samples():
        assert not is_token(text) or is_clean(text), repr(text)  # an id word is clean text too
        assert one_line(text).isprintable(), repr(text)  # no line break, tab or escape in a name
        assert escape_unprintable(text).isprintable(), repr(text)
        if text.isprintable():
            assert escape_unprintable(text) == text
