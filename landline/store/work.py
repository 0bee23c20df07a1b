"""Claiming work with leases: a worker owns claimed rows until its lease runs out.

On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets many workers claim from one table without
waiting on each other; SQLite has a single writer, so the claim is simply serialized.
A worker that dies keeps nothing: its lease expires and another worker takes the row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from landline.store.schema import contacts, messages, outbox, sim_inbound, sim_submissions


def claim_outbox(
    connection: Connection, *, now: int, lease_ms: int, node: int, limit: int
) -> list[Row[Any]]:
    """Claim due outbound messages, with what the dispatcher needs to send them,
    including whether the recipient has opted out since the message was accepted."""
    due = list(
        connection.scalars(
            select(outbox.c.message_id)
            .where(
                outbox.c.available_at <= now,
                (outbox.c.lease_until.is_(None)) | (outbox.c.lease_until < now),
            )
            .order_by(outbox.c.available_at, outbox.c.message_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    if not due:
        return []
    connection.execute(
        update(outbox)
        .where(outbox.c.message_id.in_(due))
        .values(lease_until=now + lease_ms, leased_by=node, attempts=outbox.c.attempts + 1)
    )
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
                (
                    func.coalesce(contacts.c.opted_out, False) & ~outbox.c.ignore_opt_out
                ).label("opted_out"),
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


def finish_outbox(connection: Connection, message_id: int) -> None:
    connection.execute(delete(outbox).where(outbox.c.message_id == message_id))


def finish_outboxes(connection: Connection, message_ids: list[int]) -> None:
    if message_ids:
        connection.execute(delete(outbox).where(outbox.c.message_id.in_(message_ids)))


def retry_outbox(connection: Connection, message_id: int, available_at: int) -> None:
    connection.execute(
        update(outbox)
        .where(outbox.c.message_id == message_id)
        .values(available_at=available_at, lease_until=None, leased_by=None)
    )


def next_outbox_due(connection: Connection) -> int | None:
    return connection.execute(
        select(outbox.c.available_at).order_by(outbox.c.available_at).limit(1)
    ).scalar()


def release_leases(connection: Connection) -> None:
    """Free every lease: only for a store that no other process shares (SQLite)."""
    connection.execute(update(outbox).values(lease_until=None, leased_by=None))
    connection.execute(update(sim_submissions).values(lease_until=None))
    connection.execute(update(sim_inbound).values(lease_until=None))
