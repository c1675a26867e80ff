"""The one place form and query input enters Pathways: control characters out, over-long fields refused."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Flask, request
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from ..models.base import LARGEST_ROW_ID
from ..security import MAX_ID_TOKEN_CHARS
from ..services.errors import N_, ServiceError
from ..text import is_clean, strip_control

# No field Pathways keeps is longer than 4,000 characters (reflections, evidence); the services refuse or cut
# to their own column. Past this, the text was not typed into one of our forms.
MAX_FIELD_CHARS = 20_000
#: Posted fields no person types, by the endpoint that reads them, with their own limit: a platform-signed id_token
#: (large custom claims make a real one longer than 20,000 characters), which the launch validator caps itself.
LONGER_FORM_FIELDS: dict[str, dict[str, int]] = {
    "launch.launch": {"id_token": MAX_ID_TOKEN_CHARS},
    "launch.launch_verified": {"id_token": MAX_ID_TOKEN_CHARS},
}
TOO_LONG = N_("One of the fields is far longer than Pathways accepts. Shorten it and send the form again.")


class FieldTooLong(ServiceError):
    """A form field is longer than any Pathways keeps."""

    status = 422


def _cleaned(values: ImmutableMultiDict, longer: Mapping[str, int] | None = None) -> ImmutableMultiDict:
    pairs = list(values.items(multi=True))
    longer = longer or {}
    if any(len(value) > longer.get(key, MAX_FIELD_CHARS) for key, value in pairs):
        raise FieldTooLong(TOO_LONG)
    if all(is_clean(key) and is_clean(value) for key, value in pairs):
        return values
    return ImmutableMultiDict([(strip_control(key), strip_control(value)) for key, value in pairs])


class RowIdConverter(IntegerConverter):
    """The routes' `<int:…>`, a row id: a number past LARGEST_ROW_ID matches no route (the page that says so, a 404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002 - werkzeug's names
                 max: int | None = LARGEST_ROW_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits, min, max, signed)


def row_id(text: str) -> int:
    """Read a row id from a form or a query, as `type=` (`request.form.get("served", type=row_id)`): a number past
    LARGEST_ROW_ID either way is a ValueError, so it reads as a field left out, as any other text that is no id."""
    value = int(text)
    if not -LARGEST_ROW_ID <= value <= LARGEST_ROW_ID:
        raise ValueError(f"{text[:20]!r} is no row id")
    return value


def register(app: Flask) -> None:
    """Clean request.form and request.args before any view (or CSRF check) reads them; give pages field_error.

    Before the routes are added: their `<int:…>` ids are row ids (RowIdConverter).
    """
    app.url_map.converters["int"] = RowIdConverter
    app.add_template_global(field_error)

    @app.before_request
    def clean_input() -> None:
        request.args = _cleaned(request.args)
        if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"
        ):
            request.form = _cleaned(request.form, LONGER_FORM_FIELDS.get(request.endpoint or ""))


@pass_context
def field_error(context: Context, name: str, described_by: str = "") -> Markup:
    """Return a field's aria attributes: when the page's `error_field` is this field, aria-invalid and the error
    message (the flash with id form-error) first in aria-describedby, so a screen reader reads both on the field.

    A page listing several problems gives `field_errors` instead: each field's name and the id of its problem.
    """
    error_id = (context.get("field_errors") or {}).get(name) or (
        "form-error" if context.get("error_field") == name else "")
    ids = " ".join(filter(None, [error_id, described_by]))
    invalid = Markup(' aria-invalid="true"') if error_id else Markup("")
    return invalid + (Markup(' aria-describedby="{}"').format(ids) if ids else Markup(""))
