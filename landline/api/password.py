"""password/change: the signed-in user changes their own password."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import ApiError, invalid_session
from landline.api.fields import Choice, Text, param
from landline.api.hashing import HashingBusy
from landline.api.shapes import PasswordAnswer
from landline.api.user import BUSY_RETRY_SECONDS
from landline.core import passwords, sessions
from landline.core.status import ErrorCode
from landline.store import lines

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
TRUE_WORDS = ("true", "1", "yes")


@dataclass(frozen=True)
class ChangeArgs:
    currentPassword: str = param(
        Text(max_chars=MAX_PASSWORD_CHARS, exact=True, min_chars=1),
        "The password now; kept exactly as sent.",
        aliases=("oldPassword", "current"),
        required=True,
    )
    password: str = param(
        Text(max_chars=MAX_PASSWORD_CHARS, exact=True, min_chars=MIN_PASSWORD_CHARS),
        f"The new password: {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters, kept "
        "exactly as sent.",
        aliases=("newPassword",),
        required=True,
    )
    revokeOthers: str = param(
        Choice(("true", "false", "1", "0", "yes", "no"), default="false"),
        "`true`: every other session key of this user is revoked; this one stays valid.",
    )


def _replace(current: str, stored: str | None, new: str) -> str | None:
    """The new password's hash if `current` matches `stored`, else None (run on the
    hashing pool: both steps cost tens of milliseconds)."""
    if not passwords.verify(current, stored):
        return None
    return passwords.hash_password(new)


async def change(call: Call, args: ChangeArgs) -> PasswordAnswer:
    key_hash = sessions.hash_key(call.session_key())
    owner = await call.store.read(lines.session_user, key_hash)
    if owner is None:
        raise invalid_session()
    device_id, operator_id = owner
    # Guesses through a stolen session key count like failed logins of the same user.
    user = call.line.number if operator_id is None else f"operator:{operator_id}"
    throttle = call.services.failed_logins
    wait_ms = throttle.begin(user, call.client, call.now())
    if wait_ms:
        seconds = -(-wait_ms // 1000)
        raise ApiError(
            ErrorCode.TOO_MANY_REQUESTS,
            f"Too many wrong passwords; try again in {seconds} s",
            status=429,
            headers={"Retry-After": str(seconds)},
        )
    try:
        stored = await call.store.read(lines.password_hash_of, device_id, operator_id)
        new_hash = await call.services.password_pool.run(
            _replace, args.currentPassword, stored, args.password
        )
    except HashingBusy:
        throttle.abandoned(user, call.client)
        raise ApiError(
            ErrorCode.TOO_MANY_REQUESTS,
            "Too many password checks in progress; try again",
            status=429,
            headers={"Retry-After": str(BUSY_RETRY_SECONDS)},
        ) from None
    except BaseException:
        throttle.abandoned(user, call.client)
        raise
    # The session is good, so the answer stays on HTTP 200: clients that raise on
    # other statuses still read why.
    if new_hash is None or stored is None:
        raise ApiError(ErrorCode.INVALID_SESSION, "currentPassword is not the password")
    old = stored
    throttle.succeeded(user, call.client)
    revoke = args.revokeOthers in TRUE_WORDS
    now = call.now()

    def store(connection: Connection) -> bool:
        changed = lines.replace_password_hash(
            connection, device_id=device_id, operator_id=operator_id, old=old, new=new_hash
        )
        if changed and revoke:
            lines.revoke_other_sessions(connection, device_id, operator_id, key_hash, now)
        return changed

    if not await call.store.write(store):
        raise ApiError(
            ErrorCode.INVALID_SESSION, "the password was changed meanwhile; nothing changed"
        )
    return {"success": True, "response": "", "sessions": None}


ENDPOINTS = (
    Endpoint(
        "password/change",
        change,
        ChangeArgs,
        PasswordAnswer,
        "user",
        "Change the signed-in user's password (the line's, or the operator's own)",
        description="Other session keys stay valid unless `revokeOthers=true`. Wrong "
        "current passwords count toward the same limit as failed logins.",
        errors=f"-703 when a parameter is missing or the new password is shorter than "
        f"{MIN_PASSWORD_CHARS} characters; -100 (HTTP 200) when currentPassword is wrong; "
        "-429 (HTTP 429, Retry-After) after too many wrong passwords.",
    ),
)
