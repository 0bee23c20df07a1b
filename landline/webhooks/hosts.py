"""Per-host queues inside one worker: what is in flight to each host, and what waits.

The store decides which deliveries are due; this bounds how many one worker sends to a
host at once (`webhook_host_concurrency`), so a host that is slow or dead ties up at
most its own slots. A host that answers fast gets a few more deliveries claimed ahead
(`buffer`), so its slots refill without waiting for the next round of claims.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from yarl import URL

J = TypeVar("J")

# Claimed ahead per host: enough for this long at the host's recent pace...
BUFFER_SECONDS = 0.25
# ...and never more than this many.
MAX_BUFFER = 256
# How much each new attempt's time moves the average.
EWMA_WEIGHT = 0.2


def queue_host(url: str) -> str:
    """The queue a webhook's deliveries wait in: `scheme://host:port`, lower case."""
    parsed = URL(url)
    host = (parsed.raw_host or "").lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parsed.scheme.lower()}://{host}:{parsed.port}"


@dataclass
class HostQueue(Generic[J]):
    host: str
    limit: int
    waiting: deque[J] = field(default_factory=deque)
    in_flight: int = 0
    # Average seconds per attempt lately; None until one has ended.
    pace_s: float | None = None

    def buffer(self) -> int:
        """Deliveries worth claiming beyond the free slots."""
        if self.pace_s is None:
            return 0
        ahead = int(self.limit * BUFFER_SECONDS / max(self.pace_s, 0.001))
        return max(0, min(MAX_BUFFER, ahead))

    def room(self) -> int:
        """How many more deliveries this worker should claim for the host."""
        return max(0, self.limit + self.buffer() - self.in_flight - len(self.waiting))

    def can_start(self) -> bool:
        return self.in_flight < self.limit and bool(self.waiting)

    def ended(self, seconds: float) -> None:
        self.in_flight -= 1
        if self.pace_s is None:
            self.pace_s = seconds
        else:
            self.pace_s += EWMA_WEIGHT * (seconds - self.pace_s)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.waiting
