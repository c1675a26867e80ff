"""The marker for sentences the domain writes in English and pages show in the learner's language."""


def N_(text: str) -> str:  # noqa: N802 - pybabel's default marker: the sentence goes into the translation catalog
    """Mark a sentence template for translation; the domain itself always writes English."""
    return text
