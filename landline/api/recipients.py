"""Who a message/send goes to: numbers, saved contacts by id, and groups by address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.envelope import bad_arguments, not_found
from landline.api.params import BadParam, Params, listed, shown
from landline.core import groups as group_rules
from landline.core import numbers
from landline.core.outbound import MAX_RECIPIENTS
from landline.store import contacts, groups


@dataclass(frozen=True)
class Recipients:
    """Numbers (as `fields.Numbers` takes them) and group addresses (`group:/<id>`);
    answered as E.164 numbers and `group:/<id>`, duplicates merged."""

    max_items: int

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> list[str] | None:
        raw = params.items(names, self.max_items)
        if not raw:
            return None
        parsed, bad = [], []
        for item in raw:
            try:
                if group_rules.is_address(item):
                    parsed.append(group_rules.address(group_rules.parse_address(item)))
                else:
                    parsed.append(numbers.to_e164(item))
            except (numbers.InvalidNumber, group_rules.NotAGroup):
                bad.append(shown(item))
        if bad:
            raise BadParam(f"{name} has invalid phone numbers or group addresses: {listed(bad)}")
        return list(dict.fromkeys(parsed))

    def schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "maxLength": max(numbers.MAX_RAW_CHARS, 26)},
            "maxItems": self.max_items,
        }


@dataclass(frozen=True)
class Resolved:
    numbers: list[str]
    # The most recipients this send may have: 15, or the group size limit with groups.
    limit: int


async def resolve(call: Call, given: list[str] | None, contact_ids: list[int] | None) -> Resolved:
    """The numbers a send reaches; -703 for an id or group that is not the line's."""
    entries = given or []
    direct = [entry for entry in entries if not group_rules.is_address(entry)]
    group_ids = [group_rules.parse_address(e) for e in entries if group_rules.is_address(e)]
    if not direct and not group_ids and not contact_ids:
        raise bad_arguments("contacts is required")
    device_id, limit = call.line.device_id, call.services.group_max_members

    def load(connection: Connection) -> tuple[dict[int, str], dict[int, list[str]]]:
        saved = {}
        for contact_id in dict.fromkeys(contact_ids or []):
            row = contacts.get_by_id(connection, device_id, contact_id)
            if row is not None:
                saved[contact_id] = str(row.number)
        # One more than allowed, to tell a full group from one over the limit.
        members = groups.member_numbers(connection, device_id, group_ids, limit + 1)
        return saved, members

    saved, members = await call.store.read(load)
    missing = [str(cid) for cid in dict.fromkeys(contact_ids or []) if cid not in saved]
    if missing:
        raise not_found("contact " + listed(missing))
    unknown = [group_rules.address(gid) for gid in group_ids if gid not in members]
    if unknown:
        raise not_found("group " + listed(unknown))
    everyone = list(
        dict.fromkeys([*direct, *saved.values(), *(n for gid in group_ids for n in members[gid])])
    )
    if not group_ids:
        return Resolved(everyone, MAX_RECIPIENTS)
    if len(direct) + len(saved) > MAX_RECIPIENTS:
        raise bad_arguments(
            f"contacts has {len(direct) + len(saved)} numbers besides groups; at most "
            f"{MAX_RECIPIENTS} are allowed"
        )
    empty = [group_rules.address(gid) for gid in group_ids if not members[gid]]
    if empty and len(everyone) == 0:
        raise bad_arguments("group " + listed(empty) + " has no members")
    return Resolved(everyone, limit)
