"""The dispatcher: claims due outbox rows and hands each text to its carrier connector.

Scheduled texts are outbox rows that become due at their time, so the same loop sends
them. A text whose submit result was never recorded (the process died) is claimed again
when its lease runs out; connectors treat a repeated message id as the same text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from landline.carriers.base import Connector, Submission, SubmitOutcome, SubmitResult
from landline.core.backoff import CARRIER_MAX_ATTEMPTS, carrier_retry_delay_ms
from landline.core.clock import Clock
from landline.core.routes import RouteTable
from landline.core.status import ErrorCode, Progress
from landline.store import messages, work
from landline.store.access import Store

log = logging.getLogger(__name__)

BATCH = 200


@dataclass(frozen=True)
class _Result:
    message_id: int
    status: int | None  # the status to move to, or None to retry later
    connector: str | None = None
    carrier_ref: str | None = None
    retry_at: int | None = None


class Dispatcher:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        routes: RouteTable,
        connectors: Mapping[str, Connector],
        *,
        lease_ms: int,
        poll_ms: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._routes = routes
        self._connectors = connectors
        self._lease = lease_ms
        self._poll = poll_ms / 1000
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        """Send every text that is due now; returns how many were claimed."""
        now = self._clock.now_ms()
        node = self._store.node
        claimed = await self._store.write(
            lambda c: work.claim_outbox(c, now=now, lease_ms=self._lease, node=node, limit=BATCH)
        )
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._submit(row) for row in claimed))
        event_ids = self._store.ids.take(len(results))
        await self._store.write(lambda c: _record(c, results, event_ids, self._clock.now_ms()))
        return len(claimed)

    async def _submit(self, row: Row[Any]) -> _Result:
        name = self._routes.connector_for(row.contact_number)
        connector = self._connectors.get(name) if name else None
        if connector is None:
            return _Result(row.id, int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER))
        submission = Submission(row.id, row.line_number, row.contact_number, row.body, row.attempts)
        try:
            result = await connector.submit(submission)
        except Exception:
            log.exception("connector %s failed to submit message %s", name, row.id)
            result = SubmitResult(SubmitOutcome.RETRY, reason="connector error")
        if result.outcome is SubmitOutcome.ACCEPTED:
            return _Result(row.id, int(Progress.IN_PROGRESS), name, result.carrier_ref)
        if result.outcome is SubmitOutcome.RETRY and row.attempts < CARRIER_MAX_ATTEMPTS:
            retry_at = self._clock.now_ms() + carrier_retry_delay_ms(row.attempts)
            return _Result(row.id, None, retry_at=retry_at)
        log.info("message %s not sent: %s", row.id, result.reason)
        return _Result(row.id, int(Progress.ERROR_CONFIRMED), name)

    async def _run(self) -> None:
        while True:
            try:
                busy = await self.run_once()
            except Exception:
                log.exception("dispatch round failed; trying again")
                busy = 0
            if busy < BATCH:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)


def _record(connection: Connection, results: list[_Result], event_ids: list[int], now: int) -> None:
    for result, event_id in zip(results, event_ids, strict=True):
        if result.status is None:
            assert result.retry_at is not None
            work.retry_outbox(connection, result.message_id, result.retry_at)
            continue
        work.finish_outbox(connection, result.message_id)
        messages.advance_status(
            connection,
            message_id=result.message_id,
            status=result.status,
            at=now,
            event_id=event_id,
            connector=result.connector,
            carrier_ref=result.carrier_ref,
        )
