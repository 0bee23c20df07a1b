"""contact/*: the line's address book."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from functools import partial

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import bad_arguments, not_found
from landline.api.fields import Id, Ids, Integer, Number, Text, param
from landline.api.message import NOT_FOUND
from landline.api.params import listed
from landline.api.shapes import ContactAnswer, ContactList, TrueAnswer
from landline.core import ids, numbers
from landline.store import contacts

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
    rows, count = await call.store.read(
        lambda c: contacts.page(c, line.device_id, offset=(page - 1) * size, limit=size)
    )
    items = [render.contact(row, line) for row in rows]
    return {
        "success": True,
        "response": items,
        "total": len(items),
        "page": page,
        "pages": math.ceil(count / size),
    }


def _field(description: str, max_chars: int = 255, aliases: tuple[str, ...] = ()) -> str | None:
    value: str | None = param(
        Text(max_chars),
        f"At most {max_chars} characters; trimmed. Absent or empty leaves it unchanged. "
        + description,
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
}


async def save(call: Call, args: ContactFields) -> ContactAnswer:
    line, now = call.line, call.now()
    given = {
        COLUMNS[item.name]: getattr(args, item.name)
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
    return {"success": True, "response": render.contact(row, line)}


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
    return {"success": True, "response": render.contact(row, line)}


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
)
