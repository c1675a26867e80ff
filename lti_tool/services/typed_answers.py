"""What a student typed on a question before asking for a hint, kept for the question's page to show it again.

The page after "Show a hint" is a GET of its own (Post/Redirect/Get, web/hints.py). Its address carried what was
typed (`answer=`), so the browser's history kept it, for whoever used a shared computer next, as did any log of
addresses. The cache keeps it instead, for that launch and that question only, as long as the launch can last.
"""

from __future__ import annotations

from ..extensions import CACHE_OUTAGES, cache

#: Longer than any answer field's value (a text answer is a number, a fraction or a few words): kept whole up to
#: this, so a posted form cannot fill the cache.
TYPED_ANSWER_LIMIT = 2000


def _key(launch_id: str, served_id: int) -> str:
    return f"typed-answer:{launch_id}:{served_id}"


def keep_typed_answer(launch_id: str, served_id: int, answer: str, *, seconds: int) -> None:
    """Keep what was typed on a served question for its page; lost, not an error, while the cache is unreachable."""
    try:
        if answer and len(answer) <= TYPED_ANSWER_LIMIT:
            cache.set(_key(launch_id, served_id), answer, timeout=seconds)
        else:
            cache.delete(_key(launch_id, served_id))
    except CACHE_OUTAGES:
        pass


def typed_answer(launch_id: str, served_id: int) -> str:
    """Return what was typed on a served question in this launch before its last hint, or ""."""
    try:
        value = cache.get(_key(launch_id, served_id))
    except CACHE_OUTAGES:
        return ""
    return value if isinstance(value, str) else ""
