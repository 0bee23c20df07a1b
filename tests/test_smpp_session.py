"""The SMPP session layer (landline/carriers/smpp/session.py) against scripted peers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from landline.carriers.smpp import pdus
from landline.carriers.smpp.pdus import BindMode, Pdu, Status
from landline.carriers.smpp.session import (
    FrameError,
    ResponseTimeout,
    SessionClosed,
    open_esme,
    take_frames,
)
from landline.carriers.smpp.smsc import SmscSimulator

BIND = pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret")


def run(scenario: Callable[[], Awaitable[Any]], timeout: float = 20) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


@given(
    st.lists(st.binary(max_size=40), min_size=1, max_size=8),
    st.lists(st.integers(1, 50), max_size=20),
)
def test_frames_come_out_whole_however_the_bytes_arrive(
    bodies: list[bytes], cuts: list[int]
) -> None:
    frames = [pdus.encode(pdus.Unknown(0x103, body), n + 1) for n, body in enumerate(bodies)]
    stream = b"".join(frames)
    buffer = bytearray()
    got: list[bytes] = []
    pos = 0
    for cut in [*cuts, len(stream)]:
        buffer += stream[pos : pos + cut]
        pos += cut
        got += take_frames(buffer)
    buffer += stream[pos:]
    got += take_frames(buffer)
    assert got == frames and buffer == b""


@pytest.mark.parametrize("length", [0, 15, pdus.MAX_PDU_LENGTH + 1, 0xFFFFFFFF])
def test_a_length_no_pdu_can_have_stops_the_stream(length: int) -> None:
    with pytest.raises(FrameError):
        take_frames(bytearray(length.to_bytes(4, "big") + b"\x00" * 12))


class Peer:
    """A scripted SMSC: answers the bind, then hands every other PDU to `react`."""

    def __init__(self, react: Callable[[Peer, Pdu], None] = lambda peer, pdu: None) -> None:
        self.react = react
        self.received: list[Pdu] = []
        self.writer: asyncio.StreamWriter | None = None
        self.changed = asyncio.Event()
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        if self.writer is not None:
            self.writer.transport.abort()

    def send(self, body: pdus.Body, sequence: int, status: int = 0) -> None:
        assert self.writer is not None
        self.writer.write(pdus.encode(body, sequence, status))

    async def wait_for(self, count: int) -> None:
        while len(self.received) < count:
            self.changed.clear()
            await self.changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        buffer = bytearray()
        while data := await reader.read(4096):
            buffer += data
            for frame in take_frames(buffer):
                pdu = pdus.decode(frame)
                if isinstance(pdu.body, pdus.Bind):
                    self.send(pdus.BindResp(pdu.body.mode, "PEER"), pdu.sequence)
                    continue
                self.received.append(pdu)
                self.changed.set()
                self.react(self, pdu)


def test_responses_in_any_order_reach_their_requests() -> None:
    async def scenario() -> None:
        peer = Peer()
        port = await peer.start()
        session, _ = await open_esme("127.0.0.1", port, BIND)
        asks = [
            asyncio.ensure_future(session.request(pdus.SubmitSm("1", str(n)))) for n in range(5)
        ]
        await peer.wait_for(5)
        for pdu in reversed(peer.received):  # answered last first
            assert isinstance(pdu.body, pdus.SubmitSm)
            peer.send(pdus.SubmitSmResp(f"id-{pdu.body.destination_addr}"), pdu.sequence)
        answers = await asyncio.gather(*asks)
        assert [a.body for a in answers] == [pdus.SubmitSmResp(f"id-{n}") for n in range(5)]
        await session.close()
        await peer.stop()

    run(scenario)


def test_no_more_than_the_window_is_outstanding() -> None:
    async def scenario() -> None:
        peer = Peer()  # answers nothing
        port = await peer.start()
        session, _ = await open_esme("127.0.0.1", port, BIND, window=4, response_timeout=0.5)
        asks = [asyncio.ensure_future(session.request(pdus.EnquireLink())) for _ in range(10)]
        # All ten were asked in one turn of the loop, and one turn's writes go out in one
        # send: had the window let them, the peer would have read all ten at once.
        await peer.wait_for(4)
        assert len(peer.received) == 4
        peer.send(pdus.EnquireLinkResp(), peer.received[0].sequence)
        await peer.wait_for(5)
        assert (await asks[0]).status == 0
        outcomes = await asyncio.gather(*asks[1:], return_exceptions=True)
        assert all(isinstance(o, ResponseTimeout) for o in outcomes)
        await session.close()
        await peer.stop()

    run(scenario)


def test_a_peer_request_waits_for_the_owner_to_answer() -> None:
    async def scenario() -> None:
        peer = Peer()
        port = await peer.start()
        session, _ = await open_esme("127.0.0.1", port, BIND)
        peer.send(pdus.DeliverSm("2", "1", b"hi"), 500)
        peer.send(pdus.EnquireLink(), 501)  # answered by the session itself
        request = await asyncio.wait_for(session.next_request(), 5)
        assert request.sequence == 500
        await peer.wait_for(1)
        assert [(p.sequence, type(p.body)) for p in peer.received] == [(501, pdus.EnquireLinkResp)]
        session.respond(request, pdus.DeliverSmResp(), Status.RX_T_APPN)
        await peer.wait_for(2)
        assert (peer.received[1].sequence, peer.received[1].status) == (500, Status.RX_T_APPN)
        await session.close()
        await peer.stop()

    run(scenario)


def test_keep_alive_asks_a_quiet_link_and_drops_one_that_never_answers() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session, _ = await open_esme("127.0.0.1", smsc.port, BIND, enquire_interval=0.05)
            await smsc.wait_until(lambda: len(smsc.received_of(pdus.EnquireLink)) >= 2)
            assert session.is_open
            await session.unbind()
        silent = Peer()
        port = await silent.start()
        session, _ = await open_esme(
            "127.0.0.1", port, BIND, enquire_interval=0.05, response_timeout=0.2
        )
        await asyncio.wait_for(session.closed.wait(), 5)
        assert isinstance(silent.received[0].body, pdus.EnquireLink)
        with pytest.raises(SessionClosed):
            await session.request(pdus.EnquireLink())
        await silent.stop()

    run(scenario)


def test_requests_in_flight_fail_when_the_peer_goes() -> None:
    async def scenario() -> None:
        peer = Peer(lambda peer, pdu: peer.writer.transport.abort() if peer.writer else None)
        port = await peer.start()
        session, _ = await open_esme("127.0.0.1", port, BIND)
        with pytest.raises(SessionClosed):
            await session.request(pdus.SubmitSm("1", "2"))
        with pytest.raises(SessionClosed):
            await session.next_request()
        await peer.stop()

    run(scenario)
