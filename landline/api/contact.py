"""contact/*: the line's address book."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from functools import partial
from typing import Any

from sqlalchemy import Connection, Row

from landline.api import render
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import bad_arguments, not_found
from landline.api.fields import Editable, Id, Ids, Integer, Number, param
from landline.api.message import NOT_FOUND
from landline.api.params import listed
from landline.api.shapes import Contact, ContactAnswer, ContactList, TrueAnswer
from landline.core import ids, numbers
from landline.core.status import ErrorCode
from landline.store import contacts, statuses
from landline.store.lines import Line

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
# page * pageSize stays far from overflow, and further than any address book.
MAX_PAGE = 1_000_000
MAX_IDS = 1000
WRITE_CHUNK = 250


@dataclass(frozen=True)
class ContactPage:
    page: int = param(Integer(0, MAX_PAGE, default=1), "Counts from 1; 0 is taken as 1.")
    pageSize: int = param(
        Integer(1, MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE), "Contacts per page."
    )


async def list_(call: Call, args: ContactPage) -> ContactList:
    """Contacts a page at a time."""
    line = call.line
    page, size = max(args.page, 1), args.pageSize

    def load(connection: Connection) -> tuple[list[Contact], int]:
        offset = (page - 1) * size
        rows, count = contacts.page(connection, line.device_id, offset=offset, limit=size)
        return rendered(connection, rows, line), count

    items, count = await call.store.read(load)
    return {
        "success": True,
        "response": items,
        "total": len(items),
        "page": page,
        "pages": math.ceil(count / size),
    }


def _field(description: str, max_chars: int = 255, aliases: tuple[str, ...] = ()) -> str | None:
    value: str | None = param(
        Editable(max_chars),
        f"At most {max_chars} characters; trimmed. Absent leaves it unchanged; empty clears "
        "it. " + description,
        aliases=aliases,
    )
    return value


@dataclass(frozen=True)
class ContactFields:
    address: str = param(
        Number(),
        "The contact's number (`ptn:/` allowed).",
        aliases=("mobileNumber", "contact"),
        required=True,
    )
    firstName: str | None = _field("")
    lastName: str | None = _field("")
    email: str | None = _field("")
    notes: str | None = _field("", max_chars=4000)
    city: str | None = _field("")
    state: str | None = _field("")
    zipcode: str | None = _field("", max_chars=32, aliases=("zip",))
    birthday: str | None = _field("", max_chars=32)
    businessName: str | None = _field("", aliases=("company",))
    jobTitle: str | None = _field("")
    addressLine1: str | None = _field("", aliases=("address1",))
    addressLine2: str | None = _field("", aliases=("address2",))
    country: str | None = _field("")
    custom1: str | None = _field("")
    custom2: str | None = _field("")


# API field -> column.
COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "notes": "notes",
    "city": "city",
    "state": "state",
    "zipcode": "zipcode",
    "birthday": "birthday",
    "businessName": "business_name",
    "jobTitle": "job_title",
    "addressLine1": "address_line1",
    "addressLine2": "address_line2",
    "country": "country",
    "custom1": "custom1",
    "custom2": "custom2",
}


def rendered(connection: Connection, rows: Sequence[Row[Any]], line: Line) -> list[Contact]:
    """Contacts as the API shows them, with the texts each sent and was sent."""
    fingerprints = {row.number: ids.fingerprint(line.device_id, [row.number]) for row in rows}
    counts = contacts.message_counts(connection, line.device_id, list(fingerprints.values()))
    return [render.contact(row, line, counts.get(fingerprints[row.number], (0, 0))) for row in rows]


async def save(call: Call, args: ContactFields) -> ContactAnswer:
    line, now = call.line, call.now()
    # An empty value clears the field.
    given = {
        COLUMNS[item.name]: getattr(args, item.name) or None
        for item in fields(args)
        if item.name in COLUMNS and getattr(args, item.name) is not None
    }
    contact_id = ids.contact_id(line.device_id, args.address)
    row = await call.store.write(
        lambda c: contacts.save(
            c,
            device_id=line.device_id,
            number=args.address,
            contact_id=contact_id,
            fields=given,
            now=now,
        )
    )
    return {"success": True, "response": await one_rendered(call, row)}


async def one_rendered(call: Call, row: Row[Any]) -> Contact:
    line = call.line
    found = await call.store.read(lambda c: rendered(c, [row], line))
    return found[0]


@dataclass(frozen=True)
class OneContact:
    id: int | None = param(
        Id(), "The contact id; wins over mobileNumber.", aliases=("contact", "contactId")
    )
    mobileNumber: str | None = param(Number(), "The contact's number.", aliases=("address",))


async def get(call: Call, args: OneContact) -> ContactAnswer:
    line = call.line
    if args.id is not None:
        row = await call.store.read(contacts.get_by_id, line.device_id, args.id)
        what = f"contact {args.id}"
    elif args.mobileNumber is not None:
        row = await call.store.read(contacts.get_by_number, line.device_id, args.mobileNumber)
        what = f"contact {numbers.display(args.mobileNumber)}"
    else:
        raise bad_arguments("id or mobileNumber is required")
    if row is None:
        raise not_found(what)
    return {"success": True, "response": await one_rendered(call, row)}


@dataclass(frozen=True)
class SomeContacts:
    contact: list[int] = param(
        Ids(MAX_IDS),
        f"Contact ids, at most {MAX_IDS}: repeated, comma-joined or `[a, b]`.",
        aliases=("contacts", "id", "contactId"),
        required=True,
    )


async def delete(call: Call, args: SomeContacts) -> TrueAnswer:
    device_id, now = call.line.device_id, call.now()
    wanted = list(dict.fromkeys(args.contact))
    known = await call.store.read(contacts.existing_ids, device_id, wanted)
    missing = [str(cid) for cid in wanted if cid not in known]
    if missing:
        raise not_found("contact " + listed(missing))

    def forget(connection: Connection, chunk: list[int]) -> int:
        return contacts.delete(connection, device_id, chunk, now)

    for start in range(0, len(wanted), WRITE_CHUNK):
        await call.store.write(partial(forget, chunk=wanted[start : start + WRITE_CHUNK]))
    return {"success": True, "response": True}


@dataclass(frozen=True)
class BlockArgs:
    mobileNumber: str | None = param(
        Number(), "The number (`ptn:/` allowed).", aliases=("address", "number")
    )
    contact: int | None = param(Id(), "A saved contact's id.", aliases=("contactId", "id"))


async def _number_to_block(call: Call, args: BlockArgs) -> str:
    if args.mobileNumber is not None:
        return args.mobileNumber
    if args.contact is None:
        raise bad_arguments("mobileNumber or contact is required")
    row = await call.store.read(contacts.get_by_id, call.line.device_id, args.contact)
    if row is None:
        raise not_found(f"contact {args.contact}")
    return str(row.number)


async def _set_blocked(call: Call, args: BlockArgs, blocked: bool) -> ContactAnswer:
    line, now, next_id = call.line, call.now(), call.store.ids.next_id
    number = await _number_to_block(call, args)
    contact_id = ids.contact_id(line.device_id, number)

    def apply(connection: Connection) -> Row[Any] | None:
        withdrawn = contacts.set_blocked(
            connection,
            device_id=line.device_id,
            number=number,
            contact_id=contact_id,
            blocked=blocked,
            now=now,
        )
        # Texts waiting to go to it (scheduled, or to be retried) end as a send would.
        statuses.advance(
            connection,
            [
                statuses.StatusChange(
                    message_id=waiting,
                    status=int(ErrorCode.RECIPIENT_BLOCKED),
                    at=now,
                    event_id=next_id(),
                )
                for waiting in withdrawn
            ],
        )
        return contacts.get_by_number(connection, line.device_id, number)

    row = await call.store.write(apply)
    assert row is not None
    return {"success": True, "response": await one_rendered(call, row)}


async def block(call: Call, args: BlockArgs) -> ContactAnswer:
    return await _set_blocked(call, args, True)


async def unblock(call: Call, args: BlockArgs) -> ContactAnswer:
    return await _set_blocked(call, args, False)


BLOCK_ERRORS = (
    "-703 when neither mobileNumber nor contact is given, the number is invalid, or the "
    "contact id names no contact of this line; nothing changes then."
)

ENDPOINTS = (
    Endpoint(
        "contact/list",
        list_,
        ContactPage,
        ContactList,
        "contact",
        "The line's contacts, a page at a time, by number",
    ),
    Endpoint(
        "contact/save",
        save,
        ContactFields,
        ContactAnswer,
        "contact",
        "Create or update the contact for a number; only the fields given change",
        errors="-703 when address is missing or invalid, or a field is too long.",
    ),
    Endpoint(
        "contact/get",
        get,
        OneContact,
        ContactAnswer,
        "contact",
        "One contact, by id or by number",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "contact/delete",
        delete,
        SomeContacts,
        TrueAnswer,
        "contact",
        "Forget saved contacts (their opt-out state and messages stay)",
        errors=NOT_FOUND + " Nothing changes then.",
    ),
    Endpoint(
        "contact/block",
        block,
        BlockArgs,
        ContactAnswer,
        "contact",
        "Block a number: its texts are kept hidden and fire no event; sends to it end at once",
        description="Texts from a blocked number are stored hidden (`deleted: true`), fire "
        "no `receive` event, leave conversations unchanged and get no automatic reply (a "
        "STOP still opts the number out). A send to it gives its token `code` -1235 and its "
        "message ends at once with statusCode -1235; texts already waiting to go to it "
        "(scheduled or to be retried) end the same way. The contact is created if need be.",
        errors=BLOCK_ERRORS,
    ),
    Endpoint(
        "contact/unblock",
        unblock,
        BlockArgs,
        ContactAnswer,
        "contact",
        "Unblock a number",
        errors=BLOCK_ERRORS,
    ),
)
