"""Fixtures for the LTI stories: a hostile LMS beside the sandbox one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.evil import EvilServer


@pytest.fixture
def evil() -> Iterator[EvilServer]:
    """A scripted hostile LMS on 127.0.0.2 (tests/evil.py), another loopback address than the tool's."""
    server = EvilServer("127.0.0.2")
    yield server
    server.close()
