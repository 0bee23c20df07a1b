"""Test harness: a real Landline server on a real socket, on SQLite and on PostgreSQL.

`landline` (the fixture) starts the server in this process on a free port, with the
simulator carrier and, where a test asks for one, a clock the test drives. Store tests
run twice, once per database, through the `db_url` fixture.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import hypothesis
import psycopg
import pytest
import uvicorn

from landline import accounts
from landline.core import numbers
from landline.core.clock import Clock, ManualClock
from landline.http.server import build_server
from landline.runtime import Runtime
from landline.settings import Settings

# The machine running the suite may be busy: a property test's examples are judged by
# what they find, not by how long one took.
hypothesis.settings.register_profile("landline", deadline=None)
hypothesis.settings.load_profile("landline")

PG_ADMIN_URL = os.environ.get("LANDLINE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A new, empty PostgreSQL schema: (its name, a database URL that uses it)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield schema, f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'landline.db'}"
        return
    with postgres_schema() as (_, url):
        yield url


class InProcess(httpx.BaseTransport):
    """Requests handed straight to the running server's ASGI app, on the server's own
    event loop: the same app, store and workers as over the socket, without the socket
    and uvicorn's HTTP parsing. For tests of what the API answers; tests of the
    transport itself (limits, timeouts, connections, crashes) keep the real socket."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def call() -> httpx.Response:
            response = await self._asgi.handle_async_request(request)
            body = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=body)

        return asyncio.run_coroutine_threadsafe(call(), self._loop).result(timeout=60)


class Landline:
    """A running server and what tests need to drive it.

    `http` (and so `call`) goes over a real socket, or with `in_process` straight to
    the app on the server's loop (see `InProcess`); `url` is always the real socket.
    """

    def __init__(self, runtime: Runtime, port: int, *, in_process: bool = False) -> None:
        self.runtime = runtime
        self.url = f"http://127.0.0.1:{port}"
        self.in_process = in_process
        self.http = httpx.Client(base_url=self.url, timeout=30)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def clock(self) -> Clock:
        return self.runtime.clock

    @property
    def store(self) -> Any:
        return self.runtime.store

    def app(self) -> Any:
        """What the server serves: the API (the web pages' tests serve the whole site)."""
        return self.runtime.api()

    def start(self) -> None:
        """Serve on an asyncio loop of its own, with the production server and limits."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", int(self.url.rsplit(":", 1)[1])))
        app = self.app()
        self._server = build_server(app, self.runtime.settings)
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
        if self.in_process:
            assert self._loop is not None
            self.http.close()
            self.http = httpx.Client(
                base_url=self.url, transport=InProcess(app, self._loop), timeout=30
            )

    def stop(self) -> None:
        self.http.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        """Run a coroutine on the server's own event loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(make(), self._loop).result(timeout=60)

    def settle(self, rounds: int = 50) -> None:
        """Let the dispatcher and the simulated network finish everything due now.

        The server's own background workers may hold some of that work under a lease;
        settling waits for them too, so a test never looks before the work is done.
        """
        for _ in range(rounds):
            busy = self.run(self.runtime.dispatcher.run_once)
            busy += self.run(lambda: self.runtime.simulator.run_once(self.runtime.carrier_events))
            if busy:
                continue
            if not self.store.read_sync(_pending_work, self.clock.now_ms()):
                return
            time.sleep(0.01)
        raise AssertionError("work still pending after settling")

    # -- the API, as a client sees it

    def call(self, path: str, method: str = "POST", **params: Any) -> dict[str, Any]:
        """Call an endpoint with a form body; returns the decoded JSON answer."""
        if method == "GET":
            response = self.http.get(path, params=params)
        else:
            response = self.http.post(path, data=params)
        return response.json()  # type: ignore[no-any-return]

    def add_line(
        self,
        number: str,
        *,
        password: str | None = "secret",
        mms: bool = False,
        timezone: str = "America/Los_Angeles",
    ) -> tuple[int, str]:
        """Create a line as `landline admin line add` does; returns (device id, session key)."""
        line = accounts.add_line(
            self.store,
            number=numbers.to_e164(number),
            mms=mms,
            timezone=timezone,
            password=password,
            help_text="Acme help: call 206-555-0123",
            verified_by="tests",
        )
        return line.device_id, line.session

    def carrier_copies(self, message_id: int) -> int:
        """How many times the simulated network holds this text (1 once it was sent)."""
        from sqlalchemy import func, select

        from landline.store.schema import sim_submissions

        count = self.store.read_sync(
            lambda c: c.execute(
                select(func.count())
                .select_from(sim_submissions)
                .where(sim_submissions.c.message_id == message_id)
            ).scalar_one()
        )
        return int(count)

    def handset_texts(self, source: str, line: str, body: str) -> None:
        """A simulated handset texts a line (as `landline sim text` does)."""
        from landline.store.simulator import handset_text

        text_id, now = self.store.ids.next_id(), self.clock.now_ms()
        self.store.write_sync(
            lambda c: handset_text(
                c,
                text_id=text_id,
                source=numbers.to_e164(source),
                destination=numbers.to_e164(line),
                body=body,
                now=now,
            )
        )


def _pending_work(connection: Any, now: int) -> int:
    """Rows due now that someone has yet to finish: outbox, receipts, handset texts."""
    from sqlalchemy import func, select

    from landline.store import outbox
    from landline.store.schema import sim_inbound, sim_submissions

    count = outbox.waiting(connection, now)
    for table, where in (
        (sim_submissions, sim_submissions.c.done.is_(False) & (sim_submissions.c.due_at <= now)),
        (sim_inbound, sim_inbound.c.done.is_(False)),
    ):
        count += connection.execute(
            select(func.count()).select_from(table).where(where)
        ).scalar_one()
    return int(count)


def start_landline(
    db_url: str, tmp_path: Path, clock: Clock | None = None, **settings: Any
) -> Landline:
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "sim_receipt_delay_ms": 0,
        "poll_interval_ms": 50,
    }
    base.update(settings)
    runtime = Runtime(Settings(**base), clock=clock)
    server = Landline(runtime, free_port())
    server.start()
    return server


@pytest.fixture
def landline(db_url: str, tmp_path: Path) -> Iterator[Landline]:
    """A server on the real clock, with instant delivery receipts."""
    server = start_landline(db_url, tmp_path)
    yield server
    server.stop()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed_landline(db_url: str, tmp_path: Path, manual_clock: ManualClock) -> Iterator[Landline]:
    """A server whose clock moves only when the test advances it."""
    server = start_landline(db_url, tmp_path, clock=manual_clock, sim_receipt_delay_ms=1000)
    yield server
    server.stop()


def start_quiet_landline(
    db_url: str,
    tmp_path: Path,
    clock: Clock | None = None,
    *,
    in_process: bool = False,
    **settings: Any,
) -> Landline:
    """A server without background workers: carrier work happens only in `settle()`.

    With workers running, a worker can claim a row that `settle()` then sees leased and
    skips, so `settle()` may return before that work is done.
    """
    base: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": db_url,
        "sim_receipt_delay_ms": 0,
        "poll_interval_ms": 50,
    }
    base.update(settings)
    runtime = Runtime(Settings(**base), clock=clock, workers=False)
    server = Landline(runtime, free_port(), in_process=in_process)
    server.start()
    return server


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_landline(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Landline]:
    """One quiet server per test module and database, for tests that each create their
    own line: starting a server costs about half a second, too much to pay per API check.

    Its `http` and `call` reach the app in-process (`InProcess`) unless the module is
    marked `pytest.mark.real_socket` (transport tests)."""
    tmp_path = tmp_path_factory.mktemp("shared")
    schema = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'landline.db'}"
    else:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    in_process = request.node.get_closest_marker("real_socket") is None
    server = start_quiet_landline(url, tmp_path, in_process=in_process)
    try:
        yield server
    finally:
        server.stop()
        if schema is not None:
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


# -- helpers the test modules share


@pytest.fixture
def server(shared_landline: Landline) -> Landline:
    """The module's shared server (modules with a server of their own override this)."""
    return shared_landline


class Line(NamedTuple):
    device_id: int
    key: str
    number: str


_line_numbers = itertools.count(1)


def fresh_line(
    server: Landline,
    *,
    password: str | None = None,
    timezone: str = "America/Los_Angeles",
    mms: bool = False,
) -> Line:
    """A new line of its own on a shared server: (device id, session key, number).
    Numbers are unique across the test run, so modules may share a server."""
    number = f"+1425{5550000 + next(_line_numbers):07d}"
    device_id, key = server.add_line(number, password=password, timezone=timezone, mms=mms)
    return Line(device_id, key, number)


def ok(answer: dict[str, Any]) -> Any:
    """The `response` of a successful answer (fails the test on an error envelope)."""
    assert answer["success"] is True, answer
    return answer["response"]


def send(server: Landline, key: str, contacts: Any, body: str = "hi", **more: Any) -> Any:
    """message/send, which must succeed; returns its `response`."""
    return ok(server.call("/message/send", session=key, contacts=contacts, body=body, **more))


def get_message(server: Landline, key: str, message_id: int) -> dict[str, Any]:
    """message/get, which must succeed; the message."""
    found: dict[str, Any] = ok(server.call("/message/get", session=key, id=str(message_id)))
    return found


def history(server: Landline, key: str, message_id: int) -> list[int]:
    """The status codes a message went through, oldest first (its statusHistory)."""
    return [step["statusCode"] for step in get_message(server, key, message_id)["statusHistory"]]
