"""One delivery attempt against real receivers on loopback sockets.

The receivers answer 200, 500, redirect, hang, trickle, flood, break the connection or
speak TLS. Loopback is refused by default, so most tests allow it as an operator would
for local development; the guard tests below show what happens when it is not.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from standardwebhooks import Webhook

from landline.core.address_policy import AddressPolicy
from landline.webhooks.attempts import (
    ClientLimits,
    FailureKind,
    Outcome,
    WebhookClient,
    tls_context,
)
from landline.webhooks.guard import AddressRefused, check_url, guarded_socket_factory
from landline.webhooks.outgoing import JSON_CONTENT_TYPE, build_request
from landline.webhooks.signing import new_secret

LOCAL = AddressPolicy.from_setting("127.0.0.0/8")
STRICT = AddressPolicy()
SECRET = new_secret()
# For the tests about the time limit; the others leave a loaded machine room to answer.
FAST = ClientLimits(timeout_s=0.3)
ROOMY = ClientLimits(timeout_s=10)
PAYLOAD: dict[str, Any] = {
    "body": "Thanks for texting, this is an auto reply! & more",
    "bodySize": 42,
    "visible": True,
    "hasAttachment": False,
    "dateRead": None,
    "finalDestination": "4257772300",
    "messageType": "MO",
    "statusCode": 4,
    "id": 634151298329219072,
    "address": "ptn:/4257772222",
}


@dataclass
class Receiver:
    """What the receiver saw, and a switch that lets its stalled handlers finish."""

    url: str = ""
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    bytes_sent: int = 0


def _routes(receiver: Receiver) -> web.Application:
    async def record(request: web.Request) -> None:
        receiver.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "query": request.rel_url.raw_query_string,
                "headers": dict(request.headers),
                "body": await request.read(),
            }
        )

    async def ok(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(status=200, text="thanks")

    async def no_content(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(status=204)

    async def fail(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.Response(status=500, text="database down\n\x1b[31m" + "x" * 10_000)

    async def redirect(request: web.Request) -> web.StreamResponse:
        await record(request)
        raise web.HTTPFound(location="/ok")

    async def hang(request: web.Request) -> web.StreamResponse:
        await record(request)
        await asyncio.wait_for(receiver.release.wait(), timeout=30)
        return web.Response(status=200)

    async def trickle(request: web.Request) -> web.StreamResponse:
        # The status arrives at once, the rest of the answer never does.
        await record(request)
        answer = web.StreamResponse(status=200)
        answer.content_length = 100
        await answer.prepare(request)
        await answer.write(b"o")
        await asyncio.wait_for(receiver.release.wait(), timeout=30)
        return answer

    async def flood(request: web.Request) -> web.StreamResponse:
        await record(request)
        answer = web.StreamResponse(status=200)
        answer.content_length = 1 << 30
        await answer.prepare(request)
        chunk = b"x" * 65536
        try:
            while not receiver.release.is_set() and receiver.bytes_sent < 1 << 30:
                await answer.write(chunk)
                receiver.bytes_sent += len(chunk)
        except (ConnectionError, RuntimeError):
            pass
        return answer

    app = web.Application()
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/no-content", no_content)
    app.router.add_route("*", "/fail", fail)
    app.router.add_route("*", "/redirect", redirect)
    app.router.add_route("*", "/hang", hang)
    app.router.add_route("*", "/trickle", trickle)
    app.router.add_route("*", "/flood", flood)
    return app


@asynccontextmanager
async def receiving(
    ssl_context: ssl.SSLContext | None = None, host: str = "127.0.0.1"
) -> AsyncIterator[Receiver]:
    receiver = Receiver()
    runner = web.AppRunner(_routes(receiver), shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, host, 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    scheme = "https" if ssl_context else "http"
    receiver.url = f"{scheme}://{host}:{port}"
    try:
        yield receiver
    finally:
        receiver.release.set()
        await runner.cleanup()


@asynccontextmanager
async def raw_receiver(answer: bytes) -> AsyncIterator[str]:
    """A TCP server that reads the request head, writes `answer`, and hangs up."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


def request(url: str, method: str = "POST", message_id: str = "msg_1") -> Any:
    return build_request(
        url, method, PAYLOAD, message_id=message_id, timestamp_s=int(time.time()), secrets=[SECRET]
    )


def run(make: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(make(), timeout=30))


async def attempt_once(
    url: str,
    method: str = "POST",
    *,
    policy: AddressPolicy = LOCAL,
    limits: ClientLimits = ROOMY,
    **client: Any,
) -> Outcome:
    async with WebhookClient(policy, limits=limits, **client) as webhooks:
        return await webhooks.attempt(request(url, method))


# -- answers


def test_a_2xx_answer_is_a_delivery_and_the_receiver_can_verify_it() -> None:
    async def go() -> tuple[Outcome, Outcome, Receiver]:
        async with receiving() as receiver:
            ok = await attempt_once(receiver.url + "/ok")
            empty = await attempt_once(receiver.url + "/no-content")
            return ok, empty, receiver

    ok, empty, receiver = run(go)
    assert ok == Outcome(True, None, 200, ok.elapsed_ms, "")
    assert empty.ok and empty.status == 204
    seen = receiver.requests[0]
    assert seen["method"] == "POST"
    assert seen["headers"]["Content-Type"] == "application/json; charset=UTF-8"
    assert Webhook(SECRET).verify(seen["body"], seen["headers"]) == PAYLOAD


def test_put_sends_json_and_get_sends_query_parameters() -> None:
    async def go() -> Receiver:
        async with receiving() as receiver:
            assert (await attempt_once(receiver.url + "/ok", "PUT")).ok
            assert (await attempt_once(receiver.url + "/ok?account=7", "GET")).ok
            return receiver

    put, get = run(go).requests
    assert put["method"] == "PUT"
    assert put["headers"]["Content-Type"] == JSON_CONTENT_TYPE
    assert Webhook(SECRET).verify(put["body"], put["headers"]) == PAYLOAD
    assert get["method"] == "GET"
    assert get["body"] == b""
    assert "Content-Type" not in get["headers"]
    query = get["query"]
    assert query.startswith("account=7&body=Thanks%20for%20texting")
    assert "%26%20more" in query
    assert "&visible=true&hasAttachment=false&dateRead=&" in query
    assert "&id=634151298329219072&" in query
    Webhook(SECRET).verify(query, get["headers"], json_parse=False)


def test_a_non_2xx_answer_fails_with_its_status_and_a_short_clean_text() -> None:
    async def go() -> Outcome:
        async with receiving() as receiver:
            return await attempt_once(receiver.url + "/fail")

    outcome = run(go)
    assert (outcome.ok, outcome.kind, outcome.status) == (False, FailureKind.HTTP, 500)
    assert outcome.error.startswith("HTTP 500 Internal Server Error: database down")
    assert len(outcome.error) <= 200
    assert outcome.error.isprintable()


def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving() as receiver:
            return await attempt_once(receiver.url + "/redirect"), receiver

    outcome, receiver = run(go)
    assert (outcome.ok, outcome.kind, outcome.status) == (False, FailureKind.REDIRECT, 302)
    assert "redirect to /ok" in outcome.error
    assert [r["path"] for r in receiver.requests] == ["/redirect"]


# -- time


def test_an_answer_that_never_comes_is_a_timeout() -> None:
    async def go() -> Outcome:
        async with receiving() as receiver:
            return await attempt_once(receiver.url + "/hang", limits=FAST)

    outcome = run(go)
    assert (outcome.ok, outcome.kind, outcome.status) == (False, FailureKind.TIMEOUT, None)
    assert 300 <= outcome.elapsed_ms < 3000
    assert outcome.error == "no answer within 0.3 s"


def test_the_limit_counts_to_the_last_byte_not_the_status_line() -> None:
    async def go() -> Outcome:
        async with receiving() as receiver:
            return await attempt_once(receiver.url + "/trickle", limits=FAST)

    outcome = run(go)
    assert (outcome.ok, outcome.kind) == (False, FailureKind.TIMEOUT)
    assert 300 <= outcome.elapsed_ms < 3000


def test_a_huge_answer_is_not_read_to_the_end() -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving() as receiver:
            outcome = await attempt_once(receiver.url + "/flood", limits=ClientLimits())
            return outcome, receiver

    outcome, receiver = run(go)
    assert outcome.ok
    # A gigabyte was on offer; only what the socket buffers held left the receiver.
    assert receiver.bytes_sent < 64 << 20
    assert outcome.elapsed_ms < 3000


# -- broken connections


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part of it",
        b"",
        b"SSH-2.0-OpenSSH_9.6\r\n",
    ],
    ids=["closed-mid-answer", "closed-without-answer", "not-http"],
)
def test_a_broken_exchange_is_a_protocol_failure(answer: bytes) -> None:
    async def go() -> Outcome:
        async with raw_receiver(answer) as url:
            return await attempt_once(url + "/ok")

    outcome = run(go)
    assert (outcome.ok, outcome.kind, outcome.status) == (False, FailureKind.PROTOCOL, None)
    assert outcome.error


def test_nothing_listening_is_a_connect_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        outcome = run(lambda: attempt_once(f"http://127.0.0.1:{port}/ok"))
    assert (outcome.ok, outcome.kind) == (False, FailureKind.CONNECT)
    assert "connect" in outcome.error


# -- DNS


class Dns(AbstractResolver):
    """Names answer as the test says; `answers` maps a name to a list per lookup."""

    def __init__(self, answers: dict[str, list[list[str]]], delay_s: float = 0) -> None:
        self.answers = answers
        self.delay_s = delay_s
        self.lookups = 0

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        turns = self.answers[host]
        addresses = turns.pop(0) if len(turns) > 1 else turns[0]
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in addresses
        ]

    async def close(self) -> None:
        pass


def test_a_name_that_does_not_resolve_is_a_dns_failure() -> None:
    outcome = run(lambda: attempt_once("http://nowhere.test/hook", resolver=Dns({})))
    assert (outcome.ok, outcome.kind) == (False, FailureKind.DNS)
    assert "Name or service not known" in outcome.error


def test_a_dns_server_that_does_not_answer_is_a_dns_failure() -> None:
    slow = Dns({"slow.test": [["127.0.0.1"]]}, delay_s=30)
    limits = ClientLimits(timeout_s=5, dns_timeout_s=0.1)
    outcome = run(lambda: attempt_once("http://slow.test/hook", resolver=slow, limits=limits))
    assert (outcome.ok, outcome.kind) == (False, FailureKind.DNS)
    assert outcome.elapsed_ms < 2000


def test_a_name_reaches_the_address_it_resolves_to() -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving() as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            dns = Dns({"hooks.test": [["127.0.0.1"]]})
            return await attempt_once(f"http://hooks.test:{port}/ok", resolver=dns), receiver

    outcome, receiver = run(go)
    assert outcome.ok
    assert receiver.requests[0]["headers"]["Host"].startswith("hooks.test:")


# -- the guard at delivery time


def test_a_refused_address_is_never_contacted() -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving() as receiver:
            return await attempt_once(receiver.url + "/ok", policy=STRICT), receiver

    outcome, receiver = run(go)
    assert (outcome.ok, outcome.kind) == (False, FailureKind.REFUSED)
    assert "loopback" in outcome.error
    assert receiver.requests == []


def test_dns_rebinding_cannot_reach_a_refused_address() -> None:
    """Public when the webhook was added, 127.0.0.1 when the delivery connects."""

    async def go(policy: AddressPolicy) -> tuple[Outcome, Receiver]:
        async with receiving() as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            url = f"http://rebind.test:{port}/ok"
            dns = Dns({"rebind.test": [["93.184.216.34"], ["127.0.0.1"]]})
            await check_url(url, STRICT, resolver=dns)  # passes: a public address
            outcome = await attempt_once(url, policy=policy, resolver=dns)
            assert dns.lookups == 2
            return outcome, receiver

    outcome, receiver = run(lambda: go(STRICT))
    assert (outcome.ok, outcome.kind) == (False, FailureKind.REFUSED)
    assert "rebind.test resolves to 127.0.0.1, a loopback address" in outcome.error
    assert receiver.requests == []
    # The same trick where the operator allows loopback reaches the receiver, so the
    # refusal above is the guard's doing.
    outcome, receiver = run(lambda: go(LOCAL))
    assert outcome.ok
    assert len(receiver.requests) == 1


def test_the_socket_factory_alone_stops_a_connection_to_a_refused_address() -> None:
    """Were the resolver ever bypassed, no socket would be made for the refused address."""

    async def go() -> tuple[BaseException | None, Receiver]:
        async with receiving() as receiver:
            port = receiver.url.rsplit(":", 1)[1]
            connector = aiohttp.TCPConnector(
                resolver=Dns({"sneaky.test": [["127.0.0.1"]]}),
                socket_factory=guarded_socket_factory(STRICT),
            )
            async with aiohttp.ClientSession(connector=connector) as session:
                try:
                    await session.post(f"http://sneaky.test:{port}/ok", data=b"{}")
                except aiohttp.ClientConnectorError as exc:
                    return exc.os_error, receiver
            return None, receiver

    error, receiver = run(go)
    assert isinstance(error, AddressRefused)
    assert receiver.requests == []


# -- TLS


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _server_tls(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = tls_context()
    ca.configure_trust(context)
    return context


def test_https_to_a_trusted_certificate_delivers(ca: trustme.CA) -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving(_server_tls(ca, "127.0.0.1")) as receiver:
            outcome = await attempt_once(receiver.url + "/ok", ssl_context=_trusting(ca))
            return outcome, receiver

    outcome, receiver = run(go)
    assert outcome.ok, outcome
    assert Webhook(SECRET).verify(receiver.requests[0]["body"], receiver.requests[0]["headers"])


def test_an_untrusted_certificate_is_a_tls_failure(ca: trustme.CA) -> None:
    async def go() -> tuple[Outcome, Receiver]:
        async with receiving(_server_tls(ca, "127.0.0.1")) as receiver:
            return await attempt_once(receiver.url + "/ok"), receiver  # system CAs only

    outcome, receiver = run(go)
    assert (outcome.ok, outcome.kind) == (False, FailureKind.TLS)
    assert "certificate verify failed" in outcome.error
    assert receiver.requests == []


def test_a_certificate_for_another_name_is_a_tls_failure(ca: trustme.CA) -> None:
    async def go() -> Outcome:
        async with receiving(_server_tls(ca, "other.example")) as receiver:
            return await attempt_once(receiver.url + "/ok", ssl_context=_trusting(ca))

    outcome = run(go)
    assert (outcome.ok, outcome.kind) == (False, FailureKind.TLS)


def test_a_receiver_below_tls_1_2_is_a_tls_failure(ca: trustme.CA) -> None:
    server = _server_tls(ca, "127.0.0.1")
    server.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    server.maximum_version = ssl.TLSVersion.TLSv1_1

    async def go() -> Outcome:
        async with receiving(server) as receiver:
            return await attempt_once(receiver.url + "/ok", ssl_context=_trusting(ca))

    outcome = run(go)
    assert (outcome.ok, outcome.kind) == (False, FailureKind.TLS)


def test_the_client_checks_certificates_and_refuses_old_tls() -> None:
    context = tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    weak = ssl.create_default_context()
    weak.minimum_version = ssl.TLSVersion.TLSv1
    with pytest.raises(ValueError, match=r"TLS 1\.2"):
        WebhookClient(LOCAL, ssl_context=weak)


# -- many at once


def test_concurrent_attempts_all_arrive() -> None:
    async def go() -> tuple[list[Outcome], Receiver]:
        async with receiving() as receiver, WebhookClient(LOCAL) as webhooks:
            outcomes = await asyncio.gather(
                *(
                    webhooks.attempt(request(receiver.url + "/ok", message_id=f"msg_{i}"))
                    for i in range(200)
                )
            )
            return list(outcomes), receiver

    outcomes, receiver = run(go)
    assert all(o.ok for o in outcomes)
    ids = sorted(int(r["headers"]["webhook-id"][4:]) for r in receiver.requests)
    assert ids == list(range(200))
