"""Twilio's request signature (`X-Twilio-Signature`), as its documentation describes it:
the full URL the provider called, then each POST parameter's name and value, sorted by
name (values of a repeated name sorted too), HMAC-SHA1 under the account's auth token,
in base64. A provider that says so in `X-Twilio-Webhooks-Signature-Settings` uses
HMAC-SHA256 instead. Providers disagree on whether the URL carries its default port,
so both spellings are accepted, as Twilio's own validator does.

Tests check this against the `twilio` package's RequestValidator.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

SIGNATURE_HEADER = b"x-twilio-signature"
SETTINGS_HEADER = b"x-twilio-webhooks-signature-settings"
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}


def signature(token: str, url: str, params: Sequence[tuple[str, str]], algorithm: str = "") -> str:
    hash_function = _HASHES.get((algorithm or "HMAC_SHA1").upper())
    if hash_function is None:
        raise ValueError(f"unsupported signature algorithm {algorithm[:40]!r}")
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    text = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(token.encode(), text.encode(), hash_function).digest()
    return base64.b64encode(digest).decode("ascii")


def algorithm_of(settings_header: str) -> str:
    for part in settings_header.split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip()
    return "HMAC_SHA1"


def is_valid(
    token: str,
    url: str,
    params: Sequence[tuple[str, str]],
    given: str,
    settings_header: str = "",
) -> bool:
    """Whether `given` signs this request, with or without the URL's default port."""
    if not given:
        return False
    algorithm = algorithm_of(settings_header)
    if algorithm.upper() not in _HASHES:
        return False
    return any(
        hmac.compare_digest(signature(token, candidate, params, algorithm), given)
        for candidate in _spellings(url)
    )


def _spellings(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = userinfo + "@" if userinfo else ""
    without = urlunsplit(parts._replace(netloc=prefix + host))
    with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{port}"))
    return [url, without, with_port]
