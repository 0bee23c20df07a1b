"""The SMPP connector: Landline's texts to an SMSC as submit_sm, and back the receipts
and handsets' texts it sends.

A text goes in one or more parts (core/segments.py). Every part the SMSC accepts is
written to the connector's memory (store/smpp.py) before the text is reported in
progress, so that receipts, which name the SMSC's id, find their text after a restart,
and a text handed over again (the process died, or the dispatcher gave up waiting)
skips the parts the SMSC already has. What the SMSC answers decides each text:

- every part accepted: in progress (1), and the receipts decide the rest;
- a permanent error for any part: refused (5), with the SMPP status kept;
- ESME_RTHROTTLED or ESME_RMSGQFUL: the bind pauses, and the part goes again;
- the link dropped: the part goes again once a bind is back (the SMSC may see it twice;
  our text still reaches one final status);
- no answer: the bind is dropped and reconnected, and the text is handed back to the
  dispatcher to try later; after `MAX_UNANSWERED_ATTEMPTS` such attempts it is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from landline.carriers.base import (
    CarrierSink,
    Submission,
    SubmitOutcome,
    SubmitResult,
    Submitted,
)
from landline.carriers.smpp.config import SmppConfig
from landline.carriers.smpp.inbound import InboundHandler
from landline.carriers.smpp.link import Link
from landline.carriers.smpp.pdus import BindMode, Status, SubmitSm
from landline.carriers.smpp.session import ResponseTimeout, SessionClosed
from landline.core import segments
from landline.core.clock import Clock
from landline.store import smpp as memory
from landline.store.access import Store

log = logging.getLogger(__name__)

# Within one hand-over: how often a part may be throttled or lose its link before the
# text goes back to the dispatcher (which waits for a bind as long as for a response).
MAX_THROTTLED = 20
MAX_DROPPED = 5
# A text whose submit_sm went unanswered this many hand-overs in a row is refused.
MAX_UNANSWERED_ATTEMPTS = 3
# The whole hand-over of one text ends before the dispatcher stops waiting (30 s).
HAND_OVER_S = 25.0
TRANSIENT = {Status.RTHROTTLED, Status.RMSGQFUL}
# Statuses that mean "not now" rather than "never" (SMPP 3.4 5.1.3 and common practice).
RETRY_LATER = {Status.RSYSERR, Status.RX_T_APPN, 0x61}  # 0x61: ESME_RINVSCHED
REGISTERED_DELIVERY = 1  # a receipt for every final outcome
EXPIRY_CHECK_S = 1.0
BIND_POLL_S = 0.05
EARLY_RECEIPT_SWEEP_EVERY = 600  # housekeeping rounds: every ten minutes


@dataclass(frozen=True)
class _Answer:
    outcome: SubmitOutcome
    smsc_id: str | None = None  # as the SMSC wrote it
    status: int = 0
    reason: str | None = None


class SmppConnector:
    def __init__(self, config: SmppConfig, store: Store, clock: Clock) -> None:
        self.config = config
        self.name = config.name
        self._store = store
        self._clock = clock
        self.inbound = InboundHandler(config, store, clock)
        self.links: list[Link] = []
        for index in range(config.binds):
            for mode in config.modes:
                label = f"{config.name}#{index + 1}{'' if len(config.modes) == 1 else mode.name[0]}"
                self.links.append(Link(config, mode, label, self.inbound.handle))
        self._transmitters = [link for link in self.links if link.transmits]
        self._turn = itertools.cycle(range(max(len(self._transmitters), 1)))
        self._log: _PartLog | None = None
        # Hand-overs the dispatcher stopped waiting for still finish and record.
        self._background: set[asyncio.Task[None]] = set()
        self._expiring: asyncio.Task[None] | None = None
        self.submitted = 0  # submit_sm sent, for benchmarks

    async def start(self, sink: CarrierSink) -> None:
        self._log = _PartLog(self._store, self._clock, sink, self.name)
        await self.inbound.start(sink)
        for link in self.links:
            link.start()
        self._expiring = asyncio.create_task(self._expire_parts(), name=f"{self.name}-parts")

    async def stop(self) -> None:
        if self._expiring is not None:
            self._expiring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiring
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.gather(*(link.stop() for link in self.links))

    async def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        held = await self._store.read(memory.accepted_parts, [s.message_id for s in batch])
        results: asyncio.Queue[Submitted] = asyncio.Queue()
        for submission in batch:
            task = asyncio.create_task(
                self._hand_over(submission, held.get(submission.message_id, set()), results)
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        for _ in batch:
            yield await results.get()

    # --- one text ------------------------------------------------------------------------

    async def _hand_over(
        self, submission: Submission, held: set[int], results: asyncio.Queue[Submitted]
    ) -> None:
        try:
            async with asyncio.timeout(HAND_OVER_S):
                result = await self._send_text(submission, held)
        except TimeoutError:
            result = SubmitResult(SubmitOutcome.RETRY, reason="the SMSC took too long")
        except Exception:
            log.exception("SMPP %s: message %s failed", self.name, submission.message_id)
            result = SubmitResult(SubmitOutcome.RETRY, reason="connector error")
        results.put_nowait(Submitted(submission, result))

    async def _send_text(self, submission: Submission, held: set[int]) -> SubmitResult:
        try:
            parts = segments.encode_parts(submission.body, reference=submission.message_id)
        except segments.TextTooLong as error:
            return SubmitResult(SubmitOutcome.REJECTED, reason=str(error))
        first_id: str | None = None
        for seq, part in enumerate(parts, start=1):
            if seq in held:  # the SMSC has it already (a hand-over before a crash)
                continue
            answer = await self._send_part(submission, part)
            if answer.outcome is SubmitOutcome.RETRY:
                return SubmitResult(SubmitOutcome.RETRY, reason=answer.reason)
            assert self._log is not None
            smsc_id = answer.smsc_id
            record = memory.PartRecord(
                submission.message_id,
                seq,
                len(parts),
                self.config.ids.submit_key(smsc_id) if smsc_id is not None else None,
                answer.status,
            )
            await self._log.record(record)
            if answer.outcome is SubmitOutcome.REJECTED:
                return SubmitResult(SubmitOutcome.REJECTED, reason=answer.reason)
            first_id = first_id or smsc_id
        return SubmitResult(SubmitOutcome.ACCEPTED, carrier_ref=first_id)

    async def _send_part(self, submission: Submission, part: segments.OutboundPart) -> _Answer:
        pdu = SubmitSm(
            source_addr=submission.source.lstrip("+"),
            destination_addr=submission.destination.lstrip("+"),
            short_message=part.short_message,
            esm_class=part.esm_class,
            data_coding=part.data_coding,
            registered_delivery=REGISTERED_DELIVERY,
            source_addr_ton=self.config.source_ton,
            source_addr_npi=self.config.source_npi,
            dest_addr_ton=self.config.dest_ton,
            dest_addr_npi=self.config.dest_npi,
        )
        throttled = dropped = 0
        while True:
            link = await self._transmitter()
            if link is None:
                return _Answer(SubmitOutcome.RETRY, reason="no SMPP bind is up")
            await link.pace()
            session = link.session
            try:
                if session is None:
                    raise SessionClosed("not bound")
                self.submitted += 1
                response = await session.request(pdu)
            except SessionClosed:
                dropped += 1
                if dropped >= MAX_DROPPED:
                    return _Answer(SubmitOutcome.RETRY, reason="the SMPP link keeps dropping")
                # The link reconnects after this long; until then it has nothing to offer.
                await asyncio.sleep(min(self.config.reconnect, 1.0))
                continue
            except ResponseTimeout:
                link.drop()
                if submission.attempt >= MAX_UNANSWERED_ATTEMPTS:
                    return _Answer(
                        SubmitOutcome.REJECTED,
                        reason=f"no submit_sm_resp after {submission.attempt} attempts",
                    )
                return _Answer(SubmitOutcome.RETRY, reason="no submit_sm_resp in time")
            status = response.status
            if status == Status.ROK:
                smsc_id = getattr(response.body, "message_id", "") or ""
                return _Answer(SubmitOutcome.ACCEPTED, smsc_id=smsc_id)
            if status in TRANSIENT:
                link.slow_down()
                throttled += 1
                if throttled >= MAX_THROTTLED:
                    return _Answer(SubmitOutcome.RETRY, reason="the SMSC keeps throttling")
                continue
            reason = f"SMPP status {status:#010x}"
            if status in RETRY_LATER:
                return _Answer(SubmitOutcome.RETRY, status=status, reason=reason)
            return _Answer(SubmitOutcome.REJECTED, status=status, reason=reason)

    async def _transmitter(self) -> Link | None:
        """The next usable transmitting link, in turn; waits a while for one to bind."""
        if not self._transmitters:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout
        while True:
            for _ in range(len(self._transmitters)):
                link = self._transmitters[next(self._turn)]
                if link.usable:
                    return link
            if loop.time() >= deadline:
                return None
            # Only while every bind is down; a bind takes longer than this anyway.
            await asyncio.sleep(BIND_POLL_S)

    async def _expire_parts(self) -> None:
        """Store inbound texts whose parts stopped coming; now and then, forget receipts
        that no submit ever claimed."""
        checks = itertools.count()
        while True:
            await asyncio.sleep(EXPIRY_CHECK_S)
            now = self._clock.now_ms()
            try:
                deadline = self.inbound.next_deadline()
                if deadline is not None and deadline <= now:
                    await self.inbound.expire()
                if next(checks) % EARLY_RECEIPT_SWEEP_EVERY == 0:
                    before = now - memory.EARLY_RECEIPT_TTL_MS
                    await self._store.write(partial(memory.forget_early_receipts, before=before))
            except Exception:
                log.exception("SMPP %s: housekeeping failed; trying again", self.name)

    def bound_links(self) -> int:
        return sum(link.bound.is_set() for link in self.links)

    def modes(self) -> list[BindMode]:
        return [link.mode for link in self.links]


class _PartLog:
    """Writes what the SMSC answered for each part, many parts to one transaction:
    parts answered while a write is under way go in the next one."""

    def __init__(self, store: Store, clock: Clock, sink: CarrierSink, name: str) -> None:
        self._store = store
        self._clock = clock
        self._sink = sink
        self._name = name
        self._pending: list[tuple[memory.PartRecord, asyncio.Future[None]]] = []
        self._writing = False

    async def record(self, record: memory.PartRecord) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((record, done))
        if not self._writing:
            self._writing = True
            asyncio.get_running_loop().create_task(self._write_all())
        await done

    async def _write_all(self) -> None:
        try:
            while self._pending:
                taken, self._pending = self._pending, []
                records = [record for record, _ in taken]
                try:
                    await self._store.write(partial(self._write, records=records))
                except Exception as error:
                    for _, done in taken:
                        if not done.done():
                            done.set_exception(error)
                    continue
                for _, done in taken:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writing = False

    def _write(self, connection: Connection, records: list[memory.PartRecord]) -> None:
        settled = memory.record_parts(connection, self._name, records, self._clock.now_ms())
        if settled:
            self._sink.record_receipts(connection, self._name, settled)
