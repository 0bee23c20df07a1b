"""Where a webhook delivery stands."""

from __future__ import annotations

from enum import StrEnum


class DeliveryState(StrEnum):
    # Not tried yet.
    PENDING = "pending"
    # Tried and failed; tried again after its back-off.
    FAILED = "failed"
    DELIVERED = "delivered"
    # Still failing 72 hours after its event (or its replay); kept, and can be replayed.
    GIVEN_UP = "given-up"


# Deliveries still to be made.
OPEN_STATES = (DeliveryState.PENDING, DeliveryState.FAILED)
