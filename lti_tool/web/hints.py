""""Show a hint" on a question's form: the same form posted, so what the student typed or chose comes back.

The post counts the hint on the question's served row and redirects to the question's page (Post/Redirect/Get),
its address naming the question: Back after the answer that follows, and a reload, show that page again, not
Chromium's "Confirm Form Resubmission" dead end. What was typed is kept on the server for the launch
(services/typed_answers.py), not in the address: a shared computer's browser history keeps addresses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from flask import current_app, g, redirect, request, url_for
from werkzeug.wrappers import Response

from ..services.serving import Served, show_hint
from ..services.typed_answers import keep_typed_answer, typed_answer
from .form_input import row_id

Q = TypeVar("Q", Served, None)


@dataclass(frozen=True)
class HintAsked:
    """A question form posted with "Show a hint": the hints the page asks to show now and the answer as it was."""

    served_id: int | None
    hints: int
    answer: str

    def shown_on(self, question: Q) -> Q:
        """Return the question the page shows, with the hint asked for shown and counted on its served row.

        Nothing is asked of a question that took the asked one's place (answered in another tab meanwhile).
        """
        if question is None or question.id != self.served_id:
            return question
        return show_hint(question, self.hints)

    def carried(self) -> dict[str, int | None]:
        """Return the query arguments of the page's address after the hint: the question only (what was typed is
        kept for the launch, `typed_back`)."""
        return {"served": self.served_id}

    def answer_for(self, question: object) -> str:
        """Return the typed answer for the question the page shows: none when another question took its place."""
        return self.answer if getattr(question, "id", None) == self.served_id else ""


def hint_asked() -> HintAsked | None:
    """Return the hint request when the posted form asked for one more hint (not an answer), else None.

    The view then shows its question again with that hint, nothing answered. The form says how many hints its page
    showed, so the one asked for is the next: a double click asks for the same one twice and gets it once. What is
    shown and counted is the served row's number (`serving.show_hint`), which no form or address can lower.
    """
    if not request.form.get("show_hint"):
        return None
    return HintAsked(request.form.get("served", type=row_id), request.form.get("hints", 0, type=int) + 1,
                     request.form.get("answer", ""))


def typed_back() -> HintAsked | None:
    """Return the question the page's address names after "Show a hint" (`HintAsked.carried`) and what was typed on
    it in this launch, else None. An `answer=` in the address (as an older release wrote it) is not read.

    It asks for no hint: the hints shown are the served row's, counted by the post.
    """
    served = request.args.get("served", type=row_id)
    return None if served is None else HintAsked(served, 0, typed_answer(g.launch, served))


def hint_redirect(typed: HintAsked | None, question: Served | None, endpoint: str, **values) -> Response | None:
    """After "Show a hint" was posted: count the hint on the page's question (if still the one asked about) and
    return the redirect to the question's page (`endpoint` with `values`), carrying what was typed; None on a GET."""
    if typed is None or request.method != "POST":
        return None
    shown = typed.shown_on(question)
    # Kept only for the question the page shows (the only one `answer_for` gives it back to): a served id the form
    # names freely would otherwise keep up to TYPED_ANSWER_LIMIT characters in the cache for each, as many as posted.
    # And only on an open question with a hint shown: a deletion of the student's data finds the entries to remove
    # from those rows (typed_answers.held_for).
    if shown is not None and shown.id == typed.served_id and shown.hints > 0 and not shown.answered:
        keep_typed_answer(g.launch.id, typed.served_id, typed.answer,
                          seconds=current_app.config["LAUNCH_SESSION_MAX_SECONDS"])
    return redirect(url_for(endpoint, **values, **typed.carried()), code=303)


def hints_to_show(question: Served | None) -> int:
    """Return how many of the question's hints its page shows: as many as the server has shown on it."""
    return max(0, min(question.hints, len(question.item.hints))) if question is not None else 0
