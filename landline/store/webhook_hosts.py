"""What every worker knows of each webhook host's health (core.webhook_policy.HostHealth).

Several workers update the same host: a change is read, decided and written with the
row locked (FOR UPDATE on PostgreSQL; SQLite has one writer), so no worker's failure or
success is lost to another's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from landline.core.webhook_policy import HEALTHY, HostHealth
from landline.store.bulk import execute_many
from landline.store.schema import webhook_hosts
from landline.store.statements import insert_or_ignore


@dataclass(frozen=True)
class HostRow:
    host: str
    health: HostHealth
    last_success_at: int | None


def _health(row: Any) -> HostHealth:
    return HostHealth(
        first_failure_at=row.first_failure_at,
        last_failure_at=row.last_failure_at,
        down_since=row.down_since,
        next_probe_at=row.next_probe_at,
    )


def down(connection: Connection, hosts: Collection[str]) -> set[str]:
    """Which of `hosts` are down."""
    if not hosts:
        return set()
    return set(
        connection.scalars(
            select(webhook_hosts.c.host).where(
                webhook_hosts.c.host.in_(sorted(hosts)), webhook_hosts.c.down_since.is_not(None)
            )
        )
    )


def probes_due(connection: Connection, now: int) -> dict[str, HostHealth]:
    """Down hosts whose next probe may start now."""
    rows = connection.execute(
        select(webhook_hosts).where(
            webhook_hosts.c.down_since.is_not(None), webhook_hosts.c.next_probe_at <= now
        )
    )
    return {row.host: _health(row) for row in rows}


def lock(
    connection: Connection, hosts: Collection[str], *, skip_locked: bool = False
) -> dict[str, HostRow]:
    """The rows of `hosts`, created if missing and locked until the transaction ends.

    Locked in host order, so two workers locking overlapping sets cannot deadlock. With
    `skip_locked`, a row another transaction holds is left out instead of waited for.
    """
    if not hosts:
        return {}
    ordered = sorted(hosts)
    execute_many(
        connection,
        insert_or_ignore(connection, webhook_hosts),
        [{"host": host} for host in ordered],
    )
    query = (
        select(webhook_hosts)
        .where(webhook_hosts.c.host.in_(ordered))
        .order_by(webhook_hosts.c.host)
        .with_for_update(skip_locked=skip_locked)
    )
    return {
        row.host: HostRow(row.host, _health(row), row.last_success_at)
        for row in connection.execute(query)
    }


def save(connection: Connection, rows: Iterable[HostRow]) -> None:
    execute_many(
        connection,
        _SAVE,
        [
            {
                "_host": row.host,
                "first_failure_at": row.health.first_failure_at,
                "last_failure_at": row.health.last_failure_at,
                "down_since": row.health.down_since,
                "next_probe_at": row.health.next_probe_at,
                "last_success_at": row.last_success_at,
            }
            for row in rows
        ],
    )


def mark_healthy(connection: Connection, successes: dict[str, int]) -> None:
    """Hosts that only succeeded: healthy whatever they were, so no lock is needed (a
    success leaves a host healthy whichever failures committed before it)."""
    for host, at in sorted(successes.items()):
        values = {
            "_host": host,
            "first_failure_at": HEALTHY.first_failure_at,
            "last_failure_at": HEALTHY.last_failure_at,
            "down_since": HEALTHY.down_since,
            "next_probe_at": HEALTHY.next_probe_at,
            "last_success_at": at,
        }
        if not connection.execute(_SAVE, values).rowcount:
            connection.execute(
                insert_or_ignore(connection, webhook_hosts).values(host=host, last_success_at=at)
            )


_SAVE = update(webhook_hosts).where(webhook_hosts.c.host == bindparam("_host"))
