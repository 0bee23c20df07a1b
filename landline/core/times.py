"""Timestamps: stored as epoch milliseconds, shown in the line's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIMEZONE = "America/Los_Angeles"
SCHEDULE_PAST_TOLERANCE_MS = 60_000
SCHEDULE_HORIZON_MS = 366 * 24 * 3600 * 1000
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidTime(ValueError):
    pass


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidTime(f"unknown time zone {name!r}") from exc


@overload
def render(ms: int, tz: str) -> str: ...
@overload
def render(ms: int | None, tz: str) -> str | None: ...
def render(ms: int | None, tz: str) -> str | None:
    """ISO 8601 with the zone's offset, to the second, as in `2015-08-19T16:53:45-07:00`."""
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=zone(tz))
    return moment.isoformat(timespec="seconds")


def parse_instant(text: str) -> int:
    """Read epoch milliseconds (13 digits) or ISO 8601 with an offset."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        if len(text) != 13:
            raise InvalidTime("expected epoch milliseconds (13 digits)")
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidTime("expected epoch milliseconds or ISO 8601 with an offset") from exc
    if moment.tzinfo is None:
        raise InvalidTime("an ISO 8601 date needs an offset")
    # Integer arithmetic: a float timestamp can land a millisecond early.
    return (moment - _UNIX_EPOCH) // timedelta(milliseconds=1)


def check_schedule(when_ms: int, now_ms: int) -> None:
    if when_ms < now_ms - SCHEDULE_PAST_TOLERANCE_MS:
        raise InvalidTime("scheduledDate is in the past")
    if when_ms > now_ms + SCHEDULE_HORIZON_MS:
        raise InvalidTime("scheduledDate is more than a year ahead")
