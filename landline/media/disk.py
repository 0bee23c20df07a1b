"""Hosted content as files under one folder (`<data_dir>/media`).

    <root>/ab/cd/abcd...   an object, at two levels of shards from its key
    <root>/.partial/       objects being written

An object is written to `.partial` (on the same file system, so the rename is atomic),
synced, and renamed into place: a reader sees all of it or nothing. `.partial` holds
only unfinished writes, so what a crash leaves there is found without walking the
shards, and removed when a store next opens. Folders are 0700 and files 0600: the
content is private to the account that sent it.

All file work runs on the store's own few threads, so a large read or a slow disk never
blocks the event loop, and a burst of uploads cannot take every thread of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from landline.media.keys import check_key
from landline.media.storage import (
    CHUNK_BYTES,
    ByteStream,
    InvalidRange,
    ObjectMissing,
    StoredObject,
    bounded,
    check_range,
)

T = TypeVar("T")

PARTIAL_DIR = ".partial"
# Unfinished writes older than this are a crash's leftovers, not another process's
# upload in progress.
STALE_PARTIAL_SECONDS = 3600
DIR_MODE = 0o700


class DiskContentStore:
    def __init__(self, root: Path, *, threads: int = 4) -> None:
        self.root = root
        root.parent.mkdir(parents=True, exist_ok=True)
        _make_dir(root)
        self._partial_dir = root / PARTIAL_DIR
        _make_dir(self._partial_dir)
        _remove_stale_partials(self._partial_dir, time.time() - STALE_PARTIAL_SECONDS)
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix="media-disk")

    def path_of(self, key: str) -> Path:
        key = check_key(key)
        return self.root / key[:2] / key[2:4] / key

    async def put(self, key: str, data: bytes, content_type: str) -> StoredObject:
        return await self._run(_Upload.store, self._partial_dir, self.path_of(key), data)

    async def put_stream(
        self, key: str, chunks: AsyncIterable[bytes], content_type: str, max_bytes: int
    ) -> StoredObject:
        final = self.path_of(key)
        upload = await self._run(_Upload, self._partial_dir, key)
        try:
            # Small network chunks are gathered so each thread hop writes a good amount.
            buffer = bytearray()
            async for chunk in bounded(chunks, max_bytes):
                buffer += chunk
                if len(buffer) >= CHUNK_BYTES:
                    await self._run(upload.write, bytes(buffer))
                    buffer.clear()
            return await self._run(upload.commit, final, bytes(buffer))
        except BaseException:
            await asyncio.shield(self._run(upload.discard))
            raise

    async def get(self, key: str) -> bytes:
        path = self.path_of(key)
        try:
            return await self._run(path.read_bytes)
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    async def open_range(self, key: str, start: int, end: int) -> ByteStream:
        check_range(start, end)
        path = self.path_of(key)
        try:
            reader, status, first = await self._run(_RangeReader.open, path, start, end)
        except FileNotFoundError:
            raise ObjectMissing(key) from None
        return ByteStream(
            self._chunks(reader, first),
            reader.length,
            _stored(key, status),
            partial(self._close_reader, reader),
        )

    async def _chunks(self, reader: _RangeReader, first: bytes) -> AsyncIterator[bytes]:
        chunk = first
        while chunk:
            yield chunk
            if not reader.is_open:
                return  # that was the last chunk: the reader closed itself
            chunk = await self._run(reader.read)

    async def _close_reader(self, reader: _RangeReader) -> None:
        if reader.is_open:
            await self._run(reader.close)

    async def stat(self, key: str) -> StoredObject | None:
        path = self.path_of(key)
        try:
            status = await self._run(os.stat, path)
        except FileNotFoundError:
            return None
        return _stored(key, status)

    async def delete(self, key: str) -> None:
        path = self.path_of(key)
        with contextlib.suppress(FileNotFoundError):
            await self._run(os.unlink, path)

    async def close(self) -> None:
        # Work already handed to the threads finishes; its callers are awaiting it.
        self._executor.shutdown(wait=False)

    async def _run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, partial(function, *args))


def _stored(key: str, status: os.stat_result) -> StoredObject:
    # An object is never rewritten in place, so its time and size name its bytes.
    return StoredObject(key, status.st_size, f'"{status.st_mtime_ns:x}-{status.st_size:x}"')


class _Upload:
    """One object being written: a private temporary file, then a rename into place.

    Its steps run on different threads; the lock keeps them one at a time, so `discard`
    after a cancelled `write` waits for the write rather than closing the file under it.
    """

    def __init__(self, partial_dir: Path, key: str) -> None:
        self._lock = threading.Lock()
        # mkstemp creates the file 0600 and never reuses an existing name.
        fd, name = tempfile.mkstemp(dir=partial_dir, prefix=f"{key}.", suffix=".part")
        self._fd: int | None = fd
        self._path = Path(name)
        self._key = key
        self._committed = False

    @classmethod
    def store(cls, partial_dir: Path, final: Path, data: bytes) -> StoredObject:
        """Write a whole object in one trip to a thread."""
        upload = cls(partial_dir, final.name)
        try:
            return upload.commit(final, data)
        except BaseException:
            upload.discard()
            raise

    def write(self, data: bytes) -> None:
        with self._lock:
            assert self._fd is not None
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]

    def commit(self, final: Path, tail: bytes = b"") -> StoredObject:
        """Write `tail`, then make the whole file durable and move it into place."""
        if tail:
            self.write(tail)
        with self._lock:
            assert self._fd is not None
            os.fsync(self._fd)
            status = os.fstat(self._fd)
            os.close(self._fd)
            self._fd = None
            _make_dir(final.parent.parent)
            _make_dir(final.parent)
            os.replace(self._path, final)
            self._committed = True
            _sync_dir(final.parent)
            return _stored(self._key, status)

    def discard(self) -> None:
        """Remove the temporary file, unless it is in place already."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if not self._committed:
                with contextlib.suppress(FileNotFoundError):
                    self._path.unlink()


class _RangeReader:
    """An open object file, read from `start` up to `end` with positional reads.

    Reads and the close run on different threads; the lock keeps a close from freeing
    the file descriptor while a read uses it. The last read closes the file itself, so
    a stream read to its end costs no extra hop to a thread.
    """

    def __init__(self, fd: int, start: int, end: int) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = fd
        self._position = start
        self._end = end
        self.length = end - start

    @classmethod
    def open(cls, path: Path, start: int, end: int) -> tuple[_RangeReader, os.stat_result, bytes]:
        """The reader, the file's status and the first chunk, in one trip to a thread."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            status = os.fstat(fd)
            if start >= status.st_size:
                raise InvalidRange(f"bytes [{start}, {end}) of {status.st_size} bytes")
            reader = cls(fd, start, min(end, status.st_size))
        except BaseException:
            os.close(fd)
            raise
        return reader, status, reader.read()

    def read(self) -> bytes:
        with self._lock:
            if self._fd is None:
                return b""
            count = min(CHUNK_BYTES, self._end - self._position)
            chunk = os.pread(self._fd, count, self._position) if count > 0 else b""
            self._position += len(chunk)
            if not chunk or self._position >= self._end:
                self._close_locked()
            return chunk

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def _close_locked(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _make_dir(path: Path) -> None:
    """Create a private folder, and make its creation durable."""
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        return
    # The mode passed to mkdir is narrowed by the umask; make sure of 0700.
    path.chmod(DIR_MODE)
    _sync_dir(path.parent)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_stale_partials(partial_dir: Path, before: float) -> None:
    for entry in os.scandir(partial_dir):
        with contextlib.suppress(FileNotFoundError):
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < before:
                os.unlink(entry.path)
