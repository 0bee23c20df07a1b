"""Status changes of messages.

A final status is reached exactly once: a repeated or late report changes nothing. A
message's history of codes is its lifecycle (core/status.py `lifecycle`), kept as the
times it reached each step: sent_at, ended_at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, bindparam, literal_column, select, update

from landline.core.events import EventKind
from landline.core.status import Progress, is_final
from landline.store import bulk, events
from landline.store.bulk import execute_many
from landline.store.schema import messages


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    status: int
    at: int
    event_id: int
    connector: str | None = None
    carrier_ref: str | None = None
    # The move happens only from this status.
    only_from: int | None = None
    # The text leaves the outbox with this change (the dispatcher's record of a claim).
    leave_queue: bool = False


@dataclass(frozen=True)
class _Current:
    """A message as the changes before this one left it."""

    status: int
    device_id: int
    delivered_at: int | None
    read_at: int | None
    deleted_at: int | None


_DELIVERED = frozenset(
    {
        int(Progress.DELIVERED_BY_RECEIPT),
        int(Progress.DELIVERY_CONFIRMED),
        int(Progress.DELIVERED_NO_CONFIRMATION),
    }
)


def advance(connection: Connection, changes: Sequence[StatusChange]) -> list[bool]:
    """Move messages to new statuses unless they already ended; record an event for each
    move. Returns, per change, whether it moved its message.

    The same message may appear more than once; each change sees the ones before it.
    The rows are locked first (on PostgreSQL), so no other worker moves them between
    the read and the write. One statement per table for all the changes.
    """
    if not changes:
        return []
    ids = sorted({change.message_id for change in changes})
    current = {
        row.id: _Current(row.status, row.device_id, row.delivered_at, row.read_at, row.deleted_at)
        for row in connection.execute(_CURRENT_STATUS, {"ids": ids})
    }
    moved: list[bool] = []
    values: dict[int, dict[str, Any]] = {}
    event_rows: list[dict[str, Any]] = []
    for change in changes:
        found = current.get(change.message_id)
        if (
            found is None
            or is_final(found.status)
            or found.status == change.status
            or (change.only_from is not None and found.status != change.only_from)
        ):
            moved.append(False)
            continue
        delivered_at = change.at if change.status in _DELIVERED else found.delivered_at
        current[change.message_id] = replace(found, status=change.status, delivered_at=delivered_at)
        row = values.setdefault(change.message_id, {})
        row["status"] = change.status
        row["updated_at"] = change.at
        if change.status == Progress.IN_PROGRESS:
            row["sent_at"] = change.at
        if is_final(change.status):
            row["ended_at"] = change.at
        if change.connector is not None:
            row["connector"] = change.connector
        if change.carrier_ref is not None:
            row["carrier_ref"] = change.carrier_ref
        if change.status in _DELIVERED:
            row["delivered_at"] = change.at
        if change.leave_queue:
            row.update(due_at=None, lease_until=None, lease_token=None)
        event_rows.append(
            events.row(
                change.event_id,
                found.device_id,
                EventKind.MESSAGE_PROGRESS,
                change.message_id,
                change.at,
                status=change.status,
                delivered_at=delivered_at,
                read_at=found.read_at,
                deleted_at=found.deleted_at,
            )
        )
        moved.append(True)
    # One UPDATE per set of columns: an executemany needs the same columns in every row.
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for message_id, row in values.items():
        row = dict(sorted(row.items()), _id=message_id)
        by_columns.setdefault(tuple(row), []).append(row)
    for rows in by_columns.values():
        execute_many(connection, _STATUS_UPDATE, rows)
    events.record(connection, event_rows)
    return moved


_STATUS_UPDATE = update(messages).where(messages.c.id == bindparam("_id"))
_CURRENT_STATUS = (
    select(
        messages.c.id,
        messages.c.status,
        messages.c.device_id,
        messages.c.delivered_at,
        messages.c.read_at,
        messages.c.deleted_at,
    )
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(messages.c.id)
    .with_for_update()
)


def unconfirmed_since(connection: Connection, cutoff: int, limit: int) -> list[int]:
    """Texts handed to a carrier before `cutoff` that no receipt has confirmed yet."""
    return list(
        connection.scalars(
            select(messages.c.id)
            # A literal, not a bound parameter, so SQLite sees that the partial index
            # of texts in progress answers this query.
            .where(
                messages.c.status == literal_column(str(int(Progress.IN_PROGRESS))),
                messages.c.sent_at < cutoff,
            )
            .order_by(messages.c.sent_at)
            .limit(limit)
        )
    )


# -- The two moves every text makes, set-based: one statement for a round's texts.

_NOT_SENT = f"({int(Progress.QUEUED)}, {int(Progress.QUEUED_3)})"
_OPEN = f"({int(Progress.IN_PROGRESS)}, {int(Progress.QUEUED)}, {int(Progress.QUEUED_3)})"


def handed_over(
    connection: Connection,
    accepted: Sequence[tuple[int, str, str | None]],
    at: int,
    next_id: Callable[[], int],
) -> set[int]:
    """Carriers took these texts (message id, connector, carrier reference): each moves
    to in progress and leaves the outbox, unless something already moved it (a receipt
    that overtook the record of its submit). Returns the ids that moved."""
    if not accepted:
        return set()
    params: list[Any] = []
    for message_id, connector, carrier_ref in accepted:
        params.extend((message_id, connector, carrier_ref))
    params.extend((at, at))
    moved = bulk.rows(
        connection,
        "WITH v(id, connector, ref) AS (VALUES "
        + bulk.marks(len(accepted), "(CAST(? AS BIGINT), ?, ?)")
        + f") UPDATE messages SET status = {int(Progress.IN_PROGRESS)}, updated_at = ?,"
        " sent_at = ?, connector = v.connector, carrier_ref = v.ref, due_at = NULL,"
        " lease_until = NULL, lease_token = NULL FROM v"
        f" WHERE messages.id = v.id AND messages.status IN {_NOT_SENT}"
        " RETURNING messages.id, messages.device_id, messages.delivered_at,"
        " messages.read_at, messages.deleted_at",
        params,
    )
    _progress_events(connection, moved, at, next_id, int(Progress.IN_PROGRESS))
    return {row[0] for row in moved}


def receipts(
    connection: Connection,
    connector: str,
    reports: Sequence[tuple[int, bool]],
    at: int,
    next_id: Callable[[], int],
) -> None:
    """Carriers' receipts (message id, delivered): each text that has not ended moves to
    its final status; one whose submit was never recorded passes through in progress
    first. A repeated or late receipt changes nothing."""
    first: dict[int, bool] = {}
    for message_id, delivered in reports:
        first.setdefault(message_id, delivered)
    if not first:
        return
    ids = list(first)
    overtaken = bulk.rows(
        connection,
        f"UPDATE messages SET status = {int(Progress.IN_PROGRESS)}, updated_at = ?,"
        " sent_at = ?, connector = ? WHERE id IN (" + bulk.marks(len(ids)) + ")"
        f" AND status IN {_NOT_SENT}"
        " RETURNING id, device_id, delivered_at, read_at, deleted_at",
        [at, at, connector, *ids],
    )
    _progress_events(connection, overtaken, at, next_id, int(Progress.IN_PROGRESS))
    delivered_code, failed_code = int(Progress.DELIVERED_BY_RECEIPT), int(Progress.ERROR_BY_RECEIPT)
    params: list[Any] = []
    for message_id, delivered in first.items():
        params.extend((message_id, delivered_code if delivered else failed_code))
    params.extend((at, at, at))
    ended = bulk.rows(
        connection,
        "WITH v(id, status) AS (VALUES "
        + bulk.marks(len(first), "(CAST(? AS BIGINT), CAST(? AS INTEGER))")
        + ") UPDATE messages SET status = v.status, updated_at = ?, ended_at = ?,"
        f" delivered_at = CASE WHEN v.status = {delivered_code} THEN ? ELSE"
        " messages.delivered_at END FROM v"
        f" WHERE messages.id = v.id AND messages.status IN {_OPEN}"
        " RETURNING messages.id, messages.device_id, messages.status,"
        " messages.delivered_at, messages.read_at, messages.deleted_at",
        params,
    )
    _progress_events(connection, ended, at, next_id)


def _progress_events(
    connection: Connection,
    moved: Sequence[tuple[Any, ...]],
    at: int,
    next_id: Callable[[], int],
    status: int | None = None,
) -> None:
    """A progress event for each moved message: rows of (id, device_id, status,
    delivered_at, read_at, deleted_at), or without the status when `status` gives it."""
    if status is not None:
        moved = [(row[0], row[1], status, *row[2:]) for row in moved]
    events.record(
        connection,
        [
            events.row(
                next_id(),
                device_id,
                EventKind.MESSAGE_PROGRESS,
                message_id,
                at,
                status=moved_to,
                delivered_at=delivered_at,
                read_at=read_at,
                deleted_at=deleted_at,
            )
            for message_id, device_id, moved_to, delivered_at, read_at, deleted_at in moved
        ],
    )
