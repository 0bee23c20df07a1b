"""Webhook deliveries and hosts as an operator looks at them, and as /metrics counts them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from landline.core import ids
from landline.store.deliveries import OPEN, hosts_with_work
from landline.store.schema import deliveries, delivery_failures, lines, messages, webhook_hosts

MAX_LISTED = 1000
# Failed attempts shown per delivery: the first few and the last few.
SHOWN_FAILURES = 12


@dataclass(frozen=True)
class Failure:
    attempt: int
    at: int
    kind: str
    status: int | None
    error: str | None


@dataclass(frozen=True)
class DeliveryReport:
    event_id: int
    number: str
    kind: str
    host: str
    state: str
    attempts: int
    event_at: int
    next_at: int
    last_attempt_at: int | None
    last_status: int | None
    last_error: str | None
    last_elapsed_ms: int | None
    delivered_at: int | None
    given_up_at: int | None
    failures: list[Failure] = field(default_factory=list)
    # Failed attempts not in `failures` (only the first and last few are kept).
    failures_left_out: int = 0


def delivery_list(
    connection: Connection,
    *,
    device_id: int | None = None,
    state: str | None = None,
    since: int | None = None,
    limit: int = 50,
) -> list[DeliveryReport]:
    """Deliveries newest first, with their failed attempts."""
    query = (
        select(deliveries, lines.c.number)
        .join(lines, lines.c.device_id == deliveries.c.device_id)
        .order_by(deliveries.c.event_id.desc())
        .limit(min(limit, MAX_LISTED))
    )
    if device_id is not None:
        query = query.where(deliveries.c.device_id == device_id)
    if state is not None:
        query = query.where(deliveries.c.state == state)
    if since is not None:
        # Event ids are time-ordered: a time bound is an id bound, which the keys answer.
        query = query.where(deliveries.c.event_id >= ids.first_id_at(since))
    rows = list(connection.execute(query))
    failures: dict[int, list[Failure]] = {row.event_id: [] for row in rows}
    if rows:
        for found in connection.execute(
            select(delivery_failures)
            .where(delivery_failures.c.event_id.in_(list(failures)))
            .order_by(delivery_failures.c.event_id, delivery_failures.c.attempt)
        ):
            failures[found.event_id].append(
                Failure(found.attempt, found.at, found.kind, found.status, found.error)
            )
    reports = []
    for row in rows:
        every = failures[row.event_id]
        shown = every
        if len(every) > SHOWN_FAILURES:
            half = SHOWN_FAILURES // 2
            shown = every[:half] + every[-half:]
        reports.append(
            DeliveryReport(
                event_id=row.event_id,
                number=row.number,
                kind=row.kind,
                host=row.host,
                state=row.state,
                attempts=row.attempts,
                event_at=row.event_at,
                next_at=row.next_at,
                last_attempt_at=row.last_attempt_at,
                last_status=row.last_status,
                last_error=row.last_error,
                last_elapsed_ms=row.last_elapsed_ms,
                delivered_at=row.delivered_at,
                given_up_at=row.given_up_at,
                failures=shown,
                failures_left_out=len(every) - len(shown),
            )
        )
    return reports


@dataclass(frozen=True)
class HostReport:
    host: str
    down_since: int | None
    next_probe_at: int | None
    first_failure_at: int | None
    last_success_at: int | None
    # Deliveries waiting in its queue, and the time of the oldest one's event.
    depth: int
    oldest_event_at: int | None


def host_list(connection: Connection, limit: int = 200) -> list[HostReport]:
    """Hosts with deliveries waiting, and hosts known to be failing or down."""
    waiting = {head.host for head in hosts_with_work(connection, "", limit)}
    known = {
        row.host: row
        for row in connection.execute(
            select(webhook_hosts)
            .where(
                webhook_hosts.c.first_failure_at.is_not(None)
                | webhook_hosts.c.down_since.is_not(None)
                | webhook_hosts.c.host.in_(sorted(waiting))
            )
            .order_by(webhook_hosts.c.host)
            .limit(limit)
        )
    }
    reports = []
    for host in sorted(waiting | set(known))[:limit]:
        depth, oldest = _queue(connection, host)
        row: Any = known.get(host)
        reports.append(
            HostReport(
                host=host,
                down_since=row.down_since if row is not None else None,
                next_probe_at=row.next_probe_at if row is not None else None,
                first_failure_at=row.first_failure_at if row is not None else None,
                last_success_at=row.last_success_at if row is not None else None,
                depth=depth,
                oldest_event_at=oldest,
            )
        )
    return reports


def _queue(connection: Connection, host: str) -> tuple[int, int | None]:
    row = connection.execute(
        select(func.count(), func.min(deliveries.c.event_at)).where(deliveries.c.host == host, OPEN)
    ).one()
    return int(row[0]), row[1]


def metrics_snapshot(connection: Connection, now: int, max_hosts: int = 200) -> dict[str, Any]:
    """What /metrics reads from the store: the outbox, and each webhook host's queue."""
    due = connection.execute(
        select(func.count(), func.min(messages.c.due_at)).where(messages.c.due_at <= now)
    ).one()
    hosts = []
    for head in hosts_with_work(connection, "", max_hosts):
        depth, oldest = _queue(connection, head.host)
        hosts.append((head.host, depth, max(now - oldest, 0) / 1000 if oldest is not None else 0.0))
    down = connection.execute(
        select(func.count())
        .select_from(webhook_hosts)
        .where(webhook_hosts.c.down_since.is_not(None))
    ).scalar_one()
    return {
        "outbox_due": int(due[0]),
        "outbox_oldest_s": max(now - due[1], 0) / 1000 if due[1] is not None else 0.0,
        "hosts": hosts,
        "hosts_down": int(down),
    }
