"""One writer thread that commits the write jobs of many concurrent requests together.

SQLite allows one writer at a time and pays for every commit with an fsync, so jobs that
arrive while a commit is under way are gathered and committed in one transaction. If a
batch fails, each of its jobs is run again in a transaction of its own, so one bad job
fails alone and never takes its neighbours' work with it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
WriteJob = Callable[[Connection], T]

MAX_BATCH = 256
_STOP = object()


class BatchWriter:
    def __init__(self, engine: Engine, name: str = "landline-writer") -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: WriteJob[T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put((job, future))
        return future

    async def write(self, job: WriteJob[T]) -> T:
        return await asyncio.wrap_future(self.submit(job))

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                batch.append(more)
            self._commit(batch)
            if stopping:
                return

    def _commit(self, batch: list[tuple[WriteJob[Any], Future[Any]]]) -> None:
        live = [(job, future) for job, future in batch if future.set_running_or_notify_cancel()]
        if not live:
            return
        if len(live) > 1:
            try:
                with self._engine.begin() as connection:
                    results = [job(connection) for job, _ in live]
            except Exception:
                log.debug("batch of %d failed; retrying its jobs one by one", len(live))
            else:
                for (_, future), result in zip(live, results, strict=True):
                    future.set_result(result)
                return
        for job, future in live:
            try:
                with self._engine.begin() as connection:
                    result = job(connection)
            except BaseException as exc:  # the caller decides what an error means
                future.set_exception(exc)
            else:
                future.set_result(result)
