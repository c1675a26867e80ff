"""The marker for sentences the domain writes in English and pages show in the learner's language, and the
sentence type that remembers how it was written so a page can write it again in another language."""

from __future__ import annotations

from collections.abc import Mapping


def N_(text: str) -> str:  # noqa: N802 - pybabel's default marker: the sentence goes into the translation catalog
    """Mark a sentence template for translation; the domain itself always writes English."""
    return text


class Message(str):
    """An English sentence made from an N_() template and its values, which remembers both.

    As a str it is the English text, so the command line, logs and tests read it as before. A page shows it in
    the reader's language by translating `template` and filling in `values` (web/i18n.py message_text); a value
    that is itself a Message ("a list" in "should be text, not a list") is translated too.
    """

    template: str
    values: Mapping[str, object]

    def __new__(cls, template: str, /, **values: object) -> Message:
        message = super().__new__(cls, template % values if values else template)
        message.template, message.values = template, values
        return message

    def __reduce__(self) -> tuple:  # copy and pickle make it again from its template and values
        return _message, (type(self), self.template, dict(self.values))


class Problem(Message):
    """A problem found in a document: where it is (a path such as "skills[2].name", "" for the whole document)
    and what is wrong. As a str it reads "where: what", in English."""

    where: str
    message: str

    def __new__(cls, where: str, message: str) -> Problem:
        if where:
            problem = super().__new__(cls, N_("%(where)s: %(problem)s"), where=where, problem=message)
        elif isinstance(message, Message):
            problem = super().__new__(cls, message.template, **message.values)
        else:
            problem = super().__new__(cls, message)  # plain English: its own template, with nothing to fill in
        problem.where, problem.message = where, message
        return problem

    def __reduce__(self) -> tuple:  # copy and pickle make it again from its parts
        return type(self), (self.where, self.message)


def _message(cls: type[Message], template: str, values: dict[str, object]) -> Message:
    return cls(template, **values)
