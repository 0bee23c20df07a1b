"""The web inbox on a big line: time to the whole answer of its pages, and how long a
live update takes to reach an open page.

For each database it fills a line with --conversations conversations and --messages
messages (one conversation holds --big of them), starts `landline serve` (the real
command, in a subprocess) and measures, one request at a time over a kept-alive
connection: the API's /noop (the baseline every figure is a ratio to), the inbox page,
the first, a deep and a searched page of conversations, and the big conversation's
newest and a middle page of messages. Then, with a live stream open, it sends texts
through the API and times each from the send's answer (the text is stored) to its
event on the stream. Last, in this process, what putting the pages beside the API
costs an API request (the path test in landline/web/app.py), against calling the API
app directly.

    python3 bench/inbox.py [--db sqlite,postgresql] [--conversations 100000] \
        [--messages 1000000] [--big 5000] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from load import LINE_NUMBER, Server, database, landline_command

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from landline.core import ids
from landline.core.clock import SystemClock
from landline.store import conversations as conversation_rows
from landline.store import lines
from landline.store.access import Store
from landline.store.database import sqlite_url
from landline.store.schema import conversations, messages

CHUNK = 20_000
PASSWORD = "bench-password"


def seed(url: str, n_conversations: int, n_messages: int, big: int) -> str:
    """Fill the line; returns the big conversation's fingerprint."""
    store = Store(url, SystemClock())
    try:
        line = store.read_sync(lines.by_number, LINE_NUMBER)
        assert line is not None
        device = line.device_id
        now = int(time.time() * 1000)
        start = now - n_messages  # one message a millisecond, oldest first
        numbers = [f"+1{3000000000 + n}" for n in range(n_conversations)]
        prints = [ids.fingerprint(device, [n]) for n in numbers]
        contacts = [ids.contact_id(device, n) for n in numbers]
        rest = n_messages - big
        # Message i of the rest goes to conversation 1 + i % (n - 1); the big one is 0.
        last: dict[int, tuple[int, int, str]] = {}

        def message(i: int, conv: int) -> dict[str, Any]:
            at = start + i
            mid = ids.first_id_at(at) + (i % 4096)
            body = f"message {i} to {numbers[conv]}"
            last[conv] = (mid, at, body)
            return {
                "id": mid,
                "device_id": device,
                "root_id": mid,
                "fingerprint": prints[conv],
                "contact_id": contacts[conv],
                "direction": "MO" if i % 2 else "ZO",
                "line_number": line.number,
                "contact_number": numbers[conv],
                "body": body,
                "status": 6 if i % 2 == 0 else 0,
                "created_at": at,
                "updated_at": at,
                "attempts": 0,
                "ignore_opt_out": False,
            }

        def plan(i: int) -> int:
            # The big conversation's messages are spread over the whole history.
            step = max(n_messages // big, 1)
            if i % step == 0 and i // step < big:
                return 0
            return 1 + i % (n_conversations - 1)

        batch: list[dict[str, Any]] = []
        for i in range(n_messages):
            batch.append(message(i, plan(i)))
            if len(batch) >= CHUNK:
                rows = batch
                store.write_sync(lambda c, rows=rows: c.execute(messages.insert(), rows))
                batch = []
        if batch:
            store.write_sync(lambda c: c.execute(messages.insert(), batch))
        del rest
        convs = [
            conversation_rows.row(
                device, prints[n], numbers[n], mid, at, body, contacts[n], 1 if n % 3 else 0
            )
            for n, (mid, at, body) in last.items()
        ]
        for offset in range(0, len(convs), CHUNK):
            part = convs[offset : offset + CHUNK]
            store.write_sync(lambda c, part=part: c.execute(conversations.insert(), part))
        # What autovacuum does on its own a little later: the planner's statistics.
        store.write_sync(lambda c: c.exec_driver_sql("ANALYZE"))
        return prints[0]
    finally:
        store.close()


def timed(client: httpx.Client, samples: int, method: str, path: str, **kw: Any) -> list[float]:
    took = []
    for _ in range(samples):
        began = time.perf_counter()
        answer = client.request(method, path, **kw)
        took.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:200])
    return took


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def live_latency(server_url: str, client: httpx.Client, session: str, count: int) -> list[float]:
    """Send a text, then time its event's arrival on an open stream."""
    arrived: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def listen() -> None:
        own = httpx.Client(base_url=server_url, cookies=client.cookies, timeout=60)
        with own, own.stream("GET", "/web/live") as stream:
            ready.set()
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    if event.get("kind") == "message.send":
                        arrived[event["message"]] = time.perf_counter()
                if stop.is_set():
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(10)
    time.sleep(0.5)
    took = []
    for n in range(count):
        answer = client.post(
            "/message/send",
            data={"session": session, "contacts": "+12065550100", "body": f"live {n}"},
        ).json()
        stored = time.perf_counter()
        message_id = answer["response"]["tokens"][0]["message"]
        deadline = stored + 5
        while message_id not in arrived and time.perf_counter() < deadline:
            time.sleep(0.001)
        took.append((arrived.get(message_id, deadline) - stored) * 1000)
        time.sleep(0.05)
    stop.set()
    return took


def site_overhead(rounds: int) -> tuple[float, float]:
    """Microseconds per /noop request through the API app alone and through the site."""
    from landline.api.app import LandlineApi
    from landline.api.context import Services
    from landline.web.app import Site

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(sqlite_url(Path(tmp) / "x.db"), SystemClock())
        api = LandlineApi(Services(store, SystemClock(), None, lambda: None))  # type: ignore[arg-type]
        site = Site(api, simulator=True, timezone="UTC")
        scope = {
            "type": "http",
            "path": "/noop",
            "query_string": b"",
            "headers": [],
            "method": "GET",
            "client": ("127.0.0.1", 1),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(event: dict[str, Any]) -> None:
            return None

        async def run(app: Any) -> float:
            began = time.perf_counter()
            for _ in range(rounds):
                await app(scope, receive, send)
            return (time.perf_counter() - began) / rounds * 1e6

        results: dict[str, list[float]] = {"api": [], "site": []}
        for _ in range(5):
            results["api"].append(asyncio.run(run(api)))
            results["site"].append(asyncio.run(run(site)))
        store.close()
        return statistics.median(results["api"]), statistics.median(results["site"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--big", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--live", type=int, default=50)
    args = parser.parse_args()
    for kind in args.db.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(kind) as url:
            data_dir = Path(tmp)
            server = Server(data_dir, url, receipt_delay_ms=1000)
            made = subprocess.run(
                landline_command(
                    "admin",
                    "line",
                    "add",
                    LINE_NUMBER,
                    "--password",
                    PASSWORD,
                    "--data-dir",
                    str(data_dir),
                ),
                env=server.env,
                check=True,
                capture_output=True,
            )
            session = str(json.loads(made.stdout)["session"])
            store_url = url or sqlite_url(data_dir / "landline.db")
            began = time.monotonic()
            big = seed(store_url, args.conversations, args.messages, args.big)
            print(
                f"{kind}: seeded {args.conversations} conversations, {args.messages} messages "
                f"in {time.monotonic() - began:.0f} s",
                flush=True,
            )
            server.start()
            try:
                base = f"http://127.0.0.1:{server.port}"
                with httpx.Client(base_url=base, timeout=60) as client:
                    assert (
                        client.post(
                            "/web/login", data={"username": LINE_NUMBER, "password": PASSWORD}
                        ).status_code
                        == 303
                    )
                    first = client.get("/web/conversations").json()
                    assert len(first["conversations"]) == 40
                    deep_at = first["conversations"][-1]["at"] - args.messages // 2
                    rows = {
                        "API /noop (baseline)": timed(client, args.samples, "GET", "/noop"),
                        "inbox page /": timed(client, args.samples, "GET", "/"),
                        "conversations, first page": timed(
                            client, args.samples, "GET", "/web/conversations"
                        ),
                        "conversations, a page half-way down": timed(
                            client,
                            args.samples,
                            "GET",
                            "/web/conversations",
                            params={"at": deep_at, "fp": "0"},
                        ),
                        "conversations, search by number": timed(
                            client,
                            args.samples,
                            "GET",
                            "/web/conversations",
                            params={"q": "300000099"},
                        ),
                        f"conversation of {args.big}, newest page": timed(
                            client, args.samples, "GET", f"/web/conversation/{big}"
                        ),
                    }
                    middle = client.get(f"/web/conversation/{big}").json()["messages"][0]["id"]
                    rows[f"conversation of {args.big}, an older page"] = timed(
                        client,
                        args.samples,
                        "GET",
                        f"/web/conversation/{big}",
                        params={"before": str(int(middle) - 10**15)},
                    )
                    live = live_latency(base, client, session, args.live)
                baseline = statistics.median(rows["API /noop (baseline)"])
                print(f"\n{kind}: ms per request (whole answer), {args.samples} sequential")
                print("| request | p50 ms | p99 ms | p50 / baseline p50 |")
                print("|---|---:|---:|---:|")
                for name, took in rows.items():
                    p50 = statistics.median(took)
                    print(f"| {name} | {p50:.1f} | {pct(took, 99):.1f} | {p50 / baseline:.1f} |")
                print(
                    f"| live update, stored to on the page ({args.live} texts) | "
                    f"{statistics.median(live):.0f} | {pct(live, 99):.0f} | |",
                    flush=True,
                )
            finally:
                server.stop()
    api_us, site_us = site_overhead(20_000)
    print(
        f"\n/noop in process: API app {api_us:.1f} µs, through the site {site_us:.1f} µs "
        f"(ratio {site_us / api_us:.3f})"
    )


if __name__ == "__main__":
    main()
