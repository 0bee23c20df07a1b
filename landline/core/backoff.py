"""When to try a carrier again after it said "not now"."""

from __future__ import annotations

CARRIER_RETRY_BASE_MS = 1_000
CARRIER_RETRY_CEILING_MS = 300_000
CARRIER_MAX_ATTEMPTS = 12


def carrier_retry_delay_ms(attempt: int) -> int:
    """Doubling from one second after the first failed attempt, at most five minutes."""
    return min(CARRIER_RETRY_BASE_MS * 2 ** max(attempt - 1, 0), CARRIER_RETRY_CEILING_MS)
