"""One SMPP session over a TCP (or TLS) stream, for either end: framing, sequence
numbers, a window of outstanding requests, responses matched to their requests, and a
bounded queue of the peer's requests for the owner to answer.

Requests from the peer are not answered here (except enquire_link, and generic_nack for
what cannot be read): the owner answers each with `respond` when it has dealt with it,
so an ESME can hold its deliver_sm_resp until a receipt is safely stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable

from landline.carriers.smpp import pdus
from landline.carriers.smpp.pdus import Body, Pdu, PduError, Status

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 64
DEFAULT_RESPONSE_TIMEOUT = 30.0
DEFAULT_INBOUND_LIMIT = 1024
CLOSE_TIMEOUT = 5.0
# Stop reading the peer's requests while this much of our answers is still unsent, so a
# peer that sends without reading cannot make us buffer without end.
WRITE_HIGH_WATER = 1 << 20
READ_SIZE = 1 << 16
SWEEP_INTERVAL = 0.1  # seconds between checks for overdue responses


class SessionClosed(ConnectionError):
    pass


class ResponseTimeout(TimeoutError):
    pass


class FrameError(ConnectionError):
    """The byte stream cannot be framed (a command_length out of bounds): the session
    cannot continue."""


class BindFailed(ConnectionError):
    def __init__(self, status: int) -> None:
        super().__init__(f"bind refused with status {status:#x}")
        self.status = status


def take_frames(buffer: bytearray, max_length: int = pdus.MAX_PDU_LENGTH) -> list[bytes]:
    """Remove and return the whole PDUs at the front of `buffer`, leaving a partial one.
    Raises FrameError for a command_length no PDU can have."""
    frames: list[bytes] = []
    pos = 0
    while len(buffer) - pos >= 4:
        length = int.from_bytes(buffer[pos : pos + 4], "big")
        if not pdus.HEADER_LENGTH <= length <= max_length:
            raise FrameError(f"command_length {length} is out of bounds")
        if len(buffer) - pos < length:
            break
        frames.append(bytes(buffer[pos : pos + length]))
        pos += length
    del buffer[:pos]
    return frames


class Session:
    """Call `start()` once; then `request`, `respond`, `next_request`, and `close`.

    Take the peer's requests in a task of their own: while `inbound_limit` of them wait
    untaken, the session reads nothing more, responses included, so an owner that waited
    for a response before taking requests could wait for ever.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        window: int = DEFAULT_WINDOW,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        inbound_limit: int = DEFAULT_INBOUND_LIMIT,
        max_pdu_length: int = pdus.MAX_PDU_LENGTH,
        enquire_interval: float | None = None,
        on_received: Callable[[Pdu], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._window = asyncio.Semaphore(window)
        self.response_timeout = response_timeout
        self._max_pdu_length = max_pdu_length
        self._enquire_interval = enquire_interval
        self._on_received = on_received
        self._sequence = 0
        # sequence -> (future of the response, loop time it is due by)
        self._pending: dict[int, tuple[asyncio.Future[Pdu], float]] = {}
        self._sweeping: asyncio.TimerHandle | None = None
        self._requests: asyncio.Queue[Pdu] = asyncio.Queue(maxsize=inbound_limit)
        self._tasks: list[asyncio.Task[None]] = []
        # Writes made in one turn of the event loop go out in one send.
        self._out: list[bytes] = []
        self._flush_soon = False
        self._last_heard = 0.0
        self.closed = asyncio.Event()
        self.close_reason: BaseException | None = None
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)

    # --- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        self._tasks.append(loop.create_task(self._read_loop()))
        if self._enquire_interval:
            self._tasks.append(loop.create_task(self._keep_alive(self._enquire_interval)))

    @property
    def is_open(self) -> bool:
        return not self.closed.is_set()

    def abort(self) -> None:
        """Drop the TCP connection at once. What was already written goes to the kernel
        first; whatever the kernel cannot send before the reset is lost with it."""
        self._flush()
        self._writer.transport.abort()
        self._finish(SessionClosed("aborted"))

    async def close(self) -> None:
        """Close after sending what is queued (no unbind: see `unbind`)."""
        self._flush()
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT)
        self._finish(SessionClosed("closed"))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def unbind(self) -> None:
        """Say goodbye as SMPP asks (unbind, wait for unbind_resp), then close."""
        with contextlib.suppress(SessionClosed, ResponseTimeout):
            if self.is_open:
                await self.request(pdus.Unbind())
        await self.close()

    def _finish(self, reason: BaseException) -> None:
        if self.closed.is_set():
            return
        self.close_reason = reason
        self.closed.set()
        if self._sweeping is not None:
            self._sweeping.cancel()
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(SessionClosed(str(reason)))
        self._pending.clear()
        self._flush()
        if not self._writer.is_closing():
            self._writer.close()

    # --- sending -------------------------------------------------------------------------

    async def request(self, body: Body, *, timeout: float | None = None) -> Pdu:
        """Send a request and wait for its response (which may be a generic_nack). Waits
        for room in the window first."""
        async with self._window:
            return await self.send_request(body, timeout=timeout)

    def send_request(self, body: Body, *, timeout: float | None = None) -> asyncio.Future[Pdu]:
        """Write a request now, outside the window, and give the future of its response."""
        if self.closed.is_set():
            raise SessionClosed(str(self.close_reason))
        self._sequence = self._sequence % pdus.MAX_SEQUENCE + 1
        sequence = self._sequence
        data = pdus.encode(body, sequence)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Pdu] = loop.create_future()
        # Registered before it is written, so no response can come back unmatched.
        wait = self.response_timeout if timeout is None else timeout
        self._pending[sequence] = (future, loop.time() + wait)
        if self._sweeping is None:
            self._sweeping = loop.call_later(SWEEP_INTERVAL, self._sweep)
        self._write(data)
        return future

    def _sweep(self) -> None:
        """Fail the requests whose response is overdue. One timer for the session, not
        one per request: cheaper at thousands of requests a second, and a timeout is
        never more than SWEEP_INTERVAL late."""
        now = asyncio.get_running_loop().time()
        for sequence, (future, due) in list(self._pending.items()):
            if future.done():
                del self._pending[sequence]
            elif now >= due:
                del self._pending[sequence]
                future.set_exception(ResponseTimeout("no response in time"))
        self._sweeping = None
        if self._pending and not self.closed.is_set():
            self._sweeping = asyncio.get_running_loop().call_later(SWEEP_INTERVAL, self._sweep)

    def respond(self, request: Pdu, body: Body, status: int = Status.ROK) -> None:
        self.send_raw(pdus.encode(body, request.sequence, status))

    def send_raw(self, data: bytes) -> None:
        """Write bytes as they are (a test peer's malformed PDUs, a pre-encoded burst)."""
        if self.closed.is_set():
            raise SessionClosed(str(self.close_reason))
        self._write(data)

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flush_soon:
            self._flush_soon = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        if self._out and not self._writer.is_closing():
            self._writer.write(b"".join(self._out))
        self._out.clear()

    # --- receiving -----------------------------------------------------------------------

    async def next_request(self) -> Pdu:
        """The peer's next request; raises SessionClosed once the session has ended and
        every request that came before has been taken."""
        if self._requests.empty():
            closed = asyncio.ensure_future(self.closed.wait())
            got = asyncio.ensure_future(self._requests.get())
            try:
                await asyncio.wait({closed, got}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                closed.cancel()
                if not got.done():
                    got.cancel()
            if got.done() and not got.cancelled():
                return got.result()
            raise SessionClosed(str(self.close_reason))
        return self._requests.get_nowait()

    def pending_requests(self) -> list[Pdu]:
        """Every request already received and not yet taken, without waiting."""
        taken: list[Pdu] = []
        while not self._requests.empty():
            taken.append(self._requests.get_nowait())
        return taken

    async def _read_loop(self) -> None:
        reason: BaseException = SessionClosed("the peer closed the connection")
        buffer = bytearray()
        loop = asyncio.get_running_loop()
        try:
            while data := await self._reader.read(READ_SIZE):
                self._last_heard = loop.time()
                buffer += data
                for frame in take_frames(buffer, self._max_pdu_length):
                    await self._dispatch(frame)
                if self._writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
                    await self._writer.drain()
        except FrameError as error:
            log.warning("SMPP peer %s: %s", self.peer, error)
            self._nack(0, Status.RINVCMDLEN)
            reason = error
        except OSError as error:  # the connection failed (ssl.SSLError is one too)
            reason = SessionClosed(f"the connection failed: {error}")
        except asyncio.CancelledError:
            reason = SessionClosed("closed")
            raise
        finally:
            self._finish(reason)

    async def _dispatch(self, frame: bytes) -> None:
        try:
            pdu = pdus.decode(frame)
        except PduError as error:
            sequence = int.from_bytes(frame[12:16], "big")
            log.info("SMPP peer %s sent a malformed PDU: %s", self.peer, error)
            self._nack(sequence, error.status)
            return
        if self._on_received is not None:
            self._on_received(pdu)
        if pdu.is_response:
            waiting = self._pending.pop(pdu.sequence, None)
            if waiting is not None and not waiting[0].done():
                waiting[0].set_result(pdu)
            return
        if isinstance(pdu.body, pdus.EnquireLink):
            self.respond(pdu, pdus.EnquireLinkResp())
        elif isinstance(pdu.body, pdus.Unknown):
            self._nack(pdu.sequence, Status.RINVCMDID)
        else:
            await self._requests.put(pdu)

    def _nack(self, sequence: int, status: int) -> None:
        if not self.closed.is_set():
            self._write(pdus.encode(pdus.GenericNack(), sequence, status))

    async def _keep_alive(self, interval: float) -> None:
        loop = asyncio.get_running_loop()
        while not self.closed.is_set():
            quiet = loop.time() - self._last_heard
            if quiet < interval:
                await asyncio.sleep(interval - quiet)
                continue
            try:
                await self.request(pdus.EnquireLink())
            except ResponseTimeout:
                log.warning("SMPP peer %s did not answer enquire_link; dropping it", self.peer)
                self.abort()
            except SessionClosed:
                return


async def open_esme(
    host: str,
    port: int,
    bind: pdus.Bind,
    *,
    ssl_context: ssl.SSLContext | None = None,
    connect_timeout: float = 10.0,
    window: int = DEFAULT_WINDOW,
    response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
    enquire_interval: float | None = None,
    inbound_limit: int = DEFAULT_INBOUND_LIMIT,
    on_received: Callable[[Pdu], None] | None = None,
) -> tuple[Session, pdus.BindResp]:
    """Connect to an SMSC and bind. Raises BindFailed if the SMSC refuses the bind,
    OSError or TimeoutError if it cannot be reached."""
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection(host, port, ssl=ssl_context), connect_timeout
    )
    session = Session(
        reader,
        writer,
        window=window,
        response_timeout=response_timeout,
        enquire_interval=enquire_interval,
        inbound_limit=inbound_limit,
        on_received=on_received,
    )
    session.start()
    try:
        response = await session.request(bind, timeout=connect_timeout)
    except BaseException:
        session.abort()
        raise
    if response.status != Status.ROK or not isinstance(response.body, pdus.BindResp):
        await session.close()
        raise BindFailed(response.status or Status.RBINDFAIL)
    return session, response.body
