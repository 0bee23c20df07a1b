"""Reading messages, and the changes a line makes to them: read, delete, cancel."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, case, func, select, update

from landline.core.directions import Direction
from landline.core.events import EventKind
from landline.core.status import Progress
from landline.store import events
from landline.store.bulk import execute_many
from landline.store.schema import conversations, messages


def get(connection: Connection, device_id: int, message_id: int) -> Row[Any] | None:
    return connection.execute(
        select(messages).where(messages.c.id == message_id, messages.c.device_id == device_id)
    ).one_or_none()


def _visible(device_id: int) -> Any:
    return and_(messages.c.device_id == device_id, messages.c.deleted_at.is_(None))


def page(
    connection: Connection,
    device_id: int,
    *,
    start: int,
    limit: int,
    fingerprint: str | None = None,
) -> tuple[list[Row[Any]], int]:
    """(one page of messages newest first, how many there are in all)."""
    where = _visible(device_id)
    if fingerprint is not None:
        where = and_(where, messages.c.fingerprint == fingerprint)
    rows = connection.execute(
        select(messages).where(where).order_by(messages.c.id.desc()).offset(start).limit(limit)
    ).all()
    size = connection.execute(select(func.count()).select_from(messages).where(where)).scalar_one()
    return list(rows), int(size)


def owned_ids(connection: Connection, device_id: int, message_ids: Sequence[int]) -> set[int]:
    return set(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id, messages.c.id.in_(message_ids)
            )
        )
    )


_MARK_COLUMNS = (
    messages.c.id,
    messages.c.fingerprint,
    messages.c.direction,
    messages.c.status,
    messages.c.delivered_at,
    messages.c.read_at,
    messages.c.deleted_at,
)

# Which time column a mark sets, and the event it fires.
READ = ("read_at", EventKind.MESSAGE_READ)
DELETED = ("deleted_at", EventKind.MESSAGE_DELETE)
Mark = tuple[str, EventKind]


def mark(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    what: Mark,
    at: int,
    next_id: Callable[[], int],
) -> list[int]:
    """Mark messages read or deleted; returns those that changed (each fires an event)."""
    column, _ = what
    rows = connection.execute(
        select(*_MARK_COLUMNS).where(
            messages.c.device_id == device_id,
            messages.c.id.in_(message_ids),
            messages.c[column].is_(None),
        )
    ).all()
    return _apply_mark(connection, device_id, rows, what, at, next_id)


def mark_conversation(
    connection: Connection,
    device_id: int,
    fingerprint: str,
    what: Mark,
    at: int,
    next_id: Callable[[], int],
    *,
    after: int,
    limit: int,
) -> int | None:
    """Mark the visible messages of a conversation with ids above `after`, at most
    `limit` of them; returns the last id looked at, or None when there are no more.

    A conversation can hold any number of messages; marking it a slice per transaction
    keeps each transaction short, and the id cursor means no slice reads the last one's
    messages again.
    """
    rows = connection.execute(
        select(*_MARK_COLUMNS)
        .where(_visible(device_id), messages.c.fingerprint == fingerprint, messages.c.id > after)
        .order_by(messages.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return None
    column, _ = what
    unmarked = [row for row in rows if getattr(row, column) is None]
    _apply_mark(connection, device_id, unmarked, what, at, next_id)
    return int(rows[-1].id)


def _apply_mark(
    connection: Connection,
    device_id: int,
    rows: Sequence[Any],
    what: Mark,
    at: int,
    next_id: Callable[[], int],
) -> list[int]:
    if not rows:
        return []
    column, kind = what
    changing = [int(row.id) for row in rows]
    connection.execute(
        update(messages).where(messages.c.id.in_(changing)).values({column: at, "updated_at": at})
    )
    # An inbound text counted as unread until it is read or deleted, whichever is first.
    no_longer_unread: dict[str, int] = {}
    for row in rows:
        if row.direction == Direction.INBOUND and row.read_at is None and row.deleted_at is None:
            no_longer_unread[row.fingerprint] = no_longer_unread.get(row.fingerprint, 0) + 1
    execute_many(
        connection,
        _LOWER_UNREAD,
        [
            {"_device": device_id, "_fingerprint": fp, "_count": count}
            for fp, count in no_longer_unread.items()
        ],
    )
    # Each event keeps the message as this change leaves it.
    events.record(
        connection,
        [
            events.row(
                next_id(),
                device_id,
                kind,
                int(row.id),
                at,
                status=row.status,
                delivered_at=row.delivered_at,
                read_at=at if column == "read_at" else row.read_at,
                deleted_at=at if column == "deleted_at" else row.deleted_at,
            )
            for row in rows
        ],
    )
    return changing


_LOWER_UNREAD = (
    update(conversations)
    .where(
        conversations.c.device_id == bindparam("_device"),
        conversations.c.fingerprint == bindparam("_fingerprint"),
    )
    .values(
        # GREATEST on PostgreSQL and two-argument MAX on SQLite, in words both know.
        unread_count=case(
            (
                conversations.c.unread_count > bindparam("_count"),
                conversations.c.unread_count - bindparam("_count"),
            ),
            else_=0,
        )
    )
)


def scheduled(
    connection: Connection, device_id: int, *, start: int, limit: int
) -> tuple[list[Row[Any]], int]:
    """A page of the messages waiting for their scheduled time, soonest first, and how
    many there are in all."""
    where = and_(
        messages.c.device_id == device_id,
        messages.c.due_at.is_not(None),
        messages.c.scheduled_at.is_not(None),
        messages.c.status == int(Progress.QUEUED),
    )
    rows = connection.execute(
        select(messages)
        .where(where)
        .order_by(messages.c.scheduled_at, messages.c.id)
        .offset(start)
        .limit(limit)
    ).all()
    size = connection.execute(select(func.count()).select_from(messages).where(where)).scalar_one()
    return list(rows), int(size)


def cancel_scheduled(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    next_id: Callable[[], int],
) -> list[int]:
    """Cancel scheduled messages not yet handed to the dispatcher; they are hidden.

    Returns the ids that cannot be canceled; if there are any, nothing changes.
    """
    waiting = set(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id,
                messages.c.id.in_(message_ids),
                messages.c.due_at.is_not(None),
                messages.c.lease_until.is_(None),
                messages.c.scheduled_at.is_not(None),
            )
        )
    )
    missing = [mid for mid in dict.fromkeys(message_ids) if mid not in waiting]
    if missing:
        return missing
    canceled = sorted(waiting)
    connection.execute(
        update(messages)
        .where(messages.c.id.in_(canceled))
        .values(canceled_at=at, deleted_at=at, updated_at=at, due_at=None)
    )
    events.record(
        connection,
        [
            events.row(
                next_id(),
                device_id,
                EventKind.MESSAGE_DELETE,
                mid,
                at,
                status=int(Progress.QUEUED),
                deleted_at=at,
            )
            for mid in canceled
        ],
    )
    return []
