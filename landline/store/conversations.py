"""Conversations: one per line and set of recipients, named by its fingerprint."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, select, update

from landline.store.schema import contacts, conversations

_COLUMNS = (
    conversations,
    contacts.c.first_name,
    contacts.c.last_name,
    contacts.c.number.label("last_contact_number"),
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
