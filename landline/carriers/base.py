"""The connector interface. A connector knows numbers and texts, not HTTP or webhooks."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol


@dataclass(frozen=True)
class Submission:
    message_id: int
    source: str  # E.164 of the line
    destination: str  # E.164 of the contact
    body: str
    attempt: int


class SubmitOutcome(Enum):
    ACCEPTED = "accepted"
    # The carrier could not take it now; try again later.
    RETRY = "retry"
    # The carrier refused it for good.
    REJECTED = "rejected"


@dataclass(frozen=True)
class SubmitResult:
    outcome: SubmitOutcome
    carrier_ref: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Receipt:
    message_id: int
    delivered: bool
    at: int


@dataclass(frozen=True)
class InboundText:
    source: str  # E.164 of the handset
    destination: str  # E.164 of the line
    body: str
    carrier_ref: str
    at: int


class CarrierSink(Protocol):
    """Where a connector reports what the network tells it. Both calls are idempotent,
    so a connector may repeat a report it is unsure was taken."""

    async def receipts(self, connector: str, receipts: list[Receipt]) -> None: ...

    async def inbound(self, connector: str, texts: list[InboundText]) -> None: ...


class Connector(Protocol):
    name: str

    async def start(self, sink: CarrierSink) -> None: ...

    async def submit(self, submission: Submission) -> SubmitResult:
        """Hand one text to the carrier. Submitting the same message id again must not
        send it twice."""
        ...

    async def stop(self) -> None: ...
