"""The address book of a line, and the audit trail of opt-outs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Row, bindparam, func, select, update

from landline.core.events import EventKind
from landline.store import events
from landline.store.bulk import execute_many
from landline.store.schema import contacts, messages, opt_outs
from landline.store.statements import insert_for_upsert

EDITABLE = (
    "first_name",
    "last_name",
    "email",
    "notes",
    "city",
    "state",
    "zipcode",
    "birthday",
    "business_name",
    "job_title",
    "address_line1",
    "address_line2",
    "country",
    "custom1",
    "custom2",
)

# The upsert `ensure` runs, built once per dialect: building it costs more than running it.
_ENSURE: dict[str, Any] = {}


def new_row(device_id: int, number: str, contact_id: int, now: int) -> dict[str, Any]:
    """A contact that texting creates: nothing saved about them, not opted out."""
    return {
        "device_id": device_id,
        "number": number,
        "id": contact_id,
        "opted_out": False,
        "deleted": False,
        "created_at": now,
        "updated_at": now,
    }


def ensure(connection: Connection, rows: list[dict[str, Any]]) -> None:
    """Add the contacts of `rows` (from `new_row`) that are missing. One deleted from the
    address book comes back, with nothing saved about them, when texts flow again."""
    stmt = _ENSURE.get(connection.dialect.name)
    if stmt is None:
        insert = insert_for_upsert(connection, contacts)
        stmt = _ENSURE[connection.dialect.name] = insert.on_conflict_do_update(
            index_elements=[contacts.c.device_id, contacts.c.number],
            set_={"deleted": False, "updated_at": insert.excluded.updated_at},
            where=contacts.c.deleted.is_(True),
        )
    execute_many(connection, stmt, rows)


def page(
    connection: Connection, device_id: int, *, offset: int, limit: int
) -> tuple[list[Row[Any]], int]:
    where = (contacts.c.device_id == device_id) & contacts.c.deleted.is_(False)
    rows = connection.execute(
        select(contacts).where(where).order_by(contacts.c.number).offset(offset).limit(limit)
    ).all()
    size = connection.execute(select(func.count()).select_from(contacts).where(where)).scalar_one()
    return list(rows), int(size)


def get_by_id(connection: Connection, device_id: int, contact_id: int) -> Row[Any] | None:
    return connection.execute(
        select(contacts).where(
            contacts.c.device_id == device_id,
            contacts.c.id == contact_id,
            contacts.c.deleted.is_(False),
        )
    ).one_or_none()


def get_by_number(connection: Connection, device_id: int, number: str) -> Row[Any] | None:
    return connection.execute(
        select(contacts).where(
            contacts.c.device_id == device_id,
            contacts.c.number == number,
            contacts.c.deleted.is_(False),
        )
    ).one_or_none()


def save(
    connection: Connection,
    *,
    device_id: int,
    number: str,
    contact_id: int,
    fields: dict[str, str | None],
    now: int,
) -> Row[Any]:
    """Create or update a contact; only the given fields change."""
    values = {name: fields.get(name) for name in EDITABLE}
    stmt = insert_for_upsert(connection, contacts).values(
        device_id=device_id,
        number=number,
        id=contact_id,
        opted_out=False,
        deleted=False,
        created_at=now,
        updated_at=now,
        **values,
    )
    changes: dict[str, Any] = {
        name: getattr(stmt.excluded, name) for name in fields if name in EDITABLE
    }
    changes.update(deleted=False, updated_at=now)
    connection.execute(
        stmt.on_conflict_do_update(
            index_elements=[contacts.c.device_id, contacts.c.number], set_=changes
        )
    )
    row = get_by_number(connection, device_id, number)
    assert row is not None
    return row


def existing_ids(connection: Connection, device_id: int, contact_ids: Sequence[int]) -> set[int]:
    """Which of `contact_ids` name a contact in the line's address book."""
    return set(
        connection.scalars(
            select(contacts.c.id).where(
                contacts.c.device_id == device_id,
                contacts.c.id.in_(contact_ids),
                contacts.c.deleted.is_(False),
            )
        )
    )


def delete(connection: Connection, device_id: int, contact_ids: Sequence[int], now: int) -> int:
    """Forget what was saved about contacts; their opt-out state and messages remain."""
    blank = dict.fromkeys(EDITABLE)
    return connection.execute(
        update(contacts)
        .where(
            contacts.c.device_id == device_id,
            contacts.c.id.in_(contact_ids),
            contacts.c.deleted.is_(False),
        )
        .values(deleted=True, updated_at=now, **blank)
    ).rowcount


def set_opt_out(
    connection: Connection,
    *,
    device_id: int,
    number: str,
    contact_id: int,
    opt_out: bool,
    keyword: str,
    message_id: int | None,
    audit_id: int,
    event_id: int,
    event_data: dict[str, Any],
    now: int,
) -> bool:
    """Record an opt-out or opt-in; False if the contact was already in that state."""
    ensure(connection, [new_row(device_id, number, contact_id, now)])
    # One conditional update decides: of two workers taking the same change at once,
    # only one changes the row, so the audit trail, event and reply happen once.
    changed = connection.execute(
        update(contacts)
        .where(
            contacts.c.device_id == device_id,
            contacts.c.number == number,
            contacts.c.opted_out != opt_out,
        )
        .values(opted_out=opt_out, updated_at=now)
    ).rowcount
    if not changed:
        return False
    connection.execute(
        opt_outs.insert().values(
            id=audit_id,
            device_id=device_id,
            number=number,
            opt_out=opt_out,
            keyword=keyword[:64],
            message_id=message_id,
            created_at=now,
        )
    )
    events.record(
        connection,
        [
            events.row(
                event_id, device_id, EventKind.OPTOUT_CHANGE, message_id, now, data=event_data
            )
        ],
    )
    return True


def withdraw_waiting_sends(
    connection: Connection, device_id: int, number: str, now: int
) -> list[int]:
    """Take out of the outbox the texts to `number` that no dispatcher holds (scheduled
    ones, ones waiting to be retried); returns their ids. A text already being handed to
    a carrier is left alone: the lease is checked in the update itself, so a dispatcher
    claiming a row at this moment keeps it."""
    return sorted(
        connection.scalars(
            update(messages)
            .where(
                messages.c.due_at.is_not(None),
                messages.c.device_id == device_id,
                messages.c.contact_number == number,
                messages.c.lease_until.is_(None) | (messages.c.lease_until < now),
            )
            .values(due_at=None, lease_until=None, lease_token=None)
            .returning(messages.c.id)
        )
    )


def opt_out_history(connection: Connection, device_id: int, number: str) -> list[Row[Any]]:
    return list(
        connection.execute(
            select(opt_outs)
            .where(opt_outs.c.device_id == device_id, opt_outs.c.number == number)
            .order_by(opt_outs.c.id)
        )
    )


def set_blocked(
    connection: Connection,
    *,
    device_id: int,
    number: str,
    contact_id: int,
    blocked: bool,
    now: int,
) -> list[int]:
    """Block or unblock a number on a line (creating its contact if need be). Blocking
    takes the texts waiting to go to it out of the outbox; returns their ids."""
    ensure(connection, [new_row(device_id, number, contact_id, now)])
    connection.execute(
        update(contacts)
        .where(contacts.c.device_id == device_id, contacts.c.number == number)
        .values(blocked=blocked, updated_at=now)
    )
    return withdraw_waiting_sends(connection, device_id, number, now) if blocked else []


def is_blocked(connection: Connection, device_id: int, number: str) -> bool:
    return bool(
        connection.execute(
            select(contacts.c.blocked).where(
                contacts.c.device_id == device_id, contacts.c.number == number
            )
        ).scalar()
    )


def message_counts(
    connection: Connection, device_id: int, fingerprints: Sequence[str]
) -> dict[str, tuple[int, int]]:
    """(texts received, texts sent) per one-contact conversation, for MOCount and
    ZOCount. Every text to or from a contact is in that contact's own conversation, and
    the count walks the (device_id, fingerprint, id) index."""
    if not fingerprints:
        return {}
    found: dict[str, list[int]] = {}
    for row in connection.execute(
        _COUNTS, {"device_id": device_id, "fingerprints": list(fingerprints)}
    ):
        pair = found.setdefault(row.fingerprint, [0, 0])
        pair[0 if row.direction == "MO" else 1] = int(row.n)
    return {fp: (pair[0], pair[1]) for fp, pair in found.items()}


_COUNTS = (
    select(messages.c.fingerprint, messages.c.direction, func.count().label("n"))
    .where(
        messages.c.device_id == bindparam("device_id"),
        messages.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    )
    .group_by(messages.c.fingerprint, messages.c.direction)
)
