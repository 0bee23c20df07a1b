"""Token buckets: how many requests a line may make, and when it may make the next."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TokenBucket:
    """`rate` requests a second on average, up to `burst` at once."""

    rate: float
    burst: float
    tokens: float
    updated_ms: int

    @classmethod
    def full(cls, rate: float, burst: float, now_ms: int) -> TokenBucket:
        return cls(rate=rate, burst=burst, tokens=burst, updated_ms=now_ms)

    def take(self, now_ms: int) -> int:
        """Spend one token; 0 if there was one, else the milliseconds until there is."""
        elapsed = max(now_ms - self.updated_ms, 0) / 1000
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.updated_ms = now_ms
        if self.tokens >= 1:
            self.tokens -= 1
            return 0
        return max(1, int((1 - self.tokens) / self.rate * 1000 + 0.999))


class Limits:
    """One bucket per key (a line), created full on first use."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else max(rate, 1.0)
        self._buckets: dict[int, TokenBucket] = {}

    def take(self, key: int, now_ms: int) -> int:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket.full(self.rate, self.burst, now_ms)
        return bucket.take(now_ms)
