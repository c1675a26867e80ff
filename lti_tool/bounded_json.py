"""JSON decoding for text someone outside chose: a document nested too deep is refused, never a RecursionError.

The standard decoder recurses once per level: about a thousand "[" (40 KB, or a 53 KB base64url JWT segment)
exhaust the interpreter's stack, and RecursionError is not a ValueError, so code that catches what json.loads
documents answers with a bare 500. Even a document the decoder manages can break whatever walks it later.
Pure standard library: the learning core (course packs) and the web layer (launch tokens) both use it.
"""

from __future__ import annotations

import json
from typing import Any

# A course pack nests 8 levels, a CASE package 4, an LTI id_token 4; deeper documents were made to exhaust the
# parser or whatever walks the document after it.
MAX_JSON_DEPTH = 32


class JSONTooDeep(ValueError):
    """A JSON document nests lists or objects deeper than allowed (a ValueError, as invalid JSON is)."""

    def __init__(self, max_depth: int) -> None:
        super().__init__(f"JSON nested more than {max_depth} levels deep")
        self.max_depth = max_depth


def decode_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Decode JSON, refusing a document nested deeper than max_depth (JSONTooDeep).

    Invalid JSON raises json.JSONDecodeError (and bytes that are no Unicode UnicodeDecodeError) as json.loads
    does: every refusal is a ValueError.
    """
    try:
        document = json.loads(text)
    except RecursionError:
        raise JSONTooDeep(max_depth) from None
    # Walk without recursion: the decoder allows ~1,000 levels, more than later code can.
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise JSONTooDeep(max_depth)
        if isinstance(value, dict):
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
    return document
