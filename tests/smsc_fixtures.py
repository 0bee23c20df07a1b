"""The SMSC simulator on a thread of its own, for tests that drive Landline through its
API (which runs on another thread) and watch the PDUs arrive over real TCP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from conftest import Landline, start_landline

from landline.carriers.smpp.smsc import SmscConfig, SmscSimulator

T = TypeVar("T")


class SmscThread:
    def __init__(self, config: SmscConfig | None = None) -> None:
        self.loop = asyncio.new_event_loop()
        self.smsc = SmscSimulator(config or SmscConfig())
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.run(self.smsc.start)

    def stop(self) -> None:
        self.run(self.smsc.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)

    @property
    def port(self) -> int:
        return self.smsc.port

    def run(self, make: Callable[[], Coroutine[Any, Any, T]], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout)

    def call(self, fn: Callable[[], T]) -> T:
        """Run a plain function on the simulator's loop (its state is not thread-safe)."""

        async def wrapped() -> T:
            return fn()

        return self.run(wrapped)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 20) -> None:
        self.run(lambda: self.smsc.wait_until(condition, timeout), timeout + 5)


def smpp_url(port: int, **params: Any) -> str:
    query = {"timeout": 2, "reconnect": 0.05, "enquire": 5, "throttle_pause": 0.05}
    query.update(params)
    joined = "&".join(f"{key}={value}" for key, value in query.items())
    return f"smpp://landline:secret@127.0.0.1:{port}?{joined}"


@contextmanager
def smsc_running(config: SmscConfig | None = None) -> Iterator[SmscThread]:
    smsc = SmscThread(config)
    smsc.start()
    try:
        yield smsc
    finally:
        smsc.stop()


def start_smpp_landline(
    db_url: str,
    tmp_path: Path,
    smsc: SmscThread,
    url_params: dict[str, Any] | None = None,
    **settings: Any,
) -> Landline:
    """A Landline whose +1 route is the SMPP connection `main` to `smsc`."""
    return start_landline(
        db_url,
        tmp_path,
        routes="+1=smpp:main",
        smpp={"main": smpp_url(smsc.port, **(url_params or {}))},
        **settings,
    )


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.02)
