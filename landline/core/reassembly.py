"""Putting inbound parts back together into texts.

Parts belong together when they share source, destination, reference and total. A text
is complete when every part 1..total has come; a text whose other parts never come is
given out, as far as it got, once it has waited `timeout_ms` since its first part. A
part that comes again after its text was given out (an SMSC redelivering it) is
dropped if it is the same part; a different part under the same key starts a new text.
The caller owns time: it passes `now` (epoch milliseconds) and calls `expire` when
`next_deadline` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from landline.core.segments import Coding, InboundPart, decode_payload

DEFAULT_TIMEOUT_MS = 5 * 60 * 1000
DEFAULT_MAX_PENDING = 10_000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Assembled:
    source: str
    destination: str
    text: str
    complete: bool
    total: int
    received: tuple[int, ...]  # the part numbers the text was made from, in order
    first_at: int
    last_at: int
    reference: int = 0  # the parts' concatenation reference (0 for a text never split)


@dataclass(frozen=True)
class _Key:
    source: str
    destination: str
    reference: int
    total: int


@dataclass
class _Pending:
    first_at: int
    last_at: int
    parts: dict[int, InboundPart] = field(default_factory=dict)
    size: int = 0


class Reassembler:
    """Holds parts until their text is complete or has waited too long. Bounded: beyond
    `max_pending` texts or `max_bytes` of held parts, the oldest text is given out as
    it stands."""

    def __init__(
        self,
        *,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
        max_pending: int = DEFAULT_MAX_PENDING,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.timeout_ms = timeout_ms
        self.max_pending = max_pending
        self.max_bytes = max_bytes
        # Insertion order is arrival order of each text's first part: oldest first.
        self._pending: dict[_Key, _Pending] = {}
        self._bytes = 0
        # Texts given out lately: when, and a hash of each part's user data, to know a
        # repeated part from a new text that reuses the reference.
        self._given: dict[_Key, tuple[int, dict[int, int]]] = {}

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, source: str, destination: str, part: InboundPart, now: int) -> list[Assembled]:
        """Take one part; answer the texts now ready: this one if it is complete (or
        was never split), and any older text pushed out to stay within bounds."""
        concat = part.concat
        if concat is None or concat.total == 1:
            return [_single(source, destination, part, now)]
        key = _Key(source, destination, concat.reference, concat.total)
        self._forget_given(now)
        pending = self._pending.get(key)
        if pending is None and self._repeats_given(key, concat.seq, part.payload):
            return []
        if pending is None:
            pending = self._pending[key] = _Pending(first_at=now, last_at=now)
        pending.last_at = now
        if concat.seq not in pending.parts:  # a repeated part changes nothing
            pending.parts[concat.seq] = part
            pending.size += len(part.payload)
            self._bytes += len(part.payload)
        ready: list[Assembled] = []
        if len(pending.parts) == concat.total:
            ready.append(self._finish(key))
        while self._pending and (
            len(self._pending) > self.max_pending or self._bytes > self.max_bytes
        ):
            ready.append(self._finish(next(iter(self._pending))))
        return ready

    def expire(self, now: int) -> list[Assembled]:
        """The texts whose wait has run out, as far as they got."""
        expired = [
            key
            for key, pending in self._pending.items()
            if now - pending.first_at >= self.timeout_ms
        ]
        return [self._finish(key) for key in expired]

    def next_deadline(self) -> int | None:
        """When the oldest held text runs out of time, or None if none is held."""
        if not self._pending:
            return None
        return min(pending.first_at for pending in self._pending.values()) + self.timeout_ms

    def _repeats_given(self, key: _Key, seq: int, payload: bytes) -> bool:
        given = self._given.get(key)
        return given is not None and given[1].get(seq) == hash(payload)

    def _forget_given(self, now: int) -> None:
        while self._given:
            key, (at, _) = next(iter(self._given.items()))
            if now - at < self.timeout_ms and len(self._given) <= self.max_pending:
                break
            del self._given[key]

    def _finish(self, key: _Key) -> Assembled:
        pending = self._pending.pop(key)
        self._bytes -= pending.size
        self._given.pop(key, None)
        self._given[key] = (
            pending.last_at,
            {seq: hash(part.payload) for seq, part in pending.parts.items()},
        )
        seqs = tuple(sorted(pending.parts))
        return Assembled(
            source=key.source,
            destination=key.destination,
            text=join([pending.parts[seq] for seq in seqs]),
            complete=len(seqs) == key.total,
            total=key.total,
            received=seqs,
            first_at=pending.first_at,
            last_at=pending.last_at,
            reference=key.reference,
        )


def join(parts: list[InboundPart]) -> str:
    """The text of parts in order. Parts in one coding are decoded together, so an
    escape or a surrogate pair that a sender split across two parts still reads as one
    character."""
    codings = {part.data_coding for part in parts}
    aligned = all(len(part.payload) % 2 == 0 for part in parts)
    if len(codings) == 1 and (aligned or codings != {Coding.UCS2}):
        return decode_payload(b"".join(part.payload for part in parts), codings.pop())
    # Mixed codings, or a UCS-2 part of odd length that would shift every part after it.
    return "".join(part.text for part in parts)


def _single(source: str, destination: str, part: InboundPart, now: int) -> Assembled:
    return Assembled(
        source=source,
        destination=destination,
        text=part.text,
        complete=True,
        total=1,
        received=(1,),
        first_at=now,
        last_at=now,
    )
