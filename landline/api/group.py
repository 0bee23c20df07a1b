"""group/*: named lists of the line's contacts, each with its own address `group:/<id>`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row

from landline.api import render
from landline.api.contact import DEFAULT_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, rendered
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import bad_arguments, not_found
from landline.api.fields import Integer, Number, Text, param
from landline.api.params import BadParam, Params, shown
from landline.api.shapes import ContactAnswer, ContactList, GroupAnswer, TrueAnswer
from landline.core import groups as rules
from landline.core import ids, numbers
from landline.store import contacts, groups
from landline.store.lines import Line


@dataclass(frozen=True)
class GroupAddress:
    """A group's address, `group:/<id>` (or the bare id)."""

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        raw = params.first(*names)
        if raw is None:
            return None
        try:
            return rules.parse_address(raw)
        except rules.NotAGroup:
            raise BadParam(f"{name} is not a group address (group:/<id>): {shown(raw)}") from None

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^(group:/)?[0-9]{1,19}$", "maxLength": 26}


def _group(description: str, aliases: tuple[str, ...], required: bool = True) -> Any:
    return param(GroupAddress(), description, aliases=aliases, required=required)


NOT_FOUND = (
    "-703 `Bad arguments: group ... not found` when the address names no group of this line."
)


async def _loaded(call: Call, group_id: int) -> Row[Any]:
    row = await call.store.read(groups.get, call.line.device_id, group_id)
    if row is None:
        raise not_found(f"group {rules.address(group_id)}")
    return row


@dataclass(frozen=True)
class SaveArgs:
    name: str | None = param(
        Text(rules.MAX_NAME_CHARS),
        "The group's name; a new group without one is named after its type (the Java "
        "client sends only `type`).",
        aliases=("groupName", "displayName"),
    )
    type: str | None = param(
        Text(rules.MAX_TYPE_CHARS),
        f"A label of the client's; `{rules.DEFAULT_TYPE}` when a new group has none.",
    )
    address: int | None = _group(
        "A group's address: that group is changed. Absent: a new group.",
        aliases=("group", "id"),
        required=False,
    )
    advertisement: str | None = param(
        Text(1000), "Accepted for the Java client and ignored.", name="advertisement"
    )


async def save(call: Call, args: SaveArgs) -> GroupAnswer:
    line, now = call.line, call.now()
    if args.address is None:
        group_id = await _create(call, args, line, now)
    else:
        group_id = args.address
        values = {k: v for k, v in (("name", args.name), ("type", args.type)) if v}
        changed = await call.store.write(
            lambda c: groups.change(
                c, device_id=line.device_id, group_id=group_id, values=values, now=now
            )
        )
        if not changed:
            raise not_found(f"group {rules.address(group_id)}")
    return {"success": True, "response": render.group_view(await _loaded(call, group_id), line)}


async def _create(call: Call, args: SaveArgs, line: Line, now: int) -> int:
    kind = args.type or rules.DEFAULT_TYPE
    name = args.name or kind
    group_id = call.store.ids.next_id()

    def create(connection: Connection) -> bool:
        # Counted in the writing transaction, so concurrent saves cannot pass the limit.
        if groups.count(connection, line.device_id) >= rules.MAX_GROUPS:
            return False
        groups.create(
            connection, device_id=line.device_id, group_id=group_id, name=name, kind=kind, now=now
        )
        return True

    if not await call.store.write(create):
        raise bad_arguments(f"this line has {rules.MAX_GROUPS} groups, the most it may have")
    return group_id


@dataclass(frozen=True)
class OneGroup:
    address: int = _group("The group's address, `group:/<id>`.", aliases=("group", "id"))


async def get(call: Call, args: OneGroup) -> GroupAnswer:
    row = await _loaded(call, args.address)
    return {"success": True, "response": render.group_view(row, call.line)}


async def delete(call: Call, args: OneGroup) -> TrueAnswer:
    device_id = call.line.device_id
    if not await call.store.write(lambda c: groups.remove(c, device_id, args.address)):
        raise not_found(f"group {rules.address(args.address)}")
    return {"success": True, "response": True}


@dataclass(frozen=True)
class MembersArgs:
    group: int = _group("The group's address.", aliases=("address", "id"))
    page: int = param(Integer(0, MAX_PAGE, default=1), "Counts from 1; 0 is taken as 1.")
    pageSize: int = param(Integer(1, MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE), "Members per page.")


async def members(call: Call, args: MembersArgs) -> ContactList:
    line = call.line
    await _loaded(call, args.group)
    page, size = max(args.page, 1), args.pageSize

    def load(connection: Connection) -> tuple[list[Any], int]:
        rows, count = groups.members_page(
            connection, line.device_id, args.group, offset=(page - 1) * size, limit=size
        )
        return rendered(connection, rows, line), count

    items, count = await call.store.read(load)
    return {
        "success": True,
        "response": items,
        "total": len(items),
        "page": page,
        "pages": math.ceil(count / size),
    }


@dataclass(frozen=True)
class AddMemberArgs:
    group: int = _group("The group's address.", aliases=("address",))
    mobileNumber: str = param(
        Number(), "The member's number (`ptn:/` allowed).", aliases=("contact",), required=True
    )
    firstName: str | None = param(Text(255), "Saved on the member's contact when given.")
    lastName: str | None = param(Text(255), "Saved on the member's contact when given.")
    notes: str | None = param(Text(4000), "Saved on the member's contact when given.")
    phoneKey: str | None = param(
        Text(255), "Accepted for old clients and not kept: contacts have no phone key."
    )


async def add_member(call: Call, args: AddMemberArgs) -> ContactAnswer:
    line, now, limit = call.line, call.now(), call.services.group_max_members
    await _loaded(call, args.group)
    number = args.mobileNumber
    contact_id = ids.contact_id(line.device_id, number)
    given: dict[str, str | None] = {
        column: value
        for column, value in (
            ("first_name", args.firstName),
            ("last_name", args.lastName),
            ("notes", args.notes),
        )
        if value
    }

    def add(connection: Connection) -> Row[Any] | None:
        known = groups.is_member(connection, line.device_id, args.group, number)
        if not known and groups.size(connection, line.device_id, args.group) >= limit:
            return None
        row = contacts.save(
            connection,
            device_id=line.device_id,
            number=number,
            contact_id=contact_id,
            fields=given,
            now=now,
        )
        groups.add_member(
            connection,
            device_id=line.device_id,
            group_id=args.group,
            number=number,
            contact_id=contact_id,
            now=now,
        )
        return row

    row = await call.store.write(add)
    if row is None:
        raise bad_arguments(
            f"group {rules.address(args.group)} has {limit} members, the most a group may have"
        )
    found = await call.store.read(lambda c: rendered(c, [row], line))
    return {"success": True, "response": found[0]}


@dataclass(frozen=True)
class RemoveMemberArgs:
    group: int = _group("The group's address.", aliases=("address",))
    member: str = param(
        Text(64),
        "The member: a number (`ptn:/` allowed) or a contact id.",
        aliases=("mobileNumber", "contact", "contactId"),
        required=True,
    )


async def remove_member(call: Call, args: RemoveMemberArgs) -> TrueAnswer:
    line, now = call.line, call.now()
    await _loaded(call, args.group)
    number, contact_id = _member(args.member)

    def remove(connection: Connection) -> bool:
        # A string of digits may be either: the number of a member wins, then a contact id.
        found = number
        if (
            found is None or not groups.is_member(connection, line.device_id, args.group, found)
        ) and contact_id is not None:
            found = groups.number_of_member(connection, line.device_id, args.group, contact_id)
        if found is None:
            return False
        return groups.remove_member(
            connection, device_id=line.device_id, group_id=args.group, number=found, now=now
        )

    if not await call.store.write(remove):
        raise not_found(f"member {args.member} of group {rules.address(args.group)}")
    return {"success": True, "response": True}


def _member(raw: str) -> tuple[str | None, int | None]:
    """What `raw` may name: a number, a contact id, or both; -703 when neither."""
    try:
        number: str | None = numbers.to_e164(raw)
    except numbers.InvalidNumber:
        number = None
    text = raw.strip()
    is_id = text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= rules.MAX_ID
    if number is None and not is_id:
        raise bad_arguments(f"member is neither a phone number nor a contact id: {shown(raw)}")
    return number, int(text) if is_id else None


ENDPOINTS = (
    Endpoint(
        "group/save",
        save,
        SaveArgs,
        GroupAnswer,
        "group",
        "Create a group, or rename one (with its address)",
        description=f"A line may have at most {rules.MAX_GROUPS} groups.",
        errors="-703 when a field is too long, the line has as many groups as it may, or "
        "the address names no group of this line.",
    ),
    Endpoint("group/get", get, OneGroup, GroupAnswer, "group", "One group", errors=NOT_FOUND),
    Endpoint(
        "group/delete",
        delete,
        OneGroup,
        TrueAnswer,
        "group",
        "Delete a group (its members' contacts stay)",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "group/members",
        members,
        MembersArgs,
        ContactList,
        "group",
        "The group's members as contacts, a page at a time, by number",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "group/addMember",
        add_member,
        AddMemberArgs,
        ContactAnswer,
        "group",
        "Add a number to a group (saving its contact); adding a member again changes nothing",
        description="A group holds at most LANDLINE_GROUP_MAX_MEMBERS members (default "
        f"{rules.DEFAULT_MAX_MEMBERS}).",
        errors=NOT_FOUND + " -703 also when the number is invalid or the group is full.",
    ),
    Endpoint(
        "group/removeMember",
        remove_member,
        RemoveMemberArgs,
        TrueAnswer,
        "group",
        "Take a member out of a group (its contact stays)",
        errors=NOT_FOUND + " -703 also when member is not in the group.",
    ),
)
