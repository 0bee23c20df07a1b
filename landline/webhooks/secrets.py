"""Signing secrets at rest: encrypted with the installation's key, never stored plain.

The key is `LANDLINE_SECRET_KEY` (a Fernet key), or else `<data_dir>/secret.key`, made
on first use and readable by its owner only. Every process of one installation must use
the same key: machines that share a PostgreSQL store must all be given
LANDLINE_SECRET_KEY, or each would make its own and none could read the others' secrets.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_FILE = "secret.key"


class SecretUnreadable(Exception):
    """A stored secret that this installation's key does not open."""


class SecretBox:
    """Encrypts and decrypts signing secrets with the installation's key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def ephemeral(cls) -> SecretBox:
        """A box with a key of its own, for a process that keeps no secrets."""
        return cls(Fernet.generate_key())

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        return _open(self._fernet, sealed)


# The same few secrets sign every delivery; decrypting each time would cost more than
# signing.
@lru_cache(maxsize=4096)
def _open(fernet: Fernet, sealed: str) -> str:
    try:
        return fernet.decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            "a webhook signing secret cannot be decrypted: this process has a different "
            "LANDLINE_SECRET_KEY (or secret.key) from the one that stored it"
        ) from None


def check_key(key: str) -> None:
    """Raise ValueError unless `key` is a Fernet key (32 bytes, URL-safe base64)."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "must be a Fernet key: 32 bytes in URL-safe base64, as printed by "
            "python3 -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'"
        ) from exc


def installation_key(configured: str, data_dir: Path) -> bytes:
    """The configured key, or the one in `data_dir`, made there on first use."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written whole under another name, then linked into place: a process starting at
    # the same moment either finds no file or a complete one, and only one key wins.
    temporary = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(Fernet.generate_key() + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    key = path.read_bytes().strip()
    try:
        check_key(key.decode("ascii"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} does not hold a Fernet key") from exc
    return key
