"""`pathways serve`: gunicorn with the packaged production settings (lti_tool/gunicorn_conf.py)."""

from __future__ import annotations

import runpy
from typing import Any

from gunicorn.app.base import BaseApplication


class PathwaysServer(BaseApplication):
    """Gunicorn running `create_app()` in each worker, configured from the package, not from argv."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = overrides
        super().__init__()

    def load_config(self) -> None:
        settings = runpy.run_module("lti_tool.gunicorn_conf")
        # An option not given on the command line (None) leaves the packaged value: merging it in as None used to
        # drop the packaged one, so `pathways serve` ran gunicorn's default of one worker on 127.0.0.1:8000.
        settings.update({key: value for key, value in self.overrides.items() if value is not None})
        for key, value in settings.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def serve(bind: str | None = None, workers: int | None = None) -> None:
    """Run gunicorn until stopped; --bind and --workers win over the settings."""
    PathwaysServer({"bind": [bind] if bind else None, "workers": workers}).run()
