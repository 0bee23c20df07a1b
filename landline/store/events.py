"""Event rows: every change a webhook reports, written in the transaction that made it.

A message event keeps what of its message changes over time (status and the dates of
delivery, reading and deletion) as it was at the event, so a delivery made an hour late
still describes that moment. The same transaction fans each event out to a delivery
row when the line has a webhook for its kind (store/deliveries.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection

from landline.core.events import EventKind
from landline.core.status import is_final
from landline.store import deliveries
from landline.store.bulk import execute_many
from landline.store.revocations import after_commit
from landline.store.schema import events

_INSERT = events.insert()

# Told, after each commit that recorded events, how many messages were accepted,
# received, or reached each final status (the server's metrics).
_counters: list[Callable[[dict[str, int]], None]] = []


def row(
    event_id: int,
    device_id: int,
    kind: EventKind,
    message_id: int | None,
    at: int,
    *,
    status: int | None = None,
    delivered_at: int | None = None,
    read_at: int | None = None,
    deleted_at: int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "device_id": device_id,
        "kind": str(kind),
        "message_id": message_id,
        "data": json.dumps(data) if data is not None else None,
        "status": status,
        "delivered_at": delivered_at,
        "read_at": read_at,
        "deleted_at": deleted_at,
        "created_at": at,
    }


def record(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Store the event rows made by `row` that a webhook wants, each with its delivery.

    An event no receiver wants is not kept: a webhook added later reports what happens
    from then on, so the row would never be read.
    """
    if not rows:
        return
    wanted = deliveries.enqueue(connection, rows)
    if wanted:
        # The delivery rows refer to these; both commit together or not at all.
        execute_many(connection, _INSERT, wanted)
    if _counters:
        counts = message_counts(rows)
        if counts:
            after_commit(connection, lambda: _count(counts))


def count_with(callback: Callable[[dict[str, int]], None]) -> None:
    """Tell `callback` what each committed transaction did to messages (once per process)."""
    if callback not in _counters:
        _counters.append(callback)


def message_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """accepted (outbound created), received (inbound), final_<code> (a final status)."""
    counts: dict[str, int] = {}
    for row in rows:
        kind = row["kind"]
        if kind == EventKind.MESSAGE_SEND:
            name = "accepted"
        elif kind == EventKind.MESSAGE_RECEIVE:
            name = "received"
        elif kind == EventKind.MESSAGE_PROGRESS and is_final(row["status"]):
            name = f"final_{row['status']}"
        else:
            continue
        counts[name] = counts.get(name, 0) + 1
    return counts


def _count(counts: dict[str, int]) -> None:
    for callback in _counters:
        callback(counts)
