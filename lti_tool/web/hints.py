""""Show a hint" on a question's form: the same form posted, so what the student typed or chose comes back."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request


@dataclass(frozen=True)
class HintAsked:
    """A question form posted with "Show a hint": the hints to show now and the answer as it was."""

    served_id: int | None
    hints: int
    answer: str

    def hints_for(self, question: object, shown: int) -> int:
        """Return the hints to show on the question the page shows: none asked for when another took its place."""
        return shown if getattr(question, "id", None) == self.served_id else 0

    def answer_for(self, question: object) -> str:
        """Return the typed answer for the question the page shows: none when another question took its place."""
        return self.answer if getattr(question, "id", None) == self.served_id else ""


def hint_asked() -> HintAsked | None:
    """Return the hint request when the posted form asked for one more hint (not an answer), else None.

    The view then shows its question again, nothing recorded; the hints shown so far come with the form, and the
    page clamps them to the question's own.
    """
    if not request.form.get("show_hint"):
        return None
    return HintAsked(request.form.get("served", type=int), request.form.get("hints", 0, type=int) + 1,
                     request.form.get("answer", ""))
