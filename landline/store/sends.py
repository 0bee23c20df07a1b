"""Storing accepted sends: messages, history, outbox, events, contacts, conversations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select

from landline.core.directions import Direction
from landline.core.events import EventKind
from landline.core.outbound import SendPlan
from landline.core.status import ErrorCode, Progress
from landline.store import contacts as address_book
from landline.store import conversations, events
from landline.store.bulk import execute_many
from landline.store.schema import contacts, messages


@dataclass(frozen=True)
class SendOutcome:
    opted_out: frozenset[str]
    # Recipients the line has blocked: their messages end at once with -1235.
    blocked: frozenset[str] = frozenset()


def record_send(
    connection: Connection, plan: SendPlan, *, honor_opt_out: bool = True
) -> SendOutcome:
    """Store an accepted send: messages (waiting in the outbox), events, contacts and
    conversations.

    A recipient who opted out gets a message that ends at once with -1234 and no outbox
    row, so nothing reaches a carrier. Only the line's own answers to STOP and HELP are
    sent without that check.
    """
    return _record(connection, [plan], honor_opt_out=honor_opt_out)[0]


def record_sends(connection: Connection, plans: list[SendPlan]) -> list[SendOutcome]:
    """`record_send` for the sends of many concurrent requests, one statement per table.

    Per-statement overhead, not row count, is what a send costs; the writer hands this
    every send queued at the same time.
    """
    return _record(connection, plans, honor_opt_out=True)


def _record(
    connection: Connection, plans: list[SendPlan], *, honor_opt_out: bool
) -> list[SendOutcome]:
    stops = _stopped(connection, plans) if honor_opt_out else {}
    contact_rows: dict[tuple[int, str], dict[str, Any]] = {}
    conversation_rows: dict[tuple[int, str], dict[str, Any]] = {}
    message_rows, event_rows = [], []
    outcomes = []
    for plan in plans:
        now, device_id, body = plan.created_at, plan.device_id, plan.body
        stopped_numbers, blocked_numbers = [], []
        for m in plan.messages:
            code = stops.get((device_id, m.number))
            stopped = code is not None
            status = code if code is not None else int(Progress.QUEUED)
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
                    "direction": str(Direction.OUTBOUND),
                    "line_number": plan.line_number,
                    "contact_number": m.number,
                    "body": body,
                    "status": status,
                    "connector": None,
                    "carrier_ref": None,
                    "created_at": now,
                    "updated_at": now,
                    "scheduled_at": plan.scheduled_at,
                    # In the outbox until a carrier has it; a text to someone who opted
                    # out ends at once and never waits there.
                    "due_at": None if stopped else plan.available_at,
                    "ended_at": now if stopped else None,
                    "attempts": 0,
                    "ignore_opt_out": not honor_opt_out,
                }
            )
            event_rows.append(
                events.row(
                    m.send_event_id,
                    device_id,
                    EventKind.MESSAGE_SEND,
                    m.message_id,
                    now,
                    status=int(Progress.QUEUED),
                )
            )
            if stopped:
                if code == ErrorCode.RECIPIENT_BLOCKED:
                    blocked_numbers.append(m.number)
                else:
                    stopped_numbers.append(m.number)
                event_rows.append(
                    events.row(
                        _take_id(plan),
                        device_id,
                        EventKind.MESSAGE_PROGRESS,
                        m.message_id,
                        now,
                        status=status,
                    )
                )
            key = (device_id, m.fingerprint)
            known = conversation_rows.get(key)
            # Two sends to one conversation in a batch: the newer message is its last.
            if known is None or known["last_message_id"] < m.message_id:
                conversation_rows[key] = conversations.row(
                    device_id, m.fingerprint, m.number, m.message_id, now, body, m.contact_id, 0
                )
        outcomes.append(
            SendOutcome(opted_out=frozenset(stopped_numbers), blocked=frozenset(blocked_numbers))
        )
    # Rows that other transactions may also be writing go in key order, so two writers
    # (threads or processes, on PostgreSQL) lock them in the same order and never deadlock.
    address_book.ensure(connection, [contact_rows[key] for key in sorted(contact_rows)])
    execute_many(connection, _INSERT_MESSAGES, message_rows)
    events.record(connection, event_rows)
    conversations.touch(connection, [conversation_rows[key] for key in sorted(conversation_rows)])
    return outcomes


def _take_id(plan: SendPlan) -> int:
    if plan.next_id is None:
        raise ValueError("a send plan needs next_id to record an opted-out recipient")
    return plan.next_id()


_INSERT_MESSAGES = messages.insert()


def _stopped(connection: Connection, plans: list[SendPlan]) -> dict[tuple[int, str], int]:
    """(device id, number) -> the code that ends its message at once, for the recipients
    in `plans` who have opted out (-1234) or whom the line blocked (-1235)."""
    devices = list({plan.device_id for plan in plans})
    numbers = list({m.number for plan in plans for m in plan.messages})
    rows = connection.execute(_STOPPED, {"devices": devices, "numbers": numbers})
    # A superset when the batch spans lines; only the pairs asked about count.
    return {
        (row.device_id, row.number): int(
            ErrorCode.RECIPIENT_SENT_STOP if row.opted_out else ErrorCode.RECIPIENT_BLOCKED
        )
        for row in rows
    }


_STOPPED = select(
    contacts.c.device_id, contacts.c.number, contacts.c.opted_out, contacts.c.blocked
).where(
    contacts.c.device_id.in_(bindparam("devices", expanding=True)),
    contacts.c.number.in_(bindparam("numbers", expanding=True)),
    contacts.c.opted_out.is_(True) | contacts.c.blocked.is_(True),
)
