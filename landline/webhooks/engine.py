"""The webhook deliverer: claims due deliveries per host, sends them, records what came of it.

Each round is one write transaction that records the attempts that ended since the
last round (delivery rows, failed attempts, host health), gives up deliveries past their
72 hours (once a minute), and claims due deliveries with leases: from each host that is
up as many as this worker has room for (`webhook_host_concurrency` in flight, plus a
few queued ahead for a host that answers fast), and for a down host whose probe is due,
its one probe. Attempts run as tasks of their own, so a slow or dead host holds only
its own slots; when one ends, the next delivery waiting for that host starts at once.

Workers on PostgreSQL share the queues: claims skip rows another worker holds, and an
attempt is recorded only if its row still carries this worker's claim. A worker that
dies holds nothing for longer than its lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from landline import metrics
from landline.core.clock import Clock
from landline.core.webhook_policy import active_secrets
from landline.store import deliveries, delivery_moves, delivery_outcomes
from landline.store.access import Store
from landline.store.deliveries import Claimed, ClaimResult, Room
from landline.store.delivery_outcomes import Attempted, Recorded, Stray
from landline.webhooks import line_secrets
from landline.webhooks.attempts import Outcome, WebhookClient
from landline.webhooks.hosts import HostQueue
from landline.webhooks.outgoing import OutgoingRequest, build_request
from landline.webhooks.payloads import PayloadMissing, payload, webhook_id
from landline.webhooks.secrets import SecretBox, SecretUnreadable

log = logging.getLogger(__name__)

# Deliveries claimed in one round, over all hosts.
BATCH = 1000
# How often deliveries past their 72 hours are looked for.
SWEEP_INTERVAL_MS = 60_000
# A claimed delivery starts only while its lease has this much left beyond the attempt's
# own time limit, so that the attempt is recorded (at a later round, by a writer that
# may be busy) before any other worker may take the delivery; otherwise it is left for
# its lease to run out and be claimed again.
LEASE_SAFETY_MS = 5_000
# Under steady traffic, the pause between rounds that lets work gather, so a round
# records and claims many deliveries with the same few statements (a host that answers
# fast has deliveries claimed ahead to keep it busy meanwhile). After a quiet spell the
# first new delivery is claimed at once.
GATHER_S = 0.015
# Hosts whose pace this worker remembers while they have nothing in hand.
MAX_KNOWN_HOSTS = 10_000
# How long stopping waits for attempts in flight to end and be recorded.
STOP_GRACE_S = 10.0


@dataclass(frozen=True)
class _Job:
    claim: Claimed
    row: Any
    url: str
    method: str


@dataclass(frozen=True)
class _Round:
    recorded: Recorded
    claimed: ClaimResult
    given_up: int


class WebhookEngine:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        client: WebhookClient,
        box: SecretBox,
        *,
        host_limit: int,
        lease_ms: int,
        poll_ms: int,
    ) -> None:
        self._store = store
        self._clock = clock
        self._client = client
        self._box = box
        self._limit = host_limit
        self._timeout_ms = int(client.limits.timeout_s * 1000)
        # The lease must outlast a wait in this worker's queue, the attempt, and the
        # round that records it.
        self._lease_ms = max(lease_ms, 3 * self._timeout_ms + 2 * LEASE_SAFETY_MS)
        self._poll_s = poll_ms / 1000
        self._queues: dict[str, HostQueue[_Job]] = {}
        self._finished: list[Attempted] = []
        self._strays: list[Stray] = []
        self._probing: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._after = ""
        self._last_sweep: int | None = None
        self._wake = asyncio.Event()
        # One round at a time: a round started by a caller (tests, tools) waits for the
        # background one.
        self._round = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_listening: Any = None

    # -- running

    def wake(self) -> None:
        self._wake.set()

    def _wake_from_thread(self) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._client.start()
        self._stop_listening = deliveries.listen(self._wake_from_thread)
        self._task = asyncio.create_task(self._run(), name="webhooks")

    async def stop(self) -> None:
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
        if self._task is not None:
            acquired = False
            with contextlib.suppress(TimeoutError):
                acquired = await asyncio.wait_for(self._round.acquire(), STOP_GRACE_S)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            if acquired:
                self._round.release()
        # Attempts under way end within their time limit: let them, and record them, so
        # a restart does not send them again.
        for queue in self._queues.values():
            queue.waiting.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=STOP_GRACE_S)
        for task in set(self._tasks):
            task.cancel()
        if self._finished or self._strays:
            with contextlib.suppress(Exception):
                await self._record_only()
        await self._client.close()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                claimed = await self.run_once()
            except Exception:
                log.exception("webhook round failed; trying again")
                claimed = 0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            if claimed or self._tasks:
                # Deliveries are flowing: let a few milliseconds' worth of work gather.
                await asyncio.sleep(GATHER_S)

    async def run_once(self) -> int:
        """Record what ended, claim what is due and start it; returns how many were claimed."""
        async with self._round:
            return await self._round_once()

    async def settle(self, rounds: int = 500) -> None:
        """Deliver everything due now and wait for it to be recorded (for tests and
        tools that drive the engine themselves)."""
        for _ in range(rounds):
            claimed = await self.run_once()
            if self._tasks:
                await asyncio.wait(set(self._tasks))
                continue
            if claimed or self._finished or self._strays:
                continue
            return
        raise RuntimeError("webhook deliveries still under way after settling")

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    # -- one round

    async def _round_once(self) -> int:
        await self._client.start()
        if len(self._queues) > MAX_KNOWN_HOSTS:
            # Forget the pace of hosts with nothing in hand; they start afresh if they
            # come back.
            self._queues = {h: q for h, q in self._queues.items() if not q.idle}
        now = self._clock.now_ms()
        finished, self._finished = self._finished, []
        strays, self._strays = self._strays, []
        sweep = self._last_sweep is None or now - self._last_sweep >= SWEEP_INTERVAL_MS
        room = Room(
            per_host={host: queue.room() for host, queue in self._queues.items()},
            default=self._limit,
            probing=frozenset(self._probing),
            limit=BATCH,
            after=self._after,
        )
        node, lease_ms = self._store.node, self._lease_ms

        def job(connection: Connection) -> _Round:
            recorded = delivery_outcomes.record(connection, finished, strays, node=node, now=now)
            given_up = delivery_moves.give_up_expired(connection, now) if sweep else 0
            claimed = deliveries.claim(connection, now=now, node=node, lease_ms=lease_ms, room=room)
            return _Round(recorded, claimed, given_up)

        try:
            done = await self._store.write(job)
        except BaseException:
            # Recorded next round instead; the claims this round would have made wait.
            self._finished[:0] = finished
            self._strays[:0] = strays
            raise
        if sweep:
            self._last_sweep = now
        self._after = done.claimed.after
        self._report(done)
        claimed = done.claimed.claimed
        if claimed:
            rows, receivers = await self._store.read(
                deliveries.load, [claim.event_id for claim in claimed]
            )
            self._take(claimed, rows, receivers)
        return len(claimed)

    async def _record_only(self) -> None:
        finished, self._finished = self._finished, []
        strays, self._strays = self._strays, []
        node, now = self._store.node, self._clock.now_ms()
        recorded = await self._store.write(
            lambda c: delivery_outcomes.record(c, finished, strays, node=node, now=now)
        )
        self._report(_Round(recorded, ClaimResult(), 0))

    def _report(self, done: _Round) -> None:
        recorded = done.recorded
        metrics.deliveries_ended(
            delivered=recorded.delivered,
            failed=recorded.failed,
            given_up=recorded.given_up + done.given_up,
        )
        for host in recorded.went_down:
            log.warning(
                "webhook host %s is down: every attempt failed for an hour; its deliveries "
                "wait, and one is tried every 10 minutes",
                host,
            )
        for host in recorded.came_up:
            log.info("webhook host %s is back up; its backlog goes out oldest first", host)

    def _take(self, claimed: list[Claimed], rows: list[Any], receivers: dict[Any, Any]) -> None:
        by_id = {row.event_id: row for row in rows}
        touched: set[str] = set()
        for claim in claimed:
            row = by_id.get(claim.event_id)
            if row is None:
                continue
            hooks = [
                h for h in receivers.get((row.device_id, row.kind), []) if h.host == claim.host
            ]
            if not hooks:
                # Its webhook changed since: the next round moves it to a host it has.
                self._strays.append(Stray(claim, row.device_id, row.kind))
                self._wake.set()
                continue
            queue = self._queues.get(claim.host)
            if queue is None:
                queue = self._queues[claim.host] = HostQueue(claim.host, self._limit)
            queue.waiting.append(_Job(claim, row, hooks[0].url, hooks[0].method))
            if claim.probe:
                self._probing.add(claim.host)
            touched.add(claim.host)
        for host in touched:
            self._start_ready(self._queues[host])

    # -- attempts

    def _start_ready(self, queue: HostQueue[_Job]) -> None:
        while queue.can_start():
            job = queue.waiting.popleft()
            now = self._clock.now_ms()
            if job.claim.lease_until - now < self._timeout_ms + LEASE_SAFETY_MS:
                # Waited too long here: whoever claims it once the lease runs out sends it.
                if job.claim.probe:
                    self._probing.discard(queue.host)
                continue
            queue.in_flight += 1
            started = time.monotonic()
            task = asyncio.create_task(self._attempt(job))
            self._tasks.add(task)
            task.add_done_callback(partial(self._ended, queue, job, started=started))

    def _ended(
        self,
        queue: HostQueue[_Job],
        job: _Job,
        task: asyncio.Task[None],
        *,
        started: float,
    ) -> None:
        self._tasks.discard(task)
        queue.ended(time.monotonic() - started)
        if job.claim.probe:
            self._probing.discard(queue.host)
        if not task.cancelled():
            self._start_ready(queue)
        self._wake.set()

    async def _attempt(self, job: _Job) -> None:
        row = job.row
        try:
            request = await self._request(job)
        except (SecretUnreadable, PayloadMissing) as exc:
            log.error("delivery %s cannot be sent: %s", webhook_id(row.event_id), exc)
            outcome = Outcome(False, None, None, 0, str(exc)[:200])
            self._finish(job, outcome, "secret" if isinstance(exc, SecretUnreadable) else "payload")
            return
        except Exception:
            log.exception("delivery %s could not be prepared", webhook_id(row.event_id))
            self._finish(job, Outcome(False, None, None, 0, "internal error"), "internal")
            return
        outcome = await self._client.attempt(request)
        metrics.attempt_ended(outcome.kind or "ok", outcome.elapsed_ms / 1000)
        self._finish(job, outcome, None)

    def _finish(self, job: _Job, outcome: Outcome, our_fault: str | None) -> None:
        row = job.row
        self._finished.append(
            Attempted(
                claim=job.claim,
                device_id=row.device_id,
                kind=row.kind,
                attempts=row.attempts,
                window_attempts=row.window_attempts,
                event_at=row.event_at,
                window_start=row.window_start,
                at=self._clock.now_ms(),
                ok=outcome.ok,
                status=outcome.status,
                error_kind=our_fault or (str(outcome.kind) if outcome.kind else None),
                error=outcome.error,
                elapsed_ms=outcome.elapsed_ms,
                judges_host=our_fault is None,
            )
        )

    async def _request(self, job: _Job) -> OutgoingRequest:
        row = job.row
        now = self._clock.now_ms()
        stored = await self._stored_secrets(row)
        if stored.current is None:
            raise SecretUnreadable("the line has no signing secret")
        signing = active_secrets(
            self._box.open(stored.current),
            self._box.open(stored.previous) if stored.previous else None,
            stored.rotated_at,
            now,
        )
        return build_request(
            job.url,
            job.method,
            payload(row),
            message_id=webhook_id(row.event_id),
            timestamp_s=now // 1000,
            secrets=signing,
        )

    async def _stored_secrets(self, row: Any) -> line_secrets.Sealed:
        if row.webhook_secret is not None:
            return line_secrets.Sealed(
                row.webhook_secret, row.webhook_secret_previous, row.webhook_secret_rotated_at
            )
        # A line gets its secret on first use; webhook/add gives it one, so this is for
        # webhooks made some other way.
        return await line_secrets.ensure(self._store, self._box, row.device_id)
