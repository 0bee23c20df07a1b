"""The web inbox over real HTTP (no browser): sign-in, cookies, CSRF, the browser's
bridge to the API, keyset pages, the live stream's limits; on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from landline.http.server import build_server
from landline.runtime import Runtime
from landline.settings import Settings
from landline.web import browser
from tests.conftest import Landline, free_port

LINE = "2065550123"
HANDSET = "+12065550100"


class SiteLandline(Landline):
    """A running server that serves the web pages beside the API, as `landline serve`."""

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(self.url.rsplit(":", 1)[1])))
        self.site = self.runtime.site()
        self._server = build_server(self.site, self.runtime.settings)
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            ready.set()
            loop.run_until_complete(self._server.serve(sockets=[listener]))  # type: ignore[union-attr]

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.01)


def start_site(db_url: str, tmp_path: Path, **settings: Any) -> SiteLandline:
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "sim_receipt_delay_ms": 0,
        "poll_interval_ms": 50,
    }
    base.update(settings)
    server = SiteLandline(Runtime(Settings(**base)), free_port())
    server.start()
    return server


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Iterator[SiteLandline]:
    server = start_site(db_url, tmp_path)
    yield server
    server.stop()


def sign_in(site: SiteLandline, username: str = LINE, password: str = "secret") -> httpx.Client:
    client = httpx.Client(base_url=site.url, timeout=30)
    answer = client.post("/web/login", data={"username": username, "password": password})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    return browser.csrf_token(client.cookies[browser.COOKIE])


def test_smoke(site: SiteLandline) -> None:
    site.add_line(LINE)
    client = sign_in(site)
    page = client.get("/")
    assert "Inbox" in page.text
    sent = client.post("/web/call/message/send", json={"contacts": HANDSET, "body": "hi"},
                       headers={"x-csrf-token": csrf_of(client)})
    assert sent.json()["success"], sent.text
    listed = client.get("/web/conversations").json()
    assert listed["conversations"][0]["last"] == "hi"
