"""user/get, user/save and user/signature/*: the signed-in user and the line's signature."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import bad_arguments, invalid_session
from landline.api.fields import Editable, param
from landline.api.params import BadParam, Params
from landline.api.shapes import SignatureAnswer, UserAnswer, UserDetail, UserInfo, UserSaveAnswer
from landline.core import groups as group_rules
from landline.core import sessions, signatures
from landline.store import groups, lines, profiles
from landline.store.lines import Line


async def signed_in_user(call: Call) -> int:
    """The profile key of this call's user: 0 for the line itself, else the operator's id."""
    key_hash = sessions.hash_key(call.session_key())
    found = await call.store.read(lines.session_user, key_hash)
    if found is None:
        raise invalid_session()
    return found[1] or profiles.LINE_ITSELF


def _load(connection: Connection, line: Line, user: int) -> UserDetail:
    profile = profiles.get(connection, line.device_id, user)
    counts = profiles.message_counts(connection, line.device_id)
    return {
        "user": render.user(profile, line, counts, user),
        "settings": {
            "signature": line.signature or "",
            "timezone": line.timezone,
            "mms": line.mms,
        },
        "groups": [
            render.group(row, line)
            for row in groups.all_of(connection, line.device_id, group_rules.MAX_GROUPS)
        ],
    }


async def get(call: Call, args: None) -> UserAnswer:
    line, user = call.line, await signed_in_user(call)
    detail = await call.store.read(lambda c: _load(c, line, user))
    return {"success": True, "response": detail}


def _field(description: str = "", max_chars: int = 255, aliases: tuple[str, ...] = ()) -> Any:
    return param(
        Editable(max_chars),
        f"At most {max_chars} characters; trimmed. Absent leaves it unchanged; empty clears "
        "it. " + description,
        aliases=aliases,
    )


@dataclass(frozen=True)
class UserFields:
    firstName: str | None = _field()
    lastName: str | None = _field()
    businessName: str | None = _field(aliases=("company",))
    email: str | None = _field()
    phoneKey: str | None = _field()
    notes: str | None = _field(max_chars=4000)
    loc: str | None = _field("Where the user is (free text).")
    zipcode: str | None = _field(max_chars=32, aliases=("zip",))
    birthday: str | None = _field(max_chars=32)


COLUMNS = {
    "firstName": "first_name",
    "lastName": "last_name",
    "businessName": "business_name",
    "email": "email",
    "phoneKey": "phone_key",
    "notes": "notes",
    "loc": "loc",
    "zipcode": "zipcode",
    "birthday": "birthday",
}


async def save(call: Call, args: UserFields) -> UserSaveAnswer:
    line, now, user = call.line, call.now(), await signed_in_user(call)
    given = {
        COLUMNS[item.name]: getattr(args, item.name) or None
        for item in fields(args)
        if getattr(args, item.name) is not None
    }

    def store(connection: Connection) -> UserInfo:
        row = profiles.save(
            connection, device_id=line.device_id, operator_id=user, fields=given, now=now
        )
        counts = profiles.message_counts(connection, line.device_id)
        return render.user(row, line, counts, user)

    saved = await call.store.write(store)
    return {"success": True, "response": saved}


@dataclass(frozen=True)
class SignatureText:
    """The signature's text, kept as sent (empty is a value: it removes the signature).

    The newer Java client signs every request with `apiKey`, `date` and `signature` in the
    query string, ahead of the body's parameters; when a request carries `apiKey`, its
    first `signature` is that request signature, and the text is the one after it."""

    max_chars: int

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> str | None:
        values = params.all(name)
        if params.first("apiKey") is not None:
            values = values[1:]
        if not values:
            values = params.all(*names[1:])
        if not values:
            return None
        if len(values[0]) > self.max_chars:
            raise BadParam(f"{name} is longer than {self.max_chars} characters")
        return values[0]

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_chars}


@dataclass(frozen=True)
class SignatureArgs:
    signature: str = param(
        SignatureText(signatures.MAX_SIGNATURE_BYTES),
        f"At most {signatures.MAX_SIGNATURE_BYTES} bytes of UTF-8, kept as sent but for "
        "spaces at either end; empty removes the signature.",
        aliases=("value", "text"),
        required=True,
    )


async def set_signature(call: Call, args: SignatureArgs) -> SignatureAnswer:
    signature = args.signature.strip()
    try:
        signatures.check(signature)
    except signatures.InvalidSignature as exc:
        raise bad_arguments(str(exc)) from None
    device_id = call.line.device_id
    await call.store.write(lambda c: lines.set_signature(c, device_id, signature or None))
    return {"success": True, "response": signature}


async def get_signature(call: Call, args: None) -> SignatureAnswer:
    # Read afresh: the line of a cached session may be up to a second old.
    line = await call.store.read(lines.by_device, call.line.device_id)
    return {"success": True, "response": (line.signature if line else None) or ""}


ENDPOINTS = (
    Endpoint(
        "user/get",
        get,
        None,
        UserAnswer,
        "user",
        "The signed-in user (the line, or the operator), the line's settings and its groups",
        description="An operator's session answers the operator's own profile; the line's "
        "number, counts, settings and groups are the line's. MOCount and ZOCount count "
        "every text the line received and sent.",
    ),
    Endpoint(
        "user/save",
        save,
        UserFields,
        UserSaveAnswer,
        "user",
        "Save the signed-in user's profile; only the fields given change",
        errors="-703 when a field is too long; nothing changes then.",
    ),
    Endpoint(
        "user/signature/set",
        set_signature,
        SignatureArgs,
        SignatureAnswer,
        "user",
        "Set the line's signature, appended after a newline to every text its users send",
        description="The signature counts toward the 250 bytes of message/send: a body "
        "that would pass the limit with it answers -703 saying so. The line's automatic "
        "replies (to STOP, START and HELP) are sent without it. Empty removes it.",
        errors=f"-703 when signature is missing or over {signatures.MAX_SIGNATURE_BYTES} bytes.",
    ),
    Endpoint(
        "user/signature/get",
        get_signature,
        None,
        SignatureAnswer,
        "user",
        "The line's signature (empty when none)",
    ),
)
