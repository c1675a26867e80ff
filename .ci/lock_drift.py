"""Print where this Python's installed packages differ from requirements.lock (run by .ci/run; never fails).

    python lock_drift.py [LOCK]      # LOCK defaults to the repository's requirements.lock

CI installs `.[test]`, so it tests the newest releases pyproject.toml allows, while deploys install the lock. When a
new release of a dependency turns a test red, the log then names it below the failure instead of leaving it to be
found by installing the lock and comparing by hand.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.utils import canonicalize_name


def locked(lock: Path) -> dict[str, str]:
    """Return the lock's pins: canonical name -> version."""
    pins = re.findall(r"^([A-Za-z0-9._-]+)==([^\s\\]+)", lock.read_text(encoding="utf-8"), re.M)
    return {canonicalize_name(name): pinned for name, pinned in pins}


def drift(lock: Path) -> list[str]:
    """Return one line per locked package installed at another version, or not installed."""
    lines = []
    for name, pinned in sorted(locked(lock).items()):
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed != pinned:
            lines.append(f"  {name}: lock {pinned}, installed {installed}")
    return lines


def main() -> None:
    lock = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "requirements.lock"
    lines = drift(lock)
    print("\n".join(["installed packages differing from requirements.lock:", *lines]) if lines
          else "installed packages match requirements.lock")


if __name__ == "__main__":
    main()
