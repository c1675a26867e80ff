"""SIGTERM for `pathways worker` from the process's first moment: noted, never the default death (status 143).

systemd, Docker and Procfile hosts stop the worker with SIGTERM, and a restart can send it while the worker is
still starting (importing Flask and SQLAlchemy, building the app: seconds on a busy host). Python's default then
ends the process with status 143, which systemd counts as a failure. This module is imported first (lti_tool's
package) and imports nothing heavy, so the handler is in place before the slow imports; the worker command asks
`stop_requested()` once it runs, and exits 0 without starting a pass.
"""

from __future__ import annotations

import os
import signal
import sys

_requested: list[int] = []


def _note(signum: int, _frame: object) -> None:
    _requested.append(signum)


def stop_requested() -> bool:
    """Tell whether a SIGTERM arrived before the worker put its own handler in place."""
    return bool(_requested)


#: The `pathways` options that come before the command and take a value (`pathways -e /etc/pathways.env worker`).
_OPTIONS_WITH_VALUE = frozenset({"-e", "--env-file", "-A", "--app"})


def command_of(argv: list[str]) -> str | None:
    """Return the `pathways` command a command line runs (its first word that is no option or option value)."""
    if not argv or os.path.basename(argv[0]) != "pathways":
        return None
    words = iter(argv[1:])
    for word in words:
        if word in _OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def catch_early(argv: list[str]) -> None:
    """Note SIGTERM instead of dying of it when this process is `pathways worker` (only then: a web server or a
    test run keeps its own handling)."""
    if command_of(argv) == "worker":
        signal.signal(signal.SIGTERM, _note)


catch_early(sys.argv)
