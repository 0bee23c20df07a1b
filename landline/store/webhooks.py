"""A line's webhooks. Those of one line for the same event are one receiver: its hosts
are redundant, tried oldest webhook first."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select, update

from landline.store.schema import webhooks

# A receiver is a line and an event kind (core.events.EventKind's value).
Receiver = tuple[int, str]

# Ids are random; the order a line added its webhooks in is their creation time's.
OLDEST_FIRST = (webhooks.c.created_at, webhooks.c.id)

_COLUMNS = (
    webhooks.c.id,
    webhooks.c.device_id,
    webhooks.c.type,
    webhooks.c.event,
    webhooks.c.url,
    webhooks.c.method,
    webhooks.c.host,
)


def of_line(connection: Connection, device_id: int) -> list[Any]:
    return list(
        connection.execute(
            select(*_COLUMNS).where(webhooks.c.device_id == device_id).order_by(*OLDEST_FIRST)
        )
    )


def get(connection: Connection, device_id: int, webhook_id: int) -> Any | None:
    return connection.execute(
        select(*_COLUMNS).where(webhooks.c.device_id == device_id, webhooks.c.id == webhook_id)
    ).one_or_none()


def count(connection: Connection, device_id: int) -> int:
    return int(
        connection.execute(
            select(func.count()).select_from(webhooks).where(webhooks.c.device_id == device_id)
        ).scalar_one()
    )


def add(
    connection: Connection,
    *,
    webhook_id: int,
    device_id: int,
    type: str,
    event: str,
    url: str,
    method: str,
    host: str,
    now: int,
) -> None:
    connection.execute(
        webhooks.insert().values(
            id=webhook_id,
            device_id=device_id,
            type=type,
            event=event,
            url=url,
            method=method,
            host=host,
            created_at=now,
            updated_at=now,
        )
    )


def change(
    connection: Connection, device_id: int, webhook_id: int, values: dict[str, Any], now: int
) -> bool:
    return bool(
        connection.execute(
            update(webhooks)
            .where(webhooks.c.device_id == device_id, webhooks.c.id == webhook_id)
            .values(**values, updated_at=now)
        ).rowcount
    )


def remove(connection: Connection, device_id: int, webhook_id: int) -> bool:
    return bool(
        connection.execute(
            delete(webhooks).where(webhooks.c.device_id == device_id, webhooks.c.id == webhook_id)
        ).rowcount
    )


def receivers(connection: Connection, device_ids: Collection[int]) -> dict[Receiver, list[Any]]:
    """Each receiver of these lines with its webhooks, oldest first."""
    found: dict[Receiver, list[Any]] = {}
    if not device_ids:
        return found
    for hook in connection.execute(_OF_LINES, {"devices": sorted(device_ids)}):
        found.setdefault((hook.device_id, f"{hook.type}.{hook.event}"), []).append(hook)
    return found


def hosts_of(hooks: list[Any]) -> list[str]:
    """A receiver's hosts in the order they are tried, each once."""
    return list(dict.fromkeys(hook.host for hook in hooks))


def receivers_on(connection: Connection, host: str, limit: int) -> list[Receiver]:
    """Receivers that have a webhook on `host`, at most `limit` of them."""
    rows = connection.execute(
        select(webhooks.c.device_id, webhooks.c.type, webhooks.c.event)
        .where(webhooks.c.host == host)
        .distinct()
        .limit(limit)
    )
    return [(row.device_id, f"{row.type}.{row.event}") for row in rows]


_OF_LINES = (
    select(*_COLUMNS)
    .where(webhooks.c.device_id.in_(bindparam("devices", expanding=True)))
    .order_by(*OLDEST_FIRST)
)
