"""What an SMSC sends us: delivery receipts and handsets' texts, in deliver_sm PDUs.

Each deliver_sm is answered only once what it carried is stored, so a crash in between
makes the SMSC offer it again rather than lose it. Receipts are matched to the parts we
submitted (store/smpp.py); a receipt that comes before its submit_sm_resp was recorded
is kept until it is. Parts of a split text are stored as they come, and the text is
stored whole once every part is there, or as far as it got after the reassembly timeout.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from landline.carriers.base import CarrierSink, InboundText
from landline.carriers.smpp import pdus
from landline.carriers.smpp.config import SmppConfig
from landline.carriers.smpp.pdus import DeliverSm, Pdu, Status
from landline.carriers.smpp.session import Session
from landline.core import numbers, segments
from landline.core.clock import Clock
from landline.core.reassembly import Assembled, Reassembler
from landline.core.receipts import Outcome, read_receipt
from landline.store import smpp as memory
from landline.store.access import Store

log = logging.getLogger(__name__)

TON_INTERNATIONAL = 1


@dataclass
class _Batch:
    answers: list[tuple[Pdu, int]]
    reports: list[memory.ReceiptReport]
    texts: list[InboundText]
    parts: list[memory.StoredPart]


class InboundHandler:
    """Answers a link's batch of requests from the SMSC."""

    def __init__(self, config: SmppConfig, store: Store, clock: Clock) -> None:
        self._config = config
        self._name = config.name
        self._store = store
        self._clock = clock
        self._sink: CarrierSink | None = None
        self._parts = Reassembler(timeout_ms=int(config.reassembly * 1000))
        # Parts and their texts go through the reassembler one batch at a time.
        self._assembling = asyncio.Lock()
        self.receipts_taken = 0  # for benchmarks and tests

    async def start(self, sink: CarrierSink) -> None:
        """Take back the parts stored before a restart."""
        self._sink = sink
        stored = await self._store.read(memory.waiting_parts, self._name)
        async with self._assembling:
            ready = [text for part in stored for text in self._feed(part)]
            await self._store_assembled(ready)

    async def handle(self, session: Session, batch: list[Pdu]) -> None:
        taken = self._sort(batch, session)
        if taken.reports:
            await self._store.write(partial(self._apply_receipts, reports=taken.reports))
            self.receipts_taken += len(taken.reports)
        if taken.texts:
            assert self._sink is not None
            await self._sink.inbound(self._name, taken.texts)
        if taken.parts:
            await self._take_parts(taken.parts)
        for pdu, status in taken.answers:
            if session.is_open:
                session.respond(pdu, pdus.DeliverSmResp(), status)

    async def expire(self) -> int:
        """Store the texts whose missing parts did not come in time; answers how many."""
        async with self._assembling:
            ready = self._parts.expire(self._clock.now_ms())
            await self._store_assembled(ready)
        return len(ready)

    def next_deadline(self) -> int | None:
        return self._parts.next_deadline()

    # --- sorting a batch ---------------------------------------------------------------

    def _sort(self, batch: list[Pdu], session: Session) -> _Batch:
        taken = _Batch([], [], [], [])
        now = self._clock.now_ms()
        for pdu in batch:
            body = pdu.body
            if isinstance(body, pdus.Unbind):
                session.respond(pdu, pdus.UnbindResp())
                asyncio.get_running_loop().create_task(session.close())
                continue
            if not isinstance(body, DeliverSm):
                session.respond(pdu, pdus.GenericNack(), Status.RINVCMDID)
                continue
            status = self._sort_one(body, now, taken)
            taken.answers.append((pdu, status))
        return taken

    def _sort_one(self, body: DeliverSm, now: int, taken: _Batch) -> int:
        if body.is_receipt:
            report = read_receipt(
                _ascii(body.content),
                receipted_message_id=body.receipted_message_id,
                message_state=body.message_state,
            )
            if report is None:
                log.warning("SMPP %s: a receipt we cannot read; acknowledged", self._name)
            elif report.outcome is not Outcome.PENDING:
                key = self._config.ids.receipt_key(report.message_id)
                delivered = report.outcome is Outcome.DELIVERED
                taken.reports.append(memory.ReceiptReport(key, delivered, report.stat))
            return Status.ROK
        try:
            source = _e164(body.source_addr, body.source_addr_ton)
            destination = _e164(body.destination_addr, body.dest_addr_ton)
            part = segments.read_part(body.content, body.data_coding, body.esm_class, body.sar)
        except (numbers.InvalidNumber, segments.UndecodableMessage) as error:
            log.warning("SMPP %s: refused an inbound text: %s", self._name, error)
            # Permanent: offering it again would not make it readable.
            return Status.RX_P_APPN
        concat = part.concat
        if concat is None or concat.total == 1:
            ref = f"smpp-{self._store.ids.next_id()}"
            taken.texts.append(InboundText(source, destination, part.text, ref, now))
        else:
            taken.parts.append(
                memory.StoredPart(
                    id=self._store.ids.next_id(),
                    source=source,
                    destination=destination,
                    reference=concat.reference,
                    total=concat.total,
                    seq=concat.seq,
                    wide=concat.wide,
                    data_coding=part.data_coding,
                    payload=part.payload,
                    received_at=now,
                )
            )
        return Status.ROK

    # --- receipts ----------------------------------------------------------------------

    def _apply_receipts(self, connection: Connection, reports: list[memory.ReceiptReport]) -> None:
        assert self._sink is not None
        settled = memory.apply_receipts(connection, self._name, reports, self._clock.now_ms())
        if settled:
            self._sink.record_receipts(connection, self._name, settled)

    # --- parts -------------------------------------------------------------------------

    async def _take_parts(self, parts: list[memory.StoredPart]) -> None:
        def keep(connection: Connection) -> None:
            for part in parts:
                memory.add_part(connection, self._name, part)

        await self._store.write(keep)
        # Every part stored so far, whichever process took it (with several workers, a
        # text's parts may come on binds of different processes); a part fed twice
        # changes nothing.
        keys = {_key(part) for part in parts}
        stored = await self._store.read(memory.parts_of, self._name, keys)
        async with self._assembling:
            ready = [text for part in stored for text in self._feed(part)]
            await self._store_assembled(ready)

    def _feed(self, stored: memory.StoredPart) -> list[Assembled]:
        part = segments.InboundPart(
            payload=stored.payload,
            data_coding=stored.data_coding,
            concat=segments.Concat(stored.reference, stored.total, stored.seq, stored.wide),
        )
        return self._parts.add(stored.source, stored.destination, part, stored.received_at)

    async def _store_assembled(self, ready: list[Assembled]) -> None:
        if not ready:
            return
        assert self._sink is not None
        keys = [(t.source, t.destination, t.reference, t.total) for t in ready]
        # A text whose parts are gone was stored already (by another process).
        first_at: dict[tuple[str, str, int, int], int] = {}
        for part in await self._store.read(memory.parts_of, self._name, keys):
            first_at.setdefault(_key(part), part.received_at)
        ready = [t for t in ready if (t.source, t.destination, t.reference, t.total) in first_at]
        texts = [
            InboundText(
                text.source,
                text.destination,
                text.text,
                # The same text, taken again after a crash or by another process, has
                # the same reference, so it is stored once.
                f"smpp-parts-{text.source}-{text.reference}-{text.total}-"
                f"{first_at[text.source, text.destination, text.reference, text.total]}",
                text.last_at,
            )
            for text in ready
        ]
        if not texts:
            return
        for text in ready:
            if not text.complete:
                log.info(
                    "SMPP %s: stored a text from %s with parts %s of %d (the rest never came)",
                    self._name,
                    text.source,
                    list(text.received),
                    text.total,
                )
        await self._sink.inbound(self._name, texts)
        done = [(t.source, t.destination, t.reference, t.total) for t in ready]
        await self._store.write(lambda c: memory.drop_parts(c, self._name, done))


def _key(part: memory.StoredPart) -> tuple[str, str, int, int]:
    return (part.source, part.destination, part.reference, part.total)


def _ascii(data: bytes) -> str:
    return data.decode("latin-1")


def _e164(address: str, ton: int) -> str:
    """An SMPP address as E.164: international (TON 1) numbers get their "+"."""
    digits = address.strip().lstrip("+")
    if ton == TON_INTERNATIONAL or len(digits) > 10:
        return numbers.to_e164("+" + digits)
    return numbers.to_e164(digits)
