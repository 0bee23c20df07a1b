"""Storing accepted picture messages: the send as any other (store/sends.py), their new
content's rows, and their parts, for many concurrent requests with one statement per
table (the writer merges the sends queued at the same time)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from landline.core.mms import TRANSPORT
from landline.core.outbound import SendPlan
from landline.store import media, sends
from landline.store.schema import attachments, messages


@dataclass(frozen=True)
class MmsSend:
    plan: SendPlan
    # Rows of content uploaded with this request (media.media_row).
    new_media: list[dict[str, Any]] = field(default_factory=list)
    # Storage keys of the message's parts, in order.
    parts: list[str] = field(default_factory=list)


def record_mms_sends(connection: Connection, items: list[MmsSend]) -> list[sends.SendOutcome]:
    media.record_media(connection, [row for item in items for row in item.new_media])
    outcomes = sends.record_sends(connection, [item.plan for item in items])
    part_rows = [
        {
            "message_id": item.plan.root_id,
            "position": position,
            "device_id": item.plan.device_id,
            "storage_key": key,
        }
        for item in items
        for position, key in enumerate(item.parts)
    ]
    if part_rows:
        connection.execute(insert(attachments), part_rows)
    connection.execute(
        _MARK_MMS, [{"_id": item.plan.root_id, "_count": len(item.parts)} for item in items]
    )
    return outcomes


_MARK_MMS = (
    update(messages)
    .where(messages.c.id == bindparam("_id"))
    .values(transport=TRANSPORT, attachments=bindparam("_count"))
)
