"""Nothing accepted is lost and nothing is sent twice when the server dies.

Two ways: in this process, a dispatcher that dies between handing a text to the carrier
and recording it; and a real `landline serve` process killed with SIGKILL in the middle
of a burst of sends, then started again on the same store.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from conftest import PG_ADMIN_URL, Landline, free_port, postgres_schema, start_landline

from landline.carriers.simulator import SimulatorConnector
from landline.core.clock import ManualClock
from landline.core.status import FINAL_STATUSES
from landline.dispatch import dispatcher as dispatcher_module
from landline.runtime import Runtime
from landline.settings import Settings
from landline.store import outbox

LINE = "2065550123"

# -- in process: the dispatcher dies after the submit, before its record


def count_handovers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the message id of every text any simulator hands to the network, from
    servers started after this call on."""
    handed: list[int] = []
    submit = SimulatorConnector.submit

    async def counting(self: SimulatorConnector, batch: Any) -> Any:
        handed.extend(submission.message_id for submission in batch)
        async for done in submit(self, batch):
            yield done

    monkeypatch.setattr(SimulatorConnector, "submit", counting)
    return handed


def outbox_left(server: Landline) -> int:
    return int(server.store.read_sync(outbox.waiting))


def history(server: Landline, session: str, message_id: int) -> list[int]:
    got = server.call("/message/get", session=session, id=str(message_id))["response"]
    return [step["statusCode"] for step in got["statusHistory"]]


def die_after_submit(server: Landline, monkeypatch: pytest.MonkeyPatch) -> None:
    """One dispatcher round that hands its texts to the carrier and then 'dies'."""

    def crash(*_: Any) -> None:
        raise RuntimeError("killed before recording the submit")

    with monkeypatch.context() as patch:
        patch.setattr(dispatcher_module, "_record", crash)
        with pytest.raises(RuntimeError, match="killed"):
            server.run(server.runtime.dispatcher.run_once)


@pytest.mark.parametrize("receipt_first", [False, True], ids=["resubmit", "receipt-first"])
def test_death_between_submit_and_record_sends_once(
    db_url: str,
    tmp_path: Path,
    manual_clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    receipt_first: bool,
) -> None:
    handed = count_handovers(monkeypatch)
    first = start_landline(db_url, tmp_path, clock=manual_clock, sim_receipt_delay_ms=1000)
    try:
        # Only this test's own round may dispatch.
        first.run(first.runtime.dispatcher.stop)
        _, session = first.add_line(LINE)
        sent = first.call("/message/send", session=session, contacts="+12065551234", body="Hi")
        message_id = int(sent["response"]["tokens"][0]["message"])
        die_after_submit(first, monkeypatch)
        assert handed == [message_id]
        assert history(first, session, message_id) == [2]
        if receipt_first:
            # The network reports (to a connector that is still alive) before anyone
            # takes the dead round's lease over.
            manual_clock.advance(seconds=1)
            first.run(lambda: first.runtime.simulator.run_once(first.runtime.carrier_events))
            assert history(first, session, message_id) == [2, 1, 6]
    finally:
        first.stop()

    second = start_landline(db_url, tmp_path, clock=manual_clock, sim_receipt_delay_ms=1000)
    try:
        # On PostgreSQL the dead process's lease must run out first; on SQLite the
        # server took every lease back when it started.
        manual_clock.advance(ms=second.runtime.dispatcher.lease_ms + 1000)
        second.settle()
        manual_clock.advance(seconds=1)
        second.settle()

        assert history(second, session, message_id) == [2, 1, 6]
        assert second.carrier_copies(message_id) == 1
        assert outbox_left(second) == 0
        # Re-submitting is safe (the carrier de-duplicates by message id), but a text
        # the carrier has already reported on is not submitted again at all.
        assert handed == ([message_id] if receipt_first else [message_id, message_id])
    finally:
        second.stop()


def test_one_process_runs_the_workers_of_a_sqlite_store(tmp_path: Path) -> None:
    # A starting server takes back every lease on SQLite, which is only safe if no
    # other process is working the same file.
    url = f"sqlite:///{tmp_path / 'landline.db'}"
    server = start_landline(url, tmp_path)
    try:
        other = Runtime(Settings(data_dir=tmp_path / "other", database_url=url))
        try:
            with pytest.raises(RuntimeError, match="another Landline process"):
                asyncio.run(other.start())
        finally:
            other.store.close()
        # Serving the API alone, without workers, is fine.
        api_only = Runtime(Settings(database_url=url), workers=False)
        asyncio.run(api_only.start())
        asyncio.run(api_only.stop())
    finally:
        server.stop()


# -- a real process, killed in the middle of a burst

BURST = 300
KILL_AFTER = 100
THREADS = 8


@dataclass
class Burst:
    accepted: dict[int, int] = field(default_factory=dict)  # request number -> message id
    failed: set[int] = field(default_factory=set)  # request numbers with no answer
    refused: set[int] = field(default_factory=set)  # answered success:false
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)


class Server:
    """`landline serve` as a child process."""

    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.data_dir = data_dir
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._generation = 0

    def landline(self, *args: str) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-m", "landline", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def start(self) -> None:
        self._generation += 1
        log = open(self.data_dir.parent / f"serve-{self._generation}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "landline",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"landline serve exited with {self.process.returncode}")
            with contextlib.suppress(httpx.TransportError):
                httpx.get(self.url + "/message/list", timeout=1)
                return
            time.sleep(0.05)
        raise RuntimeError("landline serve did not start listening")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def fire(server: Server, session: str, burst: Burst) -> None:
    """Send BURST texts from several threads; each request is for its own contact."""

    def one(client: httpx.Client, number: int) -> None:
        try:
            answer = client.post(
                "/message/send",
                data={
                    "session": session,
                    "contacts": f"+1206555{1000 + number}",
                    "body": f"burst {number}",
                },
            ).json()
        except (httpx.TransportError, ValueError):
            with burst.lock:
                burst.failed.add(number)
            return
        with burst.lock:
            if not answer["success"]:
                burst.refused.add(number)
                return
            burst.accepted[number] = int(answer["response"]["tokens"][0]["message"])
            if len(burst.accepted) >= KILL_AFTER:
                burst.enough.set()

    def worker(numbers: list[int]) -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            for number in numbers:
                one(client, number)

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(worker, list(range(t, BURST, THREADS))) for t in range(THREADS)]
        burst.enough.wait(timeout=30)
        server.kill()
        for future in futures:
            future.result()


def wait_until_final(server: Server, session: str, ids: set[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=server.url, timeout=10) as client:
        while True:
            for message_id in sorted(ids - found.keys()):
                got = client.post(
                    "/message/get", data={"session": session, "id": str(message_id)}
                ).json()
                assert got["success"] is True, got
                if got["response"]["isInFinalState"]:
                    found[message_id] = got["response"]
            if found.keys() == ids:
                return found
            if time.monotonic() > deadline:
                stuck = sorted(ids - found.keys())[:5]
                raise AssertionError(f"{len(ids) - len(found)} messages never ended: {stuck}")
            time.sleep(0.1)


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Environment for a server process: its own SQLite folder or PostgreSQL schema."""
    env = {
        **os.environ,
        "LANDLINE_SIM_RECEIPT_DELAY_MS": "20",
        "LANDLINE_POLL_INTERVAL_MS": "20",
        "LANDLINE_LEASE_SECONDS": "2",
        "LANDLINE_LOG_LEVEL": "warning",
    }
    env.pop("LANDLINE_DATABASE_URL", None)
    if request.param == "sqlite":
        yield env
        return
    with postgres_schema() as (schema, url):
        env["LANDLINE_DATABASE_URL"] = url
        env["LANDLINE_TEST_SCHEMA"] = schema
        yield env


def query(env: dict[str, str], data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the store as an operator would, outside the server."""
    if "LANDLINE_DATABASE_URL" in env:
        with psycopg.connect(PG_ADMIN_URL) as conn:
            conn.execute(f"SET search_path TO {env['LANDLINE_TEST_SCHEMA']}")
            return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]
    with contextlib.closing(sqlite3.connect(data_dir / "landline.db")) as conn:
        return list(conn.execute(sql).fetchall())


def test_sigkill_mid_burst_loses_nothing_and_sends_nothing_twice(
    crash_store: dict[str, str], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = Server(data_dir, crash_store)
    session = server.landline("admin", "line", "add", LINE)["session"]
    burst = Burst()
    try:
        server.start()
        fire(server, session, burst)
        assert len(burst.accepted) >= KILL_AFTER
        assert len(burst.accepted) + len(burst.failed) + len(burst.refused) == BURST
        accepted = set(burst.accepted.values())
        # No two requests were given the same message.
        assert len(accepted) == len(burst.accepted)

        server.start()
        # What the store holds: every accepted text, and maybe some whose answer the
        # kill cut off. Each request was stored at most once.
        stored = query(
            crash_store, data_dir, "SELECT id, body FROM messages WHERE direction = 'ZO'"
        )
        bodies = [body for _, body in stored]
        assert len(bodies) == len(set(bodies)), "a request was stored twice"
        stored_ids = {message_id for message_id, _ in stored}
        assert accepted <= stored_ids
        unanswered = {int(body.split()[1]) for _, body in stored} - set(burst.accepted)
        assert unanswered <= burst.failed

        final = wait_until_final(server, session, stored_ids)
    finally:
        server.stop()

    for number, message_id in burst.accepted.items():
        assert final[message_id]["body"] == f"burst {number}"
    for message_id, got in final.items():
        codes = [step["statusCode"] for step in got["statusHistory"]]
        assert codes == [2, 1, 6], (message_id, codes)
        assert len([code for code in codes if code in FINAL_STATUSES]) == 1

    # Each text was handed to the simulated network once: one submission row apiece,
    # and none for anything the store does not hold.
    submitted = query(
        crash_store, data_dir, "SELECT message_id, COUNT(*) FROM sim_submissions GROUP BY 1"
    )
    assert {message_id for message_id, _ in submitted} == stored_ids
    assert all(count == 1 for _, count in submitted)
