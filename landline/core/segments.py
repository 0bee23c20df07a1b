"""How a text travels as SMS: its data coding, its parts, and the bytes SMPP carries.

Outbound, a text goes as GSM 7-bit when every character is in the GSM alphabet, else as
UCS-2. One part holds 140 octets of user data (160 septets, 70 UCS-2 units); a longer
text is split into parts that each begin with a concatenation header (UDH) and so hold
153 septets or 67 UCS-2 units. Inbound, a part may be marked by a UDH (8-bit or 16-bit
reference) or by SAR TLVs; both are described as one `Concat`.
"""

from __future__ import annotations

import codecs
import functools
from dataclasses import dataclass
from enum import IntEnum

from landline.core import gsm7

USER_DATA_OCTETS = 140
MAX_PARTS = 255  # the concatenation header counts parts in one octet
ESM_CLASS_UDHI = 0x40  # esm_class bit: short_message begins with a user data header

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08


class Coding(IntEnum):
    """SMPP data_coding values this module reads or writes."""

    GSM7 = 0  # SMSC default alphabet, taken to be GSM 03.38, unpacked
    IA5 = 1  # ASCII
    LATIN1 = 3
    UCS2 = 8


class TextTooLong(ValueError):
    pass


class UndecodableMessage(ValueError):
    """A short_message that cannot be read as text: an unknown data coding, or a user
    data header that runs past the end of the message."""


@dataclass(frozen=True)
class Concat:
    """One part's place in a concatenated text."""

    reference: int
    total: int
    seq: int
    wide: bool = False  # a 16-bit reference (IEI 0x08, or SAR TLVs)


@dataclass(frozen=True)
class Count:
    coding: Coding
    units: int  # septets for GSM7, UTF-16 code units for UCS-2, octets otherwise
    parts: int


@dataclass(frozen=True)
class OutboundPart:
    short_message: bytes
    esm_class: int  # only the UDHI flag; the caller adds its messaging-mode bits
    data_coding: int


@dataclass(frozen=True)
class InboundPart:
    payload: bytes  # user data after any header, still in its data coding
    data_coding: int
    concat: Concat | None

    @functools.cached_property
    def text(self) -> str:
        return decode_payload(self.payload, self.data_coding)


# --- Outbound: coding, counting, splitting ---------------------------------------------


def choose_coding(text: str) -> Coding:
    return Coding.GSM7 if gsm7.fits(text) else Coding.UCS2


def units_of(char: str, coding: Coding) -> int:
    if coding is Coding.GSM7:
        size = gsm7.septets_of(char)
        if size == 0:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
        return size
    if coding is Coding.UCS2:
        return 2 if ord(char) > 0xFFFF else 1
    if ord(char) > (0x7F if coding is Coding.IA5 else 0xFF):
        raise ValueError(f"{char!r} cannot be written in {coding.name}")
    return 1


def unit_count(text: str, coding: Coding) -> int:
    return sum(units_of(char, coding) for char in text)


def capacity(coding: Coding, header_octets: int = 0) -> int:
    """Units one part holds beside a user data header of `header_octets` (0 for none).
    In GSM 7-bit the header is padded to a septet boundary, so a 6-octet header costs 7
    septets: 160 alone, 153 with it."""
    octets = USER_DATA_OCTETS - header_octets
    if coding is Coding.GSM7:
        return octets * 8 // 7
    if coding is Coding.UCS2:
        return octets // 2
    return octets


def header_size(wide: bool) -> int:
    return len(concat_header(Concat(reference=0, total=1, seq=1, wide=wide)))


def split(text: str, coding: Coding | None = None, *, wide: bool = False) -> list[str]:
    """The parts `text` goes in: itself if it fits one part, else greedy parts that fit
    beside a concatenation header. A part ends between characters, so an escape pair or
    a surrogate pair never straddles two parts."""
    coding = coding if coding is not None else choose_coding(text)
    if unit_count(text, coding) <= capacity(coding):
        return [text]
    limit = capacity(coding, header_size(wide))
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for char in text:
        size = units_of(char, coding)
        if used + size > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(char)
        used += size
    parts.append("".join(current))
    if len(parts) > MAX_PARTS:
        raise TextTooLong(f"{len(parts)} parts; at most {MAX_PARTS} are possible")
    return parts


def count(text: str) -> Count:
    coding = choose_coding(text)
    return Count(coding=coding, units=unit_count(text, coding), parts=len(split(text, coding)))


# --- Outbound: bytes --------------------------------------------------------------------


def encode_text(text: str, coding: Coding) -> bytes:
    if coding is Coding.GSM7:
        return gsm7.encode(text)
    if coding is Coding.UCS2:
        return text.encode("utf-16-be")
    if coding is Coding.LATIN1:
        return text.encode("latin-1")
    return text.encode("ascii")


def concat_header(concat: Concat) -> bytes:
    """The user data header (with its length octet) that marks one part."""
    if concat.wide:
        ie = bytes((IEI_CONCAT_16BIT, 4)) + concat.reference.to_bytes(2, "big")
    else:
        ie = bytes((IEI_CONCAT_8BIT, 3, concat.reference))
    ie += bytes((concat.total, concat.seq))
    return bytes((len(ie),)) + ie


def encode_parts(
    text: str, reference: int, coding: Coding | None = None, *, wide: bool = False
) -> list[OutboundPart]:
    """The short_message of each part, UDH first when there is more than one part.
    `reference` (0-255, or 0-65535 when `wide`) must differ between the long texts a
    handset could be receiving at once; the caller derives it, e.g. from the message id."""
    coding = coding if coding is not None else choose_coding(text)
    parts = split(text, coding, wide=wide)
    if len(parts) == 1:
        return [OutboundPart(encode_text(text, coding), 0, int(coding))]
    reference &= 0xFFFF if wide else 0xFF
    return [
        OutboundPart(
            concat_header(Concat(reference, len(parts), seq, wide)) + encode_text(part, coding),
            ESM_CLASS_UDHI,
            int(coding),
        )
        for seq, part in enumerate(parts, start=1)
    ]


# --- Inbound ---------------------------------------------------------------------------


def parse_header(short_message: bytes) -> tuple[Concat | None, bytes]:
    """Split a short_message whose UDHI flag is set into its concatenation (if its
    header has one that makes sense) and the user data after the header."""
    if not short_message:
        raise UndecodableMessage("UDHI is set but the message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise UndecodableMessage("the user data header runs past the end of the message")
    concat: Concat | None = None
    pos = 1
    while pos < end:
        if pos + 2 > end:
            raise UndecodableMessage("a header element is cut short")
        iei, length = short_message[pos], short_message[pos + 1]
        value = short_message[pos + 2 : pos + 2 + length]
        if pos + 2 + length > end:
            raise UndecodableMessage("a header element runs past the header")
        if concat is None:
            concat = _concat_element(iei, value)
        pos += 2 + length
    return concat, short_message[end:]


def _concat_element(iei: int, value: bytes) -> Concat | None:
    if iei == IEI_CONCAT_8BIT and len(value) == 3:
        return sar_concat(value[0], value[1], value[2], wide=False)
    if iei == IEI_CONCAT_16BIT and len(value) == 4:
        return sar_concat(int.from_bytes(value[:2], "big"), value[2], value[3], wide=True)
    return None


def sar_concat(reference: int, total: int, seq: int, *, wide: bool = True) -> Concat | None:
    """A part's place from SAR TLVs (sar_msg_ref_num, sar_total_segments,
    sar_segment_seqnum), or None when they do not describe a part (23.040: a receiver
    ignores a sequence number of 0 or beyond the total)."""
    if total < 1 or not 1 <= seq <= total:
        return None
    return Concat(reference=reference, total=total, seq=seq, wide=wide)


def read_part(
    short_message: bytes,
    data_coding: int,
    esm_class: int,
    sar: tuple[int, int, int] | None = None,
) -> InboundPart:
    """One inbound deliver_sm's text part. Pass the message_payload TLV's value as
    `short_message` when that is where the text came; pass the SAR TLVs as `sar`."""
    concat: Concat | None = None
    payload = short_message
    if esm_class & ESM_CLASS_UDHI:
        concat, payload = parse_header(short_message)
    if concat is None and sar is not None:
        concat = sar_concat(*sar)
    part = InboundPart(payload=payload, data_coding=data_coding, concat=concat)
    _ = part.text  # fail now on a coding nobody can read
    return part


_CODECS = {
    Coding.IA5: "ascii",
    Coding.LATIN1: "latin-1",
    6: "iso8859-5",  # Cyrillic
    7: "iso8859-8",  # Latin/Hebrew
}


def decode_payload(payload: bytes, data_coding: int) -> str:
    """Text from user data in `data_coding`. Undecodable octets become U+FFFD, so a text
    is never lost for one bad character; an unknown or binary coding raises."""
    if data_coding == Coding.GSM7 or _is_gsm7_message_class(data_coding):
        if all(octet < 0x80 for octet in payload):
            return gsm7.decode(payload)
        # Unpacked septets never set the high bit: this SMSC's default alphabet is
        # Latin-1, which some SMSCs use for data_coding 0.
        return payload.decode("latin-1")
    if data_coding == Coding.UCS2:
        # UTF-16 rather than UCS-2 so that a surrogate pair reads as one character.
        return payload.decode("utf-16-be", errors="replace")
    name = _CODECS.get(data_coding)
    if name is None:
        raise UndecodableMessage(f"data_coding {data_coding:#04x} is not a text coding")
    return codecs.decode(payload, name, errors="replace")


def _is_gsm7_message_class(data_coding: int) -> bool:
    # 0xF0-0xFF: a GSM message class, default alphabet unless bit 2 asks for 8-bit data.
    return data_coding & 0xF0 == 0xF0 and not data_coding & 0x04
