"""Read an env file (`pathways -e /etc/pathways.env …`) without python-dotenv.

Flask's own `--env-file` needs python-dotenv, which is not one of Pathways' dependencies, so from a plain wheel
install it only said "python-dotenv must be installed". The file an admin has is the one systemd reads
(`EnvironmentFile=`) and `set -a; . FILE` sources, made from config/pathways.example.env: `KEY=VALUE` lines,
comments, optional quotes. That much is read here; anything else is refused with its line number rather than
guessed at, so a setting is never silently lost.
"""

from __future__ import annotations

import re
from pathlib import Path

_LINE = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$")


class EnvFileError(ValueError):
    """A line of the env file is not `KEY=VALUE`, a comment or blank."""


def read_env_file(path: str | Path) -> dict[str, str]:
    """Return the variables an env file sets, in the file's order (a later line wins over an earlier one)."""
    values: dict[str, str] = {}
    text = Path(path).read_text(encoding="utf-8")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if match is None:
            raise EnvFileError(f"line {number} is not KEY=VALUE: {line[:60]!r}")
        key, value = match.groups()
        values[key] = _value(value, number)
    return values


def _value(value: str, number: int) -> str:
    if value[:1] in ("'", '"'):
        quote = value[0]
        end = value.find(quote, 1)
        if end == -1:
            raise EnvFileError(f"line {number}: the value's {quote} is never closed")
        rest = value[end + 1:].strip()
        if rest and not rest.startswith("#"):
            raise EnvFileError(f"line {number}: text after the closing {quote}")
        return value[1:end]
    # As in the shell: an unquoted " #" starts a comment.
    return re.split(r"\s+#", value, maxsplit=1)[0].strip()
