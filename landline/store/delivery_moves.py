"""Moving webhook deliveries: between a receiver's hosts, to given up after 72 hours,
and back to the start when replayed."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, and_, select, update

from landline.core import webhook_policy as policy
from landline.core.deliveries import DeliveryState
from landline.store import webhook_hosts
from landline.store import webhooks as hooks
from landline.store.deliveries import CHUNK, OPEN, announce, free
from landline.store.schema import deliveries
from landline.store.webhooks import Receiver

# -- moving deliveries between a receiver's hosts


def reroute(connection: Connection, moves: dict[Receiver, set[str]], now: int) -> None:
    """Move the waiting deliveries of each receiver out of the given hosts' queues where
    those hosts are down or no longer the receiver's, to its first host that is up.

    A receiver with no webhook left has its deliveries given up (they can be replayed
    once it has one again); one whose every host is down keeps them in its first
    host's queue, for the probes.
    """
    if not moves:
        return
    by_receiver = hooks.receivers(connection, {device_id for device_id, _ in moves})
    known = {host for found in by_receiver.values() for host in hooks.hosts_of(found)}
    down = webhook_hosts.down(connection, known)
    for (device_id, kind), sources in moves.items():
        hosts = hooks.hosts_of(by_receiver.get((device_id, kind), []))
        target = policy.route(hosts, down)
        leaving = {
            source
            for source in sources
            if source not in hosts or (target is not None and source in down)
        } - {target}
        if not leaving:
            continue
        waiting = and_(
            deliveries.c.host.in_(sorted(leaving)),
            deliveries.c.device_id == device_id,
            deliveries.c.kind == kind,
            OPEN,
            free(now),
        )
        if not hosts:
            values: dict[str, Any] = {
                "state": str(DeliveryState.GIVEN_UP),
                "given_up_at": now,
                "last_error": NO_WEBHOOK,
            }
        else:
            values = {"host": target or hosts[0], "next_at": deliveries.c.event_at}
        connection.execute(update(deliveries).where(waiting).values(**values))
    announce(connection)


# What a delivery given up because its receiver has no webhook any more says.
NO_WEBHOOK = "no webhook"


# -- giving up, and starting again


def give_up_expired(connection: Connection, now: int) -> int:
    """Give up deliveries still to be made 72 hours after their event (or replay),
    at most CHUNK of them; returns how many."""
    cutoff = now - policy.GIVE_UP_AFTER_MS
    expired = list(
        connection.scalars(
            select(deliveries.c.event_id)
            .where(OPEN, deliveries.c.window_start <= cutoff, free(now))
            .limit(CHUNK)
            .with_for_update(skip_locked=True)
        )
    )
    if expired:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.event_id.in_(expired))
            .values(
                state=str(DeliveryState.GIVEN_UP),
                given_up_at=now,
                lease_until=None,
                leased_by=None,
            )
        )
    return len(expired)


def replay(connection: Connection, event_ids: Collection[int], now: int) -> list[int]:
    """Start these deliveries afresh, whatever their state: pending now, with a new 72
    hours from now. Returns the ids replayed (those that exist)."""
    if not event_ids:
        return []
    rows = list(
        connection.execute(
            select(
                deliveries.c.event_id,
                deliveries.c.device_id,
                deliveries.c.kind,
                deliveries.c.host,
            )
            .where(deliveries.c.event_id.in_(sorted(event_ids)))
            .order_by(deliveries.c.event_id)
            .with_for_update()
        )
    )
    if not rows:
        return []
    connection.execute(
        update(deliveries)
        .where(deliveries.c.event_id.in_([row.event_id for row in rows]))
        .values(
            state=str(DeliveryState.PENDING),
            window_start=now,
            window_attempts=0,
            next_at=now,
            delivered_at=None,
            given_up_at=None,
            lease_until=None,
            leased_by=None,
        )
    )
    moves: dict[Receiver, set[str]] = {}
    for row in rows:
        moves.setdefault((row.device_id, row.kind), set()).add(row.host)
    reroute(connection, moves, now)
    announce(connection)
    return [row.event_id for row in rows]


def given_up_between(
    connection: Connection, device_id: int, first_id: int, last_id: int, scan: int
) -> tuple[list[int], int | None]:
    """Given-up deliveries of a line among the next `scan` of its deliveries with event ids
    in [first_id, last_id]: (their ids, where to go on from, or None at the end)."""
    rows = list(
        connection.execute(
            select(deliveries.c.event_id, deliveries.c.state)
            .where(
                deliveries.c.device_id == device_id,
                deliveries.c.event_id >= first_id,
                deliveries.c.event_id <= last_id,
            )
            .order_by(deliveries.c.event_id)
            .limit(scan)
        )
    )
    found = [row.event_id for row in rows if row.state == DeliveryState.GIVEN_UP]
    return found, (rows[-1].event_id + 1 if len(rows) == scan else None)


def after_webhooks_changed(
    connection: Connection, changed: dict[Receiver, set[str]], now: int
) -> None:
    """After webhooks were added, changed or removed: each changed receiver's deliveries
    waiting on a host it no longer has (the given old hosts), or on a down host when it
    now has one that is up, move; a receiver with no webhook left gives its up."""
    current = hooks.receivers(connection, {device_id for device_id, _ in changed})
    reroute(
        connection,
        {
            receiver: set(old) | set(hooks.hosts_of(current.get(receiver, [])))
            for receiver, old in changed.items()
        },
        now,
    )


def replay_one(connection: Connection, event_id: int, device_id: int | None, now: int) -> str:
    """Replay one delivery (of the line `device_id`, if given): "replayed", "not found",
    or "no webhook" when its receiver has none to deliver to."""
    query = select(deliveries.c.device_id, deliveries.c.kind).where(
        deliveries.c.event_id == event_id
    )
    if device_id is not None:
        query = query.where(deliveries.c.device_id == device_id)
    row = connection.execute(query).one_or_none()
    if row is None:
        return "not found"
    if not hooks.receivers(connection, {row.device_id}).get((row.device_id, row.kind)):
        return "no webhook"
    replay(connection, [event_id], now)
    return "replayed"


def replay_given_up(
    connection: Connection, device_id: int, first_id: int, last_id: int, most: int, now: int
) -> tuple[int, int | None]:
    """Replay a line's given-up deliveries among the next few with event ids from
    `first_id` to `last_id`, at most `most` of them, skipping those whose receiver has no
    webhook: (how many, where to go on from, or None at the end)."""
    found, after = given_up_between(connection, device_id, first_id, last_id, scan=4 * CHUNK)
    if len(found) > most:
        found, after = found[:most], found[most]
    if not found:
        return 0, after
    kinds = dict(
        connection.execute(
            select(deliveries.c.event_id, deliveries.c.kind).where(deliveries.c.event_id.in_(found))
        ).all()
    )
    wanted = hooks.receivers(connection, {device_id})
    found = [event_id for event_id in found if (device_id, kinds[event_id]) in wanted]
    return len(replay(connection, found, now)), after
