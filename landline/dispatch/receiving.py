"""What carriers report, taken into the store: delivery receipts and inbound texts.

Both paths are idempotent: a repeated receipt cannot change a final status, and a
repeated inbound text (same connector and carrier reference) is stored once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from sqlalchemy import Connection

from landline.carriers.base import InboundText, Receipt
from landline.core import ids, optout
from landline.core.clock import Clock
from landline.core.outbound import MAX_BODY_BYTES, plan_send
from landline.core.status import ErrorCode
from landline.store import contacts, inbound, lines, media, sends, statuses
from landline.store.access import Store
from landline.store.lines import Line

log = logging.getLogger(__name__)


class CarrierEvents:
    """The CarrierSink every connector reports to."""

    def __init__(self, store: Store, clock: Clock, on_outbound: Callable[[], None]) -> None:
        self._store = store
        self._clock = clock
        self._on_outbound = on_outbound

    async def receipts(self, connector: str, receipts: list[Receipt]) -> None:
        await self._store.write(lambda c: self.record_receipts(c, connector, receipts))

    def record_receipts(
        self, connection: Connection, connector: str, receipts: list[Receipt]
    ) -> None:
        # Read the clock inside the transaction: writes are serialized, so a receipt that
        # commits after the dispatcher's record of the submit is also dated after it.
        now = self._clock.now_ms()
        reports = [(receipt.message_id, receipt.delivered) for receipt in receipts]
        # All of a round's receipts with a few set-based statements.
        statuses.receipts(connection, connector, reports, now, self._store.ids.next_id)

    async def inbound(self, connector: str, texts: list[InboundText]) -> None:
        replies = False
        for text in texts:
            line = await self._store.read(lines.by_number, text.destination)
            if line is None:
                log.warning("inbound text for %s, which is no line here; dropped", text.destination)
                continue
            take = partial(self._take, connector=connector, text=text, line=line)
            replies |= await self._store.write(take)
        if replies:
            self._on_outbound()

    def _take(self, connection: Connection, connector: str, text: InboundText, line: Line) -> bool:
        """Store one inbound text and act on its keyword; True if a reply was queued."""
        now = self._clock.now_ms()
        next_id = self._store.ids.next_id
        message_id = next_id()
        contact_id = ids.contact_id(line.device_id, text.source)
        blocked = contacts.is_blocked(connection, line.device_id, text.source)
        stored = inbound.record_inbound(
            connection,
            message_id=message_id,
            event_id=next_id(),
            device_id=line.device_id,
            line_number=line.number,
            contact_number=text.source,
            contact_id=contact_id,
            fingerprint=ids.fingerprint(line.device_id, [text.source]),
            body=text.body,
            connector=connector,
            carrier_ref=text.carrier_ref,
            at=now,
            blocked=blocked,
        )
        if stored and text.parts:
            _attach_parts(connection, line, message_id, text, now)
        keyword = optout.classify(text.body) if stored else None
        if keyword is None:
            return False
        if blocked and keyword is optout.Keyword.HELP:
            return False
        if keyword is optout.Keyword.HELP:
            reply = line.help_text or optout.DEFAULT_HELP_TEXT
        else:
            opting_out = keyword is optout.Keyword.STOP
            changed = contacts.set_opt_out(
                connection,
                device_id=line.device_id,
                number=text.source,
                contact_id=contact_id,
                opt_out=opting_out,
                keyword=text.body.strip(),
                message_id=message_id,
                audit_id=next_id(),
                event_id=next_id(),
                event_data={
                    "number": text.source,
                    "line": line.number,
                    "contactId": contact_id,
                    "optOut": opting_out,
                    "keyword": text.body.strip(),
                },
                now=now,
            )
            # A blocked number's STOP still counts (the line must honor it), but the line
            # sends it nothing, not even the confirmation.
            if not changed or blocked:
                return False
            if opting_out:
                # Texts queued or scheduled before the STOP must not reach them either.
                withdrawn = contacts.withdraw_waiting_sends(
                    connection, line.device_id, text.source, now
                )
                statuses.advance(
                    connection,
                    [
                        statuses.StatusChange(
                            message_id=waiting,
                            status=int(ErrorCode.RECIPIENT_SENT_STOP),
                            at=now,
                            event_id=next_id(),
                        )
                        for waiting in withdrawn
                    ],
                )
            reply = optout.STOP_CONFIRMATION if opting_out else optout.START_CONFIRMATION
        plan = plan_send(
            device_id=line.device_id,
            line_number=line.number,
            numbers=[text.source],
            body=_fit(reply),
            now=now,
            scheduled_at=None,
            next_id=next_id,
        )
        sends.record_send(connection, plan, honor_opt_out=False)
        return True


def _attach_parts(
    connection: Connection, line: Line, message_id: int, text: InboundText, now: int
) -> None:
    """An inbound MMS: its parts become the line's hosted content, every one kept."""
    media.record_media(
        connection,
        [
            media.media_row(
                p.storage_key, line.device_id, p.file_name, p.mime_type, p.size_bytes, now
            )
            for p in text.parts
        ],
    )
    media.attach(connection, line.device_id, message_id, [p.storage_key for p in text.parts])


def _fit(text: str) -> str:
    encoded = text.encode("utf-8")[:MAX_BODY_BYTES]
    return encoded.decode("utf-8", errors="ignore")
