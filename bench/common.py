"""What the bench scripts share: the machine they ran on, a SQL statement counter, an empty database."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa


def cpu_model() -> str:
    """Return the CPU's model name from /proc/cpuinfo, or "unknown CPU"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def machine() -> str:
    """Describe the machine the figures come from, with its load average and the time."""
    model = cpu_model()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (f"{platform.platform()}, {os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, "
            f"load average {load}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


class StatementCounter:
    """Count the SQL statements an engine executes."""

    def __init__(self, engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args) -> None:
        self.count += 1


def empty_database(engine: sa.Engine) -> None:
    """Empty a scratch PostgreSQL database before migrating it (a SQLite file is new each run already)."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
