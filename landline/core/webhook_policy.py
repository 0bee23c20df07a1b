"""The rules of webhook delivery: when to retry, when to give up, when a host is down.

All times are epoch milliseconds. The rules follow the API document's "Retry Logic" as
CONTRACT.md section 7 makes it exact.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS

RETRY_FIRST_MS = 10 * SECOND_MS
RETRY_CEILING_MS = 10 * MINUTE_MS
GIVE_UP_AFTER_MS = 72 * HOUR_MS
HOST_DOWN_AFTER_MS = HOUR_MS
PROBE_INTERVAL_MS = 10 * MINUTE_MS
# After a rotation the previous signing secret keeps signing for this long, so receivers
# can switch to the new one without dropping a delivery.
SECRET_OVERLAP_MS = 24 * HOUR_MS

# 10 s doubled this many times passes the ceiling; more doublings change nothing.
_MAX_DOUBLINGS = 16


# -- one delivery


def retry_delay_ms(failures: int) -> int:
    """How long to wait after a delivery's `failures`-th failed attempt (1 = the first).

    10 s after the first failure, each wait twice the one before, never more than 10
    minutes: 10 s, 20 s, 40 s, 80 s, 160 s, 320 s, 600 s, 600 s, ...
    """
    doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
    return min(RETRY_FIRST_MS << doublings, RETRY_CEILING_MS)


def is_expired(event_at: int, now: int) -> bool:
    """A delivery still failing 72 hours after its event is given up."""
    return now - event_at >= GIVE_UP_AFTER_MS


def next_attempt_at(event_at: int, failed_at: int, failures: int) -> int | None:
    """When to try a delivery again after a failure, or None to give it up.

    The last try falls at the 72-hour limit itself rather than being skipped because a
    full wait would pass it.
    """
    if is_expired(event_at, failed_at):
        return None
    return min(failed_at + retry_delay_ms(failures), event_at + GIVE_UP_AFTER_MS)


# -- one host


@dataclass(frozen=True, slots=True)
class HostHealth:
    """What the deliverer knows of one receiving host.

    `first_failure_at` and `last_failure_at` bound the current unbroken run of failed
    attempts (None when the last attempt succeeded). A host is down from `down_since`
    until an attempt succeeds; while down, only one probe may start per 10 minutes, the
    next at `next_probe_at`.
    """

    first_failure_at: int | None = None
    last_failure_at: int | None = None
    down_since: int | None = None
    next_probe_at: int | None = None


HEALTHY = HostHealth()


def after_success(health: HostHealth, now: int) -> HostHealth:
    """Any delivered attempt, a probe or not, shows the host is up.

    When this brings a down host back (`is_down(health)` was true), its whole backlog is
    due at once, oldest first; per-delivery back-off waits do not apply to it.
    """
    return HEALTHY


def after_failure(health: HostHealth, now: int) -> HostHealth:
    """Record a failed attempt; the host goes down after an hour of nothing but failures."""
    first = health.first_failure_at if health.first_failure_at is not None else now
    last = now if health.last_failure_at is None else max(health.last_failure_at, now)
    failed = replace(health, first_failure_at=first, last_failure_at=last)
    if is_down(health) or last - first < HOST_DOWN_AFTER_MS:
        return failed
    return replace(failed, down_since=now, next_probe_at=now + PROBE_INTERVAL_MS)


def is_down(health: HostHealth) -> bool:
    return health.down_since is not None


def may_attempt(health: HostHealth) -> bool:
    """Whether due deliveries may be tried as usual (while down, only probes go)."""
    return not is_down(health)


def may_probe(health: HostHealth, now: int) -> bool:
    """Whether a down host is due its probe: one delivery, the oldest due."""
    return health.next_probe_at is not None and is_down(health) and now >= health.next_probe_at


def after_probe_started(health: HostHealth, now: int) -> HostHealth:
    """Take the probe slot, so the next probe starts 10 minutes after this one started.

    Taking it when the probe starts (not when it ends) keeps to one probe at a time even
    with several workers, and failures of attempts that were already in flight when the
    host went down do not push the next probe back.
    """
    if not may_probe(health, now):
        raise ValueError("the host is not due a probe")
    return replace(health, next_probe_at=now + PROBE_INTERVAL_MS)


# -- a receiver with several hosts


def route(hosts: Sequence[str], down: Collection[str]) -> str | None:
    """Where a receiver's deliveries go: the first of its hosts (oldest webhook first)
    that is up; None when every one is down (they then wait for a probe)."""
    for host in hosts:
        if host not in down:
            return host
    return None


def first_host(hosts: Sequence[str], down: Collection[str]) -> str:
    """The queue a new delivery joins: a host that is up if there is one, else the first."""
    return route(hosts, down) or hosts[0]


# -- signing secrets


def active_secrets(
    current: str, previous: str | None, rotated_at: int | None, now: int
) -> tuple[str, ...]:
    """The secrets that sign a delivery made at `now`, current first.

    After a rotation at `rotated_at` the previous secret also signs for 24 hours.
    """
    if previous is None or rotated_at is None or now >= rotated_at + SECRET_OVERLAP_MS:
        return (current,)
    return (current, previous)
