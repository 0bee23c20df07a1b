"""Claiming work with leases: a worker owns claimed rows until its lease runs out.

Every queue (the outbox, the simulated network's receipts and handset texts, webhook
deliveries) is a table with a lease column, claimed the same way. On PostgreSQL,
`FOR UPDATE SKIP LOCKED` lets many workers claim from one table without waiting on each
other; SQLite has a single writer, so the claim is simply serialized. A worker that dies
keeps nothing: its lease expires and another worker takes the row.

A claim may carry a token (a unique id) written with the lease, so that only that claim
can finish its rows: a worker whose lease ran out while it waited on a carrier finds the
rows taken over, and leaves them alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Row, Table, select, update


@dataclass(frozen=True)
class Queue:
    table: Table
    key: Column[Any]
    # Rows ready to be claimed at a time (leases aside).
    due: Callable[[int], ColumnElement[bool]]
    order: tuple[Column[Any], ...]
    # Further columns a claim sets, as SQL expressions (a try counter, say).
    on_claim: dict[str, Any] = field(default_factory=dict)
    # The column that holds the claim's token, for queues whose finishing checks it.
    token: Column[Any] | None = None

    @property
    def lease_until(self) -> Column[Any]:
        return self.table.c.lease_until


# Every queue, so that a store no other process shares can free all leases at start.
QUEUES: list[Queue] = []


def queue(
    table: Table,
    key: Column[Any],
    due: Callable[[int], ColumnElement[bool]],
    order: Sequence[Column[Any]],
    on_claim: dict[str, Any] | None = None,
    token: Column[Any] | None = None,
) -> Queue:
    found = Queue(table, key, due, tuple(order), on_claim or {}, token)
    QUEUES.append(found)
    return found


def claim(
    connection: Connection,
    queue: Queue,
    *,
    now: int,
    lease_ms: int,
    limit: int,
    token: int | None = None,
    extra: dict[str, Any] | None = None,
    where: ColumnElement[bool] | None = None,
) -> list[Any]:
    """Lease up to `limit` due rows of `queue`, the oldest first; returns their keys in
    key order.

    `extra` sets further columns with the lease; `where` narrows the claim to part of
    the queue (one webhook host's deliveries, say).
    """
    statement = _claim(queue, now, lease_ms, limit, token, extra, where, ())
    return sorted(connection.scalars(statement))


def claim_rows(
    connection: Connection,
    queue: Queue,
    columns: Sequence[Column[Any]],
    *,
    now: int,
    lease_ms: int,
    limit: int,
    token: int | None = None,
) -> list[Row[Any]]:
    """As `claim`, returning `columns` of each claimed row as the claim left it, in no
    particular order."""
    statement = _claim(queue, now, lease_ms, limit, token, None, None, columns)
    return list(connection.execute(statement))


def _claim(
    queue: Queue,
    now: int,
    lease_ms: int,
    limit: int,
    token: int | None,
    extra: dict[str, Any] | None,
    where: ColumnElement[bool] | None,
    columns: Sequence[Column[Any]],
) -> Any:
    # One statement: the rows are picked (skipping those another worker is locking) and
    # leased together, so a claim costs the writer a single round trip.
    free = queue.lease_until.is_(None) | (queue.lease_until < now)
    conditions = [queue.due(now), free] if where is None else [queue.due(now), free, where]
    picked = (
        select(queue.key)
        .where(*conditions)
        .order_by(*queue.order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    values: dict[str, Any] = {"lease_until": now + lease_ms, **queue.on_claim, **(extra or {})}
    if queue.token is not None:
        values[queue.token.name] = token
    returning = columns or (queue.key,)
    return update(queue.table).where(queue.key.in_(picked)).values(values).returning(*returning)


def release_leases(connection: Connection) -> None:
    """Free every lease of every queue: only for a store that no other process shares
    (SQLite), when the process that held them is known to be gone."""
    for found in QUEUES:
        values: dict[str, Any] = {"lease_until": None}
        if found.token is not None:
            values[found.token.name] = None
        connection.execute(
            update(found.table).where(found.lease_until.is_not(None)).values(values)
        )
