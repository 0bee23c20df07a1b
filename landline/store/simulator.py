"""The simulated phone network's memory: texts it owes a receipt for, and texts its
handsets have sent to a line. Kept in the store, so it survives a restart like a real
network would."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, select, update

from landline.store import work
from landline.store.bulk import execute_many
from landline.store.schema import sim_inbound, sim_submissions
from landline.store.statements import cached, insert_or_ignore

HANDSET_TEXTS = work.queue(
    sim_inbound,
    sim_inbound.c.id,
    due=lambda now: sim_inbound.c.done.is_(False),
    order=(sim_inbound.c.id,),
)


def remember(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Note texts the network owes a receipt for: a dispatcher round's submits at once.

    Keyed by message id: a repeated submit is the same text, not a second one.
    """
    execute_many(connection, cached(connection, "sim remember", _remember), rows)


def _remember(connection: Connection) -> Any:
    return insert_or_ignore(connection, sim_submissions)


def take_due_receipts(connection: Connection, *, now: int, limit: int) -> Sequence[Any]:
    """Receipts due now, (message_id, outcome, due_at), marked given: for the caller to
    apply in the same transaction. Rows another worker is taking are skipped."""
    due = (
        select(sim_submissions.c.message_id)
        .where(sim_submissions.c.done.is_(False), sim_submissions.c.due_at <= now)
        .order_by(sim_submissions.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return connection.execute(
        update(sim_submissions)
        .where(sim_submissions.c.message_id.in_(due))
        .values(done=True)
        .returning(
            sim_submissions.c.message_id, sim_submissions.c.outcome, sim_submissions.c.due_at
        )
    ).all()


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


def finish_handset_texts(connection: Connection, text_ids: list[int]) -> None:
    connection.execute(
        update(sim_inbound)
        .where(sim_inbound.c.id.in_(text_ids))
        .values(done=True, lease_until=None)
    )


def handset_text(
    connection: Connection,
    *,
    text_id: int,
    source: str,
    destination: str,
    body: str,
    now: int,
    media: str | None = None,
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
            media=media,
        )
    )


def copies_of(connection: Connection, message_id: int) -> int:
    """How many times the network holds a text: 1 once it was sent, never more."""
    return len(
        connection.scalars(
            select(sim_submissions.c.message_id).where(sim_submissions.c.message_id == message_id)
        ).all()
    )
