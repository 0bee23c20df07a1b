"""Our PDU layer (landline/carriers/smpp/pdus.py): round trips, the guards it adds to the
library's codec, and agreement with an independent implementation (smpplib's codec)."""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator

import pytest
import smpplib.command
from hypothesis import given
from hypothesis import strategies as st

from landline.carriers.smpp import pdus
from landline.carriers.smpp.pdus import BindMode, DeliverSm, PduError, Status, SubmitSm


@pytest.fixture(autouse=True)
def quiet_smpplib() -> Iterator[None]:
    # smpplib warns about every vendor TLV it skips.
    logger = logging.getLogger("smpplib")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


addresses = st.text("0123456789+", max_size=20)
octets = st.integers(0, 255)
short_messages = st.builds(
    SubmitSm,
    source_addr=addresses,
    destination_addr=addresses,
    short_message=st.binary(max_size=254),
    esm_class=octets,
    data_coding=octets,
    registered_delivery=octets,
    source_addr_ton=octets,
    source_addr_npi=octets,
    dest_addr_ton=octets,
    dest_addr_npi=octets,
    service_type=st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", max_size=5),
    protocol_id=octets,
    priority_flag=octets,
    receipted_message_id=st.none() | st.text("0123456789abcdef", max_size=64),
    message_state=st.none() | st.integers(1, 8),
    sar_msg_ref_num=st.none() | st.integers(0, 0xFFFF),
    sar_total_segments=st.none() | st.integers(1, 255),
    sar_segment_seqnum=st.none() | st.integers(1, 255),
    message_payload=st.none() | st.binary(max_size=2000),
    other_tlvs=st.lists(
        st.tuples(st.integers(0x1400, 0x3FFF), st.binary(max_size=20)), max_size=3
    ).map(tuple),
)


@given(short_messages, st.integers(1, pdus.MAX_SEQUENCE), st.booleans())
def test_submit_and_deliver_round_trip(body: SubmitSm, sequence: int, deliver: bool) -> None:
    if deliver:
        body = DeliverSm(**body.__dict__)
    decoded = pdus.decode(pdus.encode(body, sequence))
    assert decoded.body == body
    assert (decoded.sequence, decoded.status, decoded.is_response) == (sequence, 0, False)


@given(short_messages, st.integers(1, pdus.MAX_SEQUENCE))
def test_smpplib_reads_what_we_write(submit: SubmitSm, sequence: int) -> None:
    body = DeliverSm(**submit.__dict__)  # deliver_sm: the PDU that may carry every TLV here
    wire = pdus.encode(body, sequence)
    theirs = smpplib.command.DeliverSM("deliver_sm", allow_unknown_opt_params=True, sequence=0)
    theirs.parse(wire)
    assert theirs.sequence == sequence
    assert theirs.source_addr.decode() == body.source_addr
    assert theirs.destination_addr.decode() == body.destination_addr
    assert (theirs.short_message or b"") == body.short_message
    assert (theirs.esm_class, theirs.data_coding) == (body.esm_class, body.data_coding)
    assert theirs.registered_delivery == body.registered_delivery
    assert theirs.sar_msg_ref_num == body.sar_msg_ref_num
    assert theirs.message_state == body.message_state
    received = theirs.receipted_message_id
    assert (received.decode() if received is not None else None) == body.receipted_message_id
    assert theirs.message_payload == body.message_payload


@given(
    addresses,
    addresses,
    st.binary(min_size=1, max_size=254),
    st.integers(1, 255),
    st.none() | st.integers(1, 8),
)
def test_we_read_what_smpplib_writes(
    source: str, destination: str, text: bytes, esm_class: int, state: int | None
) -> None:
    theirs = smpplib.command.DeliverSM(
        "deliver_sm",
        sequence=0,
        source_addr=source,
        destination_addr=destination,
        short_message=text,
        esm_class=esm_class,
        message_state=state,
    )
    theirs.sequence = 99
    decoded = pdus.decode(theirs.generate())
    assert isinstance(decoded.body, DeliverSm)
    assert decoded.sequence == 99
    body = decoded.body
    assert (body.source_addr, body.destination_addr) == (source, destination)
    assert (body.short_message, body.esm_class, body.message_state) == (text, esm_class, state)


@pytest.mark.parametrize(
    "body",
    [
        pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret", "SMS", 0x34, 1, 1, "1206*"),
        pdus.Bind(BindMode.RECEIVER, "r", ""),
        pdus.BindResp(BindMode.TRANSMITTER, "SMSC", 0x34),
        pdus.BindResp(BindMode.TRANSCEIVER, "SMSC", None),
        pdus.SubmitSmResp("00002A00"),
        pdus.DeliverSmResp(),
        pdus.EnquireLink(),
        pdus.EnquireLinkResp(),
        pdus.Unbind(),
        pdus.UnbindResp(),
        pdus.GenericNack(),
        pdus.Unknown(0x00000103, b"\x00abc"),
    ],
)
def test_the_other_pdus_round_trip(body: pdus.Body) -> None:
    assert pdus.decode(pdus.encode(body, 7)).body == body


def test_bind_matches_smpplib_byte_for_byte() -> None:
    theirs = smpplib.command.BindTransceiver(
        "bind_transceiver", sequence=0, system_id="landline", password="secret", system_type="SMS"
    )
    theirs.sequence = 3
    ours = pdus.encode(pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret", "SMS"), 3)
    assert ours == theirs.generate()


def test_an_error_response_goes_without_its_body() -> None:
    wire = pdus.encode(pdus.SubmitSmResp("123"), 5, Status.RTHROTTLED)
    assert wire == struct.pack(">IIII", 16, 0x80000004, 0x58, 5)
    assert pdus.decode(wire).body == pdus.SubmitSmResp("")


def test_the_password_never_shows_in_a_repr() -> None:
    assert "secret" not in repr(pdus.Bind(BindMode.TRANSCEIVER, "landline", "secret"))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (SubmitSm("1" * 21, "2"), Status.RINVPARLEN),  # longer than 20 digits
        (SubmitSm("1", "2" * 21), Status.RINVPARLEN),
        (SubmitSm("1", "2", service_type="LONGER"), Status.RINVPARLEN),
        (SubmitSm("ü", "2"), Status.RINVPARLEN),
        (SubmitSm("1", "2", short_message=b"x" * 255), Status.RINVMSGLEN),
        (SubmitSm("1", "2", message_payload=b"x" * 65536), Status.RINVPARLEN),
        (SubmitSm("1", "2", receipted_message_id="x" * 65), Status.RINVPARLEN),
        (pdus.Bind(BindMode.TRANSMITTER, "s" * 16, "p"), Status.RINVPARLEN),
        (pdus.Bind(BindMode.TRANSMITTER, "s", "p" * 9), Status.RINVPARLEN),
    ],
)
def test_what_the_library_would_write_wrongly_is_refused(body: pdus.Body, status: int) -> None:
    with pytest.raises(PduError) as refused:
        pdus.encode(body, 1)
    assert refused.value.status == status


def _deliver_sm(body: bytes, sequence: int = 9) -> bytes:
    return struct.pack(">IIII", 16 + len(body), 5, 0, sequence) + body


MANDATORY = b"\x00" + b"\x01\x01" + b"123\x00" + b"\x01\x01" + b"456\x00" + b"\x00" * 9


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00\x00\x00\x10\x00\x00\x00\x05",  # shorter than a header
        struct.pack(">IIII", 20, 5, 0, 1),  # command_length says more than there is
        _deliver_sm(MANDATORY + b"\x09hey"),  # sm_length past the end
        _deliver_sm(b"\x00\x01\x01" + b"9" * 40),  # an unterminated address
        _deliver_sm(MANDATORY + b"\x00" + b"\x04\x27\x00\x02\x00\x02"),  # message_state of 2 octets
        struct.pack(">IIII", 20, 9, 0, 1) + b"abcd",  # bind with no NUL anywhere
    ],
)
def test_malformed_pdus_raise_with_a_status_to_answer(frame: bytes) -> None:
    with pytest.raises(PduError) as refused:
        pdus.decode(frame)
    assert refused.value.status != 0


@given(st.binary(max_size=120), st.sampled_from([1, 2, 4, 5, 9, 0x80000004, 0x80000009, 0x15]))
def test_any_body_decodes_or_raises_pdu_error(body: bytes, command_id: int) -> None:
    frame = struct.pack(">IIII", 16 + len(body), command_id, 0, 1) + body
    try:
        decoded = pdus.decode(frame)
    except PduError as refused:
        assert refused.status != 0
    else:
        assert decoded.command_id == command_id


def test_the_named_tlvs_read_as_values_and_others_pass_through() -> None:
    body = (
        MANDATORY
        + b"\x00"
        + (
            b"\x00\x1e\x00\x05a1b2\x00"  # receipted_message_id
            + b"\x04\x27\x00\x01\x02"  # message_state
            + b"\x02\x0c\x00\x02\x01\x02"  # sar_msg_ref_num
            + b"\x14\x03\x00\x02\xaa\xbb"  # a vendor's
        )
    )
    decoded = pdus.decode(_deliver_sm(body)).body
    assert isinstance(decoded, DeliverSm)
    assert decoded.receipted_message_id == "a1b2"
    assert decoded.message_state == 2
    assert decoded.sar_msg_ref_num == 0x0102
    assert decoded.other_tlvs == ((0x1403, b"\xaa\xbb"),)


def test_receipts_and_payloads_by_esm_class_and_tlv() -> None:
    assert DeliverSm("1", "2", esm_class=0x04).is_receipt
    assert DeliverSm("1", "2", esm_class=0x20).is_receipt
    assert not DeliverSm("1", "2", esm_class=0x40).is_receipt
    assert DeliverSm("1", "2", message_payload=b"long").content == b"long"
    assert DeliverSm("1", "2", short_message=b"short", message_payload=b"x").content == b"short"
    assert DeliverSm("1", "2", sar_msg_ref_num=1, sar_total_segments=2).sar is None
