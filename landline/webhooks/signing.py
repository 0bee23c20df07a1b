"""Standard Webhooks signatures, so a receiver can check that a delivery is ours.

Each delivery carries `webhook-id` (stable across retries, so receivers can drop
duplicates), `webhook-timestamp` (seconds, the time of this attempt: receivers refuse
stale ones) and `webhook-signature`: `v1,<base64 HMAC-SHA256>` per active secret,
space-separated, so during a secret rotation either secret verifies.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from secrets import token_bytes

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
# Two during a rotation; more would only mean a mistake.
MAX_ACTIVE_SECRETS = 4


class BadSecret(ValueError):
    pass


def new_secret() -> str:
    """A new random signing secret, `whsec_` and 32 bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode()


def check_secret(secret: str) -> None:
    """Raise BadSecret unless `secret` is a `whsec_` secret of at least 24 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise BadSecret(f"a signing secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise BadSecret("a signing secret is base64 after its prefix") from exc
    if len(key) < 24:
        raise BadSecret("a signing secret has at least 24 bytes")


def signature(secret: str, message_id: str, timestamp_s: int, content: bytes) -> str:
    """One `v1,<base64>` signature of `<message_id>.<timestamp_s>.<content>`."""
    return _signer(secret).sign(
        message_id, datetime.fromtimestamp(timestamp_s, UTC), content.decode("utf-8")
    )


# Every delivery of a line signs with the same secret: decode it once.
@functools.lru_cache(maxsize=1024)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def signing_headers(
    message_id: str, timestamp_s: int, content: bytes, secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt, signed by every secret given.

    `content` is what the receiver reads as the signed payload: the body as sent (UTF-8).
    """
    if not 1 <= len(secrets) <= MAX_ACTIVE_SECRETS:
        raise BadSecret(f"sign with 1 to {MAX_ACTIVE_SECRETS} secrets, not {len(secrets)}")
    if not message_id or any(c in message_id for c in ".\r\n"):
        raise ValueError("a message id is non-empty, without dots or line breaks")
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp_s),
        "webhook-signature": " ".join(
            signature(secret, message_id, timestamp_s, content) for secret in secrets
        ),
    }
