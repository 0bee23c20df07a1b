"""The SMPP 3.4 PDUs Landline speaks, as small dataclasses, and their wire form.

This is the one module that knows the SMPP library: submit_sm and deliver_sm bodies are
encoded and decoded by smpp34's codec (Rust; strict on decode), behind checks of our
own for what it lets through on encode (over-long address fields, TLV values too long
for their length field). The other PDUs are a few C-strings each and are written here.
Replacing the library means rewriting `_encode_short_message` and `_decode_short_message`.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from enum import Enum, IntEnum

import smpp34

HEADER = struct.Struct(">IIII")
HEADER_LENGTH = HEADER.size
# A submit_sm or deliver_sm with a message_payload of a few kilobytes is the largest PDU
# we expect; anything far beyond that is a broken or hostile peer.
MAX_PDU_LENGTH = 70_000
MAX_SEQUENCE = 0x7FFFFFFF
MAX_SHORT_MESSAGE = 254
MAX_TLV_VALUE = 0xFFFF
INTERFACE_VERSION = 0x34
RESPONSE_BIT = 0x80000000


class CommandId(IntEnum):
    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015


class Status(IntEnum):
    """command_status values (SMPP 3.4 section 5.1.3) that Landline uses."""

    ROK = 0x00
    RINVMSGLEN = 0x01
    RINVCMDLEN = 0x02
    RINVCMDID = 0x03
    RINVBNDSTS = 0x04
    RALYBND = 0x05
    RSYSERR = 0x08
    RINVSRCADR = 0x0A
    RINVDSTADR = 0x0B
    RINVMSGID = 0x0C
    RBINDFAIL = 0x0D
    RINVPASWD = 0x0E
    RINVSYSID = 0x0F
    RMSGQFUL = 0x14
    RINVESMCLASS = 0x43
    RSUBMITFAIL = 0x45
    RTHROTTLED = 0x58
    RX_T_APPN = 0x64  # the ESME cannot take it now; try again
    RX_P_APPN = 0x65  # the ESME will never take it
    RX_R_APPN = 0x66  # the ESME rejects it
    RINVOPTPARSTREAM = 0xC0
    RINVPARLEN = 0xC2
    RUNKNOWNERR = 0xFF


class Tag(IntEnum):
    """TLV tags Landline reads or writes."""

    RECEIPTED_MESSAGE_ID = 0x001E
    SAR_MSG_REF_NUM = 0x020C
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    MESSAGE_PAYLOAD = 0x0424
    MESSAGE_STATE = 0x0427


class BindMode(Enum):
    TRANSMITTER = CommandId.BIND_TRANSMITTER
    RECEIVER = CommandId.BIND_RECEIVER
    TRANSCEIVER = CommandId.BIND_TRANSCEIVER

    @property
    def transmits(self) -> bool:
        return self is not BindMode.RECEIVER

    @property
    def receives(self) -> bool:
        return self is not BindMode.TRANSMITTER


class PduError(ValueError):
    """A PDU that cannot be read or written; `status` is what to answer it with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


# --- Bodies ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bind:
    mode: BindMode
    system_id: str
    password: str
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def __repr__(self) -> str:  # never show the password
        return f"Bind(mode={self.mode.name}, system_id={self.system_id!r})"


@dataclass(frozen=True)
class BindResp:
    mode: BindMode
    system_id: str = ""
    sc_interface_version: int | None = INTERFACE_VERSION


@dataclass(frozen=True)
class ShortMessage:
    """The body submit_sm and deliver_sm share, with the TLVs Landline uses by name."""

    source_addr: str
    destination_addr: str
    short_message: bytes = b""
    esm_class: int = 0
    data_coding: int = 0
    registered_delivery: int = 0
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    service_type: str = ""
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    replace_if_present_flag: int = 0
    sm_default_msg_id: int = 0
    receipted_message_id: str | None = None
    message_state: int | None = None
    sar_msg_ref_num: int | None = None
    sar_total_segments: int | None = None
    sar_segment_seqnum: int | None = None
    message_payload: bytes | None = None
    other_tlvs: tuple[tuple[int, bytes], ...] = field(default=())

    @property
    def content(self) -> bytes:
        """The user data, wherever it came: message_payload when short_message is empty."""
        if not self.short_message and self.message_payload is not None:
            return self.message_payload
        return self.short_message

    @property
    def sar(self) -> tuple[int, int, int] | None:
        """(reference, total, seq) when all three SAR TLVs are present."""
        if (
            self.sar_msg_ref_num is None
            or self.sar_total_segments is None
            or self.sar_segment_seqnum is None
        ):
            return None
        return (self.sar_msg_ref_num, self.sar_total_segments, self.sar_segment_seqnum)

    @property
    def is_receipt(self) -> bool:
        """esm_class message type (bits 5-2): SMSC delivery receipt, or an intermediate
        delivery notification."""
        return self.esm_class & 0x3C in (0x04, 0x20)


@dataclass(frozen=True)
class SubmitSm(ShortMessage):
    pass


@dataclass(frozen=True)
class DeliverSm(ShortMessage):
    pass


@dataclass(frozen=True)
class SubmitSmResp:
    message_id: str = ""


@dataclass(frozen=True)
class DeliverSmResp:
    pass


@dataclass(frozen=True)
class EnquireLink:
    pass


@dataclass(frozen=True)
class EnquireLinkResp:
    pass


@dataclass(frozen=True)
class Unbind:
    pass


@dataclass(frozen=True)
class UnbindResp:
    pass


@dataclass(frozen=True)
class GenericNack:
    pass


@dataclass(frozen=True)
class Unknown:
    """A PDU Landline does not speak (data_sm, query_sm, ...): answered with generic_nack."""

    command_id: int
    body: bytes = b""


Body = (
    Bind
    | BindResp
    | SubmitSm
    | SubmitSmResp
    | DeliverSm
    | DeliverSmResp
    | EnquireLink
    | EnquireLinkResp
    | Unbind
    | UnbindResp
    | GenericNack
    | Unknown
)


@dataclass(frozen=True)
class Pdu:
    command_id: int
    status: int
    sequence: int
    body: Body

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)


_EMPTY_BODIES: dict[type, CommandId] = {
    DeliverSmResp: CommandId.DELIVER_SM_RESP,
    EnquireLink: CommandId.ENQUIRE_LINK,
    EnquireLinkResp: CommandId.ENQUIRE_LINK_RESP,
    Unbind: CommandId.UNBIND,
    UnbindResp: CommandId.UNBIND_RESP,
    GenericNack: CommandId.GENERIC_NACK,
}
_EMPTY_BY_ID = {command: body_type for body_type, command in _EMPTY_BODIES.items()}
_BIND_RESP_MODES = {
    CommandId.BIND_TRANSMITTER_RESP: BindMode.TRANSMITTER,
    CommandId.BIND_RECEIVER_RESP: BindMode.RECEIVER,
    CommandId.BIND_TRANSCEIVER_RESP: BindMode.TRANSCEIVER,
}


def command_id_of(body: Body) -> int:
    if isinstance(body, Bind):
        return int(body.mode.value)
    if isinstance(body, BindResp):
        return int(body.mode.value) | RESPONSE_BIT
    if isinstance(body, SubmitSm):
        return CommandId.SUBMIT_SM
    if isinstance(body, DeliverSm):
        return CommandId.DELIVER_SM
    if isinstance(body, SubmitSmResp):
        return CommandId.SUBMIT_SM_RESP
    if isinstance(body, Unknown):
        return body.command_id
    return _EMPTY_BODIES[type(body)]


# --- Encoding ----------------------------------------------------------------------------


def encode(body: Body, sequence: int, status: int = 0) -> bytes:
    """The PDU's bytes. A response with an error status goes without its body, as SMPP
    3.4 asks (section 4: the body "is not returned" on error)."""
    if not 0 <= sequence <= MAX_SEQUENCE:
        raise PduError(Status.RSYSERR, f"sequence number {sequence} is out of range")
    command_id = command_id_of(body)
    if isinstance(body, ShortMessage):
        return _encode_short_message(body, command_id, sequence, status)
    payload = b"" if status and command_id & RESPONSE_BIT else _encode_body(body)
    return HEADER.pack(HEADER_LENGTH + len(payload), command_id, status, sequence) + payload


def _encode_body(body: Body) -> bytes:
    if isinstance(body, Bind):
        return (
            _c_string(body.system_id, 16, "system_id")
            + _c_string(body.password, 9, "password")
            + _c_string(body.system_type, 13, "system_type")
            + bytes((body.interface_version, body.addr_ton, body.addr_npi))
            + _c_string(body.address_range, 41, "address_range")
        )
    if isinstance(body, BindResp):
        version = b""
        if body.sc_interface_version is not None:
            version = struct.pack(">HHB", Tag.SC_INTERFACE_VERSION, 1, body.sc_interface_version)
        return _c_string(body.system_id, 16, "system_id") + version
    if isinstance(body, SubmitSmResp):
        return _c_string(body.message_id, 65, "message_id")
    if isinstance(body, Unknown):
        return body.body
    return b""


def _c_string(value: str, size: int, name: str) -> bytes:
    """A C-Octet String of at most `size` octets with its NUL: ASCII, never cut short."""
    try:
        data = value.encode("ascii")
    except UnicodeEncodeError as error:
        raise PduError(Status.RINVPARLEN, f"{name} must be ASCII") from error
    if len(data) >= size or b"\x00" in data:
        raise PduError(Status.RINVPARLEN, f"{name} is longer than {size - 1} characters")
    return data + b"\x00"


def _encode_short_message(body: ShortMessage, command_id: int, sequence: int, status: int) -> bytes:
    # smpp34 writes whatever it is given; these are the limits it does not check.
    _c_string(body.service_type, 6, "service_type")
    _c_string(body.source_addr, 21, "source_addr")
    _c_string(body.destination_addr, 21, "destination_addr")
    _c_string(body.schedule_delivery_time, 17, "schedule_delivery_time")
    _c_string(body.validity_period, 17, "validity_period")
    if len(body.short_message) > MAX_SHORT_MESSAGE:
        raise PduError(Status.RINVMSGLEN, "short_message is longer than 254 octets")
    tlvs = [smpp34.Tlv(tag, value) for tag, value in _tlvs_of(body)]
    for tlv in tlvs:
        if len(tlv.value) > MAX_TLV_VALUE:
            raise PduError(Status.RINVPARLEN, f"TLV {tlv.tag:#06x} is longer than 65535 octets")
    pdu_type = smpp34.SubmitSm if command_id == CommandId.SUBMIT_SM else smpp34.DeliverSm
    wire = pdu_type(
        body.source_addr,
        body.destination_addr,
        body.short_message,
        service_type=body.service_type,
        source_addr_ton=body.source_addr_ton,
        source_addr_npi=body.source_addr_npi,
        dest_addr_ton=body.dest_addr_ton,
        dest_addr_npi=body.dest_addr_npi,
        esm_class=body.esm_class,
        protocol_id=body.protocol_id,
        priority_flag=body.priority_flag,
        schedule_delivery_time=body.schedule_delivery_time,
        validity_period=body.validity_period,
        registered_delivery=body.registered_delivery,
        replace_if_present_flag=body.replace_if_present_flag,
        data_coding=body.data_coding,
        sm_default_msg_id=body.sm_default_msg_id,
        tlvs=tlvs,
        sequence_number=sequence,
    ).encode()
    if status:
        wire = wire[:8] + status.to_bytes(4, "big") + wire[12:]
    if len(wire) > MAX_PDU_LENGTH:
        raise PduError(Status.RINVMSGLEN, f"the PDU would be {len(wire)} octets")
    return wire


def _tlvs_of(body: ShortMessage) -> list[tuple[int, bytes]]:
    tlvs: list[tuple[int, bytes]] = []
    if body.receipted_message_id is not None:
        message_id = _c_string(body.receipted_message_id, 65, "receipted_message_id")
        tlvs.append((Tag.RECEIPTED_MESSAGE_ID, message_id))
    if body.message_state is not None:
        tlvs.append((Tag.MESSAGE_STATE, bytes((body.message_state,))))
    if body.sar_msg_ref_num is not None:
        tlvs.append((Tag.SAR_MSG_REF_NUM, body.sar_msg_ref_num.to_bytes(2, "big")))
    if body.sar_total_segments is not None:
        tlvs.append((Tag.SAR_TOTAL_SEGMENTS, bytes((body.sar_total_segments,))))
    if body.sar_segment_seqnum is not None:
        tlvs.append((Tag.SAR_SEGMENT_SEQNUM, bytes((body.sar_segment_seqnum,))))
    if body.message_payload is not None:
        tlvs.append((Tag.MESSAGE_PAYLOAD, body.message_payload))
    tlvs.extend(body.other_tlvs)
    return tlvs


# --- Decoding ----------------------------------------------------------------------------


def decode(frame: bytes) -> Pdu:
    """One whole PDU (header and body, as framed by its command_length). Raises PduError,
    carrying the status to answer with, for a PDU that does not parse."""
    if len(frame) < HEADER_LENGTH:
        raise PduError(Status.RINVCMDLEN, "a PDU is at least 16 octets")
    length, command_id, status, sequence = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduError(Status.RINVCMDLEN, "command_length does not match the PDU")
    payload = frame[HEADER_LENGTH:]
    body: Body
    if command_id in (CommandId.SUBMIT_SM, CommandId.DELIVER_SM):
        body = _decode_short_message(frame, command_id)
    elif command_id in _EMPTY_BY_ID:
        body = _EMPTY_BY_ID[command_id]()
    elif command_id in (
        CommandId.BIND_TRANSMITTER,
        CommandId.BIND_RECEIVER,
        CommandId.BIND_TRANSCEIVER,
    ):
        body = _decode_bind(payload, BindMode(command_id))
    elif command_id in _BIND_RESP_MODES:
        body = _decode_bind_resp(payload, _BIND_RESP_MODES[CommandId(command_id)])
    elif command_id == CommandId.SUBMIT_SM_RESP:
        message_id, _ = _read_c_string(payload, 0, 65, lenient=True)
        body = SubmitSmResp(message_id)
    else:
        body = Unknown(command_id, payload)
    return Pdu(command_id=command_id, status=status, sequence=sequence, body=body)


def _read_c_string(data: bytes, pos: int, size: int, *, lenient: bool = False) -> tuple[str, int]:
    end = data.find(b"\x00", pos, pos + size)
    if end < 0:
        if lenient and len(data) - pos < size:  # an unterminated last field
            return data[pos:].decode("ascii", "replace"), len(data)
        raise PduError(Status.RINVPARLEN, "a C-Octet String is unterminated or too long")
    return data[pos:end].decode("ascii", "replace"), end + 1


def _decode_bind(payload: bytes, mode: BindMode) -> Bind:
    system_id, pos = _read_c_string(payload, 0, 16)
    password, pos = _read_c_string(payload, pos, 9)
    system_type, pos = _read_c_string(payload, pos, 13)
    if pos + 3 > len(payload):
        raise PduError(Status.RINVCMDLEN, "bind is cut short")
    version, ton, npi = payload[pos : pos + 3]
    address_range, _ = _read_c_string(payload, pos + 3, 41)
    return Bind(mode, system_id, password, system_type, version, ton, npi, address_range)


def _decode_bind_resp(payload: bytes, mode: BindMode) -> BindResp:
    if not payload:
        return BindResp(mode, "", None)
    system_id, pos = _read_c_string(payload, 0, 16, lenient=True)
    version: int | None = None
    while pos + 4 <= len(payload):
        tag, length = struct.unpack_from(">HH", payload, pos)
        if tag == Tag.SC_INTERFACE_VERSION and length == 1 and pos + 5 <= len(payload):
            version = payload[pos + 4]
        pos += 4 + length
    return BindResp(mode, system_id, version)


_STATUS_IN_MESSAGE = re.compile(r"\(0x([0-9A-Fa-f]{8})\)")


def _decode_short_message(frame: bytes, command_id: int) -> SubmitSm | DeliverSm:
    try:
        pdu = smpp34.decode(frame)
    except smpp34.SmppError as error:
        found = _STATUS_IN_MESSAGE.search(str(error))
        status = int(found.group(1), 16) if found else Status.RINVCMDLEN
        raise PduError(status, f"malformed PDU: {error}") from error
    if not isinstance(pdu, smpp34.SubmitSm | smpp34.DeliverSm):
        raise PduError(Status.RSYSERR, "the codec did not read a short message")
    named: dict[str, object] = {}
    other: list[tuple[int, bytes]] = []
    for tlv in pdu.tlvs:
        _read_tlv(tlv.tag, tlv.value, named, other)
    body_type: type[SubmitSm | DeliverSm] = (
        SubmitSm if command_id == CommandId.SUBMIT_SM else DeliverSm
    )
    return body_type(
        source_addr=pdu.source_addr,
        destination_addr=pdu.destination_addr,
        short_message=pdu.short_message,
        esm_class=pdu.esm_class,
        data_coding=pdu.data_coding,
        registered_delivery=pdu.registered_delivery,
        source_addr_ton=pdu.source_addr_ton,
        source_addr_npi=pdu.source_addr_npi,
        dest_addr_ton=pdu.dest_addr_ton,
        dest_addr_npi=pdu.dest_addr_npi,
        service_type=pdu.service_type,
        protocol_id=pdu.protocol_id,
        priority_flag=pdu.priority_flag,
        schedule_delivery_time=pdu.schedule_delivery_time,
        validity_period=pdu.validity_period,
        replace_if_present_flag=pdu.replace_if_present_flag,
        sm_default_msg_id=pdu.sm_default_msg_id,
        other_tlvs=tuple(other),
        **named,  # type: ignore[arg-type]
    )


_INT_TLVS = {
    Tag.MESSAGE_STATE: ("message_state", 1),
    Tag.SAR_MSG_REF_NUM: ("sar_msg_ref_num", 2),
    Tag.SAR_TOTAL_SEGMENTS: ("sar_total_segments", 1),
    Tag.SAR_SEGMENT_SEQNUM: ("sar_segment_seqnum", 1),
}


def _read_tlv(tag: int, value: bytes, named: dict[str, object], other: list) -> None:
    if tag in _INT_TLVS:
        name, size = _INT_TLVS[Tag(tag)]
        if len(value) != size:
            raise PduError(Status.RINVPARLEN, f"TLV {tag:#06x} must be {size} octets")
        named[name] = int.from_bytes(value, "big")
    elif tag == Tag.RECEIPTED_MESSAGE_ID:
        # A C-Octet String; some SMSCs leave off the NUL.
        named["receipted_message_id"] = value.split(b"\x00", 1)[0].decode("ascii", "replace")
    elif tag == Tag.MESSAGE_PAYLOAD:
        named["message_payload"] = value
    else:
        other.append((tag, value))
