"""Session keys: `<uuid>:<device id>`, kept only as a hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

_KEY = re.compile(r"^([0-9a-fA-F-]{32,36}):(\d{1,19})$")


def new_key(device_id: int) -> str:
    return f"{uuid.uuid4()}:{device_id}"


def hash_key(key: str) -> str:
    # Keys carry 122 random bits, so a fast hash cannot be brute-forced; a slow one
    # would cost every request.
    return hashlib.sha256(key.strip().lower().encode()).hexdigest()


def device_of(key: str) -> int | None:
    match = _KEY.match(key.strip())
    return int(match.group(2)) if match else None


PASSWORD_ITERATIONS = 200_000


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PASSWORD_ITERATIONS)
    return f"pbkdf2_sha256${PASSWORD_ITERATIONS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str | None) -> bool:
    if not stored:
        return False
    try:
        scheme, iterations, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    try:
        salt, rounds = bytes.fromhex(salt_hex), int(iterations)
    except ValueError:
        # A damaged hash denies the login; it must not turn into a server error.
        return False
    if rounds < 1:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return hmac.compare_digest(digest.hex(), digest_hex)
