"""A browser's session: the API's own session key, held in an HttpOnly cookie, and the
CSRF token derived from it.

The key is the same kind the API hands out (user/login) and lives in the same table,
so signing out revokes it like user/logout, and an operator's browser and API clients
follow one set of rules. The CSRF token is an HMAC of the key: a page of another
origin can make the browser send the cookie but can never read the token, and the
server keeps nothing to check it against.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from landline.core import sessions

COOKIE = "landline_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
# Long enough for a working day; the key itself lasts until it is revoked.
COOKIE_MAX_AGE_S = 30 * 24 * 3600


def csrf_token(session_key: str) -> str:
    return hmac.new(session_key.encode(), b"landline-csrf-v1", hashlib.sha256).hexdigest()


def csrf_ok(session_key: str, offered: str | None) -> bool:
    return bool(offered) and hmac.compare_digest(csrf_token(session_key), offered or "")


def key_from_cookie(cookies: dict[str, str]) -> str | None:
    key = cookies.get(COOKIE, "").strip()
    if not key or len(key) > 200 or sessions.device_of(key) is None:
        return None
    return key


def set_cookie_header(key: str, *, secure: bool) -> str:
    parts = [
        f"{COOKIE}={key}",
        "Path=/",
        f"Max-Age={COOKIE_MAX_AGE_S}",
        "HttpOnly",
        "SameSite=Lax",
    ]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def clear_cookie_header(*, secure: bool) -> str:
    parts = [f"{COOKIE}=", "Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def same_origin(scope: Mapping[str, Any]) -> bool:
    """False when the browser says the request came from another site or origin.

    Browsers send Origin on every POST and Sec-Fetch-Site on every request; a client
    that sends neither (curl, a test) is not a browser a page could have steered.
    """
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    host = headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()
