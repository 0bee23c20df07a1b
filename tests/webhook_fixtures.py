"""What the webhook tests share: real receivers on loopback, and a server to drive.

A `Receiver` is an aiohttp server in a thread of its own, so tests that drive the
Landline server synchronously can watch it. It answers as its `mode` says: `ok` (200),
`slow` (200 after `delay` seconds), `fail` (500), `redirect` (302), `hang` (no answer
until released), or `close` (hangs up without answering).
"""

from __future__ import annotations

import asyncio
import json
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from aiohttp import web
from conftest import Landline, free_port, ok
from sqlalchemy import select
from standardwebhooks import Webhook

from landline.core.clock import Clock
from landline.runtime import Runtime
from landline.settings import Settings
from landline.store.schema import deliveries, delivery_failures, webhook_hosts

LOOPBACK = "127.0.0.0/8,::1/128"
LINE = "2065550123"
HANDSET = "+12065550100"


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    # How the receiver answered it.
    answered: str = "ok"
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def fields(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def event_id(self) -> int:
        return int(self.webhook_id.removeprefix("msg_"))

    def verify(self, secret: str) -> Any:
        """The payload, if `secret` signed it (standardwebhooks checks the time too)."""
        if self.method == "GET":
            return Webhook(secret).verify(self.query, self.headers, json_parse=False)
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    """A webhook receiver on a loopback port of its own."""

    def __init__(
        self, mode: str = "ok", *, ssl_context: ssl.SSLContext | None = None, delay: float = 0.05
    ) -> None:
        self.mode = mode
        self.delay = delay
        self.seen: list[Seen] = []
        self._ssl = ssl_context
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._release: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self.port = free_port()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    @property
    def base(self) -> str:
        scheme = "https" if self._ssl else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """The queue its deliveries wait in (scheme://host:port)."""
        return self.base

    def url(self, path: str = "/hook") -> str:
        return self.base + path

    async def _start(self) -> None:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app, shutdown_timeout=1, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._ssl).start()

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        seen = Seen(
            request.method,
            request.path,
            request.rel_url.raw_query_string,
            dict(request.headers),
            await request.read(),
            self.mode,
        )
        mode = seen.answered
        with self._changed:
            self.seen.append(seen)
            self._changed.notify_all()
        if mode == "slow":
            await asyncio.sleep(self.delay)
        if mode == "fail":
            return web.Response(status=500, text="receiver down")
        if mode == "redirect":
            raise web.HTTPFound(location="/elsewhere")
        if mode == "hang":
            assert self._release is not None
            await asyncio.wait_for(self._release.wait(), timeout=60)
            return web.Response(status=200, text="late")
        if mode == "close":
            assert request.transport is not None
            request.transport.close()
            raise ConnectionResetError("hung up")
        return web.Response(status=200, text="thanks")

    def release(self) -> None:
        """Let every hanging answer finish (with 200)."""
        assert self._release is not None
        self._loop.call_soon_threadsafe(self._release.set)

    def wait_for(self, count: int, timeout: float = 15) -> list[Seen]:
        """The first `count` requests, once they have come."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.seen) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.seen)} of {count} deliveries came")
                self._changed.wait(left)
            return list(self.seen[:count])

    def stop(self) -> None:
        self.release()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


# -- a server whose webhook engine the test drives


def start_server(
    db_url: str,
    tmp_path: Path,
    clock: Clock | None = None,
    *,
    workers: bool = False,
    runtime_options: dict[str, Any] | None = None,
    **settings: Any,
) -> Landline:
    """A server that may deliver to loopback. Without `workers`, nothing runs by itself:
    the test settles carriers (`settle`) and webhooks (`deliver`)."""
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "sim_receipt_delay_ms": 0,
        "poll_interval_ms": 50,
        "webhook_allow_nets": LOOPBACK,
    }
    base.update(settings)
    runtime = Runtime(Settings(**base), clock=clock, workers=workers, **(runtime_options or {}))
    server = Landline(runtime, free_port())
    server.start()
    return server


def deliver(server: Landline) -> None:
    """Make every webhook delivery due now, and wait until each is recorded."""
    server.run(server.runtime.webhooks.settle)


def add_webhook(
    server: Landline,
    session: str,
    url: str,
    event: str = "receive",
    *,
    type: str = "message",
    method: str | None = None,
) -> int:
    params = {"session": session, "type": type, "event": event, "url": url}
    if method is not None:
        params["method"] = method
    # Not server.call: its own `method` is the HTTP method.
    return int(ok(server.http.post("/webhook/add", data=params).json())[0]["webhookId"])


def secret_of(server: Landline, session: str) -> str:
    return str(ok(server.call("/webhook/secret", session=session))["secret"])


def delivery(server: Landline, event_id: int) -> Any:
    return server.store.read_sync(
        lambda c: c.execute(select(deliveries).where(deliveries.c.event_id == event_id)).one()
    )


def all_deliveries(server: Landline) -> list[Any]:
    return list(
        server.store.read_sync(
            lambda c: c.execute(select(deliveries).order_by(deliveries.c.event_id)).all()
        )
    )


def failures(server: Landline, event_id: int) -> list[Any]:
    return list(
        server.store.read_sync(
            lambda c: c.execute(
                select(delivery_failures)
                .where(delivery_failures.c.event_id == event_id)
                .order_by(delivery_failures.c.attempt)
            ).all()
        )
    )


def host_row(server: Landline, host: str) -> Any:
    return server.store.read_sync(
        lambda c: c.execute(select(webhook_hosts).where(webhook_hosts.c.host == host)).one_or_none()
    )


def text_the_line(server: Landline, body: str, source: str = HANDSET, line: str = LINE) -> None:
    """A simulated handset texts the line, and the server takes the text in."""
    server.handset_texts(source, line, body)
    server.settle()


# -- real processes


class Process:
    """`landline serve` or `landline worker` as a child process, with its own log."""

    def __init__(self, data_dir: Path, env: dict[str, str], *args: str, name: str) -> None:
        self.data_dir = data_dir
        self.env = env
        self.args = args
        self.name = name
        self.port = free_port() if args and args[0] == "serve" else None
        self.process: subprocess.Popen[bytes] | None = None
        self._starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def landline(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "landline", *args, "--data-dir", str(self.data_dir)],
            env=self.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        return done.stdout.decode()

    def start(self) -> None:
        self._starts += 1
        log_path = self.data_dir.parent / f"{self.name}-{self._starts}.log"
        command = [sys.executable, "-m", "landline", *self.args, "--data-dir", str(self.data_dir)]
        if self.port is not None:
            command += ["--port", str(self.port)]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        if self.port is None:
            self._wait_for_log(log_path, b"worker running")
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {log_path.read_text()[-2000:]}")
            try:
                httpx.get(self.url + "/openapi.json", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start listening")

    def _wait_for_log(self, path: Path, marker: bytes) -> None:
        deadline = time.monotonic() + 60
        assert self.process is not None
        while marker not in path.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start: {path.read_text()[-2000:]}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
