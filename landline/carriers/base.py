"""The connector interface. A connector knows numbers and texts, not HTTP or webhooks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from sqlalchemy import Connection

from landline.core.mms import Part
from landline.core.routes import Kind


@dataclass(frozen=True)
class Submission:
    message_id: int
    source: str  # E.164 of the line
    destination: str  # E.164 of the contact
    body: str
    # 1 for the first time the text is handed over; more after retries or a crash.
    attempt: int
    # An MMS and its parts, in order (content in the content store, by key). Only a
    # connector with `carries_mms = True` is handed one.
    kind: Kind = Kind.SMS
    parts: tuple[Part, ...] = ()


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
class Submitted:
    """What became of one submission."""

    submission: Submission
    result: SubmitResult


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
    # An inbound MMS's parts, every one the network sent, already in the content store.
    parts: tuple[Part, ...] = ()


class CarrierSink(Protocol):
    """Where a connector reports what the network tells it. Every call is idempotent,
    so a connector may repeat a report it is unsure was taken."""

    async def receipts(self, connector: str, receipts: list[Receipt]) -> None: ...

    def record_receipts(
        self, connection: Connection, connector: str, receipts: list[Receipt]
    ) -> None:
        """`receipts`, inside the caller's transaction: for a connector whose own memory
        is the store, so that taking a receipt and applying it are one commit."""
        ...

    async def inbound(self, connector: str, texts: list[InboundText]) -> None: ...


class Connector(Protocol):
    name: str

    async def start(self, sink: CarrierSink) -> None: ...

    def submit(self, batch: Sequence[Submission]) -> AsyncIterator[Submitted]:
        """Hand texts to the carrier, all at once or as its window allows; yield each
        one's result as soon as it is known, in any order. Submitting the same message
        id again must not send it twice where the carrier can tell; the dispatcher
        gives up waiting on results after a while and tries those texts again later."""
        ...

    async def stop(self) -> None: ...
