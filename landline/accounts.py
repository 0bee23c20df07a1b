"""Provisioning lines, as an operator does once a customer's number is verified."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from landline.core import acl, passwords, sessions
from landline.core.lines import LineState
from landline.core.optout import DEFAULT_HELP_TEXT
from landline.store import line_flags, lines
from landline.store.access import Store

# Device ids look like the original service's: nine digits.
DEVICE_ID_LOW, DEVICE_ID_HIGH = 100_000_000, 999_999_999


class LineExists(Exception):
    pass


@dataclass(frozen=True)
class NewLine:
    device_id: int
    number: str
    session: str


def add_line(
    store: Store,
    *,
    number: str,
    mms: bool,
    timezone: str,
    password: str | None,
    help_text: str | None = None,
    verified_by: str | None = None,
) -> NewLine:
    """Create a text-enabled line (`number` in E.164) with its first session key."""
    if store.read_sync(lines.by_number, number) is not None:
        raise LineExists(number)
    device_id = _new_device_id(store)
    key = sessions.new_key(device_id)
    password_hash = passwords.hash_password(password) if password else None
    now = store.clock.now_ms()

    def create(connection: Connection) -> None:
        lines.create(
            connection,
            device_id=device_id,
            number=number,
            mms=mms,
            timezone=timezone,
            password_hash=password_hash,
            help_text=help_text or DEFAULT_HELP_TEXT,
            verified_by=verified_by,
            now=now,
        )
        lines.create_session(
            connection,
            key_hash=sessions.hash_key(key),
            device_id=device_id,
            operator_id=None,
            now=now,
        )

    try:
        store.write_sync(create)
    except IntegrityError:
        # Another `line add` of the same number won the race.
        raise LineExists(number) from None
    return NewLine(device_id=device_id, number=number, session=key)


def add_session(store: Store, number: str) -> NewLine | None:
    """A new session key for the line `number`; None if there is no such line."""
    line = store.read_sync(lines.by_number, number)
    if line is None:
        return None
    key, now = sessions.new_key(line.device_id), store.clock.now_ms()
    store.write_sync(
        lambda c: lines.create_session(
            c, key_hash=sessions.hash_key(key), device_id=line.device_id, operator_id=None, now=now
        )
    )
    return NewLine(device_id=line.device_id, number=number, session=key)


def _new_device_id(store: Store) -> int:
    while True:
        candidate = secrets.randbelow(DEVICE_ID_HIGH - DEVICE_ID_LOW + 1) + DEVICE_ID_LOW
        if not store.read_sync(lines.device_exists, candidate):
            return candidate


def set_state(store: Store, number: str, state: LineState, reason: str = "") -> bool:
    """Flag a line as spam, suspend it, or make it active again; False if no such line.
    Setting or clearing a spam flag is kept in the line's flag history."""
    line = store.read_sync(lines.by_number, number)
    if line is None:
        return False
    flag_id, now = store.ids.next_id(), store.clock.now_ms()

    def change(connection: Connection) -> bool:
        if line.state != state and LineState.SPAM in (line.state, state):
            action = "flag" if state == LineState.SPAM else "clear"
            line_flags.remember(
                connection,
                flag_id,
                line.device_id,
                action,
                reason or f"state {state}",
                "operator",
                now,
            )
        return lines.set_state(connection, number, state)

    return store.write_sync(change)


def set_acl(store: Store, number: str, networks: acl.Acl) -> bool:
    """Let only clients in `networks` use the line's session keys (empty: any client);
    False if there is no such line. Running servers apply it within a second."""
    stored = acl.render(networks)
    return store.write_sync(lambda c: lines.set_acl(c, number, stored))


class UsernameTaken(Exception):
    pass


def add_operator(store: Store, number: str, username: str, password: str) -> bool:
    """Give a person their own login to a line; False if there is no such line."""
    line = store.read_sync(lines.by_number, number)
    if line is None:
        return False
    if store.read_sync(lines.operator_login, username) is not None:
        raise UsernameTaken(username)
    password_hash = passwords.hash_password(password)
    operator_id, now = store.ids.next_id(), store.clock.now_ms()
    try:
        store.write_sync(
            lambda c: lines.add_operator(
                c,
                operator_id=operator_id,
                device_id=line.device_id,
                username=username,
                password_hash=password_hash,
                now=now,
            )
        )
    except IntegrityError:
        # Another `line operator` with the same name won the race.
        raise UsernameTaken(username) from None
    return True


def revoke_session(store: Store, key: str) -> bool:
    """End a session key; False if it was not a live one."""
    now = store.clock.now_ms()
    return store.write_sync(lambda c: lines.revoke_session(c, sessions.hash_key(key), now))
