"""One writer thread that commits the write jobs of many concurrent requests together.

SQLite allows one writer at a time and pays for every commit, so jobs that arrive while
a commit is under way are gathered and committed in one transaction. Jobs of one kind
that are queued back to back (sends, above all) can also be merged: their kind's
`run_many` stores all of them with one statement per table instead of one per job. If a
batch fails, each of its jobs is run again in a transaction of its own, so one bad job
fails alone and never takes its neighbours' work with it.

Results reach asyncio callers with one wake-up of their event loop per batch rather
than one per job: under load, waking the loop costs more than most jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine

log = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
WriteJob = Callable[[Connection], T]
# Stores many items of one kind; returns one result per item, in order.
RunMany = Callable[[Connection, list[A]], list[T]]

MAX_BATCH = 256
_STOP = object()


class _Job:
    __slots__ = ("fn", "future", "item", "loop", "merge", "waiter")

    def __init__(
        self,
        fn: Callable[..., Any],
        item: Any,
        merge: bool,
        future: Future[Any] | None,
        loop: asyncio.AbstractEventLoop | None = None,
        waiter: asyncio.Future[Any] | None = None,
    ) -> None:
        self.fn = fn
        self.item = item
        self.merge = merge
        self.future = future
        self.loop = loop
        self.waiter = waiter

    def claim(self) -> bool:
        """False if the caller gave up before the job started: then it never runs."""
        if self.future is not None:
            return self.future.set_running_or_notify_cancel()
        # Only a best-effort look from this thread; a job that slips through still runs
        # and its answer is dropped.
        return self.waiter is None or not self.waiter.cancelled()

    def run_alone(self, connection: Connection) -> Any:
        return self.fn(connection, [self.item])[0] if self.merge else self.fn(connection)


class BatchWriter:
    def __init__(self, engine: Engine, name: str = "landline-writer") -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # Jobs waiting for the end of their event loop's turn; only that loop's thread
        # touches its list.
        self._pending: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        self._connection: Connection | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: WriteJob[T]) -> Future[T]:
        future: Future[T] = Future()
        self._queue.put(_Job(job, None, False, future))
        return future

    async def write(self, job: WriteJob[T]) -> T:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._hand_over(loop, _Job(job, None, False, None, loop, waiter))
        return await waiter

    async def write_merged(self, run_many: RunMany[A, T], item: A) -> T:
        """Store `item` with `run_many`, together with the items queued next to it."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[T] = loop.create_future()
        self._hand_over(loop, _Job(run_many, item, True, None, loop, waiter))
        return await waiter

    def _hand_over(self, loop: asyncio.AbstractEventLoop, job: _Job) -> None:
        # The jobs of one turn of the event loop go over together: waking the writer
        # thread once per job costs the event loop more than the job itself.
        pending = self._pending.get(loop)
        if pending is None:
            pending = self._pending[loop] = []
            loop.call_soon(self._flush, loop)
        pending.append(job)

    def _flush(self, loop: asyncio.AbstractEventLoop) -> None:
        self._queue.put(self._pending.pop(loop))

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            batch = item if isinstance(item, list) else [item]
            stopping = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stopping = True
                    break
                if isinstance(more, list):
                    batch.extend(more)
                else:
                    batch.append(more)
            outcomes: list[tuple[_Job, bool, Any]] = []
            try:
                self._commit(batch, outcomes)
            finally:
                _deliver(outcomes)
            if stopping:
                break
        self._drop_connection()

    def _commit(self, batch: list[_Job], outcomes: list[tuple[_Job, bool, Any]]) -> None:
        live = [job for job in batch if job.claim()]
        if not live:
            return
        if len(live) > 1:
            try:
                results = self._transaction(lambda connection: _run_batch(connection, live))
            except Exception:
                log.debug("batch of %d failed; retrying its jobs one by one", len(live))
            else:
                pairs = zip(live, results, strict=True)
                outcomes.extend((job, True, result) for job, result in pairs)
                return
        for job in live:
            try:
                result = self._transaction(job.run_alone)
            except BaseException as exc:  # the caller decides what an error means
                outcomes.append((job, False, exc))
            else:
                outcomes.append((job, True, result))

    def _transaction(self, fn: Callable[[Connection], T]) -> T:
        # The writer keeps its connection: a checkout per transaction (and, on
        # PostgreSQL, the pool's ping) cost as much as a small batch.
        if self._connection is None:
            self._connection = self._engine.connect()
        connection = self._connection
        try:
            with connection.begin():
                result = fn(connection)
        except BaseException:
            connection.info.pop("after_commit", None)
            if connection.invalidated or connection.closed:
                # The database went away; the next transaction connects afresh.
                self._drop_connection()
            raise
        for callback in connection.info.pop("after_commit", ()):
            try:
                callback()
            except Exception:
                log.exception("a step after a commit failed")
        return result


def _run_batch(connection: Connection, jobs: list[_Job]) -> list[Any]:
    results: list[Any] = []
    index = 0
    while index < len(jobs):
        job = jobs[index]
        if not job.merge:
            results.append(job.fn(connection))
            index += 1
            continue
        end = index + 1
        while end < len(jobs) and jobs[end].merge and jobs[end].fn is job.fn:
            end += 1
        group = jobs[index:end]
        found = job.fn(connection, [j.item for j in group])
        if len(found) != len(group):
            raise RuntimeError(f"{job.fn!r} returned {len(found)} results for {len(group)}")
        results.extend(found)
        index = end
    return results


def _deliver(outcomes: list[tuple[_Job, bool, Any]]) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, bool, Any]]] = {}
    for outcome in outcomes:
        job, ok, value = outcome
        if job.future is not None:
            if ok:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        elif job.loop is not None:
            by_loop.setdefault(job.loop, []).append(outcome)
    for loop, settled in by_loop.items():
        # A closed loop has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_wake_waiters, settled)


def _wake_waiters(settled: list[tuple[_Job, bool, Any]]) -> None:
    for job, ok, value in settled:
        waiter = job.waiter
        if waiter is None or waiter.done():
            continue
        if ok:
            waiter.set_result(value)
        else:
            waiter.set_exception(value)
