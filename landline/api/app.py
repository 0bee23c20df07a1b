"""The ASGI application: path matching, parameter merging, the envelope, the body limit.

Written against ASGI directly rather than a router: every endpoint shares one shape
(`/noun/verb`, any method, parameters anywhere), and the hot path stays short.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote_plus

import orjson
from starlette.requests import Request

from landline.api import contact, conversation, message, openapi, user
from landline.api.clients import client_address
from landline.api.context import Call, Services
from landline.api.envelope import JSON_TYPE, TOO_LARGE_PAGE, Answer, ApiError, error_body
from landline.api.params import BadParam, Params
from landline.core.status import ErrorCode

log = logging.getLogger(__name__)

Handler = Callable[[Call], Awaitable[Answer]]
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ENDPOINTS: dict[str, Handler] = {
    "user/login": user.login,
    "user/logout": user.logout,
    "message/send": message.send,
    "message/list": message.list_,
    "message/get": message.get,
    "message/read": message.read,
    "message/delete": message.delete,
    "message/scheduled": message.scheduled,
    "message/cancel": message.cancel,
    "conversation/list": conversation.list_,
    "conversation/get": conversation.get,
    "conversation/read": conversation.read,
    "conversation/delete": conversation.delete,
    "contact/list": contact.list_,
    "contact/save": contact.save,
    "contact/get": contact.get,
    "contact/delete": contact.delete,
}
# Old clients put the API under a version prefix.
PATH_PREFIXES = ("/api/v1/", "/v1/")
MAX_BODY_BYTES = 600 * 1024
NOOP_ANSWER = Answer({"ok": True}).body()


def endpoint_key(path: str) -> str:
    lowered = path.lower()
    for prefix in PATH_PREFIXES:
        if lowered.startswith(prefix):
            lowered = lowered[len(prefix) - 1 :]
            break
    return lowered.strip("/")


class LandlineApi:
    def __init__(
        self,
        services: Services,
        *,
        on_startup: Callable[[], Awaitable[None]] | None = None,
        on_shutdown: Callable[[], Awaitable[None]] | None = None,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.services = services
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self._max_body = max_body_bytes
        self._openapi = orjson.dumps(openapi.document(ENDPOINTS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        key = endpoint_key(scope["path"])
        if key == "openapi.json":
            await _respond(send, 200, self._openapi)
            return
        handler = ENDPOINTS.get(key)
        if handler is None and key != "noop":
            await _respond(
                send, 404, error_body(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no endpoint /{key}")
            )
            return
        body = await _read_body(receive, self._max_body)
        if body is None:
            await _respond(send, 413, TOO_LARGE_PAGE, b"text/html")
            return
        try:
            params = await _params(scope, body)
        except BadParam as exc:
            await _respond(send, 200, error_body(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}"))
            return
        if handler is None:
            # The benchmark baseline: the same parsing, a constant answer.
            await _respond(send, 200, NOOP_ANSWER)
            return
        client = client_address(scope, self.services.trusted_proxies)
        await self._call(handler, Call(params, self.services, client), send)

    async def _call(self, handler: Handler, call: Call, send: Send) -> None:
        try:
            answer = await handler(call)
        except ApiError as exc:
            await _respond(send, exc.status, error_body(exc.code, exc.desc), headers=exc.headers)
        except Exception:
            log.exception("unexpected failure in %s", handler.__qualname__)
            await _respond(send, 500, error_body(ErrorCode.UNKNOWN, "Unknown error"))
        else:
            await _respond(send, 200, answer.body())

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                try:
                    if self._on_startup:
                        await self._on_startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                if self._on_shutdown:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not event.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _params(scope: Scope, body: bytes) -> Params:
    pairs = _decode_pairs(scope["query_string"])
    if body:
        content_type = _header(scope, b"content-type").lower()
        if content_type.startswith("multipart/form-data"):
            pairs.extend(await _multipart_fields(scope, body))
        elif content_type.startswith("application/json"):
            pairs.extend(_json_fields(body))
        else:
            # Form bodies, and clients that send one with no content type at all.
            pairs.extend(_decode_pairs(body))
    return Params(pairs)


def _decode_pairs(raw: bytes) -> list[tuple[str, str]]:
    """`parse_qsl(..., keep_blank_values=True)`, without its cost for plain fields."""
    if not raw:
        return []
    pairs: list[tuple[str, str]] = []
    for field in raw.decode("utf-8", errors="replace").split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        pairs.append((key, value))
    return pairs


def _json_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadParam("the JSON body is malformed") from exc
    if not isinstance(data, dict):
        raise BadParam("the JSON body must be an object")
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if item is not None:
                pairs.append((key, item if isinstance(item, str) else orjson.dumps(item).decode()))
    return pairs


async def _multipart_fields(scope: Scope, body: bytes) -> list[tuple[str, str]]:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(scope, replay).form()
    except Exception as exc:
        raise BadParam("the multipart body is malformed") from exc
    # Files are for messaging/send (MMS), which reads them itself.
    return [(key, value) for key, value in form.multi_items() if isinstance(value, str)]


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: bytes = JSON_TYPE,
    headers: dict[str, str] | None = None,
) -> None:
    raw_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    for name, value in (headers or {}).items():
        raw_headers.append((name.lower().encode(), value.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})
