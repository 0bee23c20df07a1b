"""The ASGI application: path matching, parameter merging, the envelope, the body limit.

Written against ASGI directly rather than a router: every endpoint shares one shape
(`/noun/verb`, any method, parameters anywhere), and the hot path stays short.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from landline import metrics
from landline.api import (
    contact,
    conversation,
    forms,
    group,
    hosted,
    media_openapi,
    message,
    messaging,
    openapi,
    password,
    profile,
    user,
    webhook,
)
from landline.api.clients import client_address
from landline.api.context import Call, Services
from landline.api.endpoints import Endpoint
from landline.api.envelope import JSON_TYPE, TOO_LARGE_PAGE, ApiError, error_body
from landline.api.fields import parse_args
from landline.api.glued import unglue_session
from landline.api.params import BadParam, Params
from landline.api.raw import RawHandler, RawRequest
from landline.core.media_links import PATH_PREFIX as MEDIA_LINK_PREFIX
from landline.core.status import ErrorCode

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

ENDPOINTS: dict[str, Endpoint] = {
    endpoint.path: endpoint
    for module in (user, profile, password, message, conversation, contact, group, webhook, hosted)
    for endpoint in module.ENDPOINTS
}
# Paths match case-insensitively, so they are looked up in lower case (group/addMember,
# messageAttachment/list).
_BY_KEY: dict[str, Endpoint] = {path.lower(): endpoint for path, endpoint in ENDPOINTS.items()}
# Calls that read files or answer raw bytes (api/raw.py), by lowered path.
RAW_ENDPOINTS: dict[str, RawHandler] = {
    messaging.PATH: messaging.handle,
    hosted.GET_PATH: hosted.get,
    hosted.SAVE_PATH: hosted.save,
}
# Old clients put the API under a version prefix.
PATH_PREFIXES = ("/api/v1/", "/v1/")
MAX_BODY_BYTES = 600 * 1024
NOOP_ANSWER = orjson.dumps({"success": True, "response": {"ok": True}})
# How often request counts reach the metrics (and other processes' /metrics).
COUNTS_FLUSH_S = 1.0
# Paths the app answers itself, besides the endpoints.
OWN_PATHS = frozenset({"noop", "openapi.json", "metrics"})
_BAD_ARGUMENTS = str(int(ErrorCode.BAD_ARGUMENTS))


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
        metrics_collector: metrics.Collector | None = None,
    ) -> None:
        self.services = services
        self._on_startup = on_startup
        self._on_shutdown = on_shutdown
        self._max_body = max_body_bytes
        described = openapi.document(ENDPOINTS.values())
        described["paths"].update(media_openapi.paths())
        self._openapi = orjson.dumps(described)
        self._metrics = metrics.registry(metrics_collector)
        self._counts = metrics.RequestCounts()
        self._flusher: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = False

        async def tracked(event: dict[str, Any]) -> None:
            nonlocal started
            started = True
            await send(event)

        clock = time.perf_counter()
        key = endpoint_key(scope["path"])
        # Counted per known path only, so the metrics' labels stay a short list.
        label = key if key in _BY_KEY or key in RAW_ENDPOINTS or key in OWN_PATHS else "unknown"
        result = "-855"
        try:
            result = await self._http(key, scope, receive, tracked)
        except Exception:
            # Whatever failed, the client gets the envelope and an id to quote, and the
            # log gets the failure once, under that id.
            request_id = secrets.token_hex(8)
            log.exception("unexpected failure (request %s, %s)", request_id, scope["path"][:200])
            if not started:
                body = error_body(
                    ErrorCode.INTERNAL_ERROR_855,
                    f"Internal error; retry later (request {request_id})",
                    request_id=request_id,
                )
                await _respond(send, 500, body)
        finally:
            self._counts.add(label, result, time.perf_counter() - clock)

    async def _http(self, key: str, scope: Scope, receive: Receive, send: Send) -> str:
        """Answer one request; returns its result as the metrics count it."""
        if key == "openapi.json":
            await _respond(send, 200, self._openapi)
            return "ok"
        if key == "metrics":
            self._counts.flush()
            page = await asyncio.get_running_loop().run_in_executor(
                None, metrics.render, self._metrics
            )
            await _respond(send, 200, page, metrics.CONTENT_TYPE.encode())
            return "ok"
        raw = self._raw_handler(key)
        if raw is not None:
            body = await _read_body(scope, receive, self._max_body)
            if body is None:
                await _respond(send, 413, TOO_LARGE_PAGE, b"text/html")
                return "413"
            client = client_address(scope, self.services.trusted_proxies)
            return await raw(RawRequest(scope, body, self.services, client), send)
        endpoint = _BY_KEY.get(key)
        if endpoint is None and key != "noop":
            await _respond(
                send,
                404,
                error_body(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no endpoint /{key[:100]}"),
            )
            return "404"
        body = await _read_body(scope, receive, self._max_body)
        if body is None:
            await _respond(send, 413, TOO_LARGE_PAGE, b"text/html")
            return "413"
        try:
            params = _params(scope, body)
        except BadParam as exc:
            await _respond(send, 200, error_body(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}"))
            return _BAD_ARGUMENTS
        if endpoint is None:
            # The benchmark baseline: the same parsing, a constant answer.
            await _respond(send, 200, NOOP_ANSWER)
            return "ok"
        client = client_address(scope, self.services.trusted_proxies)
        try:
            answer = await self._call(endpoint, Call(params, self.services, client))
        except ApiError as exc:
            await _respond(send, exc.status, error_body(exc.code, exc.desc), headers=exc.headers)
            return str(int(exc.code))
        await _respond(send, 200, orjson.dumps(answer))
        return "ok"

    def _raw_handler(self, key: str) -> RawHandler | None:
        if key.startswith(MEDIA_LINK_PREFIX):
            return hosted.linked
        return RAW_ENDPOINTS.get(key) or self.services.carrier_paths.get(key)

    async def _call(self, endpoint: Endpoint, call: Call) -> Any:
        if endpoint.session:
            # The session is checked before the arguments: a caller without one learns
            # nothing about them.
            await call.authenticate()
        try:
            args = parse_args(endpoint.args, call.params) if endpoint.args else None
        except BadParam as exc:
            raise ApiError(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}") from None
        return await endpoint.handler(call, args)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                self._flusher = asyncio.create_task(self._flush_counts(), name="metrics")
                try:
                    if self._on_startup:
                        await self._on_startup()
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                if self._flusher is not None:
                    self._flusher.cancel()
                self._counts.flush()
                if self._on_shutdown:
                    await self._on_shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _flush_counts(self) -> None:
        while True:
            await asyncio.sleep(COUNTS_FLUSH_S)
            try:
                self._counts.flush()
            except Exception:
                log.exception("counting requests failed")


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it is known to be over `limit`: from Content-Length
    before reading anything, and, for a chunked upload, as soon as the chunks pass it."""
    declared = _header(scope, b"content-length")
    if declared and (not (declared.isascii() and declared.isdigit()) or int(declared) > limit):
        return None
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


def _params(scope: Scope, body: bytes) -> Params:
    pairs = forms.urlencoded(scope["query_string"])
    if body:
        content_type = _header(scope, b"content-type")
        lowered = content_type.lower()
        if lowered.startswith("multipart/form-data"):
            # Files are for messaging/send (MMS), which reads them itself.
            pairs.extend(forms.multipart(content_type, body).fields)
        elif lowered.startswith("application/json"):
            pairs.extend(forms.json_object(body))
        else:
            # Form bodies, and clients that send one with no content type at all.
            pairs.extend(forms.urlencoded(body))
    return Params(unglue_session(pairs))


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
