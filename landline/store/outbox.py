"""The outbox: one row per outbound text not yet handed to a carrier."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from landline.store import work
from landline.store.schema import contacts, messages, outbox

QUEUE = work.queue(
    outbox,
    outbox.c.message_id,
    due=lambda now: outbox.c.available_at <= now,
    order=(outbox.c.available_at, outbox.c.message_id),
    on_claim={"attempts": outbox.c.attempts + 1},
)


def claim_due(
    connection: Connection, *, now: int, lease_ms: int, node: int, limit: int
) -> list[Row[Any]]:
    """Claim due outbound texts, with what the dispatcher needs to send them, including
    whether the recipient has opted out since the text was accepted."""
    due = work.claim(
        connection, QUEUE, now=now, lease_ms=lease_ms, limit=limit, extra={"leased_by": node}
    )
    if not due:
        return []
    return list(
        connection.execute(
            select(
                messages.c.id,
                messages.c.device_id,
                messages.c.line_number,
                messages.c.contact_number,
                messages.c.body,
                messages.c.status,
                outbox.c.attempts,
                (func.coalesce(contacts.c.opted_out, False) & ~outbox.c.ignore_opt_out).label(
                    "opted_out"
                ),
            )
            .join(outbox, outbox.c.message_id == messages.c.id)
            .outerjoin(
                contacts,
                (contacts.c.device_id == messages.c.device_id)
                & (contacts.c.number == messages.c.contact_number),
            )
            .where(messages.c.id.in_(due))
            .order_by(outbox.c.available_at, messages.c.id)
        )
    )


def finish(connection: Connection, message_ids: Sequence[int]) -> None:
    """Done with these texts: the carrier has them, or they ended without one."""
    if message_ids:
        connection.execute(delete(outbox).where(outbox.c.message_id.in_(message_ids)))


def retry_at(connection: Connection, message_id: int, available_at: int) -> None:
    """Give a text back to the queue, to be tried again at `available_at`."""
    connection.execute(
        update(outbox)
        .where(outbox.c.message_id == message_id)
        .values(available_at=available_at, lease_until=None, leased_by=None)
    )
