"""user/login and user/logout."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import ApiError
from landline.api.fields import Text, param
from landline.api.shapes import SessionAnswer, TrueAnswer
from landline.core import numbers, sessions
from landline.core.status import ErrorCode
from landline.store import lines


@dataclass(frozen=True)
class Credentials:
    username: str = param(
        Text(),
        "The line's number or an operator's user name.",
        aliases=("userName", "mobileNumber"),
        required=True,
    )
    password: str = param(
        Text(max_chars=1024, exact=True, min_chars=1), "Kept exactly as sent.", required=True
    )


async def login(call: Call, args: Credentials) -> SessionAnswer:
    """Trade a line's number (or an operator's user name) and password for a session key."""
    found = await call.store.read(_credentials, args.username)
    if found is None or not sessions.check_password(args.password, found[2]):
        raise ApiError(ErrorCode.INVALID_SESSION, "Invalid username or password", status=401)
    device_id, operator_id, _ = found
    key = sessions.new_key(device_id)
    now = call.now()
    await call.store.write(
        lambda c: lines.create_session(
            c,
            key_hash=sessions.hash_key(key),
            device_id=device_id,
            operator_id=operator_id,
            now=now,
        )
    )
    return {"success": True, "response": key}


def _credentials(
    connection: Connection, username: str
) -> tuple[int, int | None, str | None] | None:
    try:
        number = numbers.to_e164(username)
    except numbers.InvalidNumber:
        number = None
    if number is not None:
        line = lines.password_hash_for_number(connection, number)
        if line is not None:
            return line[0], None, line[1]
    operator = lines.operator_login(connection, username)
    if operator is not None:
        return operator[1], operator[0], operator[2]
    return None


async def logout(call: Call, args: None) -> TrueAnswer:
    key_hash = sessions.hash_key(call.session_key())
    now = call.now()
    await call.store.write(lambda c: lines.revoke_session(c, key_hash, now))
    return {"success": True, "response": True}


ENDPOINTS = (
    Endpoint(
        "user/login",
        login,
        Credentials,
        SessionAnswer,
        "user",
        "Trade a line's number (or an operator's user name) and password for a session key",
        errors="-703 when username or password is missing; -100 (HTTP 401) when they do not match.",
        session=False,
    ),
    Endpoint("user/logout", logout, None, TrueAnswer, "user", "Revoke this session key"),
)
