"""The phone simulator page's JSON: what the simulated network holds for one handset,
and a handset texting a line. Served only when the simulator carrier is routed, and
only to this machine: the page shows every line's texts to a handset, which on a
shared server is other people's mail."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from landline.api import app as api_app
from landline.api import forms
from landline.api.params import BadParam
from landline.carriers.handset_media import decode_parts, store_handset_parts
from landline.carriers.simulator import handset_sends
from landline.core import numbers, outbound, status_words
from landline.core.status import ErrorCode
from landline.store import inbox, lines
from landline.web import browser, pictures
from landline.web.context import bounded_body, envelope_error, from_this_machine, web_of

TEXTS_SHOWN = 200
HANDSETS_SHOWN = 50
MAX_BODY_BYTES = 4 * 1024


def _allowed(request: Request) -> bool:
    return web_of(request).simulator and from_this_machine(request)


def _not_here() -> JSONResponse:
    return envelope_error(ErrorCode.BAD_ARGUMENTS, "The phone simulator is not served here", 404)


async def handset(request: Request) -> Response:
    if not _allowed(request):
        return _not_here()
    store = web_of(request).services.store
    raw = request.query_params.get("number", "")
    if not raw:
        found = await store.read(lambda c: inbox.handsets(c, limit=HANDSETS_SHOWN))
        return JSONResponse({"handsets": [numbers.display(n) for n in found]})
    try:
        number = numbers.to_e164(raw[:40])
    except numbers.InvalidNumber:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: not a phone number")

    def load(connection: Any) -> tuple[list[Any], list[Any]]:
        got = inbox.texts_to_handset(connection, number, limit=TEXTS_SHOWN)
        sent = inbox.texts_from_handset(connection, number, limit=TEXTS_SHOWN)
        return got, sent

    got, sent = await store.read(load)
    texts = [_received(row) for row in got] + [_sent(row) for row in sent]
    texts.sort(key=lambda t: int(t["id"]))
    return JSONResponse({"number": numbers.display(number), "texts": texts[-TEXTS_SHOWN:]})


def _received(row: Any) -> dict[str, Any]:
    status = row.status if row.status is not None else 1
    if row.outcome == "silent":
        decided = "The network will never confirm this one"
    elif not row.done:
        decided = "Receipt pending: " + ("delivered" if row.outcome == "delivered" else "failed")
    else:
        decided = status_words.shown(status, outbound=True, scheduled=False).text
    return {
        "id": str(row.message_id),
        "direction": "in",
        "line": numbers.display(row.source),
        "body": row.body,
        "network": decided,
        "parts": _parts(row.media),
    }


def _sent(row: Any) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "direction": "out",
        "line": numbers.display(row.destination),
        "body": row.body,
        "network": "Delivered to the line" if row.done else "On its way",
        "parts": _parts(row.media),
    }


def _parts(stored: str | None) -> list[dict[str, Any]]:
    """A picture message's parts as the handset shows them (not its layout part)."""
    return [
        {
            "key": part.storage_key,
            "type": part.mime_type,
            "name": part.file_name,
            "image": part.mime_type in pictures.INLINE_TYPES,
        }
        for part in decode_parts(stored)
        if part.mime_type not in pictures.HIDDEN_TYPES
    ]


async def text(request: Request) -> Response:
    """A handset texts a line (as `landline sim text` does)."""
    if not _allowed(request):
        return _not_here()
    if not browser.same_origin(request.scope):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Cross-site request refused", 403)
    body = await bounded_body(request, MAX_BODY_BYTES)
    if body is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: too large", 413)
    try:
        fields = dict(forms.json_object(body))
        handset_number = numbers.to_e164(fields.get("from", "")[:40])
        line = numbers.to_e164(fields.get("to", "")[:40])
    except (BadParam, numbers.InvalidNumber):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: from and to are numbers")
    message = fields.get("body", "")
    try:
        outbound.check_body(message, MAX_BODY_BYTES)
    except outbound.InvalidSend as exc:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}")
    store = web_of(request).services.store
    sent = await asyncio.to_thread(
        handset_sends, store, source=handset_number, line=line, body=message
    )
    if not sent:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no line {line}")
    return JSONResponse({"success": True, "response": True})


async def picture(request: Request) -> Response:
    """A handset sends a picture message to a line (as `landline sim mms` does):
    multipart with `from`, `to`, an optional `body` and one or more files."""
    if not _allowed(request):
        return _not_here()
    if not browser.same_origin(request.scope):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Cross-site request refused", 403)
    web = web_of(request)
    content = web.services.media
    if content is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "This server keeps no hosted content")
    body = await bounded_body(request, api_app.MAX_BODY_BYTES)
    if body is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: larger than 600 KB", 413)
    try:
        form = forms.multipart(request.headers.get("content-type", ""), body)
        fields = dict(form.fields)
        handset_number = numbers.to_e164(fields.get("from", "")[:40])
        line = numbers.to_e164(fields.get("to", "")[:40])
    except (BadParam, numbers.InvalidNumber):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: from and to are numbers")
    message = fields.get("body", "")
    files = [(upload.filename or "picture", upload.data) for upload in form.files]
    if not files:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: choose a picture")
    if message:
        try:
            outbound.check_body(message, MAX_BODY_BYTES)
        except outbound.InvalidSend as exc:
            return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}")
    store = web.services.store
    if await store.read(lines.by_number, line) is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no line {line}")
    try:
        parts = await store_handset_parts(content, files, store.ids.next_id())
    except ValueError as exc:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}")
    sent = await asyncio.to_thread(
        handset_sends, store, source=handset_number, line=line, body=message, parts=parts
    )
    if not sent:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no line {line}")
    return JSONResponse({"success": True, "response": True})


async def content(request: Request) -> Response:
    """A part of a picture message on the simulated network, for the handsets' page
    (which is this machine's only and shows every line's texts already)."""
    if not _allowed(request):
        return _not_here()
    store = web_of(request).services.store
    return await pictures.serve_owned(request, store, request.path_params["key"], None)
