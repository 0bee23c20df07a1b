"""Messages, their status history, and the conversations and contacts they touch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update

from landline.core.outbound import SendPlan
from landline.core.status import ErrorCode, Progress, is_final
from landline.store.schema import (
    contacts,
    conversations,
    events,
    message_status,
    messages,
    outbox,
)
from landline.store.upserts import insert_for_upsert, insert_or_ignore


@dataclass(frozen=True)
class SendOutcome:
    opted_out: frozenset[str]


def record_send(
    connection: Connection, plan: SendPlan, *, honor_opt_out: bool = True
) -> SendOutcome:
    """Store an accepted send: messages, history, outbox, events, contacts, conversations.

    A recipient who opted out gets a message that ends at once with -1234 and no outbox
    row, so nothing reaches a carrier. Only the line's own answers to STOP and HELP are
    sent without that check.
    """
    numbers = [m.number for m in plan.messages]
    opted_out = (
        frozenset()
        if not honor_opt_out
        else frozenset(
            connection.scalars(
                select(contacts.c.number).where(
                    contacts.c.device_id == plan.device_id,
                    contacts.c.number.in_(numbers),
                    contacts.c.opted_out.is_(True),
                )
            )
        )
    )
    now = plan.created_at
    _ensure_contacts(
        connection, plan.device_id, ((m.number, m.contact_id) for m in plan.messages), now
    )
    message_rows, history, outbox_rows, event_rows = [], [], [], []
    for m in plan.messages:
        stopped = m.number in opted_out
        status = int(ErrorCode.RECIPIENT_SENT_STOP) if stopped else int(Progress.QUEUED)
        message_rows.append(
            {
                "id": m.message_id,
                "device_id": plan.device_id,
                "root_id": plan.root_id,
                "fingerprint": m.fingerprint,
                "contact_id": m.contact_id,
                "direction": "ZO",
                "line_number": plan.line_number,
                "contact_number": m.number,
                "body": plan.body,
                "status": status,
                "connector": None,
                "carrier_ref": None,
                "created_at": now,
                "updated_at": now,
                "scheduled_at": plan.scheduled_at,
            }
        )
        history.append({"message_id": m.message_id, "status": int(Progress.QUEUED), "at": now})
        event_rows.append(
            _event(m.send_event_id, plan.device_id, "message.send", m.message_id, now)
        )
        if stopped:
            history.append({"message_id": m.message_id, "status": status, "at": now})
            event_rows.append(
                _event(m.progress_event_id, plan.device_id, "message.progress", m.message_id, now)
            )
        else:
            outbox_rows.append(
                {
                    "message_id": m.message_id,
                    "device_id": plan.device_id,
                    "available_at": plan.available_at,
                    "attempts": 0,
                }
            )
    connection.execute(messages.insert(), message_rows)
    connection.execute(message_status.insert(), history)
    connection.execute(events.insert(), event_rows)
    if outbox_rows:
        connection.execute(outbox.insert(), outbox_rows)
    for m in plan.messages:
        touch_conversation(
            connection,
            device_id=plan.device_id,
            fingerprint=m.fingerprint,
            members=m.number,
            message_id=m.message_id,
            at=now,
            body=plan.body,
            contact_id=m.contact_id,
            unread=0,
        )
    return SendOutcome(opted_out=opted_out)


def _event(
    event_id: int, device_id: int, kind: str, message_id: int | None, at: int
) -> dict[str, Any]:
    return {
        "id": event_id,
        "device_id": device_id,
        "kind": kind,
        "message_id": message_id,
        "data": None,
        "created_at": at,
    }


def _ensure_contacts(
    connection: Connection, device_id: int, items: Iterable[tuple[str, int]], now: int
) -> None:
    rows = [
        {
            "device_id": device_id,
            "number": number,
            "id": contact_id,
            "opted_out": False,
            "deleted": False,
            "created_at": now,
            "updated_at": now,
        }
        for number, contact_id in items
    ]
    connection.execute(insert_or_ignore(connection, contacts), rows)


def touch_conversation(
    connection: Connection,
    *,
    device_id: int,
    fingerprint: str,
    members: str,
    message_id: int,
    at: int,
    body: str,
    contact_id: int,
    unread: int,
) -> None:
    stmt = insert_for_upsert(connection, conversations).values(
        device_id=device_id,
        fingerprint=fingerprint,
        members=members,
        last_message_id=message_id,
        last_message_at=at,
        last_message_body=body,
        last_contact_id=contact_id,
        unread_count=unread,
        deleted=False,
        created_at=at,
        updated_at=at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[conversations.c.device_id, conversations.c.fingerprint],
        set_={
            "last_message_id": stmt.excluded.last_message_id,
            "last_message_at": stmt.excluded.last_message_at,
            "last_message_body": stmt.excluded.last_message_body,
            "last_contact_id": stmt.excluded.last_contact_id,
            "unread_count": conversations.c.unread_count + stmt.excluded.unread_count,
            "deleted": False,
            "updated_at": stmt.excluded.updated_at,
        },
    )
    connection.execute(stmt)


def record_inbound(
    connection: Connection,
    *,
    message_id: int,
    event_id: int,
    device_id: int,
    line_number: str,
    contact_number: str,
    contact_id: int,
    fingerprint: str,
    body: str,
    connector: str,
    carrier_ref: str,
    at: int,
) -> bool:
    """Store a text a contact sent the line. False if the carrier already delivered it."""
    inserted = connection.execute(
        insert_or_ignore(connection, messages).values(
            id=message_id,
            device_id=device_id,
            root_id=message_id,
            fingerprint=fingerprint,
            contact_id=contact_id,
            direction="MO",
            line_number=line_number,
            contact_number=contact_number,
            body=body,
            status=int(Progress.DELIVERY_CONFIRMED),
            connector=connector,
            carrier_ref=carrier_ref,
            created_at=at,
            updated_at=at,
            delivered_at=at,
        )
    ).rowcount
    if not inserted:
        return False
    _ensure_contacts(connection, device_id, [(contact_number, contact_id)], at)
    connection.execute(
        message_status.insert(),
        {"message_id": message_id, "status": int(Progress.DELIVERY_CONFIRMED), "at": at},
    )
    connection.execute(
        events.insert(), _event(event_id, device_id, "message.receive", message_id, at)
    )
    touch_conversation(
        connection,
        device_id=device_id,
        fingerprint=fingerprint,
        members=contact_number,
        message_id=message_id,
        at=at,
        body=body,
        contact_id=contact_id,
        unread=1,
    )
    return True


def advance_status(
    connection: Connection,
    *,
    message_id: int,
    status: int,
    at: int,
    event_id: int,
    connector: str | None = None,
    carrier_ref: str | None = None,
    only_from: int | None = None,
) -> bool:
    """Move a message to `status` unless it already ended; record history and an event.

    A final status is reached exactly once: a repeated or late report changes nothing.
    With `only_from`, the move happens only from that status.
    """
    current = connection.execute(
        select(messages.c.status, messages.c.device_id).where(messages.c.id == message_id)
    ).one_or_none()
    if current is None or is_final(current.status) or current.status == status:
        return False
    if only_from is not None and current.status != only_from:
        return False
    values: dict[str, Any] = {"status": status, "updated_at": at}
    if connector is not None:
        values["connector"] = connector
    if carrier_ref is not None:
        values["carrier_ref"] = carrier_ref
    if status in (
        Progress.DELIVERED_BY_RECEIPT,
        Progress.DELIVERY_CONFIRMED,
        Progress.DELIVERED_NO_CONFIRMATION,
    ):
        values["delivered_at"] = at
    changed = connection.execute(
        update(messages)
        .where(messages.c.id == message_id, messages.c.status == current.status)
        .values(**values)
    ).rowcount
    if not changed:
        return False
    connection.execute(
        insert_or_ignore(connection, message_status),
        {"message_id": message_id, "status": status, "at": at},
    )
    connection.execute(
        events.insert(), _event(event_id, current.device_id, "message.progress", message_id, at)
    )
    return True


def get(connection: Connection, device_id: int, message_id: int) -> Row[Any] | None:
    return connection.execute(
        select(messages).where(messages.c.id == message_id, messages.c.device_id == device_id)
    ).one_or_none()


def history(connection: Connection, message_ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return found
    rows = connection.execute(
        select(message_status.c.message_id, message_status.c.status, message_status.c.at)
        .where(message_status.c.message_id.in_(message_ids))
    )
    for row in rows:
        found[row.message_id].append((row.status, row.at))
    for steps in found.values():
        # Several steps can share a millisecond; the lifecycle decides their order.
        steps.sort(key=lambda step: (step[1], _PHASE.get(step[0], 2)))
    return found


_PHASE = {int(Progress.QUEUED): 0, int(Progress.QUEUED_3): 0, int(Progress.IN_PROGRESS): 1}


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


def mark_read(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    event_ids: Sequence[int],
) -> list[int]:
    """Mark messages read; returns those that changed (each gets a `read` event)."""
    unread = list(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id,
                messages.c.id.in_(message_ids),
                messages.c.read_at.is_(None),
            )
        )
    )
    if not unread:
        return []
    connection.execute(
        update(messages).where(messages.c.id.in_(unread)).values(read_at=at, updated_at=at)
    )
    _recount_unread(connection, device_id, unread)
    connection.execute(
        events.insert(),
        [
            _event(eid, device_id, "message.read", mid, at)
            for mid, eid in zip(unread, event_ids, strict=False)
        ],
    )
    return unread


def mark_deleted(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    event_ids: Sequence[int],
) -> list[int]:
    """Hide messages (delivery records stay); returns those that changed."""
    live = list(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id,
                messages.c.id.in_(message_ids),
                messages.c.deleted_at.is_(None),
            )
        )
    )
    if not live:
        return []
    connection.execute(
        update(messages).where(messages.c.id.in_(live)).values(deleted_at=at, updated_at=at)
    )
    _recount_unread(connection, device_id, live)
    connection.execute(
        events.insert(),
        [
            _event(eid, device_id, "message.delete", mid, at)
            for mid, eid in zip(live, event_ids, strict=False)
        ],
    )
    return live


def _recount_unread(connection: Connection, device_id: int, message_ids: Sequence[int]) -> None:
    fingerprints = set(
        connection.scalars(
            select(messages.c.fingerprint).where(messages.c.id.in_(message_ids)).distinct()
        )
    )
    for fp in fingerprints:
        unread = connection.execute(
            select(func.count())
            .select_from(messages)
            .where(
                messages.c.device_id == device_id,
                messages.c.fingerprint == fp,
                messages.c.direction == "MO",
                messages.c.read_at.is_(None),
                messages.c.deleted_at.is_(None),
            )
        ).scalar_one()
        connection.execute(
            update(conversations)
            .where(conversations.c.device_id == device_id, conversations.c.fingerprint == fp)
            .values(unread_count=unread)
        )


def ids_in_conversation(connection: Connection, device_id: int, fingerprint: str) -> list[int]:
    return list(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id,
                messages.c.fingerprint == fingerprint,
                messages.c.deleted_at.is_(None),
            )
        )
    )


def scheduled(connection: Connection, device_id: int) -> list[Row[Any]]:
    """Messages waiting for their scheduled time, soonest first."""
    return list(
        connection.execute(
            select(messages)
            .join(outbox, outbox.c.message_id == messages.c.id)
            .where(
                messages.c.device_id == device_id,
                messages.c.scheduled_at.is_not(None),
                messages.c.status == int(Progress.QUEUED),
                messages.c.canceled_at.is_(None),
            )
            .order_by(messages.c.scheduled_at, messages.c.id)
        )
    )


def cancel_scheduled(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    event_ids: Sequence[int],
) -> list[int]:
    """Cancel scheduled messages not yet handed to the dispatcher; they are hidden.

    Returns the ids that cannot be canceled; if there are any, nothing changes.
    """
    waiting = list(
        connection.scalars(
            select(outbox.c.message_id)
            .join(messages, messages.c.id == outbox.c.message_id)
            .where(
                outbox.c.device_id == device_id,
                outbox.c.message_id.in_(message_ids),
                outbox.c.lease_until.is_(None),
                messages.c.scheduled_at.is_not(None),
            )
        )
    )
    missing = [mid for mid in dict.fromkeys(message_ids) if mid not in set(waiting)]
    if missing:
        return missing
    connection.execute(delete(outbox).where(outbox.c.message_id.in_(waiting)))
    connection.execute(
        update(messages)
        .where(messages.c.id.in_(waiting))
        .values(canceled_at=at, deleted_at=at, updated_at=at)
    )
    connection.execute(
        events.insert(),
        [
            _event(eid, device_id, "message.delete", mid, at)
            for mid, eid in zip(waiting, event_ids, strict=False)
        ],
    )
    return []
