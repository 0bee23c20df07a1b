"""What every web route needs: the API's services, the live hub, the templates, and
the signed-in browser's line."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import JSONResponse

from landline.api.clients import client_address
from landline.api.context import Call, Services
from landline.api.envelope import ApiError
from landline.api.params import Params
from landline.core import sessions
from landline.core.status import ErrorCode
from landline.store.lines import Line
from landline.web import browser
from landline.web.live import LiveHub


@dataclass(frozen=True)
class Web:
    services: Services
    hub: LiveHub
    templates: jinja2.Environment
    # The simulated network is routed, so its phone page is offered.
    simulator: bool
    # New lines made from the setup page get this zone (LANDLINE_DEFAULT_TIMEZONE).
    timezone: str


@dataclass(frozen=True)
class SignedIn:
    key: str
    line: Line
    call: Call

    @property
    def csrf(self) -> str:
        return browser.csrf_token(self.key)

    @property
    def key_hash(self) -> str:
        return sessions.hash_key(self.key)


def web_of(request: Request) -> Web:
    web: Web = request.app.state.web
    return web


def client(request: Request) -> str:
    return client_address(dict(request.scope), web_of(request).services.trusted_proxies)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def from_this_machine(request: Request) -> bool:
    """The client is on loopback and asked for a loopback name: a page of some other
    site whose name was made to resolve to 127.0.0.1 (DNS rebinding) is not let in."""
    if not is_loopback(client(request)):
        return False
    host = (request.url.hostname or "").strip("[]").lower()
    return host == "localhost" or is_loopback(host)


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def call_for(request: Request, key: str | None, pairs: Sequence[tuple[str, str]] = ()) -> Call:
    """A call as the API makes one, the session taken from the cookie only: a
    `session` among `pairs` is dropped."""
    own = [(k, v) for k, v in pairs if k.lower() != "session"]
    if key:
        own.append(("session", key))
    return Call(Params(own), web_of(request).services, client(request))


async def signed_in(request: Request, pairs: Sequence[tuple[str, str]] = ()) -> SignedIn | None:
    """The browser's session, checked as the API checks a session key; None if the
    browser has none or it no longer works."""
    key = browser.key_from_cookie(request.cookies)
    if key is None:
        return None
    call = call_for(request, key, pairs)
    try:
        line = await call.authenticate()
    except ApiError as exc:
        if exc.code == ErrorCode.TOO_MANY_REQUESTS:
            raise
        return None
    return SignedIn(key, line, call)


def envelope_error(code: int, desc: str, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"success": False, "response": {"code": int(code), "desc": desc}}, status_code=status
    )


def checked_post(request: Request, who: SignedIn | None, offered: str | None) -> Any:
    """A refusal for a state-changing request without a same-origin browser or the
    session's CSRF token; None when it may go ahead."""
    if not browser.same_origin(request.scope):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Cross-site request refused", 403)
    if who is None:
        return envelope_error(ErrorCode.INVALID_SESSION, "Invalid session: sign in again", 401)
    if not browser.csrf_ok(who.key, offered):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Missing or wrong CSRF token", 403)
    return None


async def bounded_body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is known to pass `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isdigit() or int(declared) > limit):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return body
