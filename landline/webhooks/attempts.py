"""One delivery attempt over HTTP, and what came of it.

An attempt fails unless the receiver answers 2xx within 7 seconds, connect to last byte.
Redirects are not followed. Whatever goes wrong comes back as an `Outcome` of a kind the
deliverer can count and show, never as an exception (cancellation aside).
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from landline.core.address_policy import AddressPolicy
from landline.webhooks.guard import (
    DNS_TIMEOUT_S,
    AddressRefused,
    GuardedResolver,
    UrlRefused,
    guarded_socket_factory,
    parse_url,
)
from landline.webhooks.outgoing import OutgoingRequest

MAX_ERROR_CHARS = 200


class FailureKind(StrEnum):
    REFUSED = "refused"  # the URL guard refused the address
    DNS = "dns"  # the host name did not resolve
    CONNECT = "connect"  # no TCP connection
    TLS = "tls"  # handshake or certificate check failed
    TIMEOUT = "timeout"  # no complete answer within the time limit
    PROTOCOL = "protocol"  # the connection broke mid-exchange, or the answer was not HTTP
    REDIRECT = "redirect"  # a 3xx answer: redirects are not followed
    HTTP = "http"  # any other answer outside 2xx


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    kind: FailureKind | None
    status: int | None
    elapsed_ms: int
    # Empty on success; otherwise at most MAX_ERROR_CHARS printable characters.
    error: str


@dataclass(frozen=True)
class ClientLimits:
    timeout_s: float = 7.0
    dns_timeout_s: float = DNS_TIMEOUT_S
    # The deliverer limits each host's concurrency; these only keep the pool from being
    # the bottleneck, or from growing without end.
    connections: int = 1024
    connections_per_host: int = 256
    # The receiver's answer is not needed: reading a little shows it completed, without
    # letting a huge one fill memory.
    max_answer_bytes: int = 1024


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the system's CAs, TLS 1.2 or newer."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class WebhookClient:
    """One shared HTTP client for every attempt, guarded by the address policy.

    Use `async with WebhookClient(policy) as client:` (or `start` and `close`) inside the
    event loop that makes the attempts.
    """

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        limits: ClientLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.policy = policy
        self.limits = limits or ClientLimits()
        self._ssl = ssl_context or tls_context()
        if self._ssl.minimum_version < ssl.TLSVersion.TLSv1_2:
            raise ValueError("webhooks need TLS 1.2 or newer")
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            limit=self.limits.connections,
            limit_per_host=self.limits.connections_per_host,
            ssl=self._ssl,
            resolver=GuardedResolver(
                self.policy, self._resolver, dns_timeout_s=self.limits.dns_timeout_s
            ),
            socket_factory=guarded_socket_factory(self.policy),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # attempt() holds each exchange to the limit; this is only a backstop.
            timeout=aiohttp.ClientTimeout(total=self.limits.timeout_s + 1),
            auto_decompress=False,
            read_bufsize=16 * 1024,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> WebhookClient:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def attempt(self, request: OutgoingRequest) -> Outcome:
        """Send one request and judge the answer."""
        if self._session is None:
            raise RuntimeError("WebhookClient.start() was not called")
        started = time.monotonic()

        def failed(kind: FailureKind, error: str, status: int | None = None) -> Outcome:
            return Outcome(False, kind, status, _elapsed_ms(started), _bounded(error))

        refusal = _url_refusal(request.url, self.policy)
        if refusal is not None:
            return failed(FailureKind.REFUSED, refusal)
        try:
            async with (
                asyncio.timeout(self.limits.timeout_s),
                self._session.request(
                    request.method,
                    _url(request.url),
                    headers=request.headers,
                    data=request.body,
                    allow_redirects=False,
                ) as answer,
            ):
                text = await _read_bounded(answer.content, self.limits.max_answer_bytes)
        except TimeoutError:
            return failed(FailureKind.TIMEOUT, f"no answer within {self.limits.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            kind, error = _classify(exc, https=request.url.startswith("https:"))
            return failed(kind, error)
        status = answer.status
        if 200 <= status <= 299:
            return Outcome(True, None, status, _elapsed_ms(started), "")
        if 300 <= status <= 399:
            location = answer.headers.get("Location", "")
            return failed(FailureKind.REDIRECT, f"HTTP {status}, redirect to {location}", status)
        said = text.decode("utf-8", "replace")
        return failed(FailureKind.HTTP, f"HTTP {status} {answer.reason or ''}: {said}", status)


@functools.lru_cache(maxsize=4096)
def _url(url: str) -> URL:
    return URL(url, encoded=True)


# The same few URLs come back for every delivery; the guard still sees every address
# connected to, this only skips parsing the same text again.
@functools.lru_cache(maxsize=4096)
def _url_refusal(url: str, policy: AddressPolicy) -> str | None:
    try:
        parse_url(url, policy)
    except UrlRefused as exc:
        return exc.reason
    return None


def _classify(exc: aiohttp.ClientError, *, https: bool) -> tuple[FailureKind, str]:
    cause = exc.os_error if isinstance(exc, aiohttp.ClientConnectorError) else None
    if isinstance(cause, AddressRefused):
        return FailureKind.REFUSED, str(cause)
    if isinstance(exc, aiohttp.InvalidURL):
        return FailureKind.REFUSED, f"the URL is not valid: {exc}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return FailureKind.DNS, f"DNS: {cause}"
    if isinstance(exc, aiohttp.ClientSSLError | aiohttp.ServerFingerprintMismatch):
        return FailureKind.TLS, f"TLS: {cause or exc}"
    if https and isinstance(cause, ConnectionResetError):
        # Only an open connection can be reset: this one was, mid-handshake, as servers
        # do when they share no TLS version with us.
        return FailureKind.TLS, f"TLS handshake broken off: {cause}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return FailureKind.CONNECT, f"connect: {cause}"
    return FailureKind.PROTOCOL, f"{type(exc).__name__}: {exc}"


async def _read_bounded(content: aiohttp.StreamReader, limit: int) -> bytes:
    """Up to `limit` bytes of the answer; an unread rest closes the connection on release."""
    chunks: list[bytes] = []
    size = 0
    while size < limit and not content.at_eof():
        chunk = await content.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _bounded(text: str) -> str:
    printable = "".join(c if c.isprintable() else " " for c in text[: MAX_ERROR_CHARS * 2])
    printable = " ".join(printable.split())
    if len(printable) > MAX_ERROR_CHARS:
        return printable[: MAX_ERROR_CHARS - 1] + "…"
    return printable


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
