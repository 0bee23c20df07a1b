"""One bind of an SMPP connection, kept up: connect, bind, keep alive with enquire_link,
and after a drop, a refused bind or an unanswered request, connect again with back-off.

A link also paces what is sent through it: at most `mps` submit_sm a second, and a pause
after the SMSC says it is throttling or its queue is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from landline.carriers.smpp import pdus
from landline.carriers.smpp.config import SmppConfig
from landline.carriers.smpp.pdus import BindMode, Pdu
from landline.carriers.smpp.session import BindFailed, Session, SessionClosed, open_esme

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 60.0
RequestHandler = Callable[[Session, list[Pdu]], Awaitable[None]]


class Link:
    def __init__(
        self, config: SmppConfig, mode: BindMode, label: str, on_requests: RequestHandler
    ) -> None:
        self.config = config
        self.mode = mode
        self.label = label
        self._on_requests = on_requests
        self.session: Session | None = None
        self.bound = asyncio.Event()
        self.binds = 0  # successful binds so far (a test reads it)
        self._task: asyncio.Task[None] | None = None
        self._next_slot = 0.0  # loop time of the next submit_sm the mps limit allows
        self._paused_until = 0.0

    @property
    def usable(self) -> bool:
        """Bound, and the session not yet known to be lost."""
        return self.bound.is_set() and self.session is not None and self.session.is_open

    @property
    def transmits(self) -> bool:
        return self.mode.transmits

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"smpp-link-{self.label}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        session = self.session
        if session is not None and session.is_open:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(session.unbind(), 2.0)

    def drop(self) -> None:
        """Give up on the current session (it stopped answering); the link reconnects."""
        if self.session is not None and self.session.is_open:
            self.session.abort()

    async def pace(self) -> None:
        """Wait for this link's turn under its mps limit and any throttling pause."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._paused_until, self._next_slot)
        if self.config.mps:
            self._next_slot = start + 1 / self.config.mps
        if start > now:
            await asyncio.sleep(start - now)

    def slow_down(self) -> None:
        """The SMSC asked us to send less: pause this bind for a while."""
        loop = asyncio.get_running_loop()
        self._paused_until = max(self._paused_until, loop.time() + self.config.throttle_pause)

    async def _run(self) -> None:
        delay = self.config.reconnect
        while True:
            try:
                session = await self._connect()
            except (OSError, TimeoutError, BindFailed, SessionClosed, pdus.PduError) as error:
                log.warning("SMPP %s: cannot bind (%s); again in %.1f s", self.label, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            delay = self.config.reconnect
            self.session = session
            self.binds += 1
            self.bound.set()
            log.info("SMPP %s: bound as %s", self.label, self.mode.name.lower())
            try:
                await self._serve(session)
            finally:
                self.bound.clear()
                # Also after an abort: closing ends the session's own tasks.
                await session.close()
            log.warning("SMPP %s: link lost (%s); reconnecting", self.label, session.close_reason)
            await asyncio.sleep(delay)

    async def _connect(self) -> Session:
        bind = pdus.Bind(
            self.mode,
            self.config.system_id,
            self.config.password,
            self.config.system_type,
            addr_ton=0,
            addr_npi=0,
        )
        session, _ = await open_esme(
            self.config.host,
            self.config.port,
            bind,
            ssl_context=self.config.ssl_context(),
            connect_timeout=max(self.config.timeout, 1.0),
            window=self.config.window,
            response_timeout=self.config.timeout,
            enquire_interval=self.config.enquire,
        )
        return session

    async def _serve(self, session: Session) -> None:
        """Take the SMSC's requests until the session ends."""
        while True:
            try:
                first = await session.next_request()
            except SessionClosed:
                return
            # At most the session's inbound limit: it stops reading beyond that.
            batch = [first, *session.pending_requests()]
            try:
                await self._on_requests(session, batch)
            except Exception:
                # Unanswered, the SMSC offers them again; drop the link so it does soon.
                log.exception("SMPP %s: could not take %d requests", self.label, len(batch))
                session.abort()
                return
