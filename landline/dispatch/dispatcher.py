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
from landline.store import outbox, statuses
from landline.store.access import Store

log = logging.getLogger(__name__)

BATCH = 200
# A connector that neither answers nor fails must not hold up every other text: the
# submit counts as "try again", and the connector de-duplicates by message id if the
# text did get through.
SUBMIT_TIMEOUT_S = 30.0
# Under steady traffic, the pause between rounds that lets texts gather. A text
# after a quiet spell is claimed at once.
GATHER_S = 0.02
# How long stopping waits for a round under way before cancelling it.
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class _Result:
    message_id: int
    # The status to move to; None with retry_at to try again later, None without it
    # when the carrier already has the text and only the outbox row is left to clear.
    status: int | None
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
        # One round at a time per process: a round started by a caller (tests, tools)
        # waits for the background round to record what it claimed, so "nothing was
        # claimed" really means nothing is in flight here.
        self._round = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dispatcher")

    async def stop(self) -> None:
        if self._task:
            # Let a round under way record what it handed to carriers: cancelling it
            # between submit and record would make the next start submit those again.
            acquired = False
            with contextlib.suppress(TimeoutError):
                acquired = await asyncio.wait_for(self._round.acquire(), STOP_GRACE_S)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if acquired:
                self._round.release()

    async def run_once(self) -> int:
        """Send every text that is due now; returns how many were claimed."""
        async with self._round:
            return await self._round_once()

    async def _round_once(self) -> int:
        now = self._clock.now_ms()
        node = self._store.node
        claimed = await self._store.write(
            lambda c: outbox.claim_due(c, now=now, lease_ms=self._lease, node=node, limit=BATCH)
        )
        if not claimed:
            return 0
        results = await asyncio.gather(*(self._submit(row) for row in claimed))
        event_ids = self._store.ids.take(len(results))
        await self._store.write(lambda c: _record(c, results, event_ids, self._clock.now_ms()))
        return len(claimed)

    async def _submit(self, row: Row[Any]) -> _Result:
        if row.status != Progress.QUEUED:
            # A receipt got here first (the process died before recording its submit):
            # the carrier has the text, and submitting it again could send it twice.
            return _Result(row.id, None)
        if row.opted_out:
            # They texted STOP after this was accepted (it was scheduled, or waiting
            # to be retried): it ends as if they had opted out before.
            return _Result(row.id, int(ErrorCode.RECIPIENT_SENT_STOP))
        name = self._routes.connector_for(row.contact_number)
        connector = self._connectors.get(name) if name else None
        if connector is None:
            return _Result(row.id, int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER))
        submission = Submission(row.id, row.line_number, row.contact_number, row.body, row.attempts)
        try:
            result = await asyncio.wait_for(connector.submit(submission), SUBMIT_TIMEOUT_S)
        except TimeoutError:
            log.warning("connector %s did not answer for message %s in time", name, row.id)
            result = SubmitResult(SubmitOutcome.RETRY, reason="connector timeout")
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
                if busy:
                    # Texts are still arriving: let a few milliseconds' worth gather, so
                    # the writer stores a round of many rather than many rounds of one.
                    await asyncio.sleep(GATHER_S)


def _record(connection: Connection, results: list[_Result], event_ids: list[int], now: int) -> None:
    finished: list[int] = []
    changes: list[statuses.StatusChange] = []
    for result, event_id in zip(results, event_ids, strict=True):
        if result.status is None and result.retry_at is not None:
            outbox.retry_at(connection, result.message_id, result.retry_at)
            continue
        finished.append(result.message_id)
        if result.status is None:
            continue
        changes.append(
            statuses.StatusChange(
                message_id=result.message_id,
                status=result.status,
                at=now,
                event_id=event_id,
                connector=result.connector,
                carrier_ref=result.carrier_ref,
            )
        )
    # One statement per table for the whole round, not one per text.
    outbox.finish(connection, finished)
    statuses.advance(connection, changes)
