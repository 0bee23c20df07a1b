"""The simulated phone network's memory: texts it owes a receipt for, and texts its
handsets have sent to a line. Kept in the store, so it survives a restart like a real
network would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select, update

from landline.store import work
from landline.store.schema import sim_inbound, sim_submissions
from landline.store.statements import insert_or_ignore

RECEIPTS = work.queue(
    sim_submissions,
    sim_submissions.c.message_id,
    due=lambda now: sim_submissions.c.done.is_(False) & (sim_submissions.c.due_at <= now),
    order=(sim_submissions.c.due_at,),
)
HANDSET_TEXTS = work.queue(
    sim_inbound,
    sim_inbound.c.id,
    due=lambda now: sim_inbound.c.done.is_(False),
    order=(sim_inbound.c.id,),
)


def remember(connection: Connection, rows: list[dict[str, Any]]) -> list[None]:
    """Note texts the network owes a receipt for: a dispatcher round's submits at once.

    Keyed by message id: a repeated submit is the same text, not a second one.
    """
    connection.execute(insert_or_ignore(connection, sim_submissions), rows)
    return [None] * len(rows)


def claim_receipts(
    connection: Connection, *, now: int, lease_ms: int, limit: int
) -> list[Row[Any]]:
    """Receipts due now: (message_id, outcome, due_at)."""
    keys = work.claim(connection, RECEIPTS, now=now, lease_ms=lease_ms, limit=limit)
    if not keys:
        return []
    return list(
        connection.execute(
            select(
                sim_submissions.c.message_id, sim_submissions.c.outcome, sim_submissions.c.due_at
            )
            .where(sim_submissions.c.message_id.in_(keys))
            .order_by(sim_submissions.c.due_at)
        )
    )


def claim_handset_texts(
    connection: Connection, *, now: int, lease_ms: int, limit: int
) -> list[Row[Any]]:
    keys = work.claim(connection, HANDSET_TEXTS, now=now, lease_ms=lease_ms, limit=limit)
    if not keys:
        return []
    return list(
        connection.execute(
            select(sim_inbound).where(sim_inbound.c.id.in_(keys)).order_by(sim_inbound.c.id)
        )
    )


def finish_receipts(connection: Connection, message_ids: list[int]) -> None:
    connection.execute(
        update(sim_submissions)
        .where(sim_submissions.c.message_id.in_(message_ids))
        .values(done=True, lease_until=None)
    )


def finish_handset_texts(connection: Connection, text_ids: list[int]) -> None:
    connection.execute(
        update(sim_inbound)
        .where(sim_inbound.c.id.in_(text_ids))
        .values(done=True, lease_until=None)
    )


def handset_text(
    connection: Connection, *, text_id: int, source: str, destination: str, body: str, now: int
) -> None:
    """A simulated handset sends a text to a line; the simulator delivers it shortly."""
    connection.execute(
        sim_inbound.insert().values(
            id=text_id,
            source=source,
            destination=destination,
            body=body,
            created_at=now,
            done=False,
        )
    )


def copies_of(connection: Connection, message_id: int) -> int:
    """How many times the network holds a text: 1 once it was sent, never more."""
    return len(
        connection.scalars(
            select(sim_submissions.c.message_id).where(sim_submissions.c.message_id == message_id)
        ).all()
    )
