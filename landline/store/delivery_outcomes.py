"""Recording what came of webhook attempts: delivery rows, failed attempts, host health.

An attempt is recorded only if its row still carries the claim it was made under (another
worker may have taken the row over after the lease ran out); the host's health learns
from it either way. Health changes are read, decided and written with the host's row
locked, so workers sharing a host keep it consistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from landline.core import webhook_policy as policy
from landline.core.deliveries import DeliveryState
from landline.store import webhook_hosts
from landline.store import webhooks as hooks
from landline.store.bulk import execute_many
from landline.store.deliveries import OPEN, Claimed
from landline.store.delivery_moves import reroute
from landline.store.schema import deliveries, delivery_failures
from landline.store.webhook_hosts import HostRow
from landline.store.webhooks import Receiver


@dataclass(frozen=True)
class Attempted:
    claim: Claimed
    device_id: int
    kind: str
    # The delivery's counts before this attempt.
    attempts: int
    window_attempts: int
    event_at: int
    window_start: int
    # When the attempt ended.
    at: int
    ok: bool
    status: int | None
    # A failure's kind (webhooks.attempts.FailureKind), and what went wrong.
    error_kind: str | None
    error: str
    elapsed_ms: int
    # False when the attempt failed on our side before reaching the host (its signing
    # secret could not be read): that says nothing about the host.
    judges_host: bool = True


@dataclass(frozen=True)
class Stray:
    """A claimed delivery whose host none of its receiver's webhooks has any more."""

    claim: Claimed
    device_id: int
    kind: str


@dataclass
class Recorded:
    delivered: int = 0
    failed: int = 0
    given_up: int = 0
    # Attempts whose lease another worker had taken over: their rows were left alone.
    lost: int = 0
    went_down: list[str] = field(default_factory=list)
    came_up: list[str] = field(default_factory=list)


_UPDATE = update(deliveries).where(deliveries.c.event_id == bindparam("_id"))
_UPDATE_IF_CLAIMED = update(deliveries).where(
    deliveries.c.event_id == bindparam("_id"),
    deliveries.c.leased_by == bindparam("_by"),
    deliveries.c.lease_until == bindparam("_lease"),
)


def record(
    connection: Connection,
    attempted: Sequence[Attempted],
    strays: Sequence[Stray],
    *,
    node: int,
    now: int,
) -> Recorded:
    """Store what came of attempts, and what they say about their hosts.

    A row is changed only if it still carries this worker's claim; the hosts' health
    learns from every attempt all the same.
    """
    result = Recorded()
    if not attempted and not strays:
        return result
    # Successes check their claim in their own UPDATE; failures and strays need to know
    # whether they still hold theirs before writing anything else.
    checked = [a.claim for a in attempted if not a.ok] + [s.claim for s in strays]
    held = _claims_held(connection, [c.event_id for c in checked]) if checked else {}

    def ours(claim: Claimed) -> bool:
        return held.get(claim.event_id) == (node, claim.lease_until)

    down_now = _learn_health(connection, attempted, result)
    moves: dict[Receiver, set[str]] = {}
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    failures: list[dict[str, Any]] = []
    delivered: list[dict[str, Any]] = []
    for a in attempted:
        if a.ok:
            delivered.append(
                {
                    **_outcome_row(a, down_now, result, failures, moves),
                    "_by": node,
                    "_lease": a.claim.lease_until,
                }
            )
            continue
        if not ours(a.claim):
            result.lost += 1
            continue
        row = _outcome_row(a, down_now, result, failures, moves)
        by_columns.setdefault(tuple(row), []).append(row)
    execute_many(connection, _UPDATE_IF_CLAIMED, delivered)
    for rows in by_columns.values():
        execute_many(connection, _UPDATE, rows)
    execute_many(connection, delivery_failures.insert(), failures)
    for host in result.went_down:
        # While a host is down its queue waits in event order, for the probes and for
        # the backlog once it is back; per-delivery back-off no longer applies.
        connection.execute(
            update(deliveries)
            .where(deliveries.c.host == host, OPEN)
            .values(next_at=deliveries.c.event_at)
        )
        for receiver in hooks.receivers_on(connection, host, limit=10_000):
            moves.setdefault(receiver, set()).add(host)
    mine = [s for s in strays if ours(s.claim)]
    if mine:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.event_id.in_([s.claim.event_id for s in mine]))
            .values(lease_until=None, leased_by=None)
        )
        for stray in mine:
            moves.setdefault((stray.device_id, stray.kind), set()).add(stray.claim.host)
    reroute(connection, moves, now)
    return result


def _claims_held(connection: Connection, event_ids: list[int]) -> dict[int, tuple[Any, Any]]:
    rows = connection.execute(
        select(deliveries.c.event_id, deliveries.c.leased_by, deliveries.c.lease_until)
        .where(deliveries.c.event_id.in_(sorted(set(event_ids))))
        .order_by(deliveries.c.event_id)
        .with_for_update()
    )
    return {row.event_id: (row.leased_by, row.lease_until) for row in rows}


def _learn_health(
    connection: Connection, attempted: Sequence[Attempted], result: Recorded
) -> set[str]:
    """Apply every attempt, in the order they ended, to its host; returns the hosts that
    are down now, among those that failed."""
    judged = sorted((a for a in attempted if a.judges_host), key=lambda a: a.at)
    failing = {a.claim.host for a in judged if not a.ok}
    only_ok: dict[str, int] = {}
    for a in judged:
        if a.ok and a.claim.host not in failing:
            only_ok[a.claim.host] = max(only_ok.get(a.claim.host, 0), a.at)
    webhook_hosts.mark_healthy(connection, only_ok)
    if not failing:
        return set()
    locked = webhook_hosts.lock(connection, failing)
    rows = dict(locked)
    for a in judged:
        row = rows.get(a.claim.host)
        if row is None:
            continue
        if a.ok:
            healthy = policy.after_success(row.health, a.at)
            rows[row.host] = HostRow(row.host, healthy, max(row.last_success_at or 0, a.at))
        else:
            rows[row.host] = replace(row, health=policy.after_failure(row.health, a.at))
    webhook_hosts.save(connection, rows.values())
    for host, row in rows.items():
        was, now_down = policy.is_down(locked[host].health), policy.is_down(row.health)
        if now_down and not was:
            result.went_down.append(host)
        elif was and not now_down:
            result.came_up.append(host)
    return {host for host, row in rows.items() if policy.is_down(row.health)}


def _outcome_row(
    a: Attempted,
    down_now: set[str],
    result: Recorded,
    failures: list[dict[str, Any]],
    moves: dict[Receiver, set[str]],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "_id": a.claim.event_id,
        "attempts": a.attempts + 1,
        "window_attempts": a.window_attempts + 1,
        "last_attempt_at": a.at,
        "last_status": a.status,
        "last_error": a.error_kind,
        "last_elapsed_ms": a.elapsed_ms,
        "lease_until": None,
        "leased_by": None,
    }
    if a.ok:
        result.delivered += 1
        return {**row, "state": str(DeliveryState.DELIVERED), "delivered_at": a.at}
    failures.append(
        {
            "event_id": a.claim.event_id,
            "attempt": a.attempts + 1,
            "at": a.at,
            "host": a.claim.host,
            "kind": a.error_kind or "http",
            "status": a.status,
            "elapsed_ms": a.elapsed_ms,
            "error": a.error[:200] or None,
        }
    )
    retry_at = policy.next_attempt_at(a.window_start, a.at, a.window_attempts + 1)
    if retry_at is None:
        result.given_up += 1
        return {**row, "state": str(DeliveryState.GIVEN_UP), "given_up_at": a.at}
    result.failed += 1
    if a.claim.host in down_now:
        # The host is down: the delivery waits for a probe, or moves to another host.
        moves.setdefault((a.device_id, a.kind), set()).add(a.claim.host)
        return {**row, "state": str(DeliveryState.FAILED), "next_at": a.event_at}
    return {**row, "state": str(DeliveryState.FAILED), "next_at": retry_at}
