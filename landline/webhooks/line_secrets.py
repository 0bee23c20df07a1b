"""A line's webhook signing secret: made on first use, rotated on request.

Stored encrypted (webhooks/secrets.py); the plain secret exists only in memory, to sign
with and to show the line's own sessions and the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from landline.core.webhook_policy import SECRET_OVERLAP_MS
from landline.store import lines
from landline.store.access import Store
from landline.store.lines import StoredSecrets
from landline.webhooks.secrets import SecretBox
from landline.webhooks.signing import new_secret

Sealed = StoredSecrets


class NoSuchLine(LookupError):
    pass


@dataclass(frozen=True)
class Shown:
    secret: str
    # Until when the secret it replaced still signs too; None when none does.
    previous_until: int | None


async def ensure(store: Store, box: SecretBox, device_id: int) -> Sealed:
    """The line's secrets, giving it its first one if it has none."""
    sealed = box.seal(new_secret())
    found = await store.write(lambda c: lines.set_first_secret(c, device_id, sealed))
    if found is None or found.current is None:
        raise NoSuchLine(device_id)
    return found


async def show(store: Store, box: SecretBox, device_id: int, *, rotate: bool = False) -> Shown:
    """The line's signing secret, made on first use; with `rotate`, a new one, the old
    one signing beside it for 24 hours."""
    now = store.clock.now_ms()
    if rotate:
        sealed = box.seal(new_secret())
        found = await store.write(lambda c: lines.rotate_secret(c, device_id, sealed, now))
    else:
        found = await store.read(lines.secrets_of, device_id)
    if found is None:
        raise NoSuchLine(device_id)
    if found.current is None:
        found = await ensure(store, box, device_id)
    assert found.current is not None
    until = None
    if found.previous is not None and found.rotated_at is not None:
        until = found.rotated_at + SECRET_OVERLAP_MS
        if until <= now:
            until = None
    return Shown(box.open(found.current), until)
