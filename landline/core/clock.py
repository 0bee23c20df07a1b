"""Time as the service sees it: epoch milliseconds from a clock that tests can drive."""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that only moves when told to, for tests of schedules and time limits."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = start_ms if start_ms is not None else SystemClock().now_ms()
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def advance(self, *, seconds: float = 0, ms: int = 0) -> int:
        with self._lock:
            self._now += ms + int(seconds * 1000)
            return self._now
