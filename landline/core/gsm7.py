"""The GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and its extension table.

Over SMPP, data_coding 0 carries these septets unpacked, one per octet; the SMSC packs
them for the air. An extension character is the escape septet 0x1B followed by its code,
so it costs two septets.
"""

from __future__ import annotations

ESCAPE = 0x1B

# Index = septet value. 0x1B is the escape to the extension table, not a character.
DEFAULT_ALPHABET = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

EXTENSION_TABLE = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_BASIC = {char: septet for septet, char in enumerate(DEFAULT_ALPHABET) if septet != ESCAPE}
_EXTENDED = {char: septet for septet, char in EXTENSION_TABLE.items()}


def septets_of(char: str) -> int:
    """How many septets one character takes: 1, 2 (extension table), or 0 if it has none."""
    if char in _BASIC:
        return 1
    if char in _EXTENDED:
        return 2
    return 0


def fits(text: str) -> bool:
    return all(char in _BASIC or char in _EXTENDED for char in text)


def septet_count(text: str) -> int:
    """Septets `text` takes; raises ValueError if a character is not in the alphabet."""
    total = 0
    for char in text:
        size = septets_of(char)
        if size == 0:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
        total += size
    return total


def encode(text: str) -> bytes:
    """Unpacked septets, one per octet; raises ValueError if a character does not fit."""
    out = bytearray()
    for char in text:
        septet = _BASIC.get(char)
        if septet is not None:
            out.append(septet)
            continue
        septet = _EXTENDED.get(char)
        if septet is None:
            raise ValueError(f"{char!r} is not in the GSM 7-bit alphabet")
        out += bytes((ESCAPE, septet))
    return bytes(out)


def decode(data: bytes) -> str:
    """Text from unpacked septets. Never fails: the high bit of each octet is ignored, an
    escape to a code the extension table lacks reads as the default-table character (as
    23.038 asks of a receiver), and an escape at the very end is dropped."""
    chars: list[str] = []
    escaped = False
    for octet in data:
        septet = octet & 0x7F
        if escaped:
            escaped = False
            if septet in EXTENSION_TABLE:
                chars.append(EXTENSION_TABLE[septet])
            else:
                # 0x1B 0x1B would escape to a further table we do not know: a space.
                chars.append(" " if septet == ESCAPE else DEFAULT_ALPHABET[septet])
        elif septet == ESCAPE:
            escaped = True
        else:
            chars.append(DEFAULT_ALPHABET[septet])
    return "".join(chars)
