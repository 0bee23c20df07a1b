"""A simulated phone network, built in, for development, demos and tests.

It keeps its own memory in the store (store/simulator.py: texts it owes a receipt for,
texts its handsets sent), so it survives a restart like a real network would. Number
rules, by the last four digits of the destination:

- 0001: undeliverable; the receipt reports an error (status 7)
- 0002: never confirms; no receipt ever comes
- 0003: slow; the receipt takes ten times the usual delay
- 0004: the network rejects the text outright (status 5)
- 0005: the network is busy for the first two attempts, then accepts
- anything else: delivered; the receipt confirms it (status 6)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from landline.carriers.base import (
    CarrierSink,
    InboundText,
    Receipt,
    Submission,
    SubmitOutcome,
    SubmitResult,
    Submitted,
)
from landline.carriers.handset_media import decode_parts, encode_parts
from landline.core.clock import Clock
from landline.core.mms import Part
from landline.core.routes import Kind
from landline.store import lines
from landline.store import simulator as network
from landline.store.access import Store

log = logging.getLogger(__name__)

NAME = "simulator"
BATCH = 500
GATHER_S = 0.02


@dataclass(frozen=True)
class Behaviour:
    submit: SubmitOutcome
    outcome: str  # delivered, failed or silent
    delay_factor: int = 1


def behaviour_for(destination: str, attempt: int) -> Behaviour:
    suffix = destination[-4:]
    if suffix == "0001":
        return Behaviour(SubmitOutcome.ACCEPTED, "failed")
    if suffix == "0002":
        return Behaviour(SubmitOutcome.ACCEPTED, "silent")
    if suffix == "0003":
        return Behaviour(SubmitOutcome.ACCEPTED, "delivered", delay_factor=10)
    if suffix == "0004":
        return Behaviour(SubmitOutcome.REJECTED, "failed")
    if suffix == "0005" and attempt <= 2:
        return Behaviour(SubmitOutcome.RETRY, "failed")
    return Behaviour(SubmitOutcome.ACCEPTED, "delivered")


class SimulatorConnector:
    name = NAME
    # Its handsets take pictures: an MMS gets a receipt like a text.
    carries_mms = True

    def __init__(self, store: Store, clock: Clock, *, receipt_delay_ms: int, poll_ms: int) -> None:
        self._store = store
        self._clock = clock
        self._delay = receipt_delay_ms
        self._poll = poll_ms / 1000
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        # One round at a time, so a caller's round waits for the background one to
        # finish reporting what it claimed.
        self._round = asyncio.Lock()

    async def start(self, sink: CarrierSink) -> None:
        self._task = asyncio.create_task(self._run(sink), name="simulator")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def wake(self) -> None:
        self._wake.set()

    async def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        """The whole batch in one write: the network notes every text it accepts."""
        now = self._clock.now_ms()
        results, remembered = [], []
        for submission in batch:
            rule = behaviour_for(submission.destination, submission.attempt)
            if rule.submit is SubmitOutcome.RETRY:
                result = SubmitResult(SubmitOutcome.RETRY, reason="simulated network busy")
            elif rule.submit is SubmitOutcome.REJECTED:
                result = SubmitResult(
                    SubmitOutcome.REJECTED, reason="simulated network rejected the text"
                )
            else:
                result = SubmitResult(
                    SubmitOutcome.ACCEPTED, carrier_ref=f"sim-{submission.message_id}"
                )
                remembered.append(_memory(submission, rule, now + self._delay * rule.delay_factor))
            results.append(Submitted(submission, result))
        if remembered:
            await self._store.write(lambda c: network.remember(c, remembered))
        for done in results:
            yield done

    async def run_once(self, sink: CarrierSink) -> int:
        """Report every due receipt and handset text; returns how many were reported."""
        async with self._round:
            return await self._round_once(sink)

    async def _round_once(self, sink: CarrierSink) -> int:
        now = self._clock.now_ms()
        receipts = await self._store.write(lambda c: _deliver_receipts(c, sink, now))
        sent = await self._store.write(
            lambda c: network.claim_handset_texts(c, now=now, lease_ms=LEASE_MS, limit=BATCH)
        )
        if sent:
            texts = [
                InboundText(
                    r.source,
                    r.destination,
                    r.body,
                    f"sim-in-{r.id}",
                    r.created_at,
                    decode_parts(r.media),
                )
                for r in sent
            ]
            await sink.inbound(NAME, texts)
            text_ids = [r.id for r in sent]
            await self._store.write(lambda c: network.finish_handset_texts(c, text_ids))
        return receipts + len(sent)

    async def _run(self, sink: CarrierSink) -> None:
        while True:
            try:
                busy = await self.run_once(sink)
            except Exception:
                log.exception("simulator round failed; trying again")
                busy = 0
            if not busy:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)
            elif busy < BATCH:
                # Receipts are falling due one after another: report them in rounds
                # of many, since each round costs the writer the same few statements.
                await asyncio.sleep(GATHER_S)


# Handset texts are handed to the sink outside the transaction that took them; a
# process that dies in between leaves them to be taken again after this.
LEASE_MS = 30_000


def _memory(submission: Submission, rule: Behaviour, due_at: int) -> dict[str, Any]:
    return {
        "message_id": submission.message_id,
        "source": submission.source,
        "destination": submission.destination,
        "body": submission.body,
        "outcome": rule.outcome,
        "due_at": due_at,
        "done": rule.outcome == "silent",
        # What the handset got of a picture message (its bytes stay in our store).
        "media": encode_parts(submission.parts) if submission.kind is Kind.MMS else None,
    }


def _deliver_receipts(connection: Connection, sink: CarrierSink, now: int) -> int:
    """Take the receipts due now and apply them, in one transaction: the network's
    memory and the messages cannot disagree, whatever dies when."""
    due = network.take_due_receipts(connection, now=now, limit=BATCH)
    if due:
        receipts = [Receipt(r.message_id, r.outcome == "delivered", max(r.due_at, 0)) for r in due]
        sink.record_receipts(connection, NAME, receipts)
    return len(due)


def handset_sends(
    store: Store, *, source: str, line: str, body: str, parts: Sequence[Part] = ()
) -> bool:
    """A simulated handset texts the line `line` (a picture message when it has parts,
    already in the content store); the running server's simulator delivers it shortly.
    False if there is no such line."""
    if store.read_sync(lines.by_number, line) is None:
        return False
    text_id, now = store.ids.next_id(), store.clock.now_ms()
    media = encode_parts(parts) if parts else None
    store.write_sync(
        lambda c: network.handset_text(
            c, text_id=text_id, source=source, destination=line, body=body, now=now, media=media
        )
    )
    return True
