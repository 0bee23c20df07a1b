"""Webhook deliveries: made for new events, waiting in per-host queues, claimed with leases.

A delivery is one event for one receiver (a line and an event kind), keyed by the
event's id. It waits in the queue of one host (`host`) and moves between the
receiver's hosts as they go down and come back (store/delivery_moves.py). The rules
(retries, giving up, when a host is down) are core.webhook_policy's; what came of an
attempt is recorded by store/delivery_outcomes.py.

Every statement that looks for deliveries still to be made says
`state IN ('pending', 'failed')` in those very words, so that SQLite and PostgreSQL see
that the partial indexes answer it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    literal_column,
    or_,
    select,
    text,
    update,
)

from landline.core import webhook_policy as policy
from landline.core.deliveries import DeliveryState
from landline.store import webhook_hosts, work
from landline.store import webhooks as hooks
from landline.store.bulk import execute_many
from landline.store.revocations import after_commit
from landline.store.schema import (
    deliveries,
    events,
    lines,
    messages,
)
from landline.store.schema import webhook_hosts as host_table
from landline.store.schema import webhooks as webhook_table
from landline.store.webhooks import Receiver

OPEN = deliveries.c.state.in_([literal_column("'pending'"), literal_column("'failed'")])
LEASE_FREE = deliveries.c.lease_until.is_(None)

QUEUE = work.queue(
    deliveries,
    deliveries.c.event_id,
    due=lambda now: OPEN & (deliveries.c.next_at <= now),
    order=(deliveries.c.next_at,),
)

# Hosts looked at in one claim; past this many with work, the next round goes on from
# where this one stopped.
MAX_HOSTS_PER_ROUND = 500
# Receivers searched for a delivery to probe a down host with, when its own queue is empty.
MAX_PROBE_RECEIVERS = 50
# Deliveries given up, or replayed, in one transaction.
CHUNK = 500


def free(now: int) -> Any:
    return LEASE_FREE | (deliveries.c.lease_until < now)


# -- telling the deliverers in this process that deliveries are due


_listeners: list[Callable[[], None]] = []
_listeners_lock = threading.Lock()


def listen(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the writer's thread) after a commit that made deliveries
    due; returns a function that stops it."""
    with _listeners_lock:
        _listeners.append(callback)

    def stop() -> None:
        with _listeners_lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return stop


def announce(connection: Connection) -> None:
    """Inside a transaction that makes deliveries due: wake the deliverers once it commits."""
    if not _listeners:
        return
    pending = connection.info.setdefault("after_commit", [])
    if _notify not in pending:
        after_commit(connection, _notify)


def _notify() -> None:
    with _listeners_lock:
        listening = list(_listeners)
    for callback in listening:
        callback()


# -- claiming


@dataclass(frozen=True)
class Claimed:
    event_id: int
    host: str
    # The claim: recorded only if the row still carries it.
    lease_until: int
    # One delivery sent to a down host to see whether it is back.
    probe: bool


@dataclass(frozen=True)
class Room:
    """How many more deliveries this worker takes per host this round."""

    per_host: dict[str, int]
    default: int
    # Down hosts whose probe this worker already has in flight.
    probing: frozenset[str] = frozenset()
    limit: int = 1000
    # Hosts are looked at in order from the one after this ("" from the first).
    after: str = ""

    def of(self, host: str) -> int:
        return self.per_host.get(host, self.default)


@dataclass
class ClaimResult:
    claimed: list[Claimed] = field(default_factory=list)
    # Where the next round's look for hosts starts ("" from the first).
    after: str = ""


_HOSTS_WITH_WORK = text(
    """
WITH RECURSIVE queue(host) AS (
    SELECT MIN(host) FROM deliveries
    WHERE state IN ('pending', 'failed') AND host > :after
  UNION ALL
    SELECT (SELECT MIN(d.host) FROM deliveries d
            WHERE d.state IN ('pending', 'failed') AND d.host > queue.host)
    FROM queue WHERE queue.host IS NOT NULL
)
SELECT queue.host,
       (SELECT MIN(d.next_at) FROM deliveries d
        WHERE d.state IN ('pending', 'failed') AND d.host = queue.host) AS next_at,
       webhook_hosts.down_since
FROM queue LEFT JOIN webhook_hosts ON webhook_hosts.host = queue.host
WHERE queue.host IS NOT NULL
LIMIT :limit
"""
)


@dataclass(frozen=True)
class QueueHead:
    host: str
    # Its earliest next_at, and whether it is down.
    next_at: int
    down: bool


def hosts_with_work(connection: Connection, after: str, limit: int) -> list[QueueHead]:
    """Hosts with deliveries to make, in host order after `after`: a skip through the
    queue index, one step per host, however long the queues."""
    rows = connection.execute(_HOSTS_WITH_WORK, {"after": after, "limit": limit})
    return [QueueHead(row.host, int(row.next_at), row.down_since is not None) for row in rows]


def claim(connection: Connection, *, now: int, node: int, lease_ms: int, room: Room) -> ClaimResult:
    """Lease due deliveries, per host as `room` allows: for a down host whose probe is
    due, its one probe; from hosts that are up, the oldest due first.

    Probes go first: a down host whose receivers' traffic went to their other hosts is
    probed with the oldest of those deliveries, before its new host takes it.
    """
    result = ClaimResult()
    for host in webhook_hosts.probes_due(connection, now):
        if host in room.probing or len(result.claimed) >= room.limit:
            continue
        probe = _claim_probe(connection, host, now=now, node=node, lease_ms=lease_ms)
        if probe is not None:
            result.claimed.append(probe)
    found = hosts_with_work(connection, room.after, MAX_HOSTS_PER_ROUND)
    result.after = found[-1].host if len(found) == MAX_HOSTS_PER_ROUND else ""
    for head in found:
        host = head.host
        wanted = min(room.of(host), room.limit - len(result.claimed))
        if wanted <= 0 or head.down or head.next_at > now:
            continue
        keys = work.claim(
            connection,
            QUEUE,
            now=now,
            lease_ms=lease_ms,
            limit=wanted,
            extra={"leased_by": node},
            where=deliveries.c.host == host,
        )
        result.claimed.extend(Claimed(key, host, now + lease_ms, False) for key in keys)
    return result


def _claim_probe(
    connection: Connection, host: str, *, now: int, node: int, lease_ms: int
) -> Claimed | None:
    """Take a down host's probe slot with its oldest due delivery; None if another worker
    holds the slot or there is nothing to send it."""
    locked = webhook_hosts.lock(connection, [host], skip_locked=True).get(host)
    if locked is None or not policy.may_probe(locked.health, now):
        return None

    def claim_one(where: Any) -> list[Any]:
        return work.claim(
            connection,
            QUEUE,
            now=now,
            lease_ms=lease_ms,
            limit=1,
            extra={"leased_by": node},
            where=where,
        )

    keys = claim_one(deliveries.c.host == host)
    if not keys:
        # Its receivers' traffic went to their hosts that are up: borrow the oldest due
        # delivery of one of them, so the host is still probed until it returns.
        receivers = hooks.receivers_on(connection, host, MAX_PROBE_RECEIVERS)
        if receivers:
            keys = claim_one(_of_receivers(receivers))
        if keys:
            connection.execute(
                update(deliveries).where(deliveries.c.event_id == keys[0]).values(host=host)
            )
    if not keys:
        return None
    started = policy.after_probe_started(locked.health, now)
    webhook_hosts.save(connection, [replace(locked, health=started)])
    return Claimed(keys[0], host, now + lease_ms, True)


def _of_receivers(receivers: Sequence[Receiver]) -> Any:
    return or_(
        *(
            and_(deliveries.c.device_id == device_id, deliveries.c.kind == kind)
            for device_id, kind in receivers
        )
    )


# -- new deliveries


def enqueue(connection: Connection, event_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A delivery for each new event (rows as store.events makes them) that a receiver
    wants, in the queue of the receiver's first host that is up; returns those events."""
    if not event_rows:
        return []
    first = _first_hosts(connection, {row["device_id"] for row in event_rows})
    if not first:
        return []
    wanted: list[dict[str, Any]] = []
    due: list[dict[str, Any]] = []
    for row in event_rows:
        host = first.get((row["device_id"], row["kind"]))
        if host is None:
            continue
        wanted.append(row)
        due.append(
            {
                "event_id": row["id"],
                "device_id": row["device_id"],
                "kind": row["kind"],
                "host": host,
                "state": str(DeliveryState.PENDING),
                "attempts": 0,
                "window_attempts": 0,
                "event_at": row["created_at"],
                "window_start": row["created_at"],
                "next_at": row["created_at"],
            }
        )
    if due:
        execute_many(connection, _INSERT, due)
        announce(connection)
    return wanted


_INSERT = deliveries.insert()


def _first_hosts(connection: Connection, device_ids: set[int]) -> dict[Receiver, str]:
    hosts: dict[Receiver, list[str]] = {}
    down: set[str] = set()
    for hook in connection.execute(_RECEIVER_HOSTS, {"devices": sorted(device_ids)}):
        hosts.setdefault((hook.device_id, f"{hook.type}.{hook.event}"), []).append(hook.host)
        if hook.down_since is not None:
            down.add(hook.host)
    return {receiver: policy.first_host(found, down) for receiver, found in hosts.items()}


_RECEIVER_HOSTS = (
    select(
        webhook_table.c.device_id,
        webhook_table.c.type,
        webhook_table.c.event,
        webhook_table.c.host,
        host_table.c.down_since,
    )
    .outerjoin(host_table, host_table.c.host == webhook_table.c.host)
    .where(webhook_table.c.device_id.in_(bindparam("devices", expanding=True)))
    .order_by(*hooks.OLDEST_FIRST)
)


# -- what an attempt needs


def load(
    connection: Connection, event_ids: Sequence[int]
) -> tuple[list[Any], dict[Receiver, list[Any]]]:
    """The claimed deliveries with their event, message (as it is now), line, and the
    webhooks of their receivers."""
    if not event_ids:
        return [], {}
    rows = list(connection.execute(_LOAD, {"ids": sorted(event_ids)}))
    return rows, hooks.receivers(connection, {row.device_id for row in rows})


_LOAD = (
    select(
        deliveries.c.event_id,
        deliveries.c.device_id,
        deliveries.c.kind,
        deliveries.c.host,
        deliveries.c.attempts,
        deliveries.c.window_attempts,
        deliveries.c.event_at,
        deliveries.c.window_start,
        events.c.message_id,
        events.c.data,
        events.c.status.label("event_status"),
        events.c.delivered_at.label("event_delivered_at"),
        events.c.read_at.label("event_read_at"),
        events.c.deleted_at.label("event_deleted_at"),
        messages.c.id.label("m_id"),
        messages.c.root_id,
        messages.c.body,
        messages.c.direction,
        messages.c.line_number,
        messages.c.contact_number,
        messages.c.transport,
        messages.c.attachments,
        messages.c.status,
        messages.c.fingerprint,
        messages.c.contact_id,
        messages.c.created_at,
        messages.c.updated_at,
        messages.c.scheduled_at,
        messages.c.delivered_at,
        messages.c.read_at,
        messages.c.deleted_at,
        lines.c.timezone,
        lines.c.webhook_secret,
        lines.c.webhook_secret_previous,
        lines.c.webhook_secret_rotated_at,
    )
    .select_from(
        deliveries.join(events, events.c.id == deliveries.c.event_id)
        .join(lines, lines.c.device_id == deliveries.c.device_id)
        .outerjoin(messages, messages.c.id == events.c.message_id)
    )
    .where(deliveries.c.event_id.in_(bindparam("ids", expanding=True)))
)
