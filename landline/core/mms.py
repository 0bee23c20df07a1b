"""What a picture message may be, and what `messaging/send` becomes once it is checked.

The API document's rules: one recipient, a body of at most 700 bytes, files of the
allowed types only (judged by `media_types.judge`), the whole request at most 600 KB.
Where it is silent: at most MAX_ATTACHMENTS parts (what MMS carriers and REST providers
such as Twilio accept), and a message must carry a body or at least one part.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from landline.core import ids
from landline.core.outbound import InvalidSend, PlannedMessage, SendPlan

MAX_BODY_BYTES = 700
MAX_ATTACHMENTS = 10
# The API document's limit on the whole request, files and all.
MAX_REQUEST_BYTES = 600 * 1024
TRANSPORT = "mms"


@dataclass(frozen=True)
class Part:
    """One part of a picture message as carriers see it: stored content by key."""

    storage_key: str
    mime_type: str
    size_bytes: int
    file_name: str


def check_recipient(values: list[str]) -> str:
    """The one `to` value an MMS may have, unparsed."""
    if not values:
        raise InvalidSend("to", "is required")
    if len(values) > 1:
        raise InvalidSend("to", f"has {len(values)} numbers; an MMS has exactly one recipient")
    return values[0]


def check_body(body: str) -> None:
    size = len(body.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise InvalidSend(
            "body",
            f"is {size} bytes; at most {MAX_BODY_BYTES} are allowed (send longer text as a "
            "text/plain file)",
        )


def check_part_count(count: int) -> None:
    if count > MAX_ATTACHMENTS:
        raise InvalidSend(
            "files", f"are {count}; an MMS may carry at most {MAX_ATTACHMENTS} attachments"
        )


def check_not_empty(body: str, parts: int) -> None:
    if not body and parts == 0:
        raise InvalidSend("body", "is empty and no file is attached; send one or both")


def plan_mms(
    *,
    device_id: int,
    line_number: str,
    number: str,
    body: str,
    now: int,
    next_id: Callable[[], int],
) -> SendPlan:
    """One outbound message to one number, stored like any send (sends.record_send)."""
    message_id = next_id()
    fingerprint = ids.fingerprint(device_id, [number])
    planned = PlannedMessage(
        message_id=message_id,
        number=number,
        contact_id=ids.contact_id(device_id, number),
        fingerprint=fingerprint,
        send_event_id=next_id(),
    )
    return SendPlan(
        device_id=device_id,
        line_number=line_number,
        root_id=message_id,
        fingerprint=fingerprint,
        body=body,
        created_at=now,
        scheduled_at=None,
        messages=(planned,),
        next_id=next_id,
    )
