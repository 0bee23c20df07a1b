"""Rows rendered as the API's objects, with the field names old clients read."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Row

from landline.api.shapes import (
    Contact,
    Conversation,
    Group,
    GroupView,
    Message,
    MessagePayload,
    OptOutPayload,
    UserInfo,
)
from landline.core import groups, numbers, segments, times
from landline.core.directions import Direction
from landline.core.status import describe, is_final, lifecycle
from landline.store.lines import Line

# The document shows 9 for a text; it never shows an MMS, so 5 is Landline's choice.
SMS_TRANSPORT = 9
MMS_TRANSPORT = 5

_TRANSMISSION: dict[int, Literal["QUEUED", "SENT", "DELIVERED", "ERROR"]] = {
    0: "DELIVERED",
    1: "SENT",
    2: "QUEUED",
    3: "QUEUED",
    4: "DELIVERED",
    5: "ERROR",
    6: "DELIVERED",
    7: "ERROR",
}


def message_payload(row: Any, timezone: str) -> MessagePayload:
    """The fields every message object has, webhook payloads included, in the order of
    the API document's example. `row` has the message's columns; a webhook passes the
    message as it was at its event."""
    outbound = row.direction == Direction.OUTBOUND
    line_shown = numbers.display(row.line_number)
    contact_shown = numbers.display(row.contact_number)
    source, destination = (line_shown, contact_shown) if outbound else (contact_shown, line_shown)
    return {
        "body": row.body,
        "bodySize": len(row.body.encode("utf-8")),
        "visible": row.deleted_at is None,
        "hasAttachment": bool(getattr(row, "attachments", None)),
        "dateRead": times.render(row.read_at, timezone),
        "bcc": None,
        "finalDestination": destination,
        "messageType": row.direction,
        "deleted": row.deleted_at is not None,
        "statusCode": row.status,
        "id": row.id,
        "scheduledDate": times.render(row.scheduled_at, timezone),
        "fingerprint": row.fingerprint,
        "messageTransport": MMS_TRANSPORT
        if getattr(row, "transport", None) == "mms"
        else SMS_TRANSPORT,
        "contactId": row.contact_id,
        "address": numbers.address(row.contact_number),
        # Outbound texts are the line's own, so they count as read.
        "read": row.read_at is not None or outbound,
        "dateCreated": times.render(row.created_at, timezone),
        "dateDeleted": times.render(row.deleted_at, timezone),
        "dateDelivered": times.render(row.delivered_at, timezone),
        "cc": None,
        "finalSource": source,
        "deviceId": row.device_id,
    }


def message(row: Row[Any], line: Line) -> Message:
    """A message object: every field of the webhook payload, plus what clients read."""
    tz = line.timezone
    payload = message_payload(row, tz)
    status = row.status
    encoding, parts = _sms_shape(row.body)
    return {
        **payload,
        "uuid": str(row.id),
        "type": row.direction,
        "direction": "IN" if row.direction == Direction.INBOUND else "OUT",
        "statusDesc": describe(status),
        "isInFinalState": is_final(status),
        "errorState": status in (5, 7) or status < 0,
        "transmissionState": {"name": _TRANSMISSION.get(status, "ERROR")},
        "contactDeviceId": row.contact_id,
        "sourceAddress": payload["finalSource"],
        "destAddress": payload["finalDestination"],
        "mobileNumber": numbers.display(row.contact_number),
        "isRead": payload["read"],
        "isParent": row.root_id == row.id,
        "parentId": row.root_id,
        "lastUpdated": times.render(row.updated_at, tz),
        "statusHistory": [
            {"statusCode": code, "statusDesc": describe(code), "date": times.render(at, tz)}
            for code, at in lifecycle(
                status,
                row.direction == Direction.OUTBOUND,
                row.created_at,
                row.sent_at,
                row.ended_at,
            )
        ],
        "smsEncoding": encoding,
        "smsParts": parts,
    }


@lru_cache(maxsize=4096)
def _sms_shape(body: str) -> tuple[Literal["GSM-7", "UCS-2"], int]:
    """The coding and part count of a text (core/segments.py): what a carrier gets."""
    try:
        counted = segments.count(body)
    except segments.TextTooLong:
        return "UCS-2", segments.MAX_PARTS
    return ("GSM-7" if counted.coding is segments.Coding.GSM7 else "UCS-2"), counted.parts


def optout_payload(data: dict[str, Any], device_id: int, at: int, timezone: str) -> OptOutPayload:
    """An opt-out change as its webhook delivers it, from the event's own data."""
    return {
        "address": numbers.address(data["number"]),
        "contactId": data["contactId"],
        "deviceId": device_id,
        "finalSource": numbers.display(data["number"]),
        "finalDestination": numbers.display(data["line"]),
        "optOut": bool(data["optOut"]),
        "keyword": data["keyword"],
        "dateCreated": times.render(at, timezone),
    }


def conversation(row: Row[Any], line: Line) -> Conversation:
    tz = line.timezone
    members = row.members.split(",")
    last_number = row.last_contact_number or members[0]
    return {
        "id": int(row.fingerprint),
        "fingerprint": row.fingerprint,
        "deviceId": row.device_id,
        "deviceAddress": numbers.address(line.number),
        "address": numbers.address(members[0]) if len(members) == 1 else None,
        "addresses": [numbers.address(m) for m in members],
        "cc": None,
        "bcc": None,
        "unreadCount": row.unread_count,
        "new": row.unread_count > 0,
        "deleted": bool(row.deleted),
        "lastContactId": row.last_contact_id,
        "lastContactDeviceId": row.last_contact_id,
        "lastContactFirstName": row.first_name or "",
        "lastContactLastName": row.last_name or "",
        "lastContactMobileNumber": numbers.display(last_number),
        "lastMessageId": row.last_message_id,
        "lastMessageBody": row.last_message_body,
        "lastMessageDate": times.render(row.last_message_at, tz),
        "lastNonDeletedMessageDate": times.render(row.last_message_at, tz),
        "dateCreated": times.render(row.created_at, tz),
        "lastUpdated": times.render(row.updated_at, tz),
    }


def contact(row: Row[Any], line: Line, counts: tuple[int, int] = (0, 0)) -> Contact:
    """A contact; `counts` are the texts it sent the line and the line sent it."""
    tz = line.timezone
    return {
        "id": row.id,
        "deviceId": line.device_id,
        "address": numbers.address(row.number),
        "mobileNumber": numbers.display(row.number),
        "firstName": row.first_name or "",
        "lastName": row.last_name or "",
        "email": row.email or "",
        "notes": row.notes or "",
        "city": row.city or "",
        "state": row.state or "",
        "zipcode": row.zipcode or "",
        "birthday": row.birthday,
        "businessName": row.business_name or "",
        "jobTitle": row.job_title or "",
        "addressLine1": row.address_line1 or "",
        "addressLine2": row.address_line2 or "",
        "country": row.country or "",
        "custom1": row.custom1 or "",
        "custom2": row.custom2 or "",
        "optOut": bool(row.opted_out),
        "blocked": bool(row.blocked),
        "MOCount": counts[0],
        "ZOCount": counts[1],
        "deleted": bool(row.deleted),
        "dateCreated": times.render(row.created_at, tz),
        "lastUpdated": times.render(row.updated_at, tz),
    }


def user(
    profile: Row[Any] | None, line: Line, counts: tuple[int, int], operator_id: int = 0
) -> UserInfo:
    """The signed-in user (an operator, or the line itself when `operator_id` is 0): its
    saved profile (None: nothing saved yet) and the line."""
    tz = line.timezone

    def text(name: str) -> str:
        return (getattr(profile, name) if profile is not None else None) or ""

    first, last = text("first_name"), text("last_name")
    return {
        "id": operator_id or line.device_id,
        "deviceId": line.device_id,
        "websiteDeviceId": line.device_id,
        "address": numbers.address(line.number),
        "mobileNumber": numbers.display(line.number),
        "carrier": "Landline",
        "firstName": first,
        "lastName": last,
        "fullName": " ".join(part for part in (first, last) if part),
        "businessName": text("business_name"),
        "email": text("email"),
        "phoneKey": text("phone_key"),
        "notes": text("notes"),
        "loc": text("loc"),
        "zipcode": text("zipcode"),
        "birthday": text("birthday"),
        "MOCount": counts[0],
        "ZOCount": counts[1],
        "dateCreated": times.render(profile.created_at, tz) if profile is not None else None,
        "lastUpdated": times.render(profile.updated_at, tz) if profile is not None else None,
    }


def group(row: Row[Any], line: Line) -> Group:
    tz = line.timezone
    return {
        "id": row.id,
        "address": groups.address(row.id),
        "name": row.name,
        "displayName": row.name,
        "type": row.type,
        "deviceId": row.device_id,
        "memberCount": int(row.member_count),
        "cachedContactsCount": int(row.member_count),
        "dateCreated": times.render(row.created_at, tz),
        "lastUpdated": times.render(row.updated_at, tz),
    }


def group_view(row: Row[Any], line: Line) -> GroupView:
    found = group(row, line)
    return {**found, "group": found}
