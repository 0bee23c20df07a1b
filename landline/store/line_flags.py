"""Spam flags on lines: set automatically or by the operator, cleared by the operator,
each change kept with its reason (the `line_flags` table)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert, select, update

from landline.core.lines import LineState
from landline.store import revocations
from landline.store.schema import line_flags, lines

FLAG, CLEAR = "flag", "clear"
HISTORY_LIMIT = 100


def flag(
    connection: Connection, *, device_id: int, reason: str, actor: str, flag_id: int, now: int
) -> bool:
    """Flag an active line as spam; False if it was not active (already flagged, or
    suspended, which stays as it is)."""
    changed = connection.execute(
        update(lines)
        .where(lines.c.device_id == device_id, lines.c.state == str(LineState.ACTIVE))
        .values(state=str(LineState.SPAM))
    ).rowcount
    if not changed:
        return False
    revocations.announce(connection)
    remember(connection, flag_id, device_id, FLAG, reason, actor, now)
    return True


def clear(
    connection: Connection, *, device_id: int, reason: str, actor: str, flag_id: int, now: int
) -> bool:
    """Clear a line's spam flag; False if it had none."""
    changed = connection.execute(
        update(lines)
        .where(lines.c.device_id == device_id, lines.c.state == str(LineState.SPAM))
        .values(state=str(LineState.ACTIVE))
    ).rowcount
    if not changed:
        return False
    revocations.announce(connection)
    remember(connection, flag_id, device_id, CLEAR, reason, actor, now)
    return True


def history(connection: Connection, device_id: int, limit: int = HISTORY_LIMIT) -> list[Any]:
    """The line's flags and clears, newest first."""
    return list(
        connection.execute(
            select(line_flags)
            .where(line_flags.c.device_id == device_id)
            .order_by(line_flags.c.id.desc())
            .limit(limit)
        )
    )


def remember(
    connection: Connection,
    flag_id: int,
    device_id: int,
    action: str,
    reason: str,
    actor: str,
    now: int,
) -> None:
    connection.execute(
        insert(line_flags).values(
            id=flag_id,
            device_id=device_id,
            action=action,
            reason=reason[:1000],
            actor=actor[:64],
            created_at=now,
        )
    )
