"""The HTTP server: uvicorn on uvloop and httptools, with the limits from the settings."""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import uvicorn

from landline.http.protocol import HttpLimits, LimitedHttpProtocol, limited_protocol
from landline.settings import Settings

log = logging.getLogger(__name__)

AsgiApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]
# Descriptors besides client connections: the listener, databases, carriers, logs.
SPARE_FILES = 256
# uvicorn's main loop ticks this often (seconds).
TICK = 0.1
# Deadlines are checked this many times within the shortest timeout, at most every tick.
CHECKS_PER_TIMEOUT = 10
# Requests still running this long after the grace period are cancelled.
CANCEL_AFTER_GRACE = 1.0


class LimitedServer(uvicorn.Server):
    """uvicorn's server, closing connections past their deadlines on its tick."""

    def __init__(self, config: uvicorn.Config, limits: HttpLimits) -> None:
        super().__init__(config)
        shortest = min(limits.header_timeout, limits.body_timeout, limits.keep_alive)
        self._ticks_per_check = max(1, round(shortest / CHECKS_PER_TIMEOUT / TICK))

    async def on_tick(self, counter: int) -> bool:
        if counter % self._ticks_per_check == 0:
            now = asyncio.get_running_loop().time()
            for connection in list(self.server_state.connections):
                if isinstance(connection, LimitedHttpProtocol):
                    connection.expire_if_due(now)
        return await super().on_tick(counter)


def http_limits(settings: Settings) -> HttpLimits:
    return HttpLimits(
        max_header_bytes=settings.max_header_bytes,
        max_header_count=settings.max_header_count,
        header_timeout=settings.header_timeout_seconds,
        body_timeout=settings.body_timeout_seconds,
        keep_alive=settings.keep_alive_seconds,
        max_connections=settings.max_connections,
        shutdown_grace=settings.shutdown_grace_seconds,
    )


def build_server(app: AsgiApp, settings: Settings) -> uvicorn.Server:
    """A server for `app`; start it with `.run(sockets=[...])` or `await .serve(...)`."""
    limits = http_limits(settings)
    cancel_after = settings.shutdown_grace_seconds + CANCEL_AFTER_GRACE
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=limited_protocol(limits),
        ws="none",
        lifespan="on",
        # The access log would write session keys, which travel in query strings.
        access_log=False,
        # Which proxies may name the client is LANDLINE_TRUSTED_PROXIES (api/clients.py);
        # uvicorn's own rewriting would trust any local peer's X-Forwarded-For.
        proxy_headers=False,
        log_level=settings.log_level,
        # Our own logging configuration (landline/logs.py), bounded lines and all.
        log_config=None,
        # The protocol closes connections still busy at the grace period, and the requests
        # on them end at once; this cancels what is left a moment later, such as a handler
        # stuck on the database. (uvicorn annotates it as int; it goes to wait_for.)
        timeout_graceful_shutdown=cancel_after,  # type: ignore[arg-type]
    )
    return LimitedServer(config, limits)


def run_server(app: AsgiApp, settings: Settings, listener: socket.socket) -> None:
    """Serve `app` on a bound socket until SIGTERM or SIGINT."""
    _reserve_open_files(settings.max_connections + SPARE_FILES)
    build_server(app, settings).run(sockets=[listener])


def _reserve_open_files(wanted: int) -> None:
    """Raise the soft limit on open files so the connection limit, not the operating
    system, is what turns connections away."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    allowed = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if allowed > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (allowed, hard))
    if allowed < wanted:
        log.warning(
            "only %d open files allowed (ulimit -n); LANDLINE_MAX_CONNECTIONS=%d needs about %d",
            allowed,
            wanted - SPARE_FILES,
            wanted,
        )
