"""Which way a message went, in the API's own words."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    # Mobile-originated: the contact texted the line.
    INBOUND = "MO"
    # Zipwhip-originated: the line texted the contact.
    OUTBOUND = "ZO"
