"""Delivery receipts: reading them, and matching them to the texts they report on.

An SMSC reports a text's fate in a deliver_sm whose short_message is, by the informal
convention of SMPP 3.4 appendix B,

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:DDDDDDD err:E text:...   (all on one line)

often with the receipted_message_id and message_state TLVs beside it. The id is the one
the SMSC gave in its submit_sm_resp, but not always written the same way: some SMSCs
answer the submit in hex and report in decimal (or the reverse), with or without leading
zeros, in either case. `IdFormat` says how one SMSC writes them (as Kannel's
`msg-id-type` does) and `canonical_id` turns either form into one key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

MAX_ID_LENGTH = 64  # SMPP message_id is at most 64 characters


class Outcome(Enum):
    DELIVERED = "delivered"
    FAILED = "failed"
    PENDING = "pending"  # accepted or en route: not final


STAT_OUTCOMES = {
    "DELIVRD": Outcome.DELIVERED,
    "UNDELIV": Outcome.FAILED,
    "REJECTD": Outcome.FAILED,
    "EXPIRED": Outcome.FAILED,
    "DELETED": Outcome.FAILED,
    "UNKNOWN": Outcome.FAILED,
    "ACCEPTD": Outcome.PENDING,
    "ENROUTE": Outcome.PENDING,
    # The same states spelt out, as some SMSCs write them.
    "DELIVERED": Outcome.DELIVERED,
    "UNDELIVERABLE": Outcome.FAILED,
    "REJECTED": Outcome.FAILED,
    "ACCEPTED": Outcome.PENDING,
}

# The message_state TLV (SMPP 3.4 section 5.2.28) and the stat each value stands for.
MESSAGE_STATES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}


@dataclass(frozen=True)
class ReceiptText:
    """The fields of a receipt's text, as written (None where absent)."""

    id: str
    stat: str
    sub: str | None = None
    dlvrd: str | None = None
    submit_date: str | None = None
    done_date: str | None = None
    err: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class DeliveryReport:
    message_id: str  # as the SMSC wrote it; match it with `IdFormat.receipt_key`
    outcome: Outcome
    stat: str
    error: str | None


_FIELD = re.compile(r"(?i)(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]date|done[ _]date|stat|err|text):")


def parse_receipt_text(text: str) -> ReceiptText | None:
    """The fields of a receipt's text, or None when it has no id or no stat (so is not
    a receipt). Field names are matched in any case and order; `text:` runs to the end,
    since the original text it quotes may contain anything."""
    fields: dict[str, str] = {}
    matches = list(_FIELD.finditer(text))
    for index, match in enumerate(matches):
        name = match.group(1).lower().replace(" ", "_")
        if name == "text":
            fields.setdefault(name, text[match.end() :])
            break
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        fields.setdefault(name, text[match.end() : end].strip())
    if not fields.get("id") or not fields.get("stat"):
        return None
    return ReceiptText(
        id=fields["id"],
        stat=fields["stat"],
        sub=fields.get("sub"),
        dlvrd=fields.get("dlvrd"),
        submit_date=fields.get("submit_date"),
        done_date=fields.get("done_date"),
        err=fields.get("err"),
        text=fields.get("text"),
    )


def outcome_of(stat: str) -> Outcome | None:
    """What a stat means for the text, or None for a stat nobody has defined."""
    return STAT_OUTCOMES.get(stat.strip().upper())


def read_receipt(
    text: str, *, receipted_message_id: str | None = None, message_state: int | None = None
) -> DeliveryReport | None:
    """A receipt from a deliver_sm: its text, and the receipted_message_id and
    message_state TLVs when it carried them. The TLVs win where both are present (they
    are the standard; the text is a convention). None if it reports nothing we can use."""
    parsed = parse_receipt_text(text)
    message_id = receipted_message_id or (parsed.id if parsed else None)
    stat = MESSAGE_STATES.get(message_state or 0) or (parsed.stat if parsed else None)
    if not message_id or not stat:
        return None
    outcome = outcome_of(stat)
    if outcome is None:
        return None
    return DeliveryReport(
        message_id=message_id,
        outcome=outcome,
        stat=stat.strip().upper(),
        error=parsed.err if parsed else None,
    )


def parse_receipt_time(value: str | None) -> datetime | None:
    """A receipt's `submit date` or `done date` (YYMMDDhhmm, or YYMMDDhhmmss), naive
    because the SMSC does not say its time zone. None if it is not such a time."""
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    try:
        return datetime.strptime(value, "%y%m%d%H%M%S" if len(value) == 12 else "%y%m%d%H%M")
    except ValueError:
        return None


# --- Matching ids ------------------------------------------------------------------------


class IdBase(Enum):
    TEXT = "text"  # an opaque id: compared without case or leading zeros
    DECIMAL = "decimal"
    HEX = "hex"


@dataclass(frozen=True)
class IdFormat:
    """How one SMSC writes message ids: in its submit_sm_resp, and in its receipts."""

    submit_resp: IdBase = IdBase.TEXT
    receipt: IdBase = IdBase.TEXT

    def submit_key(self, message_id: str) -> str:
        return canonical_id(message_id, self.submit_resp)

    def receipt_key(self, message_id: str) -> str:
        return canonical_id(message_id, self.receipt)


_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-f]+")


def canonical_id(message_id: str, base: IdBase = IdBase.TEXT) -> str:
    """One key for an id however it was written. A number (read in `base`) becomes its
    decimal digits, so hex `0A1B` and decimal `2587` give the same key; anything else,
    or an id that is not a number in `base`, is compared without case or leading zeros,
    so `0A1B` and `a1b` give the same key."""
    value = message_id.strip().lower()
    if len(value) <= MAX_ID_LENGTH:
        if base is IdBase.HEX and _HEX.fullmatch(value):
            return str(int(value, 16))
        if base is IdBase.DECIMAL and _DECIMAL.fullmatch(value):
            return str(int(value, 10))
    return value.lstrip("0") or "0"
