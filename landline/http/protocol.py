"""uvicorn's httptools protocol, with limits on what one client may hold.

httptools buffers an unfinished header without end and uvicorn waits forever for the
rest, so a few connections trickling headers can fill memory or hold the server. Here
the request line and headers are bounded in bytes, in count and in time, and the open
connections in number. The server's own answers carry the API's JSON envelope.

Each connection keeps one deadline: for its headers while they arrive, for its body
while that arrives, for its next request while it idles between requests, none while
the application works on a request. The server looks
for connections past their deadline a few times a second (`expire_if_due`), so no
request pays for starting and stopping timers.
"""

from __future__ import annotations

import asyncio
import http
import math
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from landline.api.envelope import JSON_TYPE, error_body
from landline.core.status import ErrorCode

# The request line's own bytes beside the URL: method, spaces, "HTTP/1.1", CRLF.
REQUEST_LINE_OVERHEAD = 16
# ": " and CRLF around every header.
HEADER_OVERHEAD = 4


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_header_bytes: int
    max_header_count: int
    header_timeout: float
    body_timeout: float
    keep_alive: float
    max_connections: int
    shutdown_grace: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer the server gives itself, before or instead of the application."""

    status: int
    code: int
    desc: str

    def head(self) -> bytes:
        phrase = http.HTTPStatus(self.status).phrase
        return f"HTTP/1.1 {self.status} {phrase}\r\n".encode("ascii")

    def rest(self) -> bytes:
        body = error_body(self.code, self.desc)
        return (
            b"content-type: " + JSON_TYPE + b"\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )


BAD_REQUEST = Refusal(400, ErrorCode.BAD_ARGUMENTS, "Bad arguments: invalid HTTP request")
HEADERS_TOO_LARGE = Refusal(
    431, ErrorCode.BAD_ARGUMENTS, "Bad arguments: request line and headers too large"
)
TOO_MANY_HEADERS = Refusal(431, ErrorCode.BAD_ARGUMENTS, "Bad arguments: too many headers")
# -1 tells clients to try again.
HEADERS_TIMED_OUT = Refusal(408, ErrorCode.UNKNOWN, "Unknown error: headers took too long")
BODY_TIMED_OUT = Refusal(408, ErrorCode.UNKNOWN, "Unknown error: the body took too long")
TOO_MANY_CONNECTIONS = Refusal(503, ErrorCode.UNKNOWN, "Unknown error: too many connections")
SHUTTING_DOWN = Refusal(503, ErrorCode.UNKNOWN, "Unknown error: the server is shutting down")


class _Refused(Exception):
    """Stops the parser from inside one of its callbacks."""


class LimitedHttpProtocol(HttpToolsProtocol):
    """One connection. Subclasses made by `limited_protocol` carry the limits."""

    limits: ClassVar[HttpLimits]

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # Between the end of one request's body and the end of the next one's headers
        # every byte received counts towards the header limit.
        self._in_head = True
        self._head_bytes = 0
        # Waiting for the next request on a kept-alive connection.
        self._idle = False
        # Between the end of a request's headers and the end of its body.
        self._in_body = False
        self._deadline = math.inf
        self._refusal: Refusal | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.limits.max_connections:
            # Never counted and never read: it costs nothing beyond this answer.
            self.transport = transport
            self._close_with(TOO_MANY_CONNECTIONS)
            return
        super().connection_made(transport)
        self._deadline = self.loop.time() + self.limits.header_timeout

    def data_received(self, data: bytes) -> None:
        if self._idle:
            # The next request begins: its headers are now on the clock.
            self._idle = False
            self._deadline = self.loop.time() + self.limits.header_timeout
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Nothing is served over an upgrade; the request was answered as plain HTTP.
            self._unsupported_upgrade_warning()
        except httptools.HttpParserError:
            if self._refusal is None:
                self.logger.warning("Invalid HTTP request received.")
            self._close_with(self._refusal or BAD_REQUEST)
        else:
            # Checked after parsing: the same bytes may finish the headers and carry a body.
            if self._in_head and self._head_bytes > self.limits.max_header_bytes:
                self._close_with(HEADERS_TOO_LARGE)

    def on_header(self, name: bytes, value: bytes) -> None:
        if len(self.headers) >= self.limits.max_header_count:
            self._refuse(TOO_MANY_HEADERS)
        # uvicorn's own, inlined: this runs for every header of every request.
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        # A body that trickles in would hold the connection as a slow header would.
        self._deadline = self.loop.time() + self.limits.body_timeout
        self._in_body = True
        self._in_head = False
        # Bytes received is an upper bound of the headers' size (it may include a body),
        # so only a request over it needs counting exactly.
        if self._head_bytes > self.limits.max_header_bytes and self._head_size() > (
            self.limits.max_header_bytes
        ):
            self._refuse(HEADERS_TOO_LARGE)
        self._head_bytes = 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True
        self._in_body = False
        self._deadline = math.inf
        # uvicorn's own, inlined: a call through super() costs a measurable part of
        # a request here. No upgrade is ever served (ws="none").
        if self.cycle.response_complete:
            return
        self.cycle.more_body = False
        self.cycle.message_event.set()

    def on_response_complete(self) -> None:
        # uvicorn's, with the keep-alive wait on the connection's deadline rather than
        # on a timer started and stopped for every request.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle = True
            self._deadline = self.loop.time() + self.limits.keep_alive

    def expire_if_due(self, now: float) -> None:
        """Close the connection if what it waits for is overdue."""
        if now < self._deadline or self.transport.is_closing():
            return
        if self._in_body:
            self._close_with(BODY_TIMED_OUT)
        elif self._idle or self._head_bytes == 0:
            # Nothing was asked, so nothing is answered: a client that sends a request on
            # this connection just now would take an answer for the reply to it.
            self.transport.close()
        else:
            self._close_with(HEADERS_TIMED_OUT)

    def shutdown(self) -> None:
        super().shutdown()
        if not self.transport.is_closing():
            self.loop.call_later(self.limits.shutdown_grace, self._shutdown_expired)

    def _shutdown_expired(self) -> None:
        # Before uvicorn cancels the request's task (with a traceback in the log and a
        # plain-text 500), the client learns the server is going away; the application
        # then sees a disconnect and ends on its own.
        if not self.transport.is_closing():
            self._close_with(SHUTTING_DOWN)

    def _head_size(self) -> int:
        headers = sum(len(name) + len(value) + HEADER_OVERHEAD for name, value in self.headers)
        return len(self.url) + REQUEST_LINE_OVERHEAD + headers

    def _refuse(self, refusal: Refusal) -> NoReturn:
        self._refusal = refusal
        raise _Refused(refusal.desc)

    def _close_with(self, refusal: Refusal) -> None:
        cycle = self.cycle
        # The answer goes to the oldest request not yet answered; only in the middle of
        # another answer can none be given.
        if cycle is None or cycle.response_complete or not cycle.response_started:
            head = [refusal.head()]
            # The date and server headers uvicorn puts on every answer.
            for name, value in self.server_state.default_headers:
                head.extend((name, b": ", value, b"\r\n"))
            self.transport.write(b"".join(head) + refusal.rest())
        self.transport.close()


def limited_protocol(given: HttpLimits) -> type[LimitedHttpProtocol]:
    """The protocol class for uvicorn's `http` setting, carrying these limits."""

    class Limited(LimitedHttpProtocol):
        limits = given

    return Limited
