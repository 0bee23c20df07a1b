"""The store as the rest of the program sees it: reads on a thread pool, writes batched."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Connection

from landline.core.clock import Clock
from landline.core.ids import SnowflakeGenerator
from landline.store.database import claim_node, create_engines, migrate
from landline.store.revocations import Revocations
from landline.store.writer import BatchWriter, RunMany

T = TypeVar("T")
A = TypeVar("A")


class Store:
    def __init__(
        self, url: str, clock: Clock, *, run_migrations: bool = True, pg_writers: int = 1
    ) -> None:
        self.url = url
        self.clock = clock
        self.writer_engine, self.reader_engine = create_engines(url)
        self.dialect = self.writer_engine.dialect.name
        if run_migrations:
            migrate(self.writer_engine)
        self.node = claim_node(self.writer_engine, clock.now_ms())
        self.ids = SnowflakeGenerator(self.node, clock)
        # SQLite has one writer at a time, whatever the threads. On PostgreSQL several
        # writers commit side by side (as several processes would), each batching what
        # reaches it; callers take turns between them.
        count = 1 if self.is_sqlite else pg_writers
        self._writers = [
            BatchWriter(self.writer_engine, name=f"landline-writer-{n}") for n in range(count)
        ]
        self._turns = itertools.cycle(self._writers)
        self.revocations = Revocations(self.writer_engine)
        self._readers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="landline-read")

    @property
    def writers(self) -> int:
        """How many writer threads commit for this process."""
        return len(self._writers)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._readers, self.read_sync, fn, *args)

    def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        with self.reader_engine.connect() as connection:
            return fn(connection, *args)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` in a write transaction shared with other concurrent writes.

        `fn` may run twice (once in a failed batch, once alone), so it must do nothing
        but database work.
        """
        return await next(self._turns).write(fn)

    async def write_merged(self, run_many: RunMany[A, T], item: A) -> T:
        """Store `item` with `run_many(connection, items)`, which stores every item of its
        kind queued at the same time with one statement per table.

        Like `write`'s `fn`, `run_many` may run twice (in a failed batch, then alone).
        """
        return await next(self._turns).write_merged(run_many, item)

    def write_sync(self, fn: Callable[[Connection], T]) -> T:
        return self._writers[0].submit(fn).result()

    def close(self) -> None:
        self.revocations.close()
        for writer in self._writers:
            writer.close()
        self._readers.shutdown(wait=True)
        self.writer_engine.dispose()
        if self.reader_engine is not self.writer_engine:
            self.reader_engine.dispose()
