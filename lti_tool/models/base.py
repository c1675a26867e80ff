"""Small shared pieces for rows."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return naive UTC now: the database columns are timezone-less and always UTC."""
    return datetime.now(UTC).replace(tzinfo=None)
