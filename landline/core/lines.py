"""A line's state, as the operator sets it."""

from __future__ import annotations

from enum import StrEnum


class LineState(StrEnum):
    ACTIVE = "active"
    # Sends answer -801 until the operator clears the flag.
    SPAM = "spam"
    # Every session of the line answers 401.
    SUSPENDED = "suspended"
