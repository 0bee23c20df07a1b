"""Webhook delivery: deliveries per second and event-to-receiver latency, against a ceiling.

The engine runs as `landline serve` runs it (the store, its one writer, the webhook
engine's background loop), in this process; events are written into the store as the
server writes them (an event row and its delivery row in one transaction), so the
producer shares the writer with the engine as the API does. Receivers are aiohttp
servers in processes of their own on loopback, one per host:

- healthy: answers 200 at once;
- dead: never answers (every attempt times out at 7 s);
- failing: answers 500 at once.

Phases, repeated `--repeat` times (each line has its own webhook for
`message.receive`):

1. ceiling: aiohttp, the engine's HTTP client library, posting the same signed payloads
   straight to the healthy receiver, with the engine's per-host concurrency (8);
2. alone: only the healthy host; events created as fast as the engine takes them (the
   producer keeps at most `--window` undelivered); deliveries per second, and latency
   from the event's creation (its id's timestamp, just before its commit) to the
   receiver reading it;
3. with failing hosts: as 2, while the dead and failing hosts each get
   `--failing-rate` events per second of their own (those of every 50 ms in one
   transaction); the healthy host's rate against 2's. Phases 2 and 3 take turns going
   first, since this machine's load drifts;
4. latency: 500 events per second offered to the healthy host; p50/p99.

    python3 bench/webhook_delivery.py                    # SQLite, 10 s per phase
    python3 bench/webhook_delivery.py --db postgresql --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import multiprocessing
import os
import platform
import socket
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
from aiohttp import web
from sqlalchemy import Connection

from landline import accounts
from landline.core.events import EventKind
from landline.core.ids import id_time_ms
from landline.runtime import Runtime
from landline.settings import Settings
from landline.store import events
from landline.store import webhooks as hooks
from landline.store.schema import messages
from landline.webhooks import line_secrets
from landline.webhooks.hosts import queue_host
from landline.webhooks.outgoing import build_request
from landline.webhooks.payloads import webhook_id

PG_ADMIN_URL = os.environ.get("LANDLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BODY = "Thanks for texting, this is an auto reply!"
MESSAGES_PER_LINE = 100


# -- receivers, each in a process of its own


def _receive(port: int, status: int, received: Synchronized[int]) -> None:
    latencies: list[int] = []

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        received.value += 1
        if status == 0:
            with suppress(asyncio.CancelledError):
                await asyncio.sleep(3600)
            return web.Response(status=504)
        delivery = request.headers.get("webhook-id", "")
        if delivery.startswith("msg_"):
            now = time.time_ns() // 1_000_000
            latencies.append(now - id_time_ms(int(delivery[4:])))
        return web.Response(status=status, text="ok")

    async def stats(request: web.Request) -> web.Response:
        found = sorted(latencies)
        if request.query.get("reset"):
            latencies.clear()
        return web.json_response({"latencies": found})

    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    app = web.Application()
    app.router.add_get("/_stats", stats)
    app.router.add_route("*", "/{tail:.*}", answer)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


@dataclass
class Receiver:
    status: int
    port: int = 0
    received: Any = None
    process: multiprocessing.Process | None = None

    def start(self) -> None:
        self.port = free_port()
        self.received = multiprocessing.RawValue(ctypes.c_longlong, 0)
        self.process = multiprocessing.Process(
            target=_receive, args=(self.port, self.status, self.received), daemon=True
        )
        self.process.start()
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def count(self) -> int:
        return int(self.received.value)

    async def latencies(self, session: aiohttp.ClientSession) -> list[int]:
        async with session.get(f"http://127.0.0.1:{self.port}/_stats?reset=1") as answer:
            found: list[int] = (await answer.json())["latencies"]
        return found

    def stop(self) -> None:
        if self.process is not None:
            # A receiver that never answers cannot shut down cleanly; none has anything
            # left to say.
            self.process.kill()
            self.process.join(5)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- the server side


@dataclass
class Line:
    device_id: int
    message_ids: list[int]
    created: int = 0
    # What its receiver had counted before this line's deliveries began.
    base: int = 0

    def undelivered(self, receiver: Receiver) -> int:
        return self.created - (receiver.count - self.base)


@dataclass
class Result:
    name: str
    rate: float = 0.0
    p50: float | None = None
    p99: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _percentile(values: list[int], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(len(ordered) * p))])


async def make_line(runtime: Runtime, number: str, receiver: Receiver) -> Line:
    store = runtime.store
    made = await asyncio.to_thread(
        accounts.add_line,
        store,
        number=number,
        mms=False,
        timezone="America/Los_Angeles",
        password=None,
    )
    now = store.clock.now_ms()
    hook_id = store.ids.next_id() >> 11
    message_ids = store.ids.take(MESSAGES_PER_LINE)

    def setup(connection: Connection) -> None:
        hooks.add(
            connection,
            webhook_id=hook_id,
            device_id=made.device_id,
            type="message",
            event="receive",
            url=receiver.url,
            method="POST",
            host=queue_host(receiver.url),
            now=now,
        )
        connection.execute(
            messages.insert(),
            [
                {
                    "id": message_id,
                    "device_id": made.device_id,
                    "root_id": message_id,
                    "fingerprint": "132131532",
                    "contact_id": 3382213402,
                    "direction": "MO",
                    "line_number": number,
                    "contact_number": "+14257772222",
                    "body": BODY,
                    "status": 4,
                    "created_at": now,
                    "updated_at": now,
                    "delivered_at": now,
                }
                for message_id in message_ids
            ],
        )

    await store.write(setup)
    await line_secrets.ensure(store, runtime.secret_box, made.device_id)
    return Line(made.device_id, message_ids)


async def create_events(runtime: Runtime, line: Line, count: int) -> None:
    """`count` message.receive events for `line`, in one transaction, as the server
    records an inbound text's event (and its delivery)."""
    store = runtime.store
    now = store.clock.now_ms()
    ids = store.ids.take(count)
    rows = [
        events.row(
            event_id,
            line.device_id,
            EventKind.MESSAGE_RECEIVE,
            line.message_ids[(line.created + n) % len(line.message_ids)],
            now,
            status=4,
            delivered_at=now,
        )
        for n, event_id in enumerate(ids)
    ]
    line.created += count
    await store.write(lambda c: events.record(c, rows))


async def drain(line: Line, receiver: Receiver, limit_s: float = 60) -> None:
    deadline = time.monotonic() + limit_s
    while line.undelivered(receiver) > 0:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{line.undelivered(receiver)} deliveries never came")
        await asyncio.sleep(0.05)


async def closed_loop(
    runtime: Runtime,
    line: Line,
    receiver: Receiver,
    seconds: float,
    window: int,
    batch: int,
    beside: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> float:
    """Keep at most `window` of `line`'s events undelivered for `seconds`; the
    receiver's rate over the time measured. Notes this process's CPU time per delivery
    in `CPU_PER_DELIVERY` (a loaded machine moves rates more than CPU time)."""
    start_count = receiver.count
    cpu = time.process_time()
    started = time.monotonic()
    deadline = started + seconds
    helper = asyncio.create_task(beside()) if beside else None
    try:
        while time.monotonic() < deadline:
            if line.undelivered(receiver) < window:
                await create_events(runtime, line, batch)
            else:
                await asyncio.sleep(0.001)
    finally:
        if helper:
            helper.cancel()
            with suppress(asyncio.CancelledError):
                await helper
    delivered = receiver.count - start_count
    CPU_PER_DELIVERY.append((time.process_time() - cpu) / max(delivered, 1))
    return delivered / (time.monotonic() - started)


CPU_PER_DELIVERY: list[float] = []


async def open_loop(
    runtime: Runtime, line: Line, rate: float, seconds: float, tick: float = 0.01
) -> None:
    """Create `rate` events a second for `line`, those of each tick in one transaction."""
    per_tick = rate * tick
    owed = 0.0
    started = time.monotonic()
    next_tick = started
    while time.monotonic() - started < seconds:
        owed += per_tick
        count = int(owed)
        if count:
            owed -= count
            await create_events(runtime, line, count)
        next_tick += tick
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))


async def give_up(runtime: Runtime, lines: list[Line]) -> None:
    """Drop what the failing hosts still have waiting, so the next run starts clean (their
    attempts in flight end within the time limit, and are then not recorded)."""
    from sqlalchemy import update

    from landline.store.schema import deliveries

    devices = [line.device_id for line in lines]
    await runtime.store.write(
        lambda c: c.execute(
            update(deliveries)
            .where(deliveries.c.device_id.in_(devices))
            .values(state="given-up", lease_until=None, leased_by=None)
        )
    )
    await asyncio.sleep(runtime.settings.webhook_timeout_s + 1)


async def ceiling(receiver: Receiver, concurrency: int, seconds: float, secret: str) -> float:
    """aiohttp posting prebuilt signed payloads straight to the receiver."""
    from landline.api.render import message_payload

    @dataclass
    class Row:
        id: int = 1577485363583127553
        device_id: int = 286219312
        direction: str = "MO"
        line_number: str = "+12065550123"
        contact_number: str = "+14257772222"
        body: str = BODY
        fingerprint: str = "132131532"
        contact_id: int = 3382213402
        created_at: int = 1_796_172_218_939
        scheduled_at: int | None = None
        status: int = 4
        delivered_at: int | None = 1_796_172_218_939
        read_at: int | None = None
        deleted_at: int | None = None

    payload = message_payload(Row(), "America/Los_Angeles")
    requests = [
        build_request(
            receiver.url,
            "POST",
            payload,
            message_id=webhook_id(n),
            timestamp_s=int(time.time()),
            secrets=[secret],
        )
        for n in range(1000)
    ]
    done = 0
    connector = aiohttp.TCPConnector(limit=1024, limit_per_host=256)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.monotonic() + seconds

        async def worker(offset: int) -> None:
            nonlocal done
            n = offset
            while time.monotonic() < deadline:
                request = requests[n % len(requests)]
                async with session.post(
                    request.url, data=request.body, headers=request.headers
                ) as answer:
                    await answer.read()
                done += 1
                n += concurrency

        started = time.monotonic()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return done / (time.monotonic() - started)


async def repetition_of(
    runtime: Runtime,
    args: argparse.Namespace,
    stats: aiohttp.ClientSession,
    concurrency: int,
    secret: str,
    repetition: int,
    receivers: tuple[Receiver, Receiver, Receiver],
    lines: tuple[Line, Line, Line],
) -> list[Result]:
    """The four phases, back to back, so each ratio compares figures taken together."""
    healthy, dead, failing = receivers
    ok_line, dead_line, failing_line = lines
    results: list[Result] = []
    tag = f" (run {repetition})"

    # 1. The ceiling.
    await drain(ok_line, healthy)
    before = healthy.count
    top = await ceiling(healthy, concurrency, args.duration, secret)
    ok_line.base += healthy.count - before
    await healthy.latencies(stats)
    results.append(Result("ceiling" + tag, top, note=f"aiohttp, {concurrency} in flight"))

    async def alone_phase() -> float:
        await closed_loop(runtime, ok_line, healthy, args.warmup, args.window, args.batch)
        await drain(ok_line, healthy)
        await healthy.latencies(stats)
        rate = await closed_loop(runtime, ok_line, healthy, args.duration, args.window, args.batch)
        await drain(ok_line, healthy)
        seen = await healthy.latencies(stats)
        results.append(
            Result(
                "alone" + tag,
                rate,
                _percentile(seen, 0.5),
                _percentile(seen, 0.99),
                note=f"**{rate / top:.2f} of the ceiling**; at most {args.window} undelivered; "
                f"{CPU_PER_DELIVERY[-1] * 1000:.2f} ms CPU per delivery",
                extra={"ratio": rate / top},
            )
        )
        return rate

    async def failing_traffic() -> None:
        await asyncio.gather(
            open_loop(runtime, dead_line, args.failing_rate, 3600, tick=0.05),
            open_loop(runtime, failing_line, args.failing_rate, 3600, tick=0.05),
        )

    async def beside_phase() -> Result:
        dead_before, failing_before = dead.count, failing.count
        await closed_loop(
            runtime, ok_line, healthy, args.warmup, args.window, args.batch, failing_traffic
        )
        await drain(ok_line, healthy)
        await healthy.latencies(stats)
        started = time.monotonic()
        rate = await closed_loop(
            runtime, ok_line, healthy, args.duration, args.window, args.batch, failing_traffic
        )
        elapsed = time.monotonic() - started + args.warmup
        await drain(ok_line, healthy)
        seen = await healthy.latencies(stats)
        await give_up(runtime, [dead_line, failing_line])
        found = Result(
            "beside failing hosts" + tag,
            rate,
            _percentile(seen, 0.5),
            _percentile(seen, 0.99),
            note=f"{CPU_PER_DELIVERY[-1] * 1000:.2f} ms CPU per healthy delivery; attempts "
            f"meanwhile: dead host {dead.count - dead_before}, failing "
            f"host {failing.count - failing_before} "
            f"({(failing.count - failing_before) / elapsed:.0f}/s)",
        )
        results.append(found)
        return found

    # 2 and 3, next to each other, in turns first and second: the machine drifts.
    if repetition % 2:
        alone = await alone_phase()
        beside = await beside_phase()
    else:
        beside = await beside_phase()
        alone = await alone_phase()
    kept = beside.rate / alone
    beside.note = f"**{kept:.2f} of alone**; {beside.note}"
    beside.extra["isolation"] = kept

    # 4. Latency at a steady offered rate.
    await open_loop(runtime, ok_line, args.rate, args.duration)
    await drain(ok_line, healthy)
    seen = await healthy.latencies(stats)
    results.append(
        Result(
            f"{args.rate:g}/s offered" + tag,
            len(seen) / args.duration,
            _percentile(seen, 0.5),
            _percentile(seen, 0.99),
            extra={"p99": _percentile(seen, 0.99)},
        )
    )
    return results


async def run(database_url: str, args: argparse.Namespace) -> list[Result]:
    healthy, dead, failing = Receiver(200), Receiver(0), Receiver(500)
    for receiver in (healthy, dead, failing):
        receiver.start()
    data_dir = Path(tempfile.mkdtemp(prefix="landline-webhook-bench-"))
    settings = Settings(
        data_dir=data_dir,
        database_url=database_url,
        webhook_allow_nets="127.0.0.0/8",
        log_level="warning",
    )
    runtime = Runtime(settings, workers=False)
    results: list[Result] = []
    stats = aiohttp.ClientSession()
    try:
        await runtime.webhooks.start()
        lines = [
            await make_line(runtime, number, receiver)
            for number, receiver in (
                ("+12065550123", healthy),
                ("+12065550124", dead),
                ("+12065550125", failing),
            )
        ]
        ok_line, dead_line, failing_line = lines
        shown = await line_secrets.show(runtime.store, runtime.secret_box, ok_line.device_id)
        concurrency = settings.webhook_host_concurrency
        await ceiling(healthy, concurrency, 1.0, shown.secret)  # warm up
        ok_line.base = healthy.count
        for repetition in range(1, args.repeat + 1):
            results.extend(
                await repetition_of(
                    runtime,
                    args,
                    stats,
                    concurrency,
                    shown.secret,
                    repetition,
                    (healthy, dead, failing),
                    (ok_line, dead_line, failing_line),
                )
            )
    finally:
        await stats.close()
        await runtime.stop()
        for receiver in (healthy, dead, failing):
            receiver.stop()
    return results


def database(kind: str) -> tuple[str, Callable[[], None]]:
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="landline-webhook-bench-db-"))
        return f"sqlite:///{folder / 'landline.db'}", lambda: None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")

    def drop() -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}", drop


def table(kind: str, results: list[Result]) -> str:
    rows = [
        "| database | phase | deliveries/s | p50 ms | p99 ms | notes |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in results:
        p50 = f"{r.p50:.0f}" if r.p50 is not None else "—"
        p99 = f"{r.p99:.0f}" if r.p99 is not None else "—"
        rows.append(f"| {kind} | {r.name} | {r.rate:,.0f} | {p50} | {p99} | {r.note} |")
    return "\n".join(rows)


def summary(kind: str, results: list[Result]) -> str:
    ratios = [r.extra["ratio"] for r in results if "ratio" in r.extra]
    p99s = [r.extra["p99"] for r in results if r.extra.get("p99") is not None]
    kept = [r.extra["isolation"] for r in results if "isolation" in r.extra]
    return (
        f"{kind}: engine/ceiling {min(ratios):.2f}-{max(ratios):.2f}; p99 at the offered "
        f"rate {min(p99s):.0f}-{max(p99s):.0f} ms; healthy host beside failing ones "
        f"{min(kept):.2f}-{max(kept):.2f} of alone"
    )


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, postgresql or both")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--window", type=int, default=500, help="undelivered events at most")
    parser.add_argument("--batch", type=int, default=50, help="events per transaction")
    parser.add_argument("--repeat", type=int, default=2, help="runs of the four phases")
    parser.add_argument("--rate", type=float, default=500, help="events/s offered, phase 3")
    parser.add_argument(
        "--failing-rate", type=float, default=100, help="events/s to each failing host"
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else args.db.split(",")
    print(f"Machine: {machine()}")
    print(f"Command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}")
    for kind in kinds:
        url, drop = database(kind)
        try:
            results = asyncio.run(run(url, args))
        finally:
            drop()
        print(table(kind, results))
        print(summary(kind, results))


if __name__ == "__main__":
    main()
