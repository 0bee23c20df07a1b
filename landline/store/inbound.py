"""Storing texts that contacts send a line."""

from __future__ import annotations

from sqlalchemy import Connection

from landline.core.directions import Direction
from landline.core.events import EventKind
from landline.core.status import Progress
from landline.store import contacts as address_book
from landline.store import conversations, events
from landline.store.schema import messages
from landline.store.statements import insert_or_ignore


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
    blocked: bool = False,
) -> bool:
    """Store a text a contact sent the line. False if the carrier already delivered it.

    A text from a number the line blocked is kept, hidden (deleted, marked blocked): it
    fires no event and leaves the conversation as it was."""
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
            direction=str(Direction.INBOUND),
            line_number=line_number,
            contact_number=contact_number,
            body=body,
            status=int(Progress.DELIVERY_CONFIRMED),
            connector=connector,
            carrier_ref=carrier_ref,
            created_at=at,
            updated_at=at,
            ended_at=at,
            delivered_at=at,
            deleted_at=at if blocked else None,
            blocked=True if blocked else None,
        )
        .returning(messages.c.id)
    ).first()
    if inserted is None:
        return False
    address_book.ensure(
        connection, [address_book.new_row(device_id, contact_number, contact_id, at)]
    )
    if blocked:
        return True
    received = events.row(
        event_id,
        device_id,
        EventKind.MESSAGE_RECEIVE,
        message_id,
        at,
        status=int(Progress.DELIVERY_CONFIRMED),
        delivered_at=at,
    )
    events.record(connection, [received])
    conversations.touch(
        connection,
        [
            conversations.row(
                device_id, fingerprint, contact_number, message_id, at, body, contact_id, 1
            )
        ],
    )
    return True
