"""Opt-out keywords (CONTRACT section 8): the whole text, trimmed and case-folded."""

from __future__ import annotations

from enum import Enum

STOP_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
START_WORDS = frozenset({"unstop", "start", "yes"})
HELP_WORDS = frozenset({"help", "info"})

DEFAULT_HELP_TEXT = "Reply STOP to stop receiving texts from this number. Msg&data rates may apply."
STOP_CONFIRMATION = (
    "You have been unsubscribed and will receive no more texts. Reply UNSTOP to resubscribe."
)
START_CONFIRMATION = "You have been resubscribed. Reply STOP to unsubscribe."


class Keyword(Enum):
    STOP = "stop"
    START = "start"
    HELP = "help"


def classify(body: str) -> Keyword | None:
    word = body.strip().casefold()
    if word in STOP_WORDS:
        return Keyword.STOP
    if word in START_WORDS:
        return Keyword.START
    if word in HELP_WORDS:
        return Keyword.HELP
    return None
