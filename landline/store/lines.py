"""Lines (text-enabled numbers), their operators and their session keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from landline.core import acl as access
from landline.core.lines import LineState
from landline.store import revocations
from landline.store.schema import lines, operators, sessions


@dataclass(frozen=True)
class Line:
    device_id: int
    number: str
    mms: bool
    state: str
    timezone: str
    help_text: str | None
    # The client networks that may use the line's session keys; empty: any.
    acl: access.Acl = ()
    # Appended to every text the line's users send (user/signature/set); None: none.
    signature: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> Line:
        return cls(
            device_id=row.device_id,
            number=row.number,
            mms=bool(row.mms),
            state=row.state,
            timezone=row.timezone,
            help_text=row.help_text,
            acl=_acl(row.acl),
            signature=row.signature,
        )


def _acl(stored: str | None) -> access.Acl:
    try:
        return access.parse(stored)
    except access.BadAcl:
        # Only the admin command writes it, and it checks; a list that cannot be read
        # must not open the line to everyone.
        return (access.UNREADABLE,)


_LINE_COLUMNS = (
    lines.c.device_id,
    lines.c.number,
    lines.c.mms,
    lines.c.state,
    lines.c.timezone,
    lines.c.help_text,
    lines.c.acl,
    lines.c.signature,
)


def create(
    connection: Connection,
    *,
    device_id: int,
    number: str,
    mms: bool,
    timezone: str,
    password_hash: str | None,
    help_text: str | None,
    verified_by: str | None,
    now: int,
) -> None:
    connection.execute(
        lines.insert().values(
            device_id=device_id,
            number=number,
            mms=mms,
            state=str(LineState.ACTIVE),
            timezone=timezone,
            help_text=help_text,
            password_hash=password_hash,
            verified_by=verified_by,
            verified_at=now if verified_by else None,
            created_at=now,
        )
    )


def by_number(connection: Connection, number: str) -> Line | None:
    row = connection.execute(select(*_LINE_COLUMNS).where(lines.c.number == number)).one_or_none()
    return Line.from_row(row) if row else None


def by_device(connection: Connection, device_id: int) -> Line | None:
    row = connection.execute(
        select(*_LINE_COLUMNS).where(lines.c.device_id == device_id)
    ).one_or_none()
    return Line.from_row(row) if row else None


def device_exists(connection: Connection, device_id: int) -> bool:
    return (
        connection.execute(select(lines.c.device_id).where(lines.c.device_id == device_id)).first()
        is not None
    )


def set_state(connection: Connection, number: str, state: LineState) -> bool:
    revocations.announce(connection)
    return bool(
        connection.execute(
            update(lines).where(lines.c.number == number).values(state=str(state))
        ).rowcount
    )


def set_mms(connection: Connection, number: str, enabled: bool) -> bool:
    """Turn MMS (messaging/send) on or off for the line."""
    revocations.announce(connection)
    return bool(
        connection.execute(
            update(lines).where(lines.c.number == number).values(mms=enabled)
        ).rowcount
    )


def set_acl(connection: Connection, number: str, acl: str | None) -> bool:
    """Restrict the line's session keys to these networks (stored form; None: any)."""
    revocations.announce(connection)
    return bool(
        connection.execute(update(lines).where(lines.c.number == number).values(acl=acl)).rowcount
    )


# -- the webhook signing secret, encrypted with the installation's key


@dataclass(frozen=True)
class StoredSecrets:
    """A line's signing secrets as stored (encrypted); see webhooks/secrets.py."""

    current: str | None
    previous: str | None
    rotated_at: int | None


def secrets_of(connection: Connection, device_id: int) -> StoredSecrets | None:
    row = connection.execute(
        select(
            lines.c.webhook_secret,
            lines.c.webhook_secret_previous,
            lines.c.webhook_secret_rotated_at,
        ).where(lines.c.device_id == device_id)
    ).one_or_none()
    if row is None:
        return None
    return StoredSecrets(
        row.webhook_secret, row.webhook_secret_previous, row.webhook_secret_rotated_at
    )


def set_first_secret(
    connection: Connection, device_id: int, encrypted: str
) -> StoredSecrets | None:
    """Give the line `encrypted` as its secret unless it has one; returns what it has."""
    connection.execute(
        update(lines)
        .where(lines.c.device_id == device_id, lines.c.webhook_secret.is_(None))
        .values(webhook_secret=encrypted)
    )
    return secrets_of(connection, device_id)


def rotate_secret(
    connection: Connection, device_id: int, encrypted: str, now: int
) -> StoredSecrets | None:
    """Make `encrypted` the line's secret; the one it replaces keeps signing a while."""
    connection.execute(
        update(lines)
        .where(lines.c.device_id == device_id)
        .values(
            webhook_secret_previous=lines.c.webhook_secret,
            webhook_secret=encrypted,
            webhook_secret_rotated_at=now,
        )
    )
    return secrets_of(connection, device_id)


def password_hash_for_number(connection: Connection, number: str) -> tuple[int, str | None] | None:
    row = connection.execute(
        select(lines.c.device_id, lines.c.password_hash).where(lines.c.number == number)
    ).one_or_none()
    return (row.device_id, row.password_hash) if row else None


def replace_password_hash(
    connection: Connection, *, device_id: int, operator_id: int | None, old: str, new: str
) -> bool:
    """Store `new` for the line's (or, with `operator_id`, the operator's) password in
    place of `old`; False if the password changed meanwhile, which then stands."""
    if operator_id is None:
        table, where = lines, lines.c.device_id == device_id
    else:
        table, where = operators, operators.c.id == operator_id
    return bool(
        connection.execute(
            update(table).where(where, table.c.password_hash == old).values(password_hash=new)
        ).rowcount
    )


def add_operator(
    connection: Connection,
    *,
    operator_id: int,
    device_id: int,
    username: str,
    password_hash: str,
    now: int,
) -> None:
    connection.execute(
        operators.insert().values(
            id=operator_id,
            device_id=device_id,
            username=username,
            password_hash=password_hash,
            created_at=now,
        )
    )


def operator_login(connection: Connection, username: str) -> tuple[int, int, str] | None:
    """(operator id, device id, password hash) of an operator, by user name."""
    row = connection.execute(
        select(operators.c.id, operators.c.device_id, operators.c.password_hash).where(
            operators.c.username == username
        )
    ).one_or_none()
    return (row.id, row.device_id, row.password_hash) if row else None


def create_session(
    connection: Connection, *, key_hash: str, device_id: int, operator_id: int | None, now: int
) -> None:
    connection.execute(
        sessions.insert().values(
            key_hash=key_hash, device_id=device_id, operator_id=operator_id, created_at=now
        )
    )


def line_for_session(connection: Connection, key_hash: str) -> Line | None:
    """The line a live session key belongs to; None if unknown or revoked."""
    row = connection.execute(
        select(*_LINE_COLUMNS)
        .join(sessions, sessions.c.device_id == lines.c.device_id)
        .where(sessions.c.key_hash == key_hash, sessions.c.revoked_at.is_(None))
    ).one_or_none()
    return Line.from_row(row) if row else None


def revoke_session(connection: Connection, key_hash: str, now: int) -> bool:
    revocations.announce(connection)
    return bool(
        connection.execute(
            update(sessions)
            .where(sessions.c.key_hash == key_hash, sessions.c.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    )


# -- what a session's own user changes: signature, password, other sessions


def set_signature(connection: Connection, device_id: int, signature: str | None) -> None:
    # Cached lines carry the signature: drop them, so the next send signs with this one.
    revocations.announce(connection)
    connection.execute(
        update(lines).where(lines.c.device_id == device_id).values(signature=signature)
    )


def session_user(connection: Connection, key_hash: str) -> tuple[int, int | None] | None:
    """(device id, operator id or None for the line itself) of a live session key."""
    row = connection.execute(
        select(sessions.c.device_id, sessions.c.operator_id).where(
            sessions.c.key_hash == key_hash, sessions.c.revoked_at.is_(None)
        )
    ).one_or_none()
    return (row.device_id, row.operator_id) if row else None


def password_hash_of(connection: Connection, device_id: int, operator_id: int | None) -> str | None:
    """The stored hash of the line's (or the operator's) password; None if it has none."""
    if operator_id is None:
        stmt = select(lines.c.password_hash).where(lines.c.device_id == device_id)
    else:
        stmt = select(operators.c.password_hash).where(
            operators.c.id == operator_id, operators.c.device_id == device_id
        )
    found: str | None = connection.execute(stmt).scalar()
    return found


def revoke_other_sessions(
    connection: Connection, device_id: int, operator_id: int | None, keep: str, now: int
) -> int:
    """Revoke the user's live session keys but `keep` (a key hash); returns how many."""
    revocations.announce(connection)
    owner = (
        sessions.c.operator_id.is_(None)
        if operator_id is None
        else sessions.c.operator_id == operator_id
    )
    return int(
        connection.execute(
            update(sessions)
            .where(
                sessions.c.device_id == device_id,
                owner,
                sessions.c.key_hash != keep,
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        ).rowcount
    )
