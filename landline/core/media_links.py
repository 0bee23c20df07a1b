"""Signed, time-limited links to hosted content, for carriers that fetch an MMS's parts
themselves (a REST provider takes a `MediaUrl`, not the bytes).

A link names one storage key and an expiry; its signature is an HMAC-SHA256 of both
under a key only this installation has, so a link cannot be made for another object or
stretched past its time. Anyone holding a live link may fetch that one object, which is
what a carrier needs and no more.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

# Long enough for a provider that queues a message before fetching its media, short
# enough that a leaked link soon stops working.
DEFAULT_LIFETIME_S = 24 * 3600
PATH_PREFIX = "media/"


class LinkRefused(ValueError):
    """A link whose signature is wrong or whose time is up."""


@dataclass(frozen=True)
class MediaLinks:
    # The installation's own key (derived from its secret key; never sent anywhere).
    key: bytes
    # The address the carrier reaches this server at, e.g. https://texts.example.com
    public_url: str
    lifetime_s: int = DEFAULT_LIFETIME_S

    @classmethod
    def derived(
        cls, secret: bytes, public_url: str, lifetime_s: int = DEFAULT_LIFETIME_S
    ) -> MediaLinks:
        key = hmac.new(secret, b"landline media links", hashlib.sha256).digest()
        return cls(key, public_url.rstrip("/"), lifetime_s)

    def link(self, storage_key: str, now_s: int) -> str:
        expires = now_s + self.lifetime_s
        signature = self._sign(storage_key, expires)
        return (
            f"{self.public_url}/{PATH_PREFIX}{quote(storage_key)}?expires={expires}&sig={signature}"
        )

    def check(self, storage_key: str, expires: str, signature: str, now_s: int) -> None:
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            raise LinkRefused("the link has no valid expiry")
        if not hmac.compare_digest(self._sign(storage_key, int(expires)), signature):
            raise LinkRefused("the link's signature does not match")
        if int(expires) < now_s:
            raise LinkRefused("the link has expired")

    def _sign(self, storage_key: str, expires: int) -> str:
        message = f"{storage_key}\n{expires}".encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
