"""Load benchmark: `message/send` against the real server, on SQLite and PostgreSQL.

For each database it starts `landline serve` (the real command, in a subprocess, on a
fresh SQLite file or a fresh PostgreSQL schema), creates a line with
`landline admin line add`, and then drives the server with `--concurrency` keep-alive
connections for `--duration` seconds per phase:

- noop: POST /noop with the same form body as a one-contact send; the server parses it
  the same way and answers a constant, so it shows what the HTTP stack alone costs;
- send-1: POST /message/send, one contact per request;
- send-15: POST /message/send, fifteen contacts per request.

The dispatcher and the simulated carrier run in the server as they would in production,
so the texts accepted during a phase are being sent (and their receipts recorded) while
the benchmark goes on. Between send phases the benchmark waits (up to `--drain`
seconds) for the outbox to empty, so one phase's backlog does not slow the next.

The client is a raw asyncio HTTP/1.1 client with prebuilt request bytes (uvloop where
installed); it runs in this process while the server has a process of its own.

    python3 bench/load.py                      # both databases, 10 s per phase
    python3 bench/load.py --db sqlite --duration 5
    python3 bench/load.py --write-docs         # also put the table in docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
PG_ADMIN_URL = os.environ.get("LANDLINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
LINE_NUMBER = "+12065550123"
BODY = "Your table for 2 is ready. Reply STOP to opt out."
# Distinct recipient sets per request, so each send touches fresh contacts and
# conversations as real traffic does, rather than one hot row.
REQUESTS_PER_SHAPE = 4000
# Area codes that are in service, so every generated number is a valid one.
AREA_CODES = (206, 212, 303, 305, 312, 404, 415, 503, 512, 602, 614, 615, 617, 702, 713, 801)
DOC_BEGIN = "<!-- bench:begin -->"
DOC_END = "<!-- bench:end -->"


@dataclass
class Result:
    database: str
    phase: str
    contacts: int
    seconds: float
    requests: int = 0
    ok: int = 0
    errors: int = 0
    accepted_messages: int = 0
    latencies_ns: list[int] = field(default_factory=list)
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    backlog_after: int | None = None
    drained_in: float | None = None
    # CPU seconds the server's processes used during the phase.
    server_cpu_s: float = float("nan")

    @property
    def rps(self) -> float:
        return self.ok / self.seconds

    @property
    def msgs_per_s(self) -> float:
        return self.accepted_messages / self.seconds

    def take_percentiles(self) -> None:
        if not self.latencies_ns:
            return
        ordered = sorted(self.latencies_ns)

        def at(p: float) -> float:
            return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))] / 1e6

        self.p50_ms, self.p99_ms = at(50), at(99)
        self.latencies_ns = []


# --- the load generator ---------------------------------------------------------------


class _Client(asyncio.Protocol):
    """One keep-alive connection that sends the next request as soon as one is answered."""

    def __init__(self, requests: list[bytes], offset: int, run: _Run) -> None:
        self._requests = requests
        self._next = offset
        self._run = run
        self._buffer = bytearray()
        self._sent_at = 0
        self._transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        assert self._transport is not None
        request = self._requests[self._next % len(self._requests)]
        self._next += 1
        self._sent_at = time.perf_counter_ns()
        self._transport.write(request)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            start = head.find(b"content-length:")
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(self._buffer) < total:
                return
            status = head[9:12]
            body = bytes(self._buffer[end + 4 : total])
            del self._buffer[:total]
            self._run.record(time.perf_counter_ns() - self._sent_at, status, body)
            if self._run.stopping:
                assert self._transport is not None
                self._transport.close()
                return
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


class _Run:
    def __init__(self, result: Result | None) -> None:
        self.result = result
        self.stopping = False

    def record(self, latency_ns: int, status: bytes, body: bytes) -> None:
        result = self.result
        if result is None:  # warming up
            return
        result.requests += 1
        result.latencies_ns.append(latency_ns)
        if status == b"200" and b'"success":true' in body:
            result.ok += 1
            if result.phase.startswith("send"):
                # A recipient who opted out gets a token with a code; none do here.
                result.accepted_messages += body.count(b'"message":"') - body.count(b'"code":')
        else:
            result.errors += 1
            if result.errors <= 3:
                print(f"  error {status.decode()}: {body[:200]!r}", file=sys.stderr)


async def _drive(
    ports: list[int], requests: list[bytes], concurrency: int, seconds: float, result: Result | None
) -> None:
    loop = asyncio.get_running_loop()
    run = _Run(result)
    step = max(1, len(requests) // concurrency)
    clients = []
    for i in range(concurrency):
        _, client = await loop.create_connection(
            functools.partial(_Client, requests, i * step, run), "127.0.0.1", ports[i % len(ports)]
        )
        clients.append(client)
    started = time.perf_counter()
    await asyncio.sleep(seconds)
    run.stopping = True
    # Requests still in flight finish and are counted, and so is the time they take.
    await asyncio.wait_for(asyncio.gather(*(c.closed for c in clients)), 60)
    if result is not None:
        result.seconds = time.perf_counter() - started


def drive(
    ports: list[int],
    requests: list[bytes],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    result: Result,
) -> Result:
    async def both() -> None:
        if warmup > 0:
            await _drive(ports, requests, concurrency, warmup, None)
        await _drive(ports, requests, concurrency, seconds, result)

    _run_loop(both())
    result.take_percentiles()
    return result


def _run_loop(coro: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
    else:
        uvloop.run(coro)


WRK_SCRIPT = r"""
-- Sends the prebuilt requests of args[1] (one "path<TAB>form body" a line) in turn and
-- counts what the server accepted; done() prints the figures as one JSON line.
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 997)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  counting = args[2] == "send"
  ok, errors, accepted = 0, 0, 0
  local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
  for line in io.lines(args[1]) do
    local tab = line:find("\t", 1, true)
    requests[#requests + 1] = wrk.format("POST", line:sub(1, tab - 1), headers, line:sub(tab + 1))
  end
  index = offset or 0
end

function request()
  index = index + 1
  return requests[(index % #requests) + 1]
end

function response(status, headers, body)
  if status == 200 and body:find('"success":true', 1, true) then
    ok = ok + 1
    if counting then
      local n = 0
      for _ in body:gmatch('"message":"') do n = n + 1 end
      -- A recipient who opted out gets a token with a code; none do here.
      for _ in body:gmatch('"code":') do n = n - 1 end
      accepted = accepted + n
    end
  else
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_errors, total_accepted = 0, 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_errors = total_errors + thread:get("errors")
    total_accepted = total_accepted + thread:get("accepted")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"ok":%d,"errors":%d,"accepted":%d,"requests":%d,"duration_us":%d,' ..
    '"p50_us":%d,"p99_us":%d,"socket_errors":%d}\n',
    total_ok, total_errors, total_accepted, summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout))
end
"""


def drive_wrk(
    wrk: str,
    ports: list[int],
    requests: list[tuple[str, str]],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    result: Result,
) -> Result:
    """Load every port at once (one wrk each, the connections shared out), and add up."""
    with tempfile.TemporaryDirectory(prefix="landline-wrk-") as tmp:
        script, data = Path(tmp) / "send.lua", Path(tmp) / "requests.txt"
        script.write_text(WRK_SCRIPT)
        data.write_text("".join(f"{path}\t{body}\n" for path, body in requests))
        kind = "send" if result.phase.startswith("send") else "noop"
        each = max(1, concurrency // len(ports))

        def run(duration: float) -> list[dict[str, Any]]:
            runs = [
                subprocess.Popen(
                    [
                        wrk,
                        "-t1",
                        f"-c{each}",
                        f"-d{max(1, round(duration))}s",
                        "--timeout",
                        "30s",
                        "-s",
                        str(script),
                        f"http://127.0.0.1:{port}",
                        "--",
                        str(data),
                        kind,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for port in ports
            ]
            figures = []
            for process in runs:
                out, err = process.communicate(timeout=duration + 120)
                found = [line for line in out.splitlines() if line.startswith("BENCH ")]
                if process.returncode != 0 or not found:
                    raise RuntimeError("wrk printed no figures:\n" + out + err)
                figures.append(dict(json.loads(found[0][6:])))
            return figures

        if warmup > 0:
            run(warmup)
        figures = run(seconds)
    result.seconds = max(f["duration_us"] for f in figures) / 1e6
    result.requests = sum(f["requests"] for f in figures)
    result.ok = sum(f["ok"] for f in figures)
    result.errors = sum(f["errors"] + f["socket_errors"] for f in figures)
    result.accepted_messages = sum(f["accepted"] for f in figures)
    # Across several servers the slowest one's percentiles stand for the run.
    result.p50_ms = max(f["p50_us"] for f in figures) / 1000
    result.p99_ms = max(f["p99_us"] for f in figures) / 1000
    return result


def build_forms(path: str, session: str, contacts: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(contacts * 7919 + len(path))
    forms = []
    for _ in range(count):
        numbers: list[str] = []
        while len(numbers) < contacts:
            # Ending in 0001-0005 would trigger the simulator's failure rules.
            number = f"+1{rng.choice(AREA_CODES)}555{rng.randint(1000, 9999)}"
            if number not in numbers:
                numbers.append(number)
        form = (
            f"session={quote(session, safe='')}"
            f"&contacts={quote(','.join(numbers), safe='')}"
            f"&body={quote(BODY, safe='')}"
        )
        forms.append((path, form))
    return forms


def build_requests(forms: list[tuple[str, str]]) -> list[bytes]:
    requests = []
    for path, form in forms:
        raw = form.encode()
        head = (
            f"POST {path} HTTP/1.1\r\n"
            "Host: 127.0.0.1\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(raw)}\r\n"
            "\r\n"
        ).encode()
        requests.append(head + raw)
    return requests


# --- the server under test -------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def landline_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "landline", *args]


@contextlib.contextmanager
def database(kind: str) -> Iterator[str | None]:
    """The LANDLINE_DATABASE_URL for `kind`: None (SQLite in the data dir) or a schema."""
    if kind == "sqlite":
        yield None
        return
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


class Server:
    """`landline serve` as users run it; or, for the scale-out measure, several
    `landline serve --api-only` processes beside one `landline worker`."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None,
        receipt_delay_ms: int,
        api_processes: int = 1,
    ) -> None:
        self.ports = [free_port() for _ in range(api_processes)]
        self.port = self.ports[0]
        self.data_dir = data_dir
        self.env = dict(os.environ)
        self.env.pop("LANDLINE_DATABASE_URL", None)
        if database_url:
            self.env["LANDLINE_DATABASE_URL"] = database_url
        self.env["LANDLINE_SIM_RECEIPT_DELAY_MS"] = str(receipt_delay_ms)
        self.env["LANDLINE_LOG_LEVEL"] = "warning"
        # The webhook receiver, when there is one, is on this machine.
        self.env["LANDLINE_WEBHOOK_ALLOW_NETS"] = "127.0.0.0/8"
        # One line sending one body thousands of times a second is what spam protection
        # stops; a measure of throughput turns it off.
        for limit in ("PER_MINUTE", "PER_DAY", "SAME_BODY_CONTACTS"):
            self.env[f"LANDLINE_SPAM_{limit}"] = "0"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.log = data_dir / "server.log"

    def add_line(self) -> str:
        out = subprocess.run(
            landline_command("admin", "line", "add", LINE_NUMBER, "--data-dir", str(self.data_dir)),
            env=self.env,
            check=True,
            capture_output=True,
        )
        return str(json.loads(out.stdout)["session"])

    def start(self) -> None:
        if len(self.ports) == 1:
            commands = [landline_command("serve", "--port", str(self.port))]
        else:
            commands = [
                landline_command("serve", "--api-only", "--port", str(port)) for port in self.ports
            ]
            commands.append(landline_command("worker"))
        with open(self.log, "ab") as log:
            for command in commands:
                self.processes.append(
                    subprocess.Popen(
                        [*command, "--data-dir", str(self.data_dir)],
                        env=self.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        for port in self.ports:
            wait_for_port(port, self.processes, self.log)

    def pids(self) -> list[int]:
        """Every process of the server, children (the workers of `serve`) included."""
        found = [p.pid for p in self.processes]
        for pid in list(found):
            with contextlib.suppress(OSError):
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
                found.extend(int(child) for child in children)
        return found

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


class BareApp:
    """bench/bare_app.py in a process of its own: the baseline, and the webhook receiver."""

    def __init__(self, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BareApp:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_for_port(self.port, [self.process], self.log)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=30)


def wait_for_port(port: int, processes: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a server exited:\n" + log.read_text())
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("a server did not start:\n" + log.read_text())


def cpu_seconds(pids: list[int]) -> float:
    """CPU time these processes have used, user and system."""
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


@contextlib.contextmanager
def profiling(folder: str | None, name: str, pid: int) -> Iterator[None]:
    """Record the API process with py-spy while the block runs, if asked to."""
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / (re.sub(r"[^\w.-]+", "_", name) + ".txt")
    spy = subprocess.Popen(
        ["py-spy", "record", "--pid", str(pid), "--rate", "100", "--format", "raw", "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        spy.wait(timeout=60)


def subscribe_everything(port: int, session: str, receiver: str) -> None:
    """A webhook for every event the API has, all to one receiver."""
    import httpx

    from landline.core.events import WEBHOOK_TYPES

    for webhook_type, names in WEBHOOK_TYPES.items():
        for event in names:
            answer = httpx.post(
                f"http://127.0.0.1:{port}/webhook/add",
                data={"session": session, "type": webhook_type, "event": event, "url": receiver},
                timeout=30,
            ).json()
            if not answer.get("success"):
                raise RuntimeError(f"webhook/add failed: {answer}")


def outbox_size(database_url: str | None, data_dir: Path) -> int:
    if database_url is None:
        import sqlite3

        with contextlib.closing(sqlite3.connect(data_dir / "landline.db", timeout=30)) as conn:
            query = "SELECT count(*) FROM messages WHERE due_at IS NOT NULL"
            return int(conn.execute(query).fetchone()[0])
    import psycopg

    schema = re.search(r"search_path%3D(\w+)", database_url)
    assert schema is not None
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {schema.group(1)}.messages WHERE due_at IS NOT NULL"
        ).fetchone()
        return int(row[0]) if row else 0


def drain(result: Result, database_url: str | None, data_dir: Path, limit: float) -> None:
    """Wait for the dispatcher to hand every accepted text to the carrier."""
    started = time.monotonic()
    result.backlog_after = outbox_size(database_url, data_dir)
    while time.monotonic() - started < limit:
        if outbox_size(database_url, data_dir) == 0:
            result.drained_in = time.monotonic() - started
            return
        time.sleep(0.25)


def load(
    args: argparse.Namespace, ports: list[int], forms: list[tuple[str, str]], result: Result
) -> Result:
    print(f"[{result.database}] {result.phase} ({args.client}) ...", flush=True)
    if args.client == "wrk":
        return drive_wrk(
            args.wrk,
            ports,
            forms,
            concurrency=args.concurrency,
            seconds=args.duration,
            warmup=args.warmup,
            result=result,
        )
    return drive(
        ports,
        build_requests(forms),
        concurrency=args.concurrency,
        seconds=args.duration,
        warmup=args.warmup,
        result=result,
    )


def bench_database(
    kind: str, processes: int, webhooks: bool, args: argparse.Namespace, bare: BareApp
) -> list[Result]:
    label = kind + (f" ×{processes}" if processes > 1 else "") + (" +webhooks" if webhooks else "")
    results = []
    with tempfile.TemporaryDirectory(prefix="landline-bench-") as tmp, database(kind) as url:
        server = Server(Path(tmp), url, args.receipt_delay_ms, processes)
        session = server.add_line()
        server.start()
        try:
            if webhooks:
                subscribe_everything(server.port, session, f"http://127.0.0.1:{bare.port}/hook")
            forms = build_forms("/message/send", session, 1, REQUESTS_PER_SHAPE)
            result = Result(label, "bare", 1, args.duration)
            cpu_before = cpu_seconds([bare.pid])
            load(args, [bare.port], forms, result)
            result.server_cpu_s = cpu_seconds([bare.pid]) - cpu_before
            results.append(result)
            shapes = [("noop", "/noop", 1)] + [
                (f"send-{c}", "/message/send", c) for c in args.contacts
            ]
            for phase, path, contacts in shapes:
                forms = build_forms(path, session, contacts, REQUESTS_PER_SHAPE)
                result = Result(label, phase, contacts, args.duration)
                cpu_before = cpu_seconds(server.pids())
                with profiling(args.profile, f"{label}-{phase}", server.processes[0].pid):
                    load(args, server.ports, forms, result)
                result.server_cpu_s = cpu_seconds(server.pids()) - cpu_before
                if phase != "noop":
                    drain(result, url, Path(tmp), args.drain)
                results.append(result)
        finally:
            server.stop()
            if args.show_log:
                print(server.log.read_text())
    return results


# --- reporting -------------------------------------------------------------------------


def machine_note() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import sqlite3

    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


def table(results: list[Result]) -> str:
    baseline = {(r.database, r.phase): r for r in results if r.phase in ("bare", "noop")}
    lines = [
        "| server | phase | requests/s | accepted msgs/s | p50 ms | p99 ms | vs bare Starlette"
        " | vs no-op | server CPU ms per request | errors | outbox after | drained in |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratios = []
        for name in ("bare", "noop"):
            base = baseline.get((r.database, name))
            measured = r.phase not in ("bare", "noop") and base is not None and base.rps
            ratios.append(f"{r.rps / base.rps:.2f}" if measured and base else "—")
        msgs = f"{r.msgs_per_s:,.0f}" if r.phase.startswith("send") else "—"
        measured_cpu = r.ok and not math.isnan(r.server_cpu_s)
        cpu = f"{1000 * r.server_cpu_s / r.ok:.2f}" if measured_cpu else "—"
        backlog = f"{r.backlog_after:,}" if r.backlog_after is not None else "—"
        if not r.phase.startswith("send"):
            drained = "—"
        elif r.drained_in is None:
            drained = "not in limit"
        else:
            drained = f"{r.drained_in:.1f} s"
        lines.append(
            f"| {r.database} | {r.phase} | {r.rps:,.0f} | {msgs} | {r.p50_ms:.1f}"
            f" | {r.p99_ms:.1f} | {ratios[0]} | {ratios[1]} | {cpu} | {r.errors}"
            f" | {backlog} | {drained} |"
        )
    return "\n".join(lines) + comparisons(results)


def comparisons(results: list[Result]) -> str:
    """The ratios between configurations that the run measured, as a list."""
    send = {r.database: r for r in results if r.phase == "send-1"}
    pairs = [
        ("postgresql", "sqlite", "one-contact sends, PostgreSQL against SQLite"),
        ("sqlite +webhooks", "sqlite", "one-contact sends on SQLite, webhooks on against off"),
        (
            "postgresql +webhooks",
            "postgresql",
            "one-contact sends on PostgreSQL, webhooks on against off",
        ),
        ("postgresql ×2", "postgresql", "two API processes and a worker against one and one"),
    ]
    found = [
        f"- {text}: {send[a].rps / send[b].rps:.2f}"
        for a, b, text in pairs
        if a in send and b in send and send[b].rps
    ]
    return "\n\n" + "\n".join(found) if found else ""


def write_docs(report: str) -> None:
    text = DOCS.read_text() if DOCS.exists() else f"# Benchmarks\n\n{DOC_BEGIN}\n{DOC_END}\n"
    if DOC_BEGIN not in text or DOC_END not in text:
        text += f"\n{DOC_BEGIN}\n{DOC_END}\n"
    before, rest = text.split(DOC_BEGIN, 1)
    _, after = rest.split(DOC_END, 1)
    DOCS.write_text(f"{before}{DOC_BEGIN}\n{report}\n{DOC_END}{after}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="sqlite,postgresql", help="sqlite, postgresql or both")
    parser.add_argument("--contacts", default="1,15", help="contacts per send request")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--drain", type=float, default=60.0, help="max seconds to empty outbox")
    parser.add_argument(
        "--receipt-delay-ms", type=int, default=1000, help="the simulated carrier's receipt delay"
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk if installed (auto), or the built-in asyncio client",
    )
    parser.add_argument(
        "--webhooks",
        choices=("off", "on", "both"),
        default="off",
        help="a webhook for every event, to a local receiver (both: each database twice)",
    )
    parser.add_argument(
        "--api-processes",
        default="1",
        help="API processes beside one worker, e.g. 1,2 (more than 1 needs PostgreSQL)",
    )
    parser.add_argument(
        "--profile", metavar="DIR", help="record the API process of each phase with py-spy"
    )
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    parser.add_argument("--show-log", action="store_true", help="print the server's log")
    args = parser.parse_args()
    args.contacts = [int(c) for c in args.contacts.split(",") if c]
    args.wrk = shutil.which("wrk")
    if args.client == "auto":
        args.client = "wrk" if args.wrk else "python"
    elif args.client == "wrk" and not args.wrk:
        parser.error("wrk is not installed (apt-get install wrk), use --client python")

    processes = [int(n) for n in args.api_processes.split(",") if n]
    webhooks = {"off": [False], "on": [True], "both": [False, True]}[args.webhooks]
    results: list[Result] = []
    with (
        tempfile.TemporaryDirectory(prefix="landline-bare-") as tmp,
        BareApp(Path(tmp) / "bare.log") as bare,
    ):
        for kind in [d.strip() for d in args.db.split(",") if d.strip()]:
            if kind not in ("sqlite", "postgresql"):
                parser.error(f"unknown database {kind}")
            for count in processes:
                if count > 1 and kind == "sqlite":
                    continue  # one SQLite file has one writer: more API processes share it
                for hooked in webhooks:
                    results.extend(bench_database(kind, count, hooked, args, bare))

    command = "python3 bench/load.py " + " ".join(sys.argv[1:])
    report = (
        f"Command: `{command.strip()}`  \n"
        f"Machine: {machine_note()}  \n"
        f"Run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"load from {args.client}, {args.concurrency} connections, "
        f"{args.duration:g} s per phase after "
        f"{args.warmup:g} s warm-up, simulator receipt delay {args.receipt_delay_ms} ms, "
        f"load average {os.getloadavg()[0]:.1f} at the end\n\n" + table(results)
    )
    print()
    print(report)
    if args.write_docs:
        write_docs(report)
        print(f"\nwrote {DOCS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
