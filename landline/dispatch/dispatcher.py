"""The dispatcher: claims due texts from the outbox and hands them to their carriers.

Scheduled texts are outbox entries that become due at their time, so the same loop
sends them. A round claims a batch under a lease with a token of its own, hands each
connector its share at once, and records results as they come back, a few at a time,
so a slow carrier never holds the record of a fast one. A text whose result was never
recorded (the process died) is claimed again when its lease runs out; connectors treat
a repeated message id as the same text where the carrier allows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from landline.carriers.base import Connector, Submission, SubmitOutcome, SubmitResult
from landline.core.backoff import CARRIER_MAX_ATTEMPTS, carrier_retry_delay_ms
from landline.core.clock import Clock
from landline.core.mms import TRANSPORT as MMS_TRANSPORT
from landline.core.routes import Kind, RouteTable
from landline.core.status import ErrorCode, Progress
from landline.store import media, outbox, statuses
from landline.store.access import Store

log = logging.getLogger(__name__)

BATCH = 500
# A connector that neither answers nor fails must not hold up every other text: after
# this long the texts it has not answered for count as "try again".
SUBMIT_TIMEOUT_S = 30.0
# Results are recorded once this many have come back (and at the end of the round).
RECORD_EVERY = 100
# Under steady traffic, the pause between rounds that lets texts gather. A text
# after a quiet spell is claimed at once.
GATHER_S = 0.02
# How long stopping waits for a round under way before cancelling it.
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class _Result:
    message_id: int
    # The status to move to; None with retry_at to try again later, None without it
    # when the carrier already has the text and only the outbox entry is left to clear.
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
        submit_timeout_s: float = SUBMIT_TIMEOUT_S,
    ) -> None:
        self._store = store
        self._clock = clock
        self._routes = routes
        self._connectors = connectors
        self._submit_timeout = submit_timeout_s
        self._lease = lease_ms
        self._poll = poll_ms / 1000
        self._wake = asyncio.Event()
        # One round at a time per process: a round started by a caller (tests, tools)
        # waits for the background round to record what it claimed, so "nothing was
        # claimed" really means nothing is in flight here.
        self._round = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    @property
    def lease_ms(self) -> int:
        """How long a claim holds its texts unless renewed."""
        return self._lease

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
        token = self._store.ids.next_id()
        claimed = await self._store.write(
            lambda c: outbox.claim_due(c, now=now, lease_ms=self._lease, token=token, limit=BATCH)
        )
        if not claimed:
            return 0
        recorder = _Recorder(self._store, self._clock, token)
        shares: dict[str, list[Submission]] = {}
        picture_ids = [row.id for row in claimed if row.transport == MMS_TRANSPORT]
        parts = await self._store.read(media.parts_of, picture_ids) if picture_ids else {}
        for row in claimed:
            early = self._without_carrier(row)
            if early is not None:
                recorder.add(early)
                continue
            kind = _kind(row)
            name = self._routes.connector_for(row.contact_number, kind)
            assert name is not None and name in self._connectors
            shares.setdefault(name, []).append(
                Submission(
                    row.id,
                    row.line_number,
                    row.contact_number,
                    row.body,
                    row.attempts,
                    kind,
                    tuple(parts.get(row.id, ())),
                )
            )
        # While carriers take their time, the lease is renewed, so no other worker takes
        # the texts over while their results are on their way; a worker that dies stops
        # renewing, and its texts are free again one lease later.
        renewing = asyncio.create_task(self._renew(token, [row.id for row in claimed]))
        try:
            await asyncio.gather(
                *(self._hand_over(name, share, recorder) for name, share in shares.items())
            )
        finally:
            renewing.cancel()
        await recorder.finish()
        return len(claimed)

    async def _renew(self, token: int, message_ids: list[int]) -> None:
        while True:
            await asyncio.sleep(self._lease / 3000)
            await self._store.write(
                partial(
                    outbox.renew,
                    message_ids=message_ids,
                    token=token,
                    until=self._clock.now_ms() + self._lease,
                )
            )

    def _without_carrier(self, row: outbox.Due) -> _Result | None:
        """The result of a claimed text that no carrier is to see, if it is one."""
        if row.status != Progress.QUEUED:
            # A receipt got here first (the process died before recording its submit):
            # the carrier has the text, and submitting it again could send it twice.
            return _Result(row.id, None)
        if row.opted_out:
            # They texted STOP after this was accepted (it was scheduled, or waiting
            # to be retried): it ends as if they had opted out before.
            return _Result(row.id, int(ErrorCode.RECIPIENT_SENT_STOP))
        kind = _kind(row)
        name = self._routes.connector_for(row.contact_number, kind)
        if name is None or name not in self._connectors:
            return _Result(row.id, int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER))
        if kind is Kind.MMS and not getattr(self._connectors[name], "carries_mms", False):
            log.warning("message %s is an MMS; connector %s carries none", row.id, name)
            return _Result(row.id, int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER))
        return None

    async def _hand_over(self, name: str, share: list[Submission], recorder: _Recorder) -> None:
        waiting = {submission.message_id: submission for submission in share}
        try:
            async with asyncio.timeout(self._submit_timeout):
                async for done in self._connectors[name].submit(share):
                    if waiting.pop(done.submission.message_id, None) is not None:
                        recorder.add(self._result(name, done.submission, done.result))
        except TimeoutError:
            log.warning("connector %s left %d texts unanswered in time", name, len(waiting))
        except Exception:
            log.exception("connector %s failed to submit %d texts", name, len(waiting))
        for submission in waiting.values():
            unanswered = SubmitResult(SubmitOutcome.RETRY, reason="no answer from the connector")
            recorder.add(self._result(name, submission, unanswered))

    def _result(self, name: str, submission: Submission, result: SubmitResult) -> _Result:
        if result.outcome is SubmitOutcome.ACCEPTED:
            return _Result(
                submission.message_id, int(Progress.IN_PROGRESS), name, result.carrier_ref
            )
        if result.outcome is SubmitOutcome.RETRY and submission.attempt < CARRIER_MAX_ATTEMPTS:
            retry_at = self._clock.now_ms() + carrier_retry_delay_ms(submission.attempt)
            return _Result(submission.message_id, None, retry_at=retry_at)
        log.info("message %s not sent: %s", submission.message_id, result.reason)
        return _Result(submission.message_id, int(Progress.ERROR_CONFIRMED), name)

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


def _kind(row: outbox.Due) -> Kind:
    return Kind.MMS if row.transport == MMS_TRANSPORT else Kind.SMS


class _Recorder:
    """Writes a round's results as they come back, a batch at a time."""

    def __init__(self, store: Store, clock: Clock, token: int) -> None:
        self._store = store
        self._clock = clock
        self._token = token
        self._pending: list[_Result] = []
        self._writes: list[asyncio.Task[None]] = []

    def add(self, result: _Result) -> None:
        self._pending.append(result)
        if len(self._pending) >= RECORD_EVERY:
            self._flush()

    def _flush(self) -> None:
        results, self._pending = self._pending, []
        token, now, next_id = self._token, self._clock.now_ms(), self._store.ids.next_id
        self._writes.append(
            asyncio.ensure_future(
                self._store.write(lambda c: _record(c, results, token, now, next_id))
            )
        )

    async def finish(self) -> None:
        if self._pending:
            self._flush()
        await asyncio.gather(*self._writes)


def _record(
    connection: Connection,
    results: list[_Result],
    token: int,
    now: int,
    next_id: Callable[[], int],
) -> None:
    accepted: list[tuple[int, str, str | None]] = []
    retries: list[tuple[int, int]] = []
    already_sent: list[int] = []
    ended: list[statuses.StatusChange] = []
    for result in results:
        if result.status == Progress.IN_PROGRESS and result.connector is not None:
            accepted.append((result.message_id, result.connector, result.carrier_ref))
        elif result.status is not None:
            ended.append(
                statuses.StatusChange(
                    message_id=result.message_id,
                    status=result.status,
                    at=now,
                    event_id=next_id(),
                    connector=result.connector,
                    leave_queue=True,
                )
            )
        elif result.retry_at is not None:
            retries.append((result.message_id, result.retry_at))
        else:
            already_sent.append(result.message_id)
    # The common case, texts a carrier took, is one statement for the whole batch.
    accepted.sort()
    moved = statuses.handed_over(connection, accepted, now, next_id)
    ended_moved = statuses.advance(connection, ended)
    # A text whose status did not move (a receipt got there first) leaves the queue too.
    already_sent.extend(mid for mid, _, _ in accepted if mid not in moved)
    already_sent.extend(c.message_id for c, did in zip(ended, ended_moved, strict=True) if not did)
    outbox.leave(connection, already_sent, token)
    outbox.retry_at(connection, retries, token)
