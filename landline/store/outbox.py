"""The outbox: outbound texts waiting to be handed to a carrier.

A text is in the outbox while its `due_at` is set (messages.due_at, with a partial
index of its own): from the moment it is accepted (or, when scheduled, for its time)
until a carrier has it or it ends without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, bindparam, func, select, update

from landline.store import bulk, work
from landline.store.schema import messages

QUEUE = work.queue(
    messages,
    messages.c.id,
    due=lambda now: messages.c.due_at <= now,
    order=(messages.c.due_at, messages.c.id),
    on_claim={"attempts": messages.c.attempts + 1},
    token=messages.c.lease_token,
)


@dataclass(frozen=True)
class Due:
    """A claimed text, with what the dispatcher needs to send it."""

    id: int
    device_id: int
    line_number: str
    contact_number: str
    body: str
    status: int
    attempts: int
    # The recipient opted out since the text was accepted (and it is not a reply to
    # their keyword, which goes to them regardless).
    opted_out: bool
    # "mms" for a picture message (core/mms.py); None for a text.
    transport: str | None = None


_CLAIMED = (
    messages.c.id,
    messages.c.device_id,
    messages.c.line_number,
    messages.c.contact_number,
    messages.c.body,
    messages.c.status,
    messages.c.attempts,
    messages.c.ignore_opt_out,
    messages.c.due_at,
    messages.c.transport,
)


def claim_due(
    connection: Connection, *, now: int, lease_ms: int, token: int, limit: int
) -> list[Due]:
    """Claim due outbound texts, the longest waiting first."""
    rows = work.claim_rows(
        connection, QUEUE, _CLAIMED, now=now, lease_ms=lease_ms, limit=limit, token=token
    )
    if not rows:
        return []
    rows.sort(key=lambda row: (row.due_at, row.id))
    stopped = _opted_out(connection, {(row.device_id, row.contact_number) for row in rows})
    return [
        Due(
            row.id,
            row.device_id,
            row.line_number,
            row.contact_number,
            row.body,
            row.status,
            row.attempts,
            not row.ignore_opt_out and (row.device_id, row.contact_number) in stopped,
            row.transport,
        )
        for row in rows
    ]


def _opted_out(connection: Connection, recipients: set[tuple[int, str]]) -> set[tuple[int, str]]:
    """Which of these (line, number) pairs have opted out."""
    devices = sorted({device for device, _ in recipients})
    numbers = sorted({number for _, number in recipients})
    # Straight to the driver: a round's numbers, compiled by SQLAlchemy as an expanding
    # IN list every time, cost more than the query. Both halves of the primary key are
    # given, so the lookup walks it.
    found = bulk.rows(
        connection,
        f"SELECT device_id, number FROM contacts WHERE device_id IN ({bulk.marks(len(devices))})"
        f" AND number IN ({bulk.marks(len(numbers))}) AND opted_out = ?",
        [*devices, *numbers, True],
    )
    return {(device, number) for device, number in found} & recipients


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
