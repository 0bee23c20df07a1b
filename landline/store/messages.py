"""Messages, their status history, and the conversations and contacts they touch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    and_,
    bindparam,
    delete,
    func,
    literal_column,
    select,
    update,
)

from landline.core.outbound import SendPlan
from landline.core.status import ErrorCode, Progress, is_final
from landline.store import contacts as address_book
from landline.store.bulk import execute_many
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
    return _record_sends(connection, [plan], honor_opt_out=honor_opt_out)[0]


def record_sends(connection: Connection, plans: list[SendPlan]) -> list[SendOutcome]:
    """`record_send` for the sends of many concurrent requests, one statement per table.

    Per-statement overhead, not row count, is what a send costs; the writer hands this
    every send queued at the same time.
    """
    return _record_sends(connection, plans, honor_opt_out=True)


def _record_sends(
    connection: Connection, plans: list[SendPlan], *, honor_opt_out: bool
) -> list[SendOutcome]:
    opted_out = _opted_out(connection, plans) if honor_opt_out else set()
    contact_rows: dict[tuple[int, str], dict[str, Any]] = {}
    conversation_rows: dict[tuple[int, str], dict[str, Any]] = {}
    message_rows, history, outbox_rows, event_rows = [], [], [], []
    outcomes = []
    for plan in plans:
        now, device_id, body = plan.created_at, plan.device_id, plan.body
        stopped_numbers = []
        for m in plan.messages:
            stopped = (device_id, m.number) in opted_out
            status = int(ErrorCode.RECIPIENT_SENT_STOP) if stopped else int(Progress.QUEUED)
            if (device_id, m.number) not in contact_rows:
                contact_rows[device_id, m.number] = address_book.new_row(
                    device_id, m.number, m.contact_id, now
                )
            message_rows.append(
                {
                    "id": m.message_id,
                    "device_id": device_id,
                    "root_id": plan.root_id,
                    "fingerprint": m.fingerprint,
                    "contact_id": m.contact_id,
                    "direction": "ZO",
                    "line_number": plan.line_number,
                    "contact_number": m.number,
                    "body": body,
                    "status": status,
                    "connector": None,
                    "carrier_ref": None,
                    "created_at": now,
                    "updated_at": now,
                    "scheduled_at": plan.scheduled_at,
                }
            )
            history.append({"message_id": m.message_id, "status": int(Progress.QUEUED), "at": now})
            event_rows.append(_event(m.send_event_id, device_id, "message.send", m.message_id, now))
            if stopped:
                stopped_numbers.append(m.number)
                history.append({"message_id": m.message_id, "status": status, "at": now})
                event_rows.append(
                    _event(_take_id(plan), device_id, "message.progress", m.message_id, now)
                )
            else:
                outbox_rows.append(
                    {
                        "message_id": m.message_id,
                        "device_id": device_id,
                        "available_at": plan.available_at,
                        "attempts": 0,
                        "ignore_opt_out": not honor_opt_out,
                    }
                )
            key = (device_id, m.fingerprint)
            known = conversation_rows.get(key)
            # Two sends to one conversation in a batch: the newer message is its last.
            if known is None or known["last_message_id"] < m.message_id:
                conversation_rows[key] = _conversation_row(
                    device_id, m.fingerprint, m.number, m.message_id, now, body, m.contact_id, 0
                )
        outcomes.append(SendOutcome(opted_out=frozenset(stopped_numbers)))
    contact_list, conversation_list = list(contact_rows.values()), list(conversation_rows.values())
    address_book.ensure(connection, contact_list)
    execute_many(connection, _INSERT_MESSAGES, message_rows)
    execute_many(connection, _INSERT_STATUS, history)
    execute_many(connection, _INSERT_EVENTS, event_rows)
    execute_many(connection, _INSERT_OUTBOX, outbox_rows)
    execute_many(connection, _statement(connection, "conversations"), conversation_list)
    return outcomes


def _take_id(plan: SendPlan) -> int:
    if plan.next_id is None:
        raise ValueError("a send plan needs next_id to record an opted-out recipient")
    return plan.next_id()


_INSERT_MESSAGES = messages.insert()
_INSERT_STATUS = message_status.insert()
_INSERT_EVENTS = events.insert()
_INSERT_OUTBOX = outbox.insert()


def _opted_out(connection: Connection, plans: list[SendPlan]) -> set[tuple[int, str]]:
    """(device id, number) of the recipients in `plans` who have opted out."""
    devices = list({plan.device_id for plan in plans})
    numbers = list({m.number for plan in plans for m in plan.messages})
    rows = connection.execute(_OPTED_OUT, {"devices": devices, "numbers": numbers})
    # A superset when the batch spans lines; only the pairs asked about count.
    return {(row.device_id, row.number) for row in rows}


# Built once: building a statement costs more than running it.
_OPTED_OUT = select(contacts.c.device_id, contacts.c.number).where(
    contacts.c.device_id.in_(bindparam("devices", expanding=True)),
    contacts.c.number.in_(bindparam("numbers", expanding=True)),
    contacts.c.opted_out.is_(True),
)


# Statements built once per dialect: building one costs more than running it.
_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(connection: Connection, name: str) -> Any:
    key = (connection.dialect.name, name)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        if name == "message_status":
            stmt = insert_or_ignore(connection, message_status)
        else:
            stmt = _conversation_upsert(connection)
        _STATEMENTS[key] = stmt
    return stmt


def _conversation_row(
    device_id: int,
    fingerprint: str,
    members: str,
    message_id: int,
    at: int,
    body: str,
    contact_id: int,
    unread: int,
) -> dict[str, Any]:
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
    connection.execute(
        _statement(connection, "conversations"),
        _conversation_row(
            device_id, fingerprint, members, message_id, at, body, contact_id, unread
        ),
    )


def _conversation_upsert(connection: Connection) -> Any:
    stmt = insert_for_upsert(connection, conversations)
    return stmt.on_conflict_do_update(
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
    # RETURNING, not rowcount: psycopg under SQLAlchemy reports -1 for an INSERT, which
    # would make every repeated text look new.
    inserted = connection.execute(
        insert_or_ignore(connection, messages)
        .values(
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
        .returning(messages.c.id)
    ).first()
    if inserted is None:
        return False
    address_book.ensure(
        connection, [address_book.new_row(device_id, contact_number, contact_id, at)]
    )
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
    change = StatusChange(message_id, status, at, event_id, connector, carrier_ref, only_from)
    return advance_statuses(connection, [change])[0]


@dataclass(frozen=True)
class StatusChange:
    message_id: int
    status: int
    at: int
    event_id: int
    connector: str | None = None
    carrier_ref: str | None = None
    only_from: int | None = None


_DELIVERED = frozenset(
    {
        int(Progress.DELIVERED_BY_RECEIPT),
        int(Progress.DELIVERY_CONFIRMED),
        int(Progress.DELIVERED_NO_CONFIRMATION),
    }
)


def advance_statuses(connection: Connection, changes: Sequence[StatusChange]) -> list[bool]:
    """`advance_status` for many changes, in order, with one statement per table.

    The same message may appear more than once; each change sees the ones before it.
    The rows are locked first (on PostgreSQL), so no other worker moves them between
    the read and the write.
    """
    if not changes:
        return []
    ids = sorted({change.message_id for change in changes})
    current: dict[int, tuple[int, int]] = {
        row.id: (row.status, row.device_id)
        for row in connection.execute(_CURRENT_STATUS, {"ids": ids})
    }
    moved: list[bool] = []
    values: dict[int, dict[str, Any]] = {}
    history: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    for change in changes:
        found = current.get(change.message_id)
        if (
            found is None
            or is_final(found[0])
            or found[0] == change.status
            or (change.only_from is not None and found[0] != change.only_from)
        ):
            moved.append(False)
            continue
        device_id = found[1]
        current[change.message_id] = (change.status, device_id)
        row = values.setdefault(change.message_id, {})
        row["status"] = change.status
        row["updated_at"] = change.at
        if change.connector is not None:
            row["connector"] = change.connector
        if change.carrier_ref is not None:
            row["carrier_ref"] = change.carrier_ref
        if change.status in _DELIVERED:
            row["delivered_at"] = change.at
        history.append({"message_id": change.message_id, "status": change.status, "at": change.at})
        event_rows.append(
            _event(change.event_id, device_id, "message.progress", change.message_id, change.at)
        )
        moved.append(True)
    # One UPDATE per set of columns: an executemany needs the same columns in every row.
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for message_id, row in values.items():
        row = dict(sorted(row.items()), _id=message_id)
        by_columns.setdefault(tuple(row), []).append(row)
    for rows in by_columns.values():
        execute_many(connection, _STATUS_UPDATE, rows)
    execute_many(connection, _statement(connection, "message_status"), history)
    execute_many(connection, _INSERT_EVENTS, event_rows)
    return moved


_STATUS_UPDATE = update(messages).where(messages.c.id == bindparam("_id"))
_CURRENT_STATUS = (
    select(messages.c.id, messages.c.status, messages.c.device_id)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(messages.c.id)
    .with_for_update()
)


def unconfirmed_since(connection: Connection, cutoff: int, limit: int) -> list[int]:
    """Texts handed to a carrier before `cutoff` that no receipt has confirmed yet."""
    return list(
        connection.scalars(
            select(messages.c.id)
            # A literal, not a bound parameter, so SQLite sees that the partial index
            # of texts in progress answers this query.
            .where(
                messages.c.status == literal_column(str(int(Progress.IN_PROGRESS))),
                messages.c.updated_at < cutoff,
            )
            .order_by(messages.c.updated_at)
            .limit(limit)
        )
    )


def get(connection: Connection, device_id: int, message_id: int) -> Row[Any] | None:
    return connection.execute(
        select(messages).where(messages.c.id == message_id, messages.c.device_id == device_id)
    ).one_or_none()


def history(connection: Connection, message_ids: Sequence[int]) -> dict[int, list[tuple[int, int]]]:
    found: dict[int, list[tuple[int, int]]] = {mid: [] for mid in message_ids}
    if not message_ids:
        return found
    rows = connection.execute(
        select(message_status.c.message_id, message_status.c.status, message_status.c.at).where(
            message_status.c.message_id.in_(message_ids)
        )
    )
    for row in rows:
        found[row.message_id].append((row.status, row.at))
    for steps in found.values():
        # The lifecycle decides the order (queued, in progress, final), not the clock:
        # steps share milliseconds, and a receipt taken by another worker process may
        # be dated a little before the dispatcher's record of the submit.
        steps.sort(key=lambda step: (_PHASE.get(step[0], 2), step[1]))
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
    return _mark(connection, device_id, message_ids, at, event_ids, "read_at", "message.read")


def mark_deleted(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    event_ids: Sequence[int],
) -> list[int]:
    """Hide messages (delivery records stay); returns those that changed."""
    return _mark(connection, device_id, message_ids, at, event_ids, "deleted_at", "message.delete")


def _mark(
    connection: Connection,
    device_id: int,
    message_ids: Sequence[int],
    at: int,
    event_ids: Sequence[int],
    column: str,
    kind: str,
) -> list[int]:
    """Set the time `column` of messages not yet marked; an event for each one changed."""
    marked_at = messages.c[column]
    changing = list(
        connection.scalars(
            select(messages.c.id).where(
                messages.c.device_id == device_id,
                messages.c.id.in_(message_ids),
                marked_at.is_(None),
            )
        )
    )
    if not changing:
        return []
    connection.execute(
        update(messages).where(messages.c.id.in_(changing)).values({column: at, "updated_at": at})
    )
    _recount_unread(connection, device_id, changing)
    connection.execute(
        events.insert(),
        [
            _event(eid, device_id, kind, mid, at)
            for mid, eid in zip(changing, event_ids, strict=False)
        ],
    )
    return changing


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
