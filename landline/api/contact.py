"""contact/*: the line's address book."""

from __future__ import annotations

import math

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.envelope import Answer, bad_arguments, not_found
from landline.api.params import BadParam
from landline.core import ids, numbers
from landline.store import contacts

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000

# API field -> column, with the aliases clients send.
FIELDS = {
    "first_name": ("firstName",),
    "last_name": ("lastName",),
    "email": ("email",),
    "notes": ("notes",),
    "city": ("city",),
    "state": ("state",),
    "zipcode": ("zipcode", "zip"),
    "birthday": ("birthday",),
}
MAX_FIELD_CHARS = {"notes": 4000, "zipcode": 32, "birthday": 32}


async def list_(call: Call) -> Answer:
    """Contacts a page at a time; `page` counts from 1 (0 is taken as 1)."""
    line = await call.line()
    try:
        page = max(call.params.integer("page", 1), 1)
        size = call.params.integer("pageSize", DEFAULT_PAGE_SIZE, minimum=1, maximum=MAX_PAGE_SIZE)
    except BadParam as exc:
        raise bad_arguments(str(exc)) from exc
    rows, count = await call.store.read(
        lambda c: contacts.page(c, line.device_id, offset=(page - 1) * size, limit=size)
    )
    items = [render.contact(row, line) for row in rows]
    return Answer(items, total=len(items), page=page, pages=math.ceil(count / size))


def _number(raw: str | None, name: str) -> str:
    if raw is None:
        raise bad_arguments(f"{name} is required")
    try:
        return numbers.to_e164(raw)
    except numbers.InvalidNumber as exc:
        raise bad_arguments(f"{name} is not a valid phone number: {raw.strip()}") from exc


async def save(call: Call) -> Answer:
    line = await call.line()
    number = _number(call.params.first("address", "mobileNumber", "contact"), "address")
    fields: dict[str, str | None] = {}
    for column, names in FIELDS.items():
        value = call.params.first(*names)
        if value is None:
            continue
        limit = MAX_FIELD_CHARS.get(column, 255)
        if len(value) > limit:
            raise bad_arguments(f"{names[0]} is longer than {limit} characters")
        fields[column] = value.strip()
    now = call.now()
    contact_id = ids.contact_id(line.device_id, number)
    row = await call.store.write(
        lambda c: contacts.save(
            c,
            device_id=line.device_id,
            number=number,
            contact_id=contact_id,
            fields=fields,
            now=now,
        )
    )
    return Answer(render.contact(row, line))


async def get(call: Call) -> Answer:
    line = await call.line()
    try:
        given_ids = call.params.ids("id", "contact", "contactId")
    except BadParam as exc:
        raise bad_arguments(str(exc)) from exc
    raw_number = call.params.first("mobileNumber", "address")
    if given_ids:
        contact_id = given_ids[0]
        row = await call.store.read(contacts.get_by_id, line.device_id, contact_id)
        what = f"contact {contact_id}"
    else:
        number = _number(raw_number, "id or mobileNumber")
        row = await call.store.read(contacts.get_by_number, line.device_id, number)
        what = f"contact {numbers.display(number)}"
    if row is None:
        raise not_found(what)
    return Answer(render.contact(row, line))


async def delete(call: Call) -> Answer:
    line = await call.line()
    try:
        wanted = call.params.ids("contact", "contacts", "id", "contactId")
    except BadParam as exc:
        raise bad_arguments(str(exc)) from exc
    if not wanted:
        raise bad_arguments("contact is required")
    now = call.now()

    def forget(connection: Connection) -> list[int]:
        missing = [
            cid for cid in wanted if contacts.get_by_id(connection, line.device_id, cid) is None
        ]
        if missing:
            return missing
        contacts.delete(connection, line.device_id, wanted, now)
        return []

    missing = await call.store.write(forget)
    if missing:
        raise not_found("contact " + ", ".join(str(cid) for cid in missing))
    return Answer(True)
