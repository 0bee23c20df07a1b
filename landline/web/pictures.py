"""Pictures in the inbox: a message's parts served to the signed-in browser, and a
picture sent through messaging/send's own handler.

Content is checked as hostedContent/get checks it (only the owning line's sessions; to
anyone else a key names nothing) and streamed by the same code. What differs is how a
browser may show it: only the image types the API accepts are served inline; text is
served as plain text to download, and any other type (a SMIL part) as opaque bytes, so
no part is ever rendered as a page of this origin.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from landline.api import app as api_app
from landline.api import hosted, messaging
from landline.api.app import Receive
from landline.api.envelope import JSON_TYPE, not_found
from landline.api.raw import RawRequest, Scope, Send
from landline.core.status import ErrorCode
from landline.media.keys import is_valid_key
from landline.store import messages
from landline.store.access import Store
from landline.web import browser
from landline.web.context import (
    SignedIn,
    bounded_body,
    checked_post,
    client,
    envelope_error,
    signed_in,
    web_of,
)

INLINE_TYPES = frozenset({"image/bmp", "image/gif", "image/jpeg", "image/png"})
# Parts that are only there to lay the others out; the inbox does not list them.
HIDDEN_TYPES = frozenset({"application/smil"})
# A served part may run nothing and embed nothing, whatever it turns out to be.
CONTENT_CSP = b"default-src 'none'; img-src 'self'; sandbox"


def shown_headers(mime: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The content's headers as a browser may act on them: inline only for images."""
    if mime in INLINE_TYPES:
        return [*headers, (b"content-security-policy", CONTENT_CSP)]
    shown_type = (
        b"text/plain; charset=utf-8" if mime == "text/plain" else b"application/octet-stream"
    )
    rewritten = []
    for name, value in headers:
        if name == b"content-type":
            value = shown_type
        elif name == b"content-disposition":
            value = b"attachment" + value[len(b"inline") :]
        rewritten.append((name, value))
    return [*rewritten, (b"content-security-policy", CONTENT_CSP)]


class _Streamed(Response):
    """A response that a raw API handler writes itself."""

    def __init__(self, run: Any) -> None:
        super().__init__()
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        await self._run(send)


def _not_found() -> JSONResponse:
    # The API's words, with a status an <img> understands.
    error = not_found("content")
    return envelope_error(error.code, error.desc, 404)


async def serve_owned(request: Request, store: Store, key: str, device_id: int | None) -> Response:
    """Stream the content `key`, if it exists and (when `device_id` is given) that line
    owns it; "not found" otherwise, the same for a key never issued."""
    if not is_valid_key(key):
        return _not_found()
    row = await hosted._content_row(store, key)
    if row is None or (device_id is not None and row.device_id != device_id):
        return _not_found()
    raw = RawRequest(dict(request.scope), b"", web_of(request).services, client(request))

    async def run(send: Send) -> None:
        async def rewriting(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if (b"content-type", JSON_TYPE) in message["headers"]:
                    # The API's error envelope (the object is gone): as the other misses.
                    if message["status"] == 200:
                        message = {**message, "status": 404}
                else:
                    message = {
                        **message,
                        "headers": shown_headers(row.mime_type, message["headers"]),
                    }
            await send(message)

        await hosted._serve(raw, rewriting, row)

    return _Streamed(run)


async def content(request: Request) -> Response:
    """GET /web/content/<storageKey>: a part of one of the line's messages."""
    who = await signed_in(request)
    if who is None:
        return envelope_error(ErrorCode.INVALID_SESSION, "Invalid session: sign in again", 401)
    return await serve_owned(
        request, who.call.store, request.path_params["key"], who.line.device_id
    )


def _refused(desc: str, status: int) -> JSONResponse:
    # messaging/send's own shape, so the page reads one kind of answer.
    return JSONResponse({"success": False, "errorDesc": desc}, status_code=status)


async def send_picture(request: Request) -> Response:
    """POST /web/send-picture: messaging/send for the signed-in browser, multipart as the
    API takes it, the session from the cookie only."""
    who = await signed_in(request)
    refused = checked_post(request, who, request.headers.get(browser.CSRF_HEADER))
    if refused is not None or who is None:
        desc = orjson.loads(refused.body)["response"]["desc"] if refused else "Invalid session"
        return _refused(desc, refused.status_code if refused else 401)
    body = await bounded_body(request, api_app.MAX_BODY_BYTES)
    if body is None:
        return _refused("Bad arguments: the message is larger than 600 KB", 413)
    scope = dict(request.scope)
    # The query string is read before the body, so a `session` field in the form is
    # never the one used: only the cookie's session sends.
    scope["query_string"] = urlencode([("session", who.key)]).encode()
    raw = RawRequest(scope, body, web_of(request).services, client(request))
    answer: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        else:
            chunks.append(message.get("body", b""))

    await messaging.handle(raw, capture)
    status, body = answer.get("status", 500), b"".join(chunks)
    if status == 200:
        body = await _with_conversation(who, body)
    return Response(body, status, media_type="application/json")


async def _with_conversation(who: SignedIn, body: bytes) -> bytes:
    """The answer with its id as text (a page's numbers lose a 64-bit id's last digits)
    and the conversation it went to, so the page can open it."""
    answer = orjson.loads(body)
    sent = answer.get("response") if answer.get("success") else None
    if not isinstance(sent, dict) or not isinstance(sent.get("id"), int):
        return body
    device, message_id = who.line.device_id, sent["id"]
    row = await who.call.store.read(lambda c: messages.get(c, device, message_id))
    sent["id"] = str(message_id)
    sent["fingerprint"] = row.fingerprint if row is not None else None
    return orjson.dumps(answer)
