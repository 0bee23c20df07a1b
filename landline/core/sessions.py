"""Session keys: `<uuid>:<device id>`, kept only as a hash."""

from __future__ import annotations

import hashlib
import re
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
