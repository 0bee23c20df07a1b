"""The SMSC simulator (landline/carriers/smpp/smsc.py) over real TCP, driven by a plain
SMPP client (our session layer), one behaviour at a time."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from landline.carriers.smpp import pdus
from landline.carriers.smpp.pdus import BindMode, DeliverSm, Pdu, Status, SubmitSm
from landline.carriers.smpp.session import (
    BindFailed,
    ResponseTimeout,
    Session,
    SessionClosed,
    open_esme,
)
from landline.carriers.smpp.smsc import Behaviour, ReceiptPlan, SmscConfig, SmscSimulator
from landline.core import segments
from landline.core.reassembly import Reassembler
from landline.core.receipts import IdBase, IdFormat, Outcome, read_receipt

ROOT = Path(__file__).resolve().parent.parent
LINE, HANDSET = "12065550123", "12065550100"


def run(scenario: Callable[[], Awaitable[Any]], timeout: float = 30) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)

    return asyncio.run(bounded())


async def bind(
    smsc: SmscSimulator,
    mode: BindMode = BindMode.TRANSCEIVER,
    system_id: str = "landline",
    password: str = "secret",
    seen: list[Pdu] | None = None,
    **options: Any,
) -> Session:
    session, _ = await open_esme(
        "127.0.0.1",
        smsc.port,
        pdus.Bind(mode, system_id, password),
        on_received=seen.append if seen is not None else None,
        **options,
    )
    return session


async def next_deliver(session: Session, timeout: float = 5) -> DeliverSm:
    """The next deliver_sm, answered OK."""
    pdu = await asyncio.wait_for(session.next_request(), timeout)
    assert isinstance(pdu.body, DeliverSm), pdu
    session.respond(pdu, pdus.DeliverSmResp())
    return pdu.body


def submit(destination: str = HANDSET, text: bytes = b"hello", receipt: int = 1) -> SubmitSm:
    return SubmitSm(LINE, destination, text, registered_delivery=receipt)


def message_id(pdu: Pdu) -> str:
    assert pdu.status == Status.ROK and isinstance(pdu.body, pdus.SubmitSmResp), pdu
    return pdu.body.message_id


# --- binding -----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(BindMode))
def test_each_bind_mode_is_accepted_with_the_right_password(mode: BindMode) -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session, resp = await open_esme(
                "127.0.0.1", smsc.port, pdus.Bind(mode, "landline", "secret")
            )
            assert (resp.mode, resp.system_id, resp.sc_interface_version) == (mode, "LLSIM", 0x34)
            await smsc.wait_until(lambda: len(smsc.esmes) == 1)
            assert (smsc.esmes[0].system_id, smsc.esmes[0].mode) == ("landline", mode)
            await session.unbind()

    run(scenario)


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [("landline", "wrong", Status.RINVPASWD), ("stranger", "secret", Status.RINVSYSID)],
)
def test_a_bad_bind_is_refused_and_the_connection_closed(
    system_id: str, password: str, status: int
) -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
            session = Session(reader, writer)
            session.start()
            response = await session.request(pdus.Bind(BindMode.TRANSCEIVER, system_id, password))
            assert response.status == status
            await asyncio.wait_for(session.closed.wait(), 5)
            assert smsc.esmes == []
            with pytest.raises(BindFailed):
                await bind(smsc, system_id=system_id, password=password)

    run(scenario)


def test_before_a_bind_only_enquire_link_is_answered() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            reader, writer = await asyncio.open_connection("127.0.0.1", smsc.port)
            session = Session(reader, writer)
            session.start()
            assert (await session.request(submit())).status == Status.RINVBNDSTS
            assert (await session.request(pdus.EnquireLink())).status == Status.ROK
            assert smsc.submitted == 0
            await session.close()

    run(scenario)


def test_enquire_link_and_unbind_once_bound() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            link = await session.request(pdus.EnquireLink())
            assert isinstance(link.body, pdus.EnquireLinkResp) and link.status == 0
            goodbye = await session.request(pdus.Unbind())
            assert isinstance(goodbye.body, pdus.UnbindResp) and goodbye.status == 0
            await asyncio.wait_for(session.closed.wait(), 5)
            await smsc.wait_until(lambda: smsc.esmes == [])

    run(scenario)


# --- accepting, with receipts ------------------------------------------------------------


def test_an_accepted_text_gets_a_hex_id_and_a_delivered_receipt_that_matches_it() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            sent_id = message_id(await session.request(submit(text=b"Hi there")))
            assert sent_id == "00002A00"
            receipt = await next_deliver(session)
            assert receipt.is_receipt and receipt.esm_class == 0x04
            assert (receipt.source_addr, receipt.destination_addr) == (HANDSET, LINE)
            assert receipt.receipted_message_id == "2a00" and receipt.message_state == 2
            report = read_receipt(
                receipt.short_message.decode(),
                receipted_message_id=receipt.receipted_message_id,
                message_state=receipt.message_state,
            )
            assert report is not None and report.outcome is Outcome.DELIVERED
            ids = IdFormat(IdBase.HEX, IdBase.HEX)
            assert ids.submit_key(sent_id) == ids.receipt_key(report.message_id)
            assert b"text:Hi there" in receipt.short_message
            await session.unbind()

    run(scenario)


def test_hex_in_the_response_and_decimal_in_the_receipt() -> None:
    async def scenario() -> None:
        config = SmscConfig(message_ids=IdBase.HEX, receipt_ids=IdBase.DECIMAL)
        async with SmscSimulator(config) as smsc:
            session = await bind(smsc)
            sent_id = message_id(await session.request(submit()))
            receipt = await next_deliver(session)
            assert (sent_id, receipt.receipted_message_id) == ("00002A00", str(0x2A00))
            ids = IdFormat(IdBase.HEX, IdBase.DECIMAL)
            assert ids.submit_key(sent_id) == ids.receipt_key(str(receipt.receipted_message_id))
            await session.unbind()

    run(scenario)


def test_decimal_ids() -> None:
    async def scenario() -> None:
        async with SmscSimulator(SmscConfig(message_ids=IdBase.DECIMAL)) as smsc:
            session = await bind(smsc)
            assert message_id(await session.request(submit())) == "10752"
            assert (await next_deliver(session)).receipted_message_id == "10752"
            await session.unbind()

    run(scenario)


def test_a_failure_receipt_for_one_destination() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.by_destination["12065550001"] = Behaviour.accept(
                ReceiptPlan(stat="UNDELIV", err="034")
            )
            session = await bind(smsc)
            message_id(await session.request(submit("12065550001")))
            receipt = await next_deliver(session)
            report = read_receipt(
                receipt.short_message.decode(), message_state=receipt.message_state
            )
            assert report is not None
            assert (report.outcome, report.stat, report.error) == (Outcome.FAILED, "UNDELIV", "034")
            assert receipt.message_state == 5
            await session.unbind()

    run(scenario)


def test_receipts_only_as_registered_delivery_asks() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.by_destination["12065550001"] = Behaviour.accept(ReceiptPlan(stat="UNDELIV"))
            session = await bind(smsc)
            message_id(await session.request(submit(receipt=0)))  # none asked
            message_id(await session.request(submit(receipt=2)))  # only on failure: delivered
            failed = message_id(await session.request(submit("12065550001", receipt=2)))
            wanted = message_id(await session.request(submit(receipt=1)))
            # Receipts go out in the order of the submits, so had the first two been
            # sent they would come first.
            first, second = await next_deliver(session), await next_deliver(session)
            assert [first.receipted_message_id, second.receipted_message_id] == [
                failed.lower().lstrip("0"),
                wanted.lower().lstrip("0"),
            ]
            await session.unbind()

    run(scenario)


def test_the_submit_sm_resp_can_be_held_back() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.script(Behaviour.accept(receipt=None, resp_delay=0.3))
            seen: list[Pdu] = []
            session = await bind(smsc, seen=seen)
            started = time.monotonic()
            slow = asyncio.ensure_future(session.request(submit()))
            await session.request(pdus.EnquireLink())  # answered meanwhile
            assert not slow.done()
            message_id(await slow)
            assert time.monotonic() - started >= 0.3
            kinds = [type(p.body) for p in seen[-2:]]
            assert kinds == [pdus.EnquireLinkResp, pdus.SubmitSmResp]
            await session.unbind()

    run(scenario)


@pytest.mark.parametrize(
    ("behaviour", "status"),
    [
        (Behaviour.throttle(), Status.RTHROTTLED),
        (Behaviour.queue_full(), Status.RMSGQFUL),
        (Behaviour.reject(), Status.RINVDSTADR),
        (Behaviour.reject(Status.RSUBMITFAIL), Status.RSUBMITFAIL),
    ],
)
def test_refusals_then_the_default_again(behaviour: Behaviour, status: int) -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.script(behaviour)
            session = await bind(smsc)
            refused = await session.request(submit())
            assert refused.status == status and isinstance(refused.body, pdus.SubmitSmResp)
            message_id(await session.request(submit()))
            assert smsc.submitted == 1
            await session.unbind()

    run(scenario)


def test_the_link_drops_mid_burst() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            accepted = Behaviour.accept(receipt=None)
            smsc.script(accepted, accepted, accepted, Behaviour.drop_link())
            session = await bind(smsc)
            outcomes = await asyncio.gather(
                *(session.request(submit(receipt=0)) for _ in range(8)), return_exceptions=True
            )
            answered = [o for o in outcomes if isinstance(o, Pdu)]
            assert [message_id(o) for o in answered] == ["00002A00", "00002A01", "00002A02"]
            assert all(isinstance(o, SessionClosed) for o in outcomes[3:])
            assert session.closed.is_set()
            await smsc.wait_until(lambda: smsc.esmes == [])

    run(scenario)


def test_a_submit_that_is_never_answered() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.script(Behaviour.no_answer())
            session = await bind(smsc)
            with pytest.raises(ResponseTimeout):
                await session.request(submit(text=b"into the void"), timeout=0.3)
            assert smsc.submits()[-1].short_message == b"into the void"
            message_id(await session.request(submit()))  # the session is still up
            await session.unbind()

    run(scenario)


# --- receipts: late, held, twice, early ---------------------------------------------------


def test_a_late_receipt() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.default = Behaviour.accept(ReceiptPlan(delay=0.3))
            session = await bind(smsc)
            message_id(await session.request(submit()))
            answered = time.monotonic()
            await next_deliver(session)
            assert time.monotonic() - answered >= 0.25
            await session.unbind()

    run(scenario)


def test_receipts_held_until_released() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.default = Behaviour.accept(ReceiptPlan(held=True))
            session = await bind(smsc)
            first = message_id(await session.request(submit()))
            second = message_id(await session.request(submit()))
            assert smsc.release_receipts() == 2
            got = {(await next_deliver(session)).receipted_message_id for _ in range(2)}
            assert got == {first.lower().lstrip("0"), second.lower().lstrip("0")}
            assert smsc.release_receipts() == 0
            await session.unbind()

    run(scenario)


def test_the_same_receipt_twice() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.default = Behaviour.accept(ReceiptPlan(copies=2))
            session = await bind(smsc)
            message_id(await session.request(submit()))
            one, two = await next_deliver(session), await next_deliver(session)
            assert one == two and one.receipted_message_id == "2a00"
            await session.unbind()

    run(scenario)


def test_a_receipt_before_the_submit_sm_resp() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.default = Behaviour.accept(ReceiptPlan(before_resp=True))
            seen: list[Pdu] = []
            session = await bind(smsc, seen=seen)
            # Answer deliver_sm as they come, while the submit waits for its response.
            receipts = asyncio.ensure_future(next_deliver(session))
            sent_id = message_id(await session.request(submit()))
            receipt = await receipts
            kinds = [type(p.body) for p in seen[1:]]
            assert kinds == [DeliverSm, pdus.SubmitSmResp]
            assert receipt.receipted_message_id == sent_id.lower().lstrip("0")
            await session.unbind()

    run(scenario)


def test_a_receipt_without_tlvs_is_only_text() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            smsc.default = Behaviour.accept(ReceiptPlan(tlvs=False, stat="EXPIRED"))
            session = await bind(smsc)
            message_id(await session.request(submit()))
            receipt = await next_deliver(session)
            assert receipt.receipted_message_id is None and receipt.message_state is None
            report = read_receipt(receipt.short_message.decode())
            assert report is not None and report.outcome is Outcome.FAILED
            await session.unbind()

    run(scenario)


def test_a_receipt_the_test_writes_itself_and_dropping_every_link() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            sending = asyncio.ensure_future(
                smsc.send_receipt("FFFF", source=HANDSET, destination=LINE, stat="REJECTD")
            )
            receipt = await next_deliver(session)
            assert await sending == Status.ROK
            report = read_receipt(
                receipt.short_message.decode(),
                receipted_message_id=receipt.receipted_message_id,
                message_state=receipt.message_state,
            )
            assert report is not None
            assert (report.message_id, report.outcome) == ("FFFF", Outcome.FAILED)
            smsc.drop_links()
            await asyncio.wait_for(session.closed.wait(), 5)
            await smsc.wait_until(lambda: smsc.esmes == [])

    run(scenario)


# --- binds of two kinds ------------------------------------------------------------------


def test_transmitter_and_receiver_binds() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            transmitter = await bind(smsc, BindMode.TRANSMITTER)
            receiver = await bind(smsc, BindMode.RECEIVER)
            sent_id = message_id(await transmitter.request(submit()))
            receipt = await next_deliver(receiver)
            assert receipt.receipted_message_id == sent_id.lower().lstrip("0")
            refused = await receiver.request(submit())
            assert refused.status == Status.RINVBNDSTS
            assert transmitter.pending_requests() == []
            await transmitter.unbind()
            await receiver.unbind()

    run(scenario)


def test_receipts_wait_for_a_receiver_to_bind() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            transmitter = await bind(smsc, BindMode.TRANSMITTER)
            sent_id = message_id(await transmitter.request(submit()))
            receiver = await bind(smsc, BindMode.RECEIVER)
            receipt = await next_deliver(receiver)
            assert receipt.receipted_message_id == sent_id.lower().lstrip("0")
            await transmitter.unbind()
            await receiver.unbind()

    run(scenario)


def test_a_deliver_sm_refused_for_now_is_delivered_again() -> None:
    async def scenario() -> None:
        async with SmscSimulator(SmscConfig(redeliver_delay=0.05)) as smsc:
            session = await bind(smsc)
            message_id(await session.request(submit()))
            first = await asyncio.wait_for(session.next_request(), 5)
            session.respond(first, pdus.DeliverSmResp(), Status.RX_T_APPN)
            again = await next_deliver(session)
            assert again == first.body
            await session.unbind()

    run(scenario)


# --- texts from handsets -----------------------------------------------------------------

LONG_GSM = "Meet at the café? " * 12 + "{ok} €5"
LONG_LATIN = "Crème brûlée, s'il vous plaît! " * 6
LONG_UCS2 = "Привет, как дела? 😀 " * 6


async def read_text(session: Session, parts: int) -> str:
    reassembler = Reassembler()
    texts: list[str] = []
    for now in range(parts):
        pdu = await asyncio.wait_for(session.next_request(), 5)
        body = pdu.body
        assert isinstance(body, DeliverSm) and not body.is_receipt
        part = segments.read_part(body.content, body.data_coding, body.esm_class, body.sar)
        texts += [
            done.text
            for done in reassembler.add(body.source_addr, body.destination_addr, part, now)
        ]
        session.respond(pdu, pdus.DeliverSmResp())
    assert len(texts) == 1 and len(reassembler) == 0
    return texts[0]


@pytest.mark.parametrize("split", ["udh8", "udh16", "sar", "payload"])
@pytest.mark.parametrize(
    ("text", "coding"),
    [
        (LONG_GSM, segments.Coding.GSM7),
        (LONG_LATIN, segments.Coding.LATIN1),
        (LONG_UCS2, segments.Coding.UCS2),
        ("Short one ☺", segments.Coding.UCS2),
    ],
)
def test_a_handset_texts_the_line(split: str, text: str, coding: segments.Coding) -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            parts = smsc_parts = (
                len(segments.split(text, coding, wide=split == "udh16"))
                if split != "payload"
                else 1
            )
            sending = asyncio.ensure_future(
                smsc.send_text(HANDSET, LINE, text, coding=coding, split=split)  # type: ignore[arg-type]
            )
            assert await read_text(session, parts) == text
            assert await sending == [Status.ROK] * smsc_parts
            await session.unbind()

    run(scenario)


def test_parts_out_of_order() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            text = "x" * 153 + "y" * 153 + "z" * 5
            sending = asyncio.ensure_future(smsc.send_text(HANDSET, LINE, text, order=[3, 1, 2]))
            assert await read_text(session, 3) == text
            await sending
            await session.unbind()

    run(scenario)


def test_the_wire_form_of_handset_parts() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            seen: list[Pdu] = []
            session = await bind(smsc, seen=seen)
            sending = asyncio.ensure_future(
                smsc.send_text(HANDSET, LINE, "a" * 160 + "b", split="udh16", reference=0x1234)
            )
            await read_text(session, 2)
            await sending
            first = seen[1].body
            assert isinstance(first, DeliverSm)
            assert first.esm_class == 0x40 and first.data_coding == 0
            assert first.short_message[:7] == bytes((6, 8, 4, 0x12, 0x34, 2, 1))
            assert first.short_message[7:] == b"a" * 152
            await session.unbind()

    run(scenario)


# --- seeing everything -------------------------------------------------------------------


def test_every_pdu_the_simulator_reads_is_recorded() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            session = await bind(smsc)
            await session.request(submit(text=b"one"))
            await next_deliver(session)
            await session.unbind()
            await smsc.wait_until(lambda: len(smsc.received) == 4)
            kinds = [type(r.pdu.body) for r in smsc.received]
            assert kinds == [pdus.Bind, SubmitSm, pdus.DeliverSmResp, pdus.Unbind]
            assert [r.system_id for r in smsc.received] == [
                None,
                "landline",
                "landline",
                "landline",
            ]
            assert smsc.submits()[0].short_message == b"one"

    run(scenario)


def test_malformed_input_is_answered_with_generic_nack() -> None:
    async def scenario() -> None:
        async with SmscSimulator() as smsc:
            seen: list[Pdu] = []
            session = await bind(smsc, seen=seen)
            # query_sm, which the simulator does not speak
            session.send_raw(pdus.encode(pdus.Unknown(0x00000003, b"1\x00\x00\x00\x00"), 77))
            await smsc.wait_until(
                lambda: any(p.sequence == 77 for p in smsc.received_of(pdus.Unknown))
            )
            message_id(await session.request(submit()))  # still bound
            nacks = [p for p in seen if isinstance(p.body, pdus.GenericNack)]
            assert [(p.sequence, p.status) for p in nacks] == [(77, Status.RINVCMDID)]
            # A command_length no PDU can have: a generic_nack, and the link is closed.
            session.send_raw(b"\x00\x00\x00\x05junk")
            await asyncio.wait_for(session.closed.wait(), 5)
            nacks = [p for p in seen if isinstance(p.body, pdus.GenericNack)]
            assert nacks[-1].status == Status.RINVCMDLEN

    run(scenario)


# --- TLS and the process -------------------------------------------------------------------


def _self_signed(directory: Path) -> tuple[Path, Path]:
    crypto = pytest.importorskip("cryptography")
    del crypto
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smsc.pem", directory / "smsc.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_smpp_over_tls(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)

    async def scenario() -> None:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)
        async with SmscSimulator(SmscConfig(ssl_context=server_context)) as smsc:
            client_context = ssl.create_default_context(cafile=str(cert))
            client_context.check_hostname = False
            session, _ = await open_esme(
                "127.0.0.1",
                smsc.port,
                pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret"),
                ssl_context=client_context,
            )
            message_id(await session.request(submit()))
            assert (await next_deliver(session)).is_receipt
            await session.unbind()
            # A client that does not speak TLS gets nowhere.
            with pytest.raises((BindFailed, SessionClosed, ResponseTimeout, OSError)):
                await open_esme(
                    "127.0.0.1",
                    smsc.port,
                    pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret"),
                    connect_timeout=2,
                )

    run(scenario)


def test_the_simulator_as_a_process(tmp_path: Path) -> None:
    from conftest import free_port

    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "landline.carriers.smpp.smsc",
            "--port",
            str(port),
            "--account",
            "esme:pw",
            "--message-ids",
            "decimal",
            "--receipt-stat",
            "UNDELIV",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout is not None
        assert f"listening on 127.0.0.1:{port}" in process.stdout.readline()

        async def scenario() -> None:
            session, _ = await open_esme(
                "127.0.0.1", port, pdus.Bind(BindMode.TRANSCEIVER, "esme", "pw")
            )
            assert message_id(await session.request(submit())) == "10752"
            receipt = await next_deliver(session)
            assert b"stat:UNDELIV" in receipt.short_message
            await session.unbind()

        run(scenario)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
