"""Storage keys: the unguessable names of hosted content, and the check on keys that
clients send back.

A key is 160 random bits in lowercase base32 (32 characters of a-z and 2-7): safe in a
URL, as an S3 object name, and as a file name, also on a disk that ignores case. The
check admits exactly that shape, so a key from a client can never name a path.
"""

from __future__ import annotations

import base64
import re
import secrets

KEY_LENGTH = 32
_RANDOM_BYTES = 20  # 160 bits, 32 base32 characters with no padding
_KEY = re.compile(r"[a-z2-7]{32}")


class InvalidKey(ValueError):
    """Not a storage key: wrong length or a character outside a-z, 2-7."""


def new_key() -> str:
    return base64.b32encode(secrets.token_bytes(_RANDOM_BYTES)).decode("ascii").lower()


def is_valid_key(key: str) -> bool:
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def check_key(key: str) -> str:
    """`key` itself if it is a storage key; otherwise InvalidKey. The error never
    repeats the key, which may be anything a client sent."""
    if not is_valid_key(key):
        raise InvalidKey(f"a storage key is {KEY_LENGTH} characters of a-z and 2-7")
    return key
