"""The workers of `landline serve`, in a child process of their own.

The API and the workers (dispatcher, carrier connectors, webhook deliverer) each keep a
core busy under load, and in one Python process they would share one, so `landline
serve` runs the workers as a child: `landline worker`, on the same settings. The API
wakes it through a pipe when new texts wait, so a send goes out at once rather than at
the next poll; the child takes the pipe's end as its parent's life, and stops when the
parent is gone, however it went. A child that dies is started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

# The environment variable that hands the child its end of the wake-up pipe.
WAKE_FD = "LANDLINE_WAKE_FD"
RESTART_FIRST_S = 1.0
RESTART_CEILING_S = 30.0
# How long a stopping child may take: its dispatcher waits up to 10 s for a round.
STOP_TIMEOUT_S = 20.0


class WorkerProcess:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._process: asyncio.subprocess.Process | None = None
        self._watch: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake_pending = False
        self._read_end, self._write_end = os.pipe()
        os.set_blocking(self._write_end, False)

    async def start(self) -> None:
        await self._spawn()
        self._watch = asyncio.create_task(self._keep_running(), name="worker-process")

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "landline",
            "worker",
            "--data-dir",
            str(self._data_dir),
            env={**os.environ, WAKE_FD: str(self._read_end)},
            pass_fds=(self._read_end,),
        )
        log.info("workers started in process %s", self._process.pid)

    async def _keep_running(self) -> None:
        delay = RESTART_FIRST_S
        while True:
            assert self._process is not None
            started = asyncio.get_running_loop().time()
            code = await self._process.wait()
            if self._stopping:
                return
            if asyncio.get_running_loop().time() - started > RESTART_CEILING_S:
                delay = RESTART_FIRST_S
            log.error("the worker process ended (exit %s); starting it again in %g s", code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESTART_CEILING_S)
            await self._spawn()

    def wake(self) -> None:
        """New work waits; called on the event loop, as often as texts arrive."""
        if not self._wake_pending:
            self._wake_pending = True
            asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._wake_pending = False
        # A full pipe already holds a wake-up the child has yet to read.
        with contextlib.suppress(BlockingIOError):
            os.write(self._write_end, b"!")

    async def stop(self) -> None:
        self._stopping = True
        if self._watch is not None:
            self._watch.cancel()
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("the worker process did not stop in time; killing it")
                process.kill()
                await process.wait()
        os.close(self._write_end)
        os.close(self._read_end)


def listen_for_wakes(
    loop: asyncio.AbstractEventLoop, wake: Callable[[], None], parent_gone: Callable[[], None]
) -> bool:
    """In the child: call `wake` on every wake-up, `parent_gone` once the parent is gone.
    False when this process was not started by `landline serve`."""
    raw = os.environ.get(WAKE_FD)
    if not raw:
        return False
    fd = int(raw)
    os.set_blocking(fd, False)

    def readable() -> None:
        try:
            data = os.read(fd, 4096)
        except BlockingIOError:
            return
        if data:
            wake()
        else:
            loop.remove_reader(fd)
            parent_gone()

    loop.add_reader(fd, readable)
    return True
