"""What the users of a line say about themselves (user/get, user/save)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, func, select

from landline.store.schema import messages, profiles
from landline.store.statements import insert_for_upsert

EDITABLE = (
    "first_name",
    "last_name",
    "business_name",
    "email",
    "phone_key",
    "notes",
    "loc",
    "zipcode",
    "birthday",
)
# The line's own profile; an operator's is under the operator's id.
LINE_ITSELF = 0


def get(connection: Connection, device_id: int, operator_id: int) -> Row[Any] | None:
    return connection.execute(
        select(profiles).where(
            profiles.c.device_id == device_id, profiles.c.operator_id == operator_id
        )
    ).one_or_none()


def save(
    connection: Connection,
    *,
    device_id: int,
    operator_id: int,
    fields: dict[str, str | None],
    now: int,
) -> Row[Any]:
    """Create or update a profile; only the given fields change (None clears one)."""
    stmt = insert_for_upsert(connection, profiles).values(
        device_id=device_id,
        operator_id=operator_id,
        created_at=now,
        updated_at=now,
        **{name: fields.get(name) for name in EDITABLE},
    )
    changes: dict[str, Any] = {
        name: getattr(stmt.excluded, name) for name in fields if name in EDITABLE
    }
    changes["updated_at"] = now
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[profiles.c.device_id, profiles.c.operator_id], set_=changes
        )
    )
    row = get(connection, device_id, operator_id)
    assert row is not None
    return row


def message_counts(connection: Connection, device_id: int) -> tuple[int, int]:
    """(texts the line received, texts it sent): MOCount and ZOCount."""
    counts = {"MO": 0, "ZO": 0}
    for direction, n in connection.execute(
        select(messages.c.direction, func.count())
        .where(messages.c.device_id == device_id)
        .group_by(messages.c.direction)
    ):
        counts[direction] = int(n)
    return counts["MO"], counts["ZO"]
