"""Phone numbers as clients write them, turned into E.164 and back."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

_PTN_PREFIX = re.compile(r"^\s*ptn:/*", re.IGNORECASE)
_FORMATTING = re.compile(r"[\s().\-]")
# An unencoded "+" in a query string arrives as a space.
_SPACE_FOR_PLUS = re.compile(r"^ (?=[0-9]{11,})")
MIN_E164_DIGITS = 7
# Longer than any way of writing a number with its prefix and punctuation.
MAX_RAW_CHARS = 64


class InvalidNumber(ValueError):
    def __init__(self, raw: str) -> None:
        super().__init__(raw)
        self.raw = raw


@lru_cache(maxsize=65536)
def to_e164(raw: str) -> str:
    """Parse one number: 10 digits means the US, anything else must be E.164.

    Accepts a `ptn:/` prefix, common punctuation, and a space where a `+` was lost.
    """
    if len(raw) > MAX_RAW_CHARS:
        raise InvalidNumber(raw)
    text = _PTN_PREFIX.sub("", raw)
    text = _SPACE_FOR_PLUS.sub("+", text)
    plus = text.strip().startswith("+")
    digits = _FORMATTING.sub("", text).lstrip("+")
    # ASCII only: `isdigit` alone would take Arabic-Indic or superscript digits.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidNumber(raw)
    if len(digits) == 10 and not plus:
        candidate = "+1" + digits
    elif 11 <= len(digits) <= 15 or (plus and MIN_E164_DIGITS <= len(digits) <= 15):
        # With its "+", a number may be shorter than 11 digits (Iceland: +354 and 7).
        candidate = "+" + digits
    else:
        raise InvalidNumber(raw)
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidNumber(raw) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidNumber(raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def display(e164: str) -> str:
    """How the API writes a number: 10 digits for North America, E.164 elsewhere."""
    if e164.startswith("+1") and len(e164) == 12:
        return e164[2:]
    return e164


def address(e164: str) -> str:
    return "ptn:/" + display(e164)
