"""Webhook attempts per second: `WebhookClient.attempt` against a bare aiohttp loop.

A local aiohttp receiver (its own process) answers 200 to every POST. Each phase keeps
`--concurrency` requests in flight for `--duration` seconds, posting a 1 KB signed JSON
body:

- bare: one aiohttp ClientSession, a prebuilt body and headers, nothing else;
- prebuilt: `WebhookClient.attempt` (URL guard, time limit, bounded read, outcome) with
  the same prebuilt request, to show what the client itself costs;
- attempt: `build_request` (JSON encoding, signing) and `WebhookClient.attempt` for
  every request, as the deliverer will do.

Phases take turns, twice over, so a busy machine weighs on all of them alike.

    python3 bench/webhook_attempts.py --duration 3 --concurrency 32
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from landline.core.address_policy import AddressPolicy
from landline.webhooks.attempts import WebhookClient
from landline.webhooks.outgoing import build_request
from landline.webhooks.signing import new_secret

PAYLOAD = {
    "body": "x" * 620,
    "bodySize": 620,
    "visible": True,
    "hasAttachment": False,
    "dateRead": None,
    "bcc": None,
    "finalDestination": "4257772300",
    "messageType": "MO",
    "deleted": False,
    "statusCode": 4,
    "id": 634151298329219072,
    "scheduledDate": None,
    "fingerprint": "132131532",
    "messageTransport": 9,
    "contactId": 3382213402,
    "address": "ptn:/4257772222",
    "read": True,
    "dateCreated": "2015-08-19T16:53:45-07:00",
    "dateDeleted": None,
    "dateDelivered": None,
    "cc": None,
    "finalSource": "4257772222",
    "deviceId": 299538202,
}


def _receive(port: int) -> None:
    async def ok(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def _phase(
    send: Callable[[int], Awaitable[bool]], concurrency: int, seconds: float
) -> tuple[float, float]:
    """Requests per second, and the client's CPU seconds per request."""
    done = failed = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done, failed
        n = 0
        while time.monotonic() < deadline:
            n += 1
            if await send(n):
                done += 1
            else:
                failed += 1

    started, cpu = time.monotonic(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if failed:
        print(f"  ({failed} failed)")
    return done / (time.monotonic() - started), (time.process_time() - cpu) / max(done, 1)


async def _run(url: str, concurrency: int, seconds: float) -> None:
    secret = new_secret()
    sample = build_request(
        url, "POST", PAYLOAD, message_id="msg_1", timestamp_s=int(time.time()), secrets=[secret]
    )
    assert sample.body is not None
    print(f"body: {len(sample.body)} bytes, concurrency {concurrency}, {seconds:g} s per phase")
    connector = aiohttp.TCPConnector(limit=1024, limit_per_host=256)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        WebhookClient(AddressPolicy.from_setting("127.0.0.0/8")) as client,
    ):

        async def bare(n: int) -> bool:
            async with session.post(url, data=sample.body, headers=sample.headers) as answer:
                await answer.read()
                return answer.status == 200

        async def prebuilt(n: int) -> bool:
            return (await client.attempt(sample)).ok

        async def attempt(n: int) -> bool:
            request = build_request(
                url,
                "POST",
                PAYLOAD,
                message_id=f"msg_{n}",
                timestamp_s=int(time.time()),
                secrets=[secret],
            )
            return (await client.attempt(request)).ok

        await _phase(bare, concurrency, 0.5)  # warm up both pools
        await _phase(attempt, concurrency, 0.5)
        phases = (("bare", bare), ("prebuilt", prebuilt), ("attempt", attempt))
        results: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in phases}
        for _ in range(2):
            for name, send in phases:
                rate, cpu = await _phase(send, concurrency, seconds)
                results[name].append((rate, cpu))
                print(f"  {name:8} {rate:8.0f} req/s {cpu * 1e6:6.0f} us client CPU/req")
        for name, runs in results.items():
            rate = sum(r for r, _ in runs) / len(runs)
            cpu = sum(c for _, c in runs) / len(runs)
            print(f"{name:8} mean {rate:8.0f} req/s {cpu * 1e6:6.0f} us client CPU/req")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    receiver = multiprocessing.Process(target=_receive, args=(port,), daemon=True)
    receiver.start()
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        asyncio.run(_run(f"http://127.0.0.1:{port}/hook", args.concurrency, args.duration))
    finally:
        receiver.terminate()
        receiver.join(5)


if __name__ == "__main__":
    main()
