"""Deliveries survive crashes, and workers share the queues.

Real processes: `landline serve` killed with SIGKILL while a real receiver is taking
deliveries, then started again; on PostgreSQL, two `landline worker` processes
delivering side by side, one of them killed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import PG_ADMIN_URL, postgres_schema
from cryptography.fernet import Fernet
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from webhook_fixtures import LINE, LOOPBACK, Process, Receiver, Seen

from landline import accounts
from landline.core.clock import SystemClock
from landline.store.access import Store

SENDS = 40  # requests of 10 contacts each: 400 send events
CONTACTS = 10


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    found = {
        **os.environ,
        "LANDLINE_SIM_RECEIPT_DELAY_MS": "20",
        "LANDLINE_POLL_INTERVAL_MS": "20",
        "LANDLINE_LEASE_SECONDS": "2",
        "LANDLINE_LOG_LEVEL": "warning",
        "LANDLINE_WEBHOOK_ALLOW_NETS": LOOPBACK,
        # Short, so that leases a dead process held run out soon.
        "LANDLINE_WEBHOOK_TIMEOUT_S": "1",
    }
    found.pop("LANDLINE_DATABASE_URL", None)
    found.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if request.param == "sqlite":
        yield found
        return
    with postgres_schema() as (schema, url):
        found["LANDLINE_DATABASE_URL"] = url
        found["LANDLINE_TEST_SCHEMA"] = schema
        yield found


def query(env: dict[str, str], data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    if "LANDLINE_DATABASE_URL" in env:
        with psycopg.connect(PG_ADMIN_URL) as conn:
            conn.execute(f"SET search_path TO {env['LANDLINE_TEST_SCHEMA']}")
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(data_dir / "landline.db")) as conn:
        return list(conn.execute(sql).fetchall())


def add_line(env: dict[str, str], data_dir: Path) -> str:
    """A line with a session key, made in this process (faster than the admin command)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = env.get("LANDLINE_DATABASE_URL") or f"sqlite:///{data_dir / 'landline.db'}"
    store = Store(url, SystemClock())
    try:
        made = accounts.add_line(
            store, number="+1" + LINE, mms=False, timezone="America/Los_Angeles", password=None
        )
    finally:
        store.close()
    return made.session


def add_webhook(url: str, session: str, target: str) -> None:
    answer = httpx.post(
        url + "/webhook/add",
        data={"session": session, "type": "message", "event": "send", "url": target},
        timeout=30,
    ).json()
    assert answer["success"] is True, answer


def fire(url: str, session: str, *, stop: threading.Event) -> None:
    """Send texts until all are sent or `stop` is set; failures (a killed server) end it."""

    def one(number: int) -> None:
        if stop.is_set():
            return
        contacts = ",".join(f"+1206555{number:02d}{n:02d}" for n in range(CONTACTS))
        with contextlib.suppress(httpx.TransportError):
            httpx.post(
                url + "/message/send",
                data={"session": session, "contacts": contacts, "body": f"text {number}"},
                timeout=10,
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(SENDS)))


def wait_until_delivered(env: dict[str, str], data_dir: Path, timeout: float = 90) -> set[int]:
    """Every send event committed, once each has a delivery that ended; their ids."""
    deadline = time.monotonic() + timeout
    while True:
        events = {row[0] for row in query(env, data_dir, SEND_EVENTS)}
        states = dict(query(env, data_dir, "SELECT event_id, state FROM deliveries"))
        waiting = [e for e in events if states.get(e) not in ("delivered", "given-up")]
        if events and not waiting:
            assert set(states) == events
            assert set(states.values()) == {"delivered"}
            return events
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(waiting)} of {len(events)} deliveries never ended")
        time.sleep(0.2)


SEND_EVENTS = "SELECT id FROM events WHERE kind = 'message.send'"


def check_received(seen: list[Seen], committed: set[int]) -> Counter[int]:
    """Every committed event reached the receiver, a repeat always as the same delivery."""
    counts = Counter(s.event_id for s in seen)
    assert committed <= set(counts)
    assert set(counts) <= committed
    bodies: dict[str, Any] = {}
    for s in seen:
        assert s.headers["webhook-id"] == f"msg_{s.event_id}"
        assert bodies.setdefault(s.webhook_id, s.json) == s.json
    return counts


def test_sigkill_while_delivering_loses_no_event(env: dict[str, str], tmp_path: Path) -> None:
    receiver = Receiver("slow", delay=0.02)
    data_dir = tmp_path / "data"
    server = Process(data_dir, env, "serve", name="serve")
    try:
        session = add_line(env, data_dir)
        server.start()
        add_webhook(server.url, session, receiver.url())
        stop = threading.Event()
        sender = threading.Thread(target=fire, args=(server.url, session), kwargs={"stop": stop})
        sender.start()
        receiver.wait_for(60, timeout=60)
        server.kill()
        stop.set()
        sender.join(timeout=60)
        before_restart = len(receiver.seen)
        committed_at_kill = {row[0] for row in query(env, data_dir, SEND_EVENTS)}
        assert before_restart < len(committed_at_kill), "the kill came after the stream"

        server.start()
        committed = wait_until_delivered(env, data_dir)
        assert committed == committed_at_kill
        check_received(receiver.seen, committed)
    finally:
        server.stop()
        receiver.stop()


def delivered_by(metrics_dir: Path) -> float:
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(metrics_dir))
    return sum(
        sample.value
        for metric in registry.collect()
        for sample in metric.samples
        if sample.name == "landline_webhook_deliveries_total"
        and sample.labels.get("outcome") == "delivered"
    )


def test_two_workers_share_the_queues_and_killing_one_loses_nothing(tmp_path: Path) -> None:
    receiver = Receiver("slow", delay=0.1)
    data_dir = tmp_path / "data"
    second_metrics = tmp_path / "second-metrics"
    second_metrics.mkdir()
    with postgres_schema() as (schema, url):
        env = {
            **os.environ,
            "LANDLINE_DATABASE_URL": url,
            "LANDLINE_TEST_SCHEMA": schema,
            "LANDLINE_POLL_INTERVAL_MS": "20",
            "LANDLINE_LEASE_SECONDS": "2",
            "LANDLINE_LOG_LEVEL": "warning",
            "LANDLINE_WEBHOOK_ALLOW_NETS": LOOPBACK,
            "LANDLINE_WEBHOOK_TIMEOUT_S": "1",
            # Processes that may run on different machines share one key.
            "LANDLINE_SECRET_KEY": Fernet.generate_key().decode(),
        }
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        api = Process(data_dir, env, "serve", "--api-only", name="api")
        first = Process(data_dir, env, "worker", name="worker-1")
        second = Process(
            data_dir,
            {**env, "PROMETHEUS_MULTIPROC_DIR": str(second_metrics)},
            "worker",
            name="worker-2",
        )
        try:
            session = add_line(env, data_dir)
            api.start()
            add_webhook(api.url, session, receiver.url())
            first.start()
            second.start()
            stop = threading.Event()
            sender = threading.Thread(target=fire, args=(api.url, session), kwargs={"stop": stop})
            sender.start()
            receiver.wait_for(100, timeout=60)
            first.kill()
            # Whatever the dead worker had already sent is in by now.
            time.sleep(0.3)
            at_kill = len(receiver.seen)
            sender.join(timeout=60)
            committed = wait_until_delivered(env, data_dir)
            assert at_kill < len(committed), "the kill came after the stream"
            assert len(committed) == SENDS * CONTACTS
            counts = check_received(receiver.seen, committed)
            # While both ran, each event came once: the leases kept them apart.
            before = Counter(s.event_id for s in receiver.seen[:at_kill])
            assert max(before.values()) == 1
            # Only what the killed worker had sent, but not recorded, came again.
            first_seen = {}
            for index, seen in enumerate(receiver.seen):
                first_seen.setdefault(seen.event_id, index)
            repeated = [event for event, count in counts.items() if count > 1]
            assert all(first_seen[event] < at_kill for event in repeated)
            # Both workers delivered, and the API's /metrics adds up the processes on its
            # machine (itself and the first worker).
            assert delivered_by(second_metrics) > 0
            page = httpx.get(api.url + "/metrics", timeout=30).text
            first_count = sum(
                float(line.rsplit(" ", 1)[1])
                for line in page.splitlines()
                if line.startswith('landline_webhook_deliveries_total{outcome="delivered"}')
            )
            assert first_count > 0
            assert first_count + delivered_by(second_metrics) >= len(committed)
        finally:
            for process in (second, first, api):
                process.stop()
            receiver.stop()
