"""Automatic spam protection: per-line limits on what a line sends.

A line may send at most `per_minute` texts in any minute, `per_day` in any 24 hours,
and the same body to at most `same_body_contacts` distinct numbers within an hour
(bodies compared without case or spacing, so "Buy NOW" and "buy  now" are one body). A
send that would cross a limit is refused and the line is flagged (sends answer -801)
until the operator clears it. 0 turns a limit off.

Counts are kept in memory, bounded: per line, one bucket per second for the minute and
one per minute for the day, and at most `MAX_BODIES` bodies; at most `MAX_LINES` lines
(the least recently seen are forgotten first).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from dataclasses import dataclass, field

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
MAX_LINES = 100_000
MAX_BODIES = 1_000


@dataclass(frozen=True)
class SpamLimits:
    per_minute: int = 0
    per_day: int = 0
    same_body_contacts: int = 0

    @property
    def active(self) -> bool:
        return bool(self.per_minute or self.per_day or self.same_body_contacts)


class _Window:
    """A sliding count over `span_ms`, in buckets of `bucket_ms`."""

    def __init__(self, span_ms: int, bucket_ms: int) -> None:
        self._span = span_ms
        self._bucket = bucket_ms
        self._buckets: deque[tuple[int, int]] = deque()  # (bucket start, count)
        self.total = 0

    def count_at(self, now: int) -> int:
        edge = now - self._span
        while self._buckets and self._buckets[0][0] + self._bucket <= edge:
            self.total -= self._buckets.popleft()[1]
        return self.total

    def add(self, now: int, count: int) -> None:
        start = now - now % self._bucket
        if self._buckets and self._buckets[-1][0] == start:
            self._buckets[-1] = (start, self._buckets[-1][1] + count)
        else:
            self._buckets.append((start, count))
        self.total += count


@dataclass
class _Line:
    minute: _Window = field(default_factory=lambda: _Window(MINUTE_MS, 1_000))
    day: _Window = field(default_factory=lambda: _Window(DAY_MS, MINUTE_MS))
    # body digest -> (number -> when it was last sent that body)
    bodies: OrderedDict[bytes, dict[str, int]] = field(default_factory=OrderedDict)


def body_key(body: str) -> bytes:
    """One key for a body however it is cased or spaced."""
    normal = " ".join(body.casefold().split())
    return hashlib.blake2b(normal.encode("utf-8"), digest_size=12).digest()


class SpamWatch:
    def __init__(self, limits: SpamLimits, *, max_lines: int = MAX_LINES) -> None:
        self.limits = limits
        self._max_lines = max_lines
        self._lines: OrderedDict[int, _Line] = OrderedDict()

    def admit(self, device_id: int, body: str, numbers: list[str], now: int) -> str | None:
        """Count a send of `body` to `numbers`; or, if it would cross a limit, count
        nothing and answer why (the line is to be flagged)."""
        if not self.limits.active:
            return None
        line = self._line(device_id)
        reason = self._crossed(line, body, numbers, now)
        if reason is not None:
            # The line is flagged now: when the operator clears it, it starts afresh.
            del self._lines[device_id]
            return reason
        line.minute.add(now, len(numbers))
        line.day.add(now, len(numbers))
        if self.limits.same_body_contacts:
            sent = line.bodies.setdefault(body_key(body), {})
            line.bodies.move_to_end(body_key(body))
            for number in numbers:
                sent[number] = now
            while len(line.bodies) > MAX_BODIES:
                line.bodies.popitem(last=False)
        return None

    def forget(self, device_id: int) -> None:
        self._lines.pop(device_id, None)

    def _line(self, device_id: int) -> _Line:
        line = self._lines.get(device_id)
        if line is None:
            line = self._lines[device_id] = _Line()
            while len(self._lines) > self._max_lines:
                self._lines.popitem(last=False)
        else:
            self._lines.move_to_end(device_id)
        return line

    def _crossed(self, line: _Line, body: str, numbers: list[str], now: int) -> str | None:
        limits, count = self.limits, len(numbers)
        if limits.per_minute and line.minute.count_at(now) + count > limits.per_minute:
            return f"more than {limits.per_minute} messages in a minute"
        if limits.per_day and line.day.count_at(now) + count > limits.per_day:
            return f"more than {limits.per_day} messages in a day"
        if limits.same_body_contacts:
            sent = line.bodies.get(body_key(body), {})
            for number, at in list(sent.items()):
                if now - at >= HOUR_MS:
                    del sent[number]
            reached = set(sent) | set(numbers)
            if len(reached) > limits.same_body_contacts:
                return (
                    f"the same text to more than {limits.same_body_contacts} contacts "
                    "within an hour"
                )
        return None
