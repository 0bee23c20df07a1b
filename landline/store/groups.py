"""A line's groups and their members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, delete, func, select, update

from landline.store.schema import contacts, group_members, groups
from landline.store.statements import insert_or_ignore


def _member_count(device_id: int) -> Any:
    return (
        select(func.count())
        .select_from(group_members)
        .where(group_members.c.device_id == device_id, group_members.c.group_id == groups.c.id)
        .scalar_subquery()
        .label("member_count")
    )


def get(connection: Connection, device_id: int, group_id: int) -> Row[Any] | None:
    return connection.execute(
        select(groups, _member_count(device_id)).where(
            groups.c.device_id == device_id, groups.c.id == group_id
        )
    ).one_or_none()


def all_of(connection: Connection, device_id: int, limit: int) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(groups, _member_count(device_id))
            .where(groups.c.device_id == device_id)
            .order_by(groups.c.id)
            .limit(limit)
        )
    )


def count(connection: Connection, device_id: int) -> int:
    return int(
        connection.execute(
            select(func.count()).select_from(groups).where(groups.c.device_id == device_id)
        ).scalar_one()
    )


def create(
    connection: Connection,
    *,
    device_id: int,
    group_id: int,
    name: str,
    kind: str,
    now: int,
) -> None:
    connection.execute(
        groups.insert().values(
            device_id=device_id,
            id=group_id,
            name=name,
            type=kind,
            created_at=now,
            updated_at=now,
        )
    )


def change(
    connection: Connection,
    *,
    device_id: int,
    group_id: int,
    values: dict[str, str],
    now: int,
) -> bool:
    return bool(
        connection.execute(
            update(groups)
            .where(groups.c.device_id == device_id, groups.c.id == group_id)
            .values(updated_at=now, **values)
        ).rowcount
    )


def remove(connection: Connection, device_id: int, group_id: int) -> bool:
    """Delete a group and its memberships (the contacts stay)."""
    connection.execute(
        delete(group_members).where(
            group_members.c.device_id == device_id, group_members.c.group_id == group_id
        )
    )
    return bool(
        connection.execute(
            delete(groups).where(groups.c.device_id == device_id, groups.c.id == group_id)
        ).rowcount
    )


def size(connection: Connection, device_id: int, group_id: int) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(group_members)
            .where(group_members.c.device_id == device_id, group_members.c.group_id == group_id)
        ).scalar_one()
    )


def add_member(
    connection: Connection,
    *,
    device_id: int,
    group_id: int,
    number: str,
    contact_id: int,
    now: int,
) -> None:
    connection.execute(
        insert_or_ignore(connection, group_members).values(
            device_id=device_id,
            group_id=group_id,
            number=number,
            contact_id=contact_id,
            created_at=now,
        )
    )
    connection.execute(
        update(groups)
        .where(groups.c.device_id == device_id, groups.c.id == group_id)
        .values(updated_at=now)
    )


def is_member(connection: Connection, device_id: int, group_id: int, number: str) -> bool:
    return (
        connection.execute(
            select(group_members.c.number).where(
                group_members.c.device_id == device_id,
                group_members.c.group_id == group_id,
                group_members.c.number == number,
            )
        ).first()
        is not None
    )


def remove_member(
    connection: Connection, *, device_id: int, group_id: int, number: str, now: int
) -> bool:
    removed = connection.execute(
        delete(group_members).where(
            group_members.c.device_id == device_id,
            group_members.c.group_id == group_id,
            group_members.c.number == number,
        )
    ).rowcount
    if removed:
        connection.execute(
            update(groups)
            .where(groups.c.device_id == device_id, groups.c.id == group_id)
            .values(updated_at=now)
        )
    return bool(removed)


def number_of_member(
    connection: Connection, device_id: int, group_id: int, contact_id: int
) -> str | None:
    found: str | None = connection.execute(
        select(group_members.c.number).where(
            group_members.c.device_id == device_id,
            group_members.c.group_id == group_id,
            group_members.c.contact_id == contact_id,
        )
    ).scalar()
    return found


def members_page(
    connection: Connection, device_id: int, group_id: int, *, offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    """A page of the group's members as contacts, by number; and how many there are."""
    rows = connection.execute(
        select(contacts)
        .join(
            group_members,
            (group_members.c.device_id == contacts.c.device_id)
            & (group_members.c.number == contacts.c.number),
        )
        .where(group_members.c.device_id == device_id, group_members.c.group_id == group_id)
        .order_by(group_members.c.number)
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), size(connection, device_id, group_id)


def member_numbers(
    connection: Connection, device_id: int, group_ids: list[int], limit: int
) -> dict[int, list[str]]:
    """The members' numbers of each of the line's groups named (at most `limit` each;
    a group that is not the line's is missing from the answer)."""
    found: dict[int, list[str]] = {}
    for group_id in group_ids:
        if get(connection, device_id, group_id) is None:
            continue
        found[group_id] = list(
            connection.scalars(
                select(group_members.c.number)
                .where(group_members.c.device_id == device_id, group_members.c.group_id == group_id)
                .order_by(group_members.c.number)
                .limit(limit)
            )
        )
    return found
