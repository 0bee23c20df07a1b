"""The outbox: outbound texts waiting to be handed to a carrier.

A text is in the outbox while its `due_at` is set (messages.due_at, with a partial
index of its own): from the moment it is accepted (or, when scheduled, for its time)
until a carrier has it or it ends without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, bindparam, func, select, update

from landline.store import work
from landline.store.schema import contacts, messages

QUEUE = work.queue(
    messages,
    messages.c.id,
    due=lambda now: messages.c.due_at <= now,
    order=(messages.c.due_at, messages.c.id),
    on_claim={"attempts": messages.c.attempts + 1},
    token=messages.c.lease_token,
)


def claim_due(
    connection: Connection, *, now: int, lease_ms: int, token: int, limit: int
) -> list[Row[Any]]:
    """Claim due outbound texts, with what the dispatcher needs to send them, including
    whether the recipient has opted out since the text was accepted."""
    due = work.claim(connection, QUEUE, now=now, lease_ms=lease_ms, limit=limit, token=token)
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
                messages.c.attempts,
                messages.c.transport,
                (func.coalesce(contacts.c.opted_out, False) & ~messages.c.ignore_opt_out).label(
                    "opted_out"
                ),
            )
            .outerjoin(
                contacts,
                (contacts.c.device_id == messages.c.device_id)
                & (contacts.c.number == messages.c.contact_number),
            )
            .where(messages.c.id.in_(due))
            .order_by(messages.c.due_at, messages.c.id)
        )
    )


def retry_at(connection: Connection, retries: Sequence[tuple[int, int]], token: int) -> None:
    """Give texts (message id, when) back to the queue, if this claim still holds them."""
    if retries:
        connection.execute(
            _RETRY, [{"_id": mid, "_at": at, "_token": token} for mid, at in retries]
        )


_RETRY = (
    update(messages)
    .where(messages.c.id == bindparam("_id"), messages.c.lease_token == bindparam("_token"))
    .values(due_at=bindparam("_at"), lease_until=None, lease_token=None)
)


def leave(connection: Connection, message_ids: Sequence[int], token: int) -> None:
    """Take texts out of the queue without a status change (a carrier already has
    them), if this claim still holds them."""
    if message_ids:
        connection.execute(
            update(messages)
            .where(messages.c.id.in_(message_ids), messages.c.lease_token == token)
            .values(due_at=None, lease_until=None, lease_token=None)
        )


def renew(connection: Connection, message_ids: Sequence[int], token: int, until: int) -> None:
    """Extend the lease of a claim's texts that are still in the queue."""
    connection.execute(
        update(messages)
        .where(messages.c.id.in_(message_ids), messages.c.lease_token == token)
        .values(lease_until=until)
    )


def waiting(connection: Connection, now: int | None = None) -> int:
    """How many texts wait in the outbox (due by `now`, if given)."""
    where: ColumnElement[bool] = messages.c.due_at.is_not(None)
    if now is not None:
        where = and_(where, messages.c.due_at <= now)
    return int(connection.execute(select(func.count()).where(where)).scalar_one())
