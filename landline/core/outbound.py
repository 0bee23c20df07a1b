"""What a send request becomes: one message per recipient, planned before it is stored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from landline.core import ids

MAX_RECIPIENTS = 15
MAX_BODY_BYTES = 250
# A send to more recipients than this (a group send) is stored and handed to carriers in
# batches of this many: each batch one short write, and each batch due PACE_MS after the
# one before, so other lines' texts accepted meanwhile are due before the later batches
# and go out between them rather than behind the whole group.
BATCH = 50
PACE_MS = 100


class InvalidSend(ValueError):
    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field} {why}")
        self.field = field


@dataclass(frozen=True)
class PlannedMessage:
    message_id: int
    number: str
    contact_id: int
    fingerprint: str
    send_event_id: int


@dataclass(frozen=True)
class SendPlan:
    device_id: int
    line_number: str
    root_id: int
    fingerprint: str
    body: str
    created_at: int
    scheduled_at: int | None
    messages: tuple[PlannedMessage, ...]
    # For the ids only some sends need (the event of a recipient who turns out to have
    # opted out), taken when the send is stored rather than for every message up front.
    next_id: Callable[[], int] | None = field(default=None, compare=False, repr=False)
    # How long after its time the send is due: a later batch of a group send waits its turn.
    hold_ms: int = 0

    @property
    def available_at(self) -> int:
        start = self.scheduled_at if self.scheduled_at is not None else self.created_at
        return start + self.hold_ms


def check_body(body: str, max_bytes: int = MAX_BODY_BYTES) -> None:
    size = len(body.encode("utf-8"))
    if size == 0:
        raise InvalidSend("body", "is empty")
    if size > max_bytes:
        raise InvalidSend("body", f"is {size} bytes; at most {max_bytes} are allowed")


def plan_send(
    *,
    device_id: int,
    line_number: str,
    numbers: Sequence[str],
    body: str,
    now: int,
    scheduled_at: int | None,
    next_id: Callable[[], int],
    max_recipients: int = MAX_RECIPIENTS,
) -> SendPlan:
    unique = list(dict.fromkeys(numbers))
    if not unique:
        raise InvalidSend("contacts", "is required")
    if len(unique) > max_recipients:
        raise InvalidSend(
            "contacts", f"has {len(unique)} numbers; at most {max_recipients} are allowed"
        )
    check_body(body)
    root_id = next_id()
    planned = tuple(
        PlannedMessage(
            message_id=root_id if len(unique) == 1 else next_id(),
            number=number,
            contact_id=ids.contact_id(device_id, number),
            fingerprint=ids.fingerprint(device_id, [number]),
            send_event_id=next_id(),
        )
        for number in unique
    )
    return SendPlan(
        device_id=device_id,
        line_number=line_number,
        root_id=root_id,
        fingerprint=ids.fingerprint(device_id, unique),
        body=body,
        created_at=now,
        scheduled_at=scheduled_at,
        messages=planned,
        next_id=next_id,
    )


def split(plan: SendPlan, size: int = BATCH, pace_ms: int = PACE_MS) -> list[SendPlan]:
    """One send as several of `size` recipients each, to be stored one after another (a
    group send is too big for one short transaction), each due `pace_ms` after the one
    before."""
    return [
        replace(plan, messages=plan.messages[start : start + size], hold_ms=index * pace_ms)
        for index, start in enumerate(range(0, len(plan.messages), size))
    ]


def no_earlier_than(plan: SendPlan, at: int) -> SendPlan:
    """`plan`, due at `at` if it would be due before then."""
    if plan.available_at >= at:
        return plan
    return replace(plan, hold_ms=plan.hold_ms + at - plan.available_at)
