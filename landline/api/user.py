"""user/login and user/logout."""

from __future__ import annotations

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.envelope import Answer, ApiError, bad_arguments
from landline.core import numbers, sessions
from landline.core.status import ErrorCode
from landline.store import lines


async def login(call: Call) -> Answer:
    """Trade a line's number (or an operator's user name) and password for a session key."""
    username = call.params.first("username", "userName", "mobileNumber")
    password = call.params.text("password")
    if username is None:
        raise bad_arguments("username is required")
    if not password:
        raise bad_arguments("password is required")
    found = await call.store.read(_credentials, username.strip())
    if found is None or not sessions.check_password(password, found[2]):
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
    return Answer(key)


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


async def logout(call: Call) -> Answer:
    await call.line()
    key_hash = sessions.hash_key(call.session_key())
    now = call.now()
    await call.store.write(lambda c: lines.revoke_session(c, key_hash, now))
    return Answer(True)
