"""Event rows: every change a webhook reports, written in the transaction that made it.

A message event keeps what of its message changes over time (status and the dates of
delivery, reading and deletion) as it was at the event, so a delivery made an hour late
still describes that moment. The same transaction fans each event out to a delivery
row when the line has a webhook for its kind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, select

from landline.core.deliveries import DeliveryState
from landline.core.events import EventKind
from landline.store.bulk import execute_many
from landline.store.schema import deliveries, events, webhooks

_INSERT = events.insert()
_INSERT_DELIVERIES = deliveries.insert()


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
    """Store event rows made by `row`, and a delivery for each that a webhook wants."""
    if not rows:
        return
    execute_many(connection, _INSERT, rows)
    wanted = receivers(connection, {row["device_id"] for row in rows})
    if not wanted:
        return
    due = [
        {
            "event_id": row["id"],
            "device_id": row["device_id"],
            "kind": row["kind"],
            "host": host,
            "state": str(DeliveryState.PENDING),
            "attempts": 0,
            "event_at": row["created_at"],
            "window_start": row["created_at"],
            "next_at": row["created_at"],
        }
        for row in rows
        if (host := wanted.get((row["device_id"], row["kind"]))) is not None
    ]
    execute_many(connection, _INSERT_DELIVERIES, due)


def receivers(connection: Connection, device_ids: set[int]) -> dict[tuple[int, str], str]:
    """(line, event kind) -> the host a new delivery first waits for: the receiver's
    oldest webhook's. The deliverer moves it if that host is down."""
    found: dict[tuple[int, str], str] = {}
    for hook in connection.execute(_RECEIVERS, {"devices": sorted(device_ids)}):
        found.setdefault((hook.device_id, f"{hook.type}.{hook.event}"), hook.host)
    return found


_RECEIVERS = (
    select(webhooks.c.device_id, webhooks.c.type, webhooks.c.event, webhooks.c.host)
    .where(webhooks.c.device_id.in_(bindparam("devices", expanding=True)))
    .order_by(webhooks.c.id)
)
