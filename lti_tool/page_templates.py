"""The Jinja environment the pages are drawn in: Flask's, with templates that read its globals directly."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from flask.templating import Environment


class PageEnvironment(Environment):
    """Flask's Jinja environment, whose templates share the environment's globals instead of a ChainMap over them.

    Jinja gives each template a ChainMap(its own globals, the environment's), and a ChainMap is Python code: every
    render copies it into the page's context key by key, and every include and `{% from … import … %}` lists its
    keys again (about 240 Python calls on the answer page, with 34 globals).
    Pathways gives templates no globals of their own, so a template's globals are the environment's dict itself:
    the same names, read at C speed, and a global added later is seen at once, as through the ChainMap. Keep it so:
    `get_template(…, globals=…)` on a template already loaded updates that template's globals, which are now the
    environment's (a template first loaded with its own globals still gets Jinja's ChainMap).
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        if not d:
            return self.globals
        return super().make_globals(d)
