"""End-to-end SMPP benchmark: HTTP `message/send` into Landline, through the SMPP
connector, to the SMSC simulator in a process of its own, with delivery receipts on.

For each database it starts the SMSC simulator (this file with `--serve-smsc`, which
prints its count of accepted submit_sm ten times a second), then `landline serve`
routing +1 to it (`LANDLINE_SMPP_MAIN`), and drives `message/send` for `--duration`
seconds per phase (1 contact per request, then 15), as bench/load.py does. It reports:

- accepted msgs/s: message tokens the API answered, per second of load;
- submit_sm/s: submit_sm the SMSC accepted while the load ran (its own count), and that
  over the accepted rate (1.0: sending kept up);
- receipts/s: texts that reached status 6 (delivered, by receipt) while the load ran;
- backlog: texts still waiting in the outbox when the load stopped, and how long they
  took to drain;
- p50/p99 accept to submit: from the API's accept (`messages.created_at`) to the
  connector's record of the SMSC's submit_sm_resp (`smpp_submits.submitted_at`), so an
  upper bound of accept to submit_sm;

and, in the same run, the SMSC simulator's own ceiling: our SMPP session alone (no
Landline) blasting a fresh simulator, without and with receipts (bench/smpp.py).

    python3 bench/smpp_e2e.py                    # SQLite, 1 and 15 contacts, 10 s each
    python3 bench/smpp_e2e.py --db sqlite postgresql --duration 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from load import (
    PG_ADMIN_URL,
    Result,
    Server,
    build_forms,
    build_requests,
    database,
    drive,
    drive_wrk,
    free_port,
    machine_note,
    outbox_size,
)

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = ("bench", "bench")


# --- the SMSC simulator, as a process that reports its count -------------------------------


def serve_smsc(port: int, receipt_delay: float) -> None:
    from landline.carriers.smpp.smsc import Behaviour, ReceiptPlan, SmscConfig, SmscSimulator

    async def run() -> None:
        smsc = SmscSimulator(
            SmscConfig(port=port, accounts=dict([ACCOUNT]), record_limit=0, window=256)
        )
        smsc.default = Behaviour.accept(ReceiptPlan(delay=receipt_delay))
        await smsc.start()
        print("READY", flush=True)
        while True:
            print(f"STATS {time.time():.3f} {smsc.submitted}", flush=True)
            await asyncio.sleep(0.1)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


class SmscProcess:
    def __init__(self, receipt_delay: float) -> None:
        self.port = free_port()
        self.samples: list[tuple[float, int]] = []
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-smsc", str(self.port), str(receipt_delay)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "READY"
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("STATS "):
                _, at, count = line.split()
                self.samples.append((float(at), int(count)))

    def submitted_at(self, when: float) -> int:
        """The simulator's count at the last sample before `when` (wall clock)."""
        before = [count for at, count in self.samples if at <= when]
        return before[-1] if before else 0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# --- one database ------------------------------------------------------------------------


@dataclass
class Phase:
    database: str
    carrier: str
    contacts: int
    result: Result
    submits_per_s: float = 0.0
    receipts_per_s: float = 0.0
    backlog: int = 0
    drained_s: float | None = None
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")


def query(url: str | None, data_dir: Path, sql: str) -> list[tuple[int, ...]]:
    if url is None:
        import sqlite3

        with contextlib.closing(sqlite3.connect(data_dir / "landline.db", timeout=30)) as conn:
            return list(conn.execute(sql).fetchall())
    import psycopg

    schema = re.search(r"search_path%3D(\w+)", url)
    assert schema is not None
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema.group(1)}")
        return list(conn.execute(sql).fetchall())  # type: ignore[arg-type]


def bench_database(kind: str, carrier: str, args: argparse.Namespace) -> list[Phase]:
    """`carrier` "smpp": through the connector to the simulator process; "simulator": the
    built-in simulated network (no SMPP), the baseline of the same run."""
    phases: list[Phase] = []
    smsc = SmscProcess(args.receipt_delay) if carrier == "smpp" else None
    with tempfile.TemporaryDirectory(prefix="landline-smpp-") as tmp, database(kind) as url:
        data_dir = Path(tmp)
        server = Server(data_dir, url, int(args.receipt_delay * 1000))
        server.env.update(
            {
                "LANDLINE_SPAM_PER_MINUTE": "0",
                "LANDLINE_SPAM_PER_DAY": "0",
                "LANDLINE_SPAM_SAME_BODY_CONTACTS": "0",
            }
        )
        if smsc is not None:
            server.env["LANDLINE_ROUTES"] = "+1=smpp:main"
            server.env["LANDLINE_SMPP_MAIN"] = (
                f"smpp://{ACCOUNT[0]}:{ACCOUNT[1]}@127.0.0.1:{smsc.port}"
                f"?window={args.window}&binds={args.binds}"
            )
        session = server.add_line()
        server.start()
        try:
            time.sleep(1.0)  # the binds
            for contacts in args.contacts:
                forms = build_forms("/message/send", session, contacts, 4000)
                result = Result(kind, f"send-{contacts}", contacts, args.duration)
                print(f"[{kind}, {carrier}] send-{contacts} ...", flush=True)
                started = time.time()
                if args.client == "wrk":
                    drive_wrk(
                        args.wrk,
                        [server.port],
                        forms,
                        concurrency=args.concurrency,
                        seconds=args.duration,
                        warmup=0,
                        result=result,
                    )
                else:
                    drive(
                        [server.port],
                        build_requests(forms),
                        concurrency=args.concurrency,
                        seconds=args.duration,
                        warmup=0,
                        result=result,
                    )
                ended = time.time()
                phase = Phase(kind, carrier, contacts, result)
                time.sleep(0.2)  # one more sample from the simulator
                seconds = ended - started
                start_ms, end_ms = int(started * 1000), int(ended * 1000)
                if smsc is not None:
                    submitted = smsc.submitted_at(ended) - smsc.submitted_at(started)
                else:
                    [(submitted,)] = query(
                        url,
                        data_dir,
                        "SELECT count(*) FROM messages WHERE direction = 'ZO' "
                        f"AND sent_at BETWEEN {start_ms} AND {end_ms}",
                    )
                phase.submits_per_s = submitted / seconds
                phase.backlog = outbox_size(url, data_dir)
                drain_start = time.monotonic()
                while time.monotonic() - drain_start < args.drain:
                    if outbox_size(url, data_dir) == 0:
                        phase.drained_s = time.monotonic() - drain_start
                        break
                    time.sleep(0.1)
                [(delivered,)] = query(
                    url,
                    data_dir,
                    "SELECT count(*) FROM messages WHERE status = 6 "
                    f"AND ended_at BETWEEN {start_ms} AND {end_ms}",
                )
                phase.receipts_per_s = delivered / seconds
                handed_at = (
                    "SELECT s.submitted_at - m.created_at FROM smpp_submits s "
                    "JOIN messages m ON m.id = s.message_id "
                    if smsc is not None
                    else "SELECT m.sent_at - m.created_at FROM messages m "
                )
                waits = sorted(
                    row[0]
                    for row in query(
                        url,
                        data_dir,
                        handed_at + f"WHERE m.direction = 'ZO' AND m.sent_at IS NOT NULL "
                        f"AND m.created_at BETWEEN {start_ms} AND {end_ms}",
                    )
                )
                if waits:
                    phase.p50_ms = float(waits[len(waits) // 2])
                    phase.p99_ms = float(waits[min(len(waits) - 1, int(len(waits) * 0.99))])
                phases.append(phase)
        finally:
            server.stop()
            if smsc is not None:
                smsc.stop()
    return phases


# --- the simulator's ceiling ---------------------------------------------------------------


def ceiling(count: int, window: int) -> tuple[float, float]:
    """submit_sm/s our session alone gets from a fresh simulator, without and with
    receipts (bench/smpp.py's `landline` and `landline+receipts` clients)."""
    import smpp as bare

    rates = []
    for client in ("landline", "landline+receipts"):
        rates.append(bare.run_once("smsc", client, count, window).rate)
    return rates[0], rates[1]


# --- reporting -------------------------------------------------------------------------


def table(phases: list[Phase]) -> str:
    lines = [
        "| database | carrier | contacts/request | accepted msgs/s | handed over/s during load | "
        "handed/accepted | receipts/s | backlog at end | drained in | "
        "p50 ms accept→handed | p99 ms | SMPP/simulator accepted |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    baseline = {
        (p.database, p.contacts): p.result.accepted_messages / p.result.seconds
        for p in phases
        if p.carrier == "simulator"
    }
    for p in phases:
        accepted = p.result.accepted_messages / p.result.seconds
        base = baseline.get((p.database, p.contacts))
        versus = f"{accepted / base:.2f}" if base and p.carrier == "smpp" else "—"
        ratio = p.submits_per_s / accepted if accepted else float("nan")
        drained = f"{p.drained_s:.1f} s" if p.drained_s is not None else "not drained"
        lines.append(
            f"| {p.database} | {p.carrier} | {p.contacts} | {accepted:,.0f} | "
            f"{p.submits_per_s:,.0f} | {ratio:.2f} | {p.receipts_per_s:,.0f} | {p.backlog:,} | "
            f"{drained} | {p.p50_ms:,.0f} | {p.p99_ms:,.0f} | {versus} |"
        )
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-smsc":
        serve_smsc(int(sys.argv[2]), float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", nargs="+", default=["sqlite"], choices=["sqlite", "postgresql"])
    parser.add_argument("--contacts", nargs="+", type=int, default=[1, 15])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--window", type=int, default=64, help="per bind")
    parser.add_argument("--binds", type=int, default=2)
    parser.add_argument("--receipt-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--drain", type=float, default=120.0, help="seconds to wait at most")
    parser.add_argument("--ceiling-count", type=int, default=20_000)
    parser.add_argument("--client", choices=["wrk", "asyncio"], default=None)
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the same phases with the built-in simulated network",
    )
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk")
    args = parser.parse_args()
    if args.client is None:
        args.client = "wrk" if shutil.which(args.wrk) else "asyncio"
    bare, with_receipts = ceiling(args.ceiling_count, 64)
    carriers = ["simulator", "smpp"] if args.baseline else ["smpp"]
    phases = [
        phase
        for kind in args.db
        for carrier in carriers
        for phase in bench_database(kind, carrier, args)
    ]
    print()
    print(machine_note())
    print(
        f"Load from {args.client}, {args.concurrency} connections, {args.duration:g} s per "
        f"phase; SMPP window {args.window} x {args.binds} binds; receipts after "
        f"{args.receipt_delay:g} s"
    )
    print()
    print(table(phases))
    print()
    print(
        f"SMSC simulator ceiling (our session alone, {args.ceiling_count:,} submit_sm, window "
        f"64): {bare:,.0f} submit_sm/s; {with_receipts:,.0f} texts/s with receipts"
    )


if __name__ == "__main__":
    main()
