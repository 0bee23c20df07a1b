"""A few threads for password hashing, so that no login holds the event loop.

argon2-cffi and hashlib release the GIL while they hash, so the loop goes on serving
other requests meanwhile. The pool is small because each hash takes a core and 19 MiB,
and its queue is bounded: past it a login is refused at once rather than left to wait
behind a flood of others.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

THREADS = 2
QUEUE = 16


class HashingBusy(Exception):
    """Every thread is hashing and the queue is full."""


class HashingPool:
    def __init__(self, threads: int = THREADS, queue: int = QUEUE) -> None:
        self.capacity = threads + queue
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="landline-hash")
        self._lock = threading.Lock()
        self._admitted = 0

    @property
    def in_flight(self) -> int:
        """Jobs hashing or waiting for a thread."""
        with self._lock:
            return self._admitted

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)` on a pool thread; HashingBusy if `capacity` jobs are in flight."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise HashingBusy
            self._admitted += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._release()
            raise
        # Counted until the thread is done, not until the caller stops waiting: the
        # bound is on the work, which goes on even if the client goes away.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        # Without waiting: a hash in progress ends on its own within moments, and this
        # runs on the event loop.
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _release(self, _: Future[Any] | None = None) -> None:
        with self._lock:
            self._admitted -= 1
