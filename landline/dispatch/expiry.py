"""Receipt timeouts: a text that no delivery receipt confirms in time ends as status 0.

Carriers drop receipts, and some numbers never send one (the simulator's 0002). Without
this, such a text would stay "in progress" forever; after the timeout it reaches its one
final status, 0 (delivered, no confirmation), and a late receipt changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial

from sqlalchemy import Connection

from landline.core.clock import Clock
from landline.core.status import Progress
from landline.store import statuses
from landline.store.access import Store

log = logging.getLogger(__name__)

BATCH = 500
# How often the background loop looks; the timeout itself is hours.
SWEEP_INTERVAL_S = 60.0


class ReceiptTimeouts:
    def __init__(self, store: Store, clock: Clock, *, timeout_ms: int) -> None:
        self._store = store
        self._clock = clock
        self._timeout = timeout_ms
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="receipt-timeouts")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        """End every text whose receipt is overdue; returns how many were ended."""
        ended = 0
        while True:
            cutoff = self._clock.now_ms() - self._timeout
            count = await self._store.write(partial(self._expire, cutoff=cutoff))
            ended += count
            if count < BATCH:
                return ended

    def _expire(self, connection: Connection, cutoff: int) -> int:
        overdue = statuses.unconfirmed_since(connection, cutoff, BATCH)
        now = self._clock.now_ms()
        event_ids = self._store.ids.take(len(overdue))
        changes = [
            statuses.StatusChange(
                message_id=message_id,
                status=int(Progress.DELIVERED_NO_CONFIRMATION),
                at=now,
                event_id=event_id,
                only_from=int(Progress.IN_PROGRESS),
            )
            for message_id, event_id in zip(overdue, event_ids, strict=True)
        ]
        statuses.advance(connection, changes)
        return len(overdue)

    async def _run(self) -> None:
        while True:
            try:
                ended = await self.run_once()
                if ended:
                    log.info("%d texts had no delivery receipt in time; ended as status 0", ended)
            except Exception:
                log.exception("receipt timeout sweep failed; trying again")
            await asyncio.sleep(SWEEP_INTERVAL_S)
