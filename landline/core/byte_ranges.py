"""HTTP Range requests (RFC 9110, section 14): which bytes of an object a request asks for.

One range per request is served. A header this server does not serve (another unit,
several ranges, bad syntax) is ignored, as the RFC allows: the whole object is sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Longer headers are not ranges this server serves; this bounds the work on them.
MAX_HEADER_CHARS = 100
_SPEC = re.compile(r"bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*")


class RangeNotSatisfiable(ValueError):
    """The range lies wholly past the end of the object: answer 416 with
    `Content-Range: bytes */<size>`."""


@dataclass(frozen=True)
class ByteRange:
    """The bytes [start, end) of an object, as in a slice."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start

    def content_range(self, size: int) -> str:
        """The `Content-Range` header of a 206 answer."""
        return f"bytes {self.start}-{self.end - 1}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a `Range` header asks for in an object of `size` bytes, or None to send
    the whole object. Raises RangeNotSatisfiable when no byte of it exists."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    match = _SPEC.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        if not last:
            return None
        # A suffix: the last N bytes, all of them when N exceeds the size.
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"bytes=-{suffix} of {size} bytes")
        return ByteRange(max(size - suffix, 0), size)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid syntax, by the RFC
    if start >= size:
        raise RangeNotSatisfiable(f"bytes={start}- of {size} bytes")
    return ByteRange(start, min(int(last) + 1, size) if last else size)
