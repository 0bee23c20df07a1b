"""Identifiers: snowflake message ids, and the stable ids derived from numbers.

Message ids are 64-bit and time-ordered: 41 bits of milliseconds since 2015-01-01,
10 bits of node (claimed from the store at start, so processes never share one) and
12 bits of sequence. Contact ids and conversation fingerprints are hashes of what they
name, so every process derives the same id without asking the store.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable

from landline.core.clock import Clock

EPOCH_MS = 1_420_070_400_000  # 2015-01-01T00:00:00Z
NODE_BITS = 10
SEQUENCE_BITS = 12
MAX_NODE = (1 << NODE_BITS) - 1
MAX_SEQUENCE = (1 << SEQUENCE_BITS) - 1
MAX_ID = (1 << 63) - 1
# Ids that JavaScript clients can hold exactly.
SAFE_INTEGER_BITS = 53


class SnowflakeGenerator:
    def __init__(self, node: int, clock: Clock) -> None:
        if not 0 <= node <= MAX_NODE:
            raise ValueError(f"node must be 0..{MAX_NODE}")
        self._node = node
        self._clock = clock
        self._last_ms = 0
        self._sequence = 0
        self._lock = threading.Lock()

    def next_id(self) -> int:
        with self._lock:
            # Never go backwards, even if the wall clock does: reuse the last
            # millisecond and let the sequence carry into the next one.
            now = max(self._clock.now_ms(), self._last_ms)
            if now == self._last_ms:
                self._sequence += 1
                if self._sequence > MAX_SEQUENCE:
                    now += 1
                    self._sequence = 0
            else:
                self._sequence = 0
            self._last_ms = now
            return (
                ((now - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS))
                | (self._node << SEQUENCE_BITS)
                | self._sequence
            )

    def take(self, count: int) -> list[int]:
        return [self.next_id() for _ in range(count)]


def id_time_ms(snowflake: int) -> int:
    return (snowflake >> (NODE_BITS + SEQUENCE_BITS)) + EPOCH_MS


def first_id_at(ms: int) -> int:
    """The smallest snowflake made at or after `ms`: time ranges become id ranges.
    Times past what 41 bits hold give the largest id there can be."""
    return min(max(ms - EPOCH_MS, 0) << (NODE_BITS + SEQUENCE_BITS), MAX_ID)


def last_id_at(ms: int) -> int:
    """The largest snowflake made at or before `ms`."""
    return max(first_id_at(ms + 1) - 1, 0) if first_id_at(ms + 1) < MAX_ID else MAX_ID


def _digest_int(*parts: str, bits: int = SAFE_INTEGER_BITS) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "big") & ((1 << bits) - 1)
    return value or 1


def contact_id(device_id: int, number: str) -> int:
    """The id of the contact `number` on the line `device_id`: stable across processes."""
    return _digest_int("contact", str(device_id), number)


def fingerprint(device_id: int, numbers: Iterable[str]) -> str:
    """The conversation id of a line and a set of recipients, as a string of digits."""
    members = sorted(set(numbers))
    return str(_digest_int("conversation", str(device_id), *members))
