"""A message's status as a person reads it in the inbox (the API's codes are for code)."""

from __future__ import annotations

from dataclasses import dataclass

from landline.core.status import ErrorCode, Progress


@dataclass(frozen=True)
class Shown:
    word: str  # queued, sending, sent, delivered, failed, unconfirmed, scheduled, received
    text: str  # what the inbox prints
    failed: bool = False


_FAILURES: dict[int, str] = {
    int(Progress.ERROR_CONFIRMED): "Failed: the carrier refused it",
    int(Progress.ERROR_BY_RECEIPT): "Failed: the phone network could not deliver it",
    int(ErrorCode.RECIPIENT_SENT_STOP): "Not sent: this contact texted STOP",
    int(ErrorCode.UNABLE_TO_DETERMINE_CARRIER): "Not sent: no carrier serves this number",
    int(ErrorCode.SPAM_PROTECTION): "Not sent: the line is flagged for spam",
}


def shown(status: int, *, outbound: bool, scheduled: bool) -> Shown:
    if not outbound:
        return Shown("received", "Received")
    if status in _FAILURES:
        return Shown("failed", _FAILURES[status], failed=True)
    if status in (Progress.QUEUED, Progress.QUEUED_3):
        return Shown("scheduled", "Scheduled") if scheduled else Shown("queued", "Queued")
    if status == Progress.IN_PROGRESS:
        return Shown("sent", "Sent")
    if status in (Progress.DELIVERED_BY_RECEIPT, Progress.DELIVERY_CONFIRMED):
        return Shown("delivered", "Delivered")
    if status == Progress.DELIVERED_NO_CONFIRMATION:
        return Shown("unconfirmed", "Sent, no confirmation")
    if status < 0:
        return Shown("failed", "Failed", failed=True)
    return Shown("sent", "Sent")
