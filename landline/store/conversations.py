"""Conversations: one per line and set of recipients, named by its fingerprint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, case, func, select, update

from landline.store.bulk import execute_many
from landline.store.schema import contacts, conversations
from landline.store.statements import cached, insert_for_upsert

_COLUMNS = (
    conversations,
    contacts.c.first_name,
    contacts.c.last_name,
    contacts.c.number.label("last_contact_number"),
)


def row(
    device_id: int,
    fingerprint: str,
    members: str,
    message_id: int,
    at: int,
    body: str,
    contact_id: int,
    unread: int,
) -> dict[str, Any]:
    """A conversation as a new message leaves it (`unread` is added to its count)."""
    return {
        "device_id": device_id,
        "fingerprint": fingerprint,
        "members": members,
        "last_message_id": message_id,
        "last_message_at": at,
        "last_message_body": body,
        "last_contact_id": contact_id,
        "unread_count": unread,
        "deleted": False,
        "created_at": at,
        "updated_at": at,
    }


def touch(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Create the conversations of `rows`, or make each row's message their last."""
    execute_many(connection, cached(connection, "conversation upsert", _upsert), rows)


def _upsert(connection: Connection) -> Any:
    stmt = insert_for_upsert(connection, conversations)
    # A message only becomes the last if it is newer than the one there: two writers
    # (threads or processes) may commit a conversation's messages out of order.
    newer = stmt.excluded.last_message_id > conversations.c.last_message_id

    def last(column: str) -> Any:
        return case((newer, stmt.excluded[column]), else_=conversations.c[column])

    return stmt.on_conflict_do_update(
        index_elements=[conversations.c.device_id, conversations.c.fingerprint],
        set_={
            "last_message_id": last("last_message_id"),
            "last_message_at": last("last_message_at"),
            "last_message_body": last("last_message_body"),
            "last_contact_id": last("last_contact_id"),
            "unread_count": conversations.c.unread_count + stmt.excluded.unread_count,
            "deleted": False,
            "updated_at": stmt.excluded.updated_at,
        },
    )


def _with_last_contact() -> Any:
    return select(*_COLUMNS).outerjoin(
        contacts,
        (contacts.c.device_id == conversations.c.device_id)
        & (contacts.c.id == conversations.c.last_contact_id),
    )


def page(
    connection: Connection, device_id: int, *, start: int, limit: int
) -> tuple[list[Row[Any]], int]:
    where = (conversations.c.device_id == device_id) & conversations.c.deleted.is_(False)
    rows = connection.execute(
        _with_last_contact()
        .where(where)
        .order_by(conversations.c.last_message_at.desc(), conversations.c.fingerprint)
        .offset(start)
        .limit(limit)
    ).all()
    size = connection.execute(
        select(func.count()).select_from(conversations).where(where)
    ).scalar_one()
    return list(rows), int(size)


def get(connection: Connection, device_id: int, fingerprint: str) -> Row[Any] | None:
    return connection.execute(
        _with_last_contact().where(
            conversations.c.device_id == device_id,
            conversations.c.fingerprint == fingerprint,
            conversations.c.deleted.is_(False),
        )
    ).one_or_none()


def hide(connection: Connection, device_id: int, fingerprint: str, now: int) -> None:
    connection.execute(
        update(conversations)
        .where(conversations.c.device_id == device_id, conversations.c.fingerprint == fingerprint)
        .values(deleted=True, unread_count=0, updated_at=now)
    )
