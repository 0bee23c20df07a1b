"""Rows rendered as the API's objects, with the field names old clients read."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import Row

from landline.api.shapes import Contact, Conversation, Message
from landline.core import numbers, times
from landline.core.directions import Direction
from landline.core.status import describe, is_final, lifecycle
from landline.store.lines import Line

# The simulated and SMPP networks are SMS.
SMS_TRANSPORT = 9

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


def message(row: Row[Any], line: Line) -> Message:
    """A message object: every field of the webhook payload, plus what clients read."""
    tz = line.timezone
    outbound = row.direction == Direction.OUTBOUND
    line_shown = numbers.display(row.line_number)
    contact_shown = numbers.display(row.contact_number)
    source, destination = (line_shown, contact_shown) if outbound else (contact_shown, line_shown)
    read_at = row.read_at
    # Outbound texts are the line's own, so they count as read.
    is_read = read_at is not None or outbound
    status = row.status
    return {
        "id": row.id,
        "uuid": str(row.id),
        "body": row.body,
        "bodySize": len(row.body.encode("utf-8")),
        "visible": row.deleted_at is None,
        "hasAttachment": False,
        "dateRead": times.render(read_at, tz),
        "bcc": None,
        "cc": None,
        "finalDestination": destination,
        "finalSource": source,
        "messageType": row.direction,
        "type": row.direction,
        "direction": "OUT" if outbound else "IN",
        "deleted": row.deleted_at is not None,
        "statusCode": status,
        "statusDesc": describe(status),
        "isInFinalState": is_final(status),
        "errorState": status in (5, 7) or status < 0,
        "transmissionState": {"name": _TRANSMISSION.get(status, "ERROR")},
        "scheduledDate": times.render(row.scheduled_at, tz),
        "fingerprint": row.fingerprint,
        "messageTransport": SMS_TRANSPORT,
        "contactId": row.contact_id,
        "contactDeviceId": row.contact_id,
        "deviceId": row.device_id,
        "address": numbers.address(row.contact_number),
        "sourceAddress": source,
        "destAddress": destination,
        "mobileNumber": contact_shown,
        "read": is_read,
        "isRead": is_read,
        "isParent": row.root_id == row.id,
        "parentId": row.root_id,
        "dateCreated": times.render(row.created_at, tz),
        "lastUpdated": times.render(row.updated_at, tz),
        "dateDeleted": times.render(row.deleted_at, tz),
        "dateDelivered": times.render(row.delivered_at, tz),
        "statusHistory": [
            {"statusCode": code, "statusDesc": describe(code), "date": times.render(at, tz)}
            for code, at in lifecycle(
                status, outbound, row.created_at, row.sent_at, row.ended_at
            )
        ],
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


def contact(row: Row[Any], line: Line) -> Contact:
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
        "optOut": bool(row.opted_out),
        "deleted": bool(row.deleted),
        "dateCreated": times.render(row.created_at, tz),
        "lastUpdated": times.render(row.updated_at, tz),
    }
