"""Hosted content as the database knows it: who owns each object, its name, type and
size (the bytes are in the content store), and which messages carry which parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update

from landline.core.mms import TRANSPORT, Part
from landline.store.schema import attachments, media, messages


def media_row(
    key: str, device_id: int, file_name: str, mime_type: str, size: int, at: int
) -> dict[str, Any]:
    return {
        "storage_key": key,
        "device_id": device_id,
        "file_name": file_name,
        "mime_type": mime_type,
        "size_bytes": size,
        "created_at": at,
    }


def record_media(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        connection.execute(insert(media), list(rows))


def owned(connection: Connection, device_id: int, key: str) -> Row[Any] | None:
    """The object `key` if the line `device_id` owns it."""
    return connection.execute(
        select(media).where(media.c.storage_key == key, media.c.device_id == device_id)
    ).first()


def owned_many(connection: Connection, device_id: int, keys: Sequence[str]) -> dict[str, Row[Any]]:
    if not keys:
        return {}
    rows = connection.execute(
        select(media).where(media.c.storage_key.in_(list(keys)), media.c.device_id == device_id)
    )
    return {row.storage_key: row for row in rows}


def attach(connection: Connection, device_id: int, message_id: int, keys: Sequence[str]) -> None:
    """Make `message_id` an MMS whose parts are `keys`, in order."""
    if keys:
        connection.execute(
            insert(attachments),
            [
                {"message_id": message_id, "position": n, "device_id": device_id, "storage_key": k}
                for n, k in enumerate(keys)
            ],
        )
    connection.execute(
        update(messages)
        .where(messages.c.id == message_id)
        .values(transport=TRANSPORT, attachments=len(keys))
    )


def attachments_of(connection: Connection, device_id: int, message_id: int) -> list[Row[Any]]:
    """A message's parts still hosted, in order (retention may have removed some)."""
    return list(
        connection.execute(
            select(media)
            .join(attachments, attachments.c.storage_key == media.c.storage_key)
            .where(attachments.c.message_id == message_id, attachments.c.device_id == device_id)
            .order_by(attachments.c.position)
        )
    )


def parts_of(connection: Connection, message_ids: Sequence[int]) -> dict[int, list[Part]]:
    """The parts of each of these messages, for a carrier."""
    if not message_ids:
        return {}
    rows = connection.execute(
        select(attachments.c.message_id, media)
        .join(media, attachments.c.storage_key == media.c.storage_key)
        .where(attachments.c.message_id.in_(list(message_ids)))
        .order_by(attachments.c.message_id, attachments.c.position)
    )
    found: dict[int, list[Part]] = {}
    for row in rows:
        found.setdefault(row.message_id, []).append(
            Part(row.storage_key, row.mime_type, row.size_bytes, row.file_name)
        )
    return found


def expired(connection: Connection, before: int, limit: int) -> list[str]:
    """Keys of content stored before `before`, oldest first."""
    return list(
        connection.execute(
            select(media.c.storage_key)
            .where(media.c.created_at < before)
            .order_by(media.c.created_at)
            .limit(limit)
        ).scalars()
    )


def forget(connection: Connection, keys: Sequence[str]) -> None:
    if keys:
        connection.execute(delete(media).where(media.c.storage_key.in_(list(keys))))


def by_key(connection: Connection, key: str) -> Row[Any] | None:
    """The object `key`, whoever owns it: for a signed link, which names it already."""
    return connection.execute(select(media).where(media.c.storage_key == key)).first()


def inbound_known(connection: Connection, connector: str, carrier_ref: str) -> bool:
    """Whether this connector already delivered the inbound message `carrier_ref`."""
    return (
        connection.execute(
            select(messages.c.id).where(
                messages.c.connector == connector,
                messages.c.carrier_ref == carrier_ref,
                messages.c.direction == "MO",
            )
        ).first()
        is not None
    )


def bytes_used(connection: Connection, device_id: int) -> int:
    """How much hosted content the line keeps."""
    total = connection.execute(
        select(func.coalesce(func.sum(media.c.size_bytes), 0)).where(media.c.device_id == device_id)
    ).scalar_one()
    return int(total)
