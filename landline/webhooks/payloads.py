"""What a delivery carries: its event rendered as the webhook payload.

A message event's payload is the message as it was when the event happened: the event
row keeps what changes over a message's life (status and the dates of delivery, reading
and deletion); the rest never changes and comes from the message itself. Rendering is
the API's own (api/render.py), so payloads and message objects cannot drift apart.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from landline.api import render
from landline.core.events import EventKind


class PayloadMissing(LookupError):
    """The event's message is not in the store."""


@dataclass(frozen=True, slots=True)
class MessageAsItWas:
    id: int
    device_id: int
    direction: str
    line_number: str
    contact_number: str
    body: str
    fingerprint: str
    contact_id: int
    created_at: int
    scheduled_at: int | None
    status: int
    delivered_at: int | None
    read_at: int | None
    deleted_at: int | None
    # "mms" and its number of parts for a picture message; None for a text.
    transport: str | None = None
    attachments: int | None = None


def payload(row: Any) -> dict[str, Any]:
    """The payload of a loaded delivery (store/deliveries.load's row)."""
    if row.kind == EventKind.OPTOUT_CHANGE:
        data = json.loads(row.data) if row.data else None
        if not data:
            raise PayloadMissing(f"event {row.event_id} has no opt-out data")
        return dict(render.optout_payload(data, row.device_id, row.event_at, row.timezone))
    if row.m_id is None:
        raise PayloadMissing(f"event {row.event_id} names no message in the store")
    # Events from before events kept their message's state have none: the message as
    # it is now is the best there is.
    at_event = row.event_status is not None
    message = MessageAsItWas(
        id=row.m_id,
        device_id=row.device_id,
        direction=row.direction,
        line_number=row.line_number,
        contact_number=row.contact_number,
        body=row.body,
        fingerprint=row.fingerprint,
        contact_id=row.contact_id,
        created_at=row.created_at,
        scheduled_at=row.scheduled_at,
        status=row.event_status if at_event else row.status,
        delivered_at=row.event_delivered_at if at_event else row.delivered_at,
        read_at=row.event_read_at if at_event else row.read_at,
        deleted_at=row.event_deleted_at if at_event else row.deleted_at,
        transport=row.transport,
        attachments=row.attachments,
    )
    return dict(render.message_payload(message, row.timezone))


def webhook_id(event_id: int) -> str:
    """The delivery's `webhook-id`: the same for every attempt and every replay."""
    return f"msg_{event_id}"


def event_id_of(text: str) -> int | None:
    """The event id a `webhook-id` (or a bare event id) names; None if it names none."""
    text = text.strip()
    if text.startswith("msg_"):
        text = text[4:]
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    return int(text)
