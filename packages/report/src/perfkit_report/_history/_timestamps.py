"""Timestamps as history.db stores them: ISO 8601, UTC, microseconds, ``+00:00``.

One fixed format makes stored timestamps sort as text, so ``ORDER BY started`` and the retention
cut-off (``started < ?``) work on the index without parsing. Naive input (pyperf's ``date``
metadata is local time without a zone) is taken as UTC: the zone it was written in is unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_timestamp", "now_utc", "parse_timestamp"]


def parse_timestamp(text: str) -> datetime:
    """Parse ISO 8601 (``T`` or space separator, optional zone, ``Z`` allowed) into aware UTC.

    Raises ValueError with the offending text when it is not ISO 8601.
    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is past the last datetime in UTC
        raise ValueError(f"a timestamp out of range in UTC: {text!r}") from None


def format_timestamp(moment: datetime) -> str:
    """The stored form: ``2026-01-31T12:00:00.000000+00:00``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def now_utc() -> datetime:
    """The current time, aware, UTC."""
    return datetime.now(UTC)
