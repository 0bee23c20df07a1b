"""Passwords, kept as Argon2id hashes; older PBKDF2 hashes still verify until replaced.

Every function here is slow on purpose (tens of milliseconds of CPU and, for Argon2id,
19 MiB of memory): call them off the event loop.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's first choice for Argon2id: 19 MiB, 2 passes, 1 lane. Several logins may hash at
# once, so memory per hash is kept at the minimum OWASP recommends (every thread of the
# hashing pool holds this much while it works) and the lost memory-hardness is bought back
# with a second pass. One lane, because the pool already spreads logins over the cores: a
# hash that took every core would stall the logins queued behind it.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

PBKDF2_PREFIX = "pbkdf2_sha256$"
# A stored PBKDF2 hash names its own round count; past this it is damaged, not slow.
PBKDF2_MAX_ROUNDS = 2_000_000


@dataclass(frozen=True)
class Check:
    ok: bool
    # The password hashed anew, when `ok` and the stored hash is of an older scheme or
    # older parameters; the caller stores it in place of the old one.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`.

    With no hash to check (an unknown user, a line without a password, a damaged hash)
    the password is checked against a dummy hash of the current scheme, so the answer
    takes as long as a wrong password for a real user and does not tell them apart.
    """
    matched: bool | None = None
    if stored and stored.startswith(PBKDF2_PREFIX):
        matched = _verify_pbkdf2(password, stored)
    elif stored:
        matched = _argon2_verify(stored, password)
    if matched is None:
        _argon2_verify(dummy_hash(), password)
        return False
    return matched


def needs_update(stored: str) -> bool:
    """Whether a hash that just verified should be replaced by one of the current scheme."""
    return stored.startswith(PBKDF2_PREFIX) or HASHER.check_needs_rehash(stored)


def check(password: str, stored: str | None) -> Check:
    """`verify`, and the hash to store instead of `stored` when it is due for an update."""
    if not verify(password, stored) or stored is None:
        return Check(ok=False)
    return Check(ok=True, new_hash=hash_password(password) if needs_update(stored) else None)


@functools.cache
def dummy_hash() -> str:
    """A hash of the current scheme that no password matches (its password is random
    and forgotten)."""
    return HASHER.hash(secrets.token_urlsafe(32))


def _argon2_verify(stored: str, password: str) -> bool | None:
    """Whether `password` matches an Argon2 hash; None when the hash is damaged."""
    try:
        return HASHER.verify(stored, password)
    except VerifyMismatchError:
        return False
    except (InvalidHashError, VerificationError):
        return None


def _verify_pbkdf2(password: str, stored: str) -> bool | None:
    """`pbkdf2_sha256$<rounds>$<salt hex>$<digest hex>`, as Landline stored them before
    Argon2id; None when the hash is damaged."""
    try:
        _, rounds_text, salt_hex, digest_hex = stored.split("$")
        salt, rounds = bytes.fromhex(salt_hex), int(rounds_text)
    except ValueError:
        return None
    if not 1 <= rounds <= PBKDF2_MAX_ROUNDS:
        return None
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, rounds)
    return hmac.compare_digest(digest.hex(), digest_hex.lower())
