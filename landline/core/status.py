"""The API's status codes: error codes for requests and progress codes for messages."""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    UNKNOWN = -1
    UNABLE_TO_DETERMINE_CARRIER = -124
    INVALID_PARAMETER_LENGTH = -394
    INTERNAL_ERROR_700 = -700
    BAD_ARGUMENTS = -703
    INTERNAL_ERROR_704 = -704
    SPAM_PROTECTION = -801
    INTERNAL_ERROR_855 = -855
    RECIPIENT_SENT_STOP = -1234
    # Not in the published table (a Landline addition): the line blocked the recipient.
    RECIPIENT_BLOCKED = -1235
    # Not in the published table; a session that is missing, unknown or revoked.
    INVALID_SESSION = -100
    TOO_MANY_REQUESTS = -429


class Progress(IntEnum):
    DELIVERED_NO_CONFIRMATION = 0
    IN_PROGRESS = 1
    QUEUED = 2
    QUEUED_3 = 3
    DELIVERY_CONFIRMED = 4
    ERROR_CONFIRMED = 5
    DELIVERED_BY_RECEIPT = 6
    ERROR_BY_RECEIPT = 7


# A message ends in exactly one of these. -1234 (recipient opted out) ends a message
# that was never handed to a carrier.
FINAL_STATUSES: frozenset[int] = frozenset(
    {
        Progress.DELIVERED_NO_CONFIRMATION,
        Progress.DELIVERY_CONFIRMED,
        Progress.ERROR_CONFIRMED,
        Progress.DELIVERED_BY_RECEIPT,
        Progress.ERROR_BY_RECEIPT,
        ErrorCode.RECIPIENT_SENT_STOP,
        ErrorCode.RECIPIENT_BLOCKED,
        ErrorCode.UNABLE_TO_DETERMINE_CARRIER,
        ErrorCode.SPAM_PROTECTION,
    }
)

STATUS_DESCRIPTIONS: dict[int, str] = {
    0: "Delivered, no confirmation",
    1: "In progress",
    2: "Queued",
    3: "Queued",
    4: "Delivery confirmed",
    5: "Error confirmed",
    6: "Delivered, confirmed by delivery receipt",
    7: "Error, confirmed by delivery receipt",
    -1234: "Recipient sent STOP message",
    -1235: "Recipient is blocked on this line",
    -124: "Unable to determine carrier",
    -801: "Spam protection",
    -855: "Internal error",
    -1: "Unknown error",
}


def is_final(status: int) -> bool:
    return status in FINAL_STATUSES


def describe(status: int) -> str:
    return STATUS_DESCRIPTIONS.get(status, "Unknown")


def lifecycle(
    status: int,
    outbound: bool,
    created_at: int,
    sent_at: int | None,
    ended_at: int | None,
) -> list[tuple[int, int]]:
    """Every status a message went through, as (code, when), oldest first.

    A message's statuses follow its lifecycle, so the three times kept on it say them
    all: an outbound text is queued when created, in progress once a carrier has it,
    and ends once; an inbound text arrives delivered.
    """
    if not outbound:
        return [(status, created_at)]
    steps = [(int(Progress.QUEUED), created_at)]
    if sent_at is not None:
        steps.append((int(Progress.IN_PROGRESS), sent_at))
    if ended_at is not None and is_final(status):
        steps.append((status, ended_at))
    return steps
