"""user/login and user/logout."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import ApiError
from landline.api.fields import Text, param
from landline.api.hashing import HashingBusy
from landline.api.shapes import SessionAnswer, TrueAnswer
from landline.core import numbers, passwords, sessions
from landline.core.status import ErrorCode
from landline.store import lines

# Longer names cannot be stored (schema.operators), so no such user exists.
MAX_USERNAME = 255
# When every hashing thread is busy and the queue is full; a login takes well under this.
BUSY_RETRY_SECONDS = 1


@dataclass(frozen=True)
class LoginArgs:
    username: str = param(
        Text(max_chars=MAX_USERNAME),
        "The line's number or an operator's user name.",
        aliases=("userName", "mobileNumber"),
        required=True,
    )
    password: str = param(
        Text(max_chars=1024, exact=True, min_chars=1), "Kept exactly as sent.", required=True
    )


@dataclass(frozen=True)
class Credentials:
    device_id: int
    operator_id: int | None
    password_hash: str | None


async def login(call: Call, args: LoginArgs) -> SessionAnswer:
    """Trade a line's number (or an operator's user name) and password for a session key."""
    name = args.username
    number = _number(name)
    # Every way of writing a number counts against the same line.
    user = number or name
    throttle = call.services.failed_logins
    wait_ms = throttle.begin(user, call.client, call.now())
    if wait_ms:
        raise _too_many("Too many failed logins", -(-wait_ms // 1000))
    try:
        found = await call.store.read(_credentials, number, name)
        stored = found.password_hash if found else None
        # Unknown users are checked too (against a dummy hash): the same work, the same
        # time, so the answer does not tell which numbers have a line.
        check = await call.services.password_pool.run(passwords.check, args.password, stored)
    except HashingBusy:
        throttle.abandoned(user, call.client)
        raise _too_many("Too many logins in progress", BUSY_RETRY_SECONDS) from None
    except BaseException:
        throttle.abandoned(user, call.client)
        raise
    if found is None or not check.ok:
        raise ApiError(ErrorCode.INVALID_SESSION, "Invalid username or password", status=401)
    throttle.succeeded(user, call.client)
    key = sessions.new_key(found.device_id)
    now = call.now()
    await call.store.write(lambda c: _open_session(c, found, sessions.hash_key(key), check, now))
    return {"success": True, "response": key}


def _too_many(why: str, seconds: int) -> ApiError:
    return ApiError(
        ErrorCode.TOO_MANY_REQUESTS,
        f"{why}; try again in {seconds} s",
        status=429,
        headers={"Retry-After": str(seconds)},
    )


def _number(name: str) -> str | None:
    try:
        return numbers.to_e164(name)
    except numbers.InvalidNumber:
        return None


def _credentials(connection: Connection, number: str | None, name: str) -> Credentials | None:
    if number is not None:
        line = lines.password_hash_for_number(connection, number)
        if line is not None:
            return Credentials(line[0], None, line[1])
    operator = lines.operator_login(connection, name)
    if operator is not None:
        return Credentials(operator[1], operator[0], operator[2])
    return None


def _open_session(
    connection: Connection,
    found: Credentials,
    key_hash: str,
    check: passwords.Check,
    now: int,
) -> None:
    lines.create_session(
        connection,
        key_hash=key_hash,
        device_id=found.device_id,
        operator_id=found.operator_id,
        now=now,
    )
    if check.new_hash is not None and found.password_hash is not None:
        lines.replace_password_hash(
            connection,
            device_id=found.device_id,
            operator_id=found.operator_id,
            old=found.password_hash,
            new=check.new_hash,
        )


async def logout(call: Call, args: None) -> TrueAnswer:
    key_hash = sessions.hash_key(call.session_key())
    now = call.now()
    await call.store.write(lambda c: lines.revoke_session(c, key_hash, now))
    return {"success": True, "response": True}


ENDPOINTS = (
    Endpoint(
        "user/login",
        login,
        LoginArgs,
        SessionAnswer,
        "user",
        "Trade a line's number (or an operator's user name) and password for a session key",
        errors="-703 when username or password is missing; -100 (HTTP 401) when they do not "
        "match; -429 (HTTP 429, Retry-After) after too many failed logins for this user name "
        "or from this address, or while too many logins are being checked.",
        session=False,
    ),
    Endpoint("user/logout", logout, None, TrueAnswer, "user", "Revoke this session key"),
)
