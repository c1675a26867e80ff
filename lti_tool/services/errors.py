"""Named failures of use cases; views turn them into 4xx pages."""

from __future__ import annotations


def N_(text: str) -> str:  # noqa: N802 - pybabel's default marker: the message goes into the translation catalog
    """Mark a message for translation; services always write English, pages translate it."""
    return text


class ServiceError(Exception):
    """A request we refuse, with a message fit to show the person.

    `template` (with "%(name)s" placeholders) and `params` let pages show the message in the reader's
    language; `message` is the English text. `form_field` names the form field the refusal is about, when there
    is one, so the page can mark that field invalid and point it at the message (WCAG 3.3.1).
    """

    status = 400

    def __init__(self, message: str, *, form_field: str | None = None, **params: object) -> None:
        self.template = message
        self.params = params
        self.form_field = form_field
        self.message = message % params if params else message
        super().__init__(self.message)


class NotFound(ServiceError):
    status = 404


class Forbidden(ServiceError):
    status = 403


class TryAgain(ServiceError):
    """The server could not do it just now (a lock lost to a race): not the person's doing, so a 503 that asks
    them to try again. (A database or cache outage gets the same kind of page from lti_tool/errors.py.)"""

    status = 503


TRY_AGAIN = N_("Pathways could not take your request right now. Try again in a minute.")
