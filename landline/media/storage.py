"""The content store: where the bytes of hosted content live, by storage key.

The store knows keys and bytes only. Who owns an object, its type, its name and its
size as recorded belong to the database; the content type given to `put` only labels
the object for backends that keep such a label (S3).

An HTTP endpoint serves an object without holding it in memory. With the size recorded
in the database, `core/byte_ranges.py` turns a Range header into a `ByteRange`, and
`open_range` opens those bytes together with the object's size and ETag:

    wanted = parse_range(request_range, recorded_size) or ByteRange(0, recorded_size)
    stream = await store.open_range(key, wanted.start, wanted.end)
    async with stream:
        # headers: ETag stream.stored.etag, Content-Length stream.length, and for a
        # range, Content-Range wanted.content_range(stream.stored.size)
        async for chunk in stream:
            await send(chunk)

(`stat` gives size and ETag alone, e.g. for HEAD or when no size is recorded.) Opening
is separate from reading so a missing object is known before any header is sent.
Objects are written whole or not at all: a reader never sees part of one.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol

# How much one read takes from a file or a connection, and so what one open stream holds.
CHUNK_BYTES = 256 * 1024


class ObjectMissing(LookupError):
    """No object has this key (never stored, or deleted)."""


class TooLarge(ValueError):
    """A stream went past its `max_bytes`; nothing of it was kept."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the content is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


class InvalidRange(ValueError):
    """A range that is empty, negative, or starts at or past the end of the object."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    # Ready for the ETag header: quoted, strong (an object's bytes never change).
    etag: str


class ByteStream:
    """Part of one object, read chunk by chunk as it is consumed.

    It holds an open file or connection: close it (`async with`, or `aclose()`), also
    when stopping early. `length` is the number of bytes it yields in all; `stored` is
    the whole object's size and ETag, read with the range (one round trip for both).
    """

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        length: int,
        stored: StoredObject,
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.length = length
        self.stored = stored
        self._chunks = chunks
        self._close = close
        self._closed = False

    def __aiter__(self) -> ByteStream:
        return self

    async def __anext__(self) -> bytes:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._close()

    async def read_all(self) -> bytes:
        async with self:
            return b"".join([chunk async for chunk in self])

    async def __aenter__(self) -> ByteStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()


class ContentStore(Protocol):
    """Every method checks its key (`keys.check_key`) and raises `keys.InvalidKey`
    for anything that is not a storage key, before touching storage."""

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        """Store `data` under `key`, replacing what was there; visible once whole."""
        ...

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> StoredObject:
        """Store what `chunks` yields. Past `max_bytes` raise TooLarge; then, and on any
        error or cancellation, nothing is left behind."""
        ...

    async def get(self, key: str) -> bytes:
        """The whole object (for objects known to be small); ObjectMissing if none."""
        ...

    async def open_range(self, key: str, start: int, end: int) -> ByteStream:
        """Bytes [start, end) of the object, as a slice: `end` past the object's size
        reads to its end. ObjectMissing if none; InvalidRange if `start` is at or past
        its end, or the range is empty."""
        ...

    async def stat(self, key: str) -> StoredObject | None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; a missing one is not an error."""
        ...

    async def close(self) -> None: ...


def check_range(start: int, end: int) -> None:
    if start < 0 or end <= start:
        raise InvalidRange(f"bytes [{start}, {end}) is not a range")


async def bounded(chunks: AsyncIterable[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    """The chunks, raising TooLarge as soon as they add up to more than `max_bytes`."""
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise TooLarge(max_bytes)
        yield chunk
