"""Pure dispatch: how fast the workers send texts that are already queued.

Queues 20,000 one-recipient texts straight into a new store (no HTTP), then starts
`landline worker` (the real command, in its own process) with the simulated network's
receipts after 10 ms, and waits until every text has its final status. The rate is
taken from the store's own times: texts over the span from the first hand-over to
the last final status, so the worker's start-up is not counted.

    python3 bench/dispatch.py [--texts 20000] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import LINE_NUMBER, Server, database, machine_note
from sqlalchemy import func, select

from landline.core import outbound
from landline.core.clock import SystemClock
from landline.runtime import database_url
from landline.settings import Settings
from landline.store import lines, sends
from landline.store.access import Store
from landline.store.schema import messages

CHUNK = 500


def queue_texts(store: Store, count: int) -> None:
    line = store.read_sync(lines.by_number, LINE_NUMBER)
    assert line is not None
    now = store.clock.now_ms()
    # Numbers ending 1000-9999: the simulator's rules for 0001-0005 (fail, never
    # confirm, ...) stay out of a measure of speed.
    numbers = [f"+1{206 + n // 9000}555{1000 + n % 9000:04d}" for n in range(count)]
    plans = [
        outbound.plan_send(
            device_id=line.device_id,
            line_number=line.number,
            numbers=[number],
            body="Your table is ready.",
            now=now,
            scheduled_at=None,
            next_id=store.ids.next_id,
        )
        for number in numbers
    ]
    for start in range(0, len(plans), CHUNK):
        chunk = plans[start : start + CHUNK]
        store.write_sync(lambda c, chunk=chunk: sends.record_sends(c, chunk))


def span(store: Store) -> tuple[int, int, int]:
    """(texts ended, first hand-over, last end) in epoch milliseconds."""
    row = store.read_sync(
        lambda c: c.execute(
            select(
                func.count(messages.c.ended_at),
                func.min(messages.c.sent_at),
                func.max(messages.c.ended_at),
            )
        ).one()
    )
    return int(row[0]), int(row[1] or 0), int(row[2] or 0)


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used, user and system: steadier than the wall clock on a
    machine that other work shares."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--db", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--receipt-delay-ms", type=int, default=10)
    parser.add_argument("--profile", metavar="FILE", help="record the worker with py-spy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="landline-dispatch-") as tmp, database(args.db) as url:
        data_dir = Path(tmp)
        server = Server(data_dir, url, args.receipt_delay_ms)
        server.add_line()
        settings = Settings(data_dir=data_dir, database_url=url or "")
        store = Store(database_url(settings), SystemClock())
        queue_texts(store, args.texts)
        print(f"queued {args.texts} texts; starting the worker", flush=True)
        load_before = os.getloadavg()[0]
        profile = [
            "py-spy", "record", "--rate", "200", "--format", "raw", "-o", args.profile, "--"
        ] if args.profile else []
        worker = subprocess.Popen(
            [*profile, sys.executable, "-m", "landline", "worker", "--data-dir", str(data_dir)],
            env=server.env,
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 600
            while True:
                ended, first, last = span(store)
                if ended >= args.texts:
                    break
                if time.monotonic() > deadline or worker.poll() is not None:
                    raise RuntimeError(f"only {ended} of {args.texts} texts ended")
                time.sleep(0.2)
            cpu = cpu_seconds(worker.pid) if not args.profile else float("nan")
        finally:
            # py-spy writes its profile on an interrupt; the worker stops on either.
            worker.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
            worker.wait(timeout=60)
            store.close()
        seconds = (last - first) / 1000
        print(f"Machine: {machine_note()}; load average {load_before:.1f} at the start")
        print(
            f"{args.db}: {args.texts} texts, first hand-over to last final status in "
            f"{seconds:.2f} s: {args.texts / seconds:,.0f} texts/s (receipts after "
            f"{args.receipt_delay_ms} ms); the worker used {cpu:.1f} CPU s: "
            f"{args.texts / cpu:,.0f} texts per CPU second"
        )


if __name__ == "__main__":
    main()
