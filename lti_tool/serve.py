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
        packaged = runpy.run_module("lti_tool.gunicorn_conf")
        for key, value in {**packaged, **self.overrides}.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def serve(bind: str | None = None, workers: int | None = None) -> None:
    """Run gunicorn until stopped; --bind and --workers win over the settings."""
    PathwaysServer({"bind": [bind] if bind else None, "workers": workers}).run()
