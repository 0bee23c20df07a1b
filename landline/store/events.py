"""Event rows: every change a webhook reports, written in the transaction that made it."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection

from landline.core.events import EventKind
from landline.store.bulk import execute_many
from landline.store.schema import events

_INSERT = events.insert()


def row(
    event_id: int,
    device_id: int,
    kind: EventKind,
    message_id: int | None,
    at: int,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id,
        "device_id": device_id,
        "kind": str(kind),
        "message_id": message_id,
        "data": json.dumps(data) if data is not None else None,
        "created_at": at,
    }


def record(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Store event rows made by `row`, with one statement."""
    execute_many(connection, _INSERT, rows)
