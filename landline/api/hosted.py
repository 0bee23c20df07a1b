"""Hosted content: hostedContent/get and hostedContent/save, messageAttachment/list, and
the signed links carriers fetch an MMS's parts from.

Content is read only by sessions of the line that owns it; to anyone else a key names
nothing (the same answer as a key that was never issued). Bytes are streamed from the
content store a chunk at a time, with their type, length, ETag and Range support.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, TypedDict
from urllib.parse import quote

from sqlalchemy import Connection

from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import ApiError, bad_arguments, error_body, not_found
from landline.api.fields import Id, param
from landline.api.params import BadParam, Params
from landline.api.raw import RawRequest, Send, respond, respond_json
from landline.api.uploads import (
    UploadRefused,
    check_files,
    check_quota,
    discard,
    store_files,
)
from landline.core import times
from landline.core.byte_ranges import RangeNotSatisfiable, parse_range
from landline.core.media_links import PATH_PREFIX, LinkRefused
from landline.core.status import ErrorCode
from landline.media.keys import is_valid_key
from landline.media.storage import InvalidRange, ObjectMissing
from landline.store import media, messages
from landline.store.access import Store

# Content rows recently served, per store: a row never changes (retention deletes the
# object with it, and a missing object answers "not found"), so a repeated read of the
# same content skips the database.
ROW_CACHE_ENTRIES = 10_000
_row_caches: weakref.WeakKeyDictionary[Store, dict[str, Any]] = weakref.WeakKeyDictionary()

GET_PATH = "hostedcontent/get"
SAVE_PATH = "hostedcontent/save"
KEY_NAMES = ("storageKey", "key")


# -- messageAttachment/list


class Attachment(TypedDict):
    fileName: str
    dateCreated: str
    fileSizeBytes: int
    mimeType: str
    storageKey: str


class AttachmentList(TypedDict):
    success: bool
    total: int
    response: list[Attachment]


@dataclass(frozen=True)
class OneMessage:
    messageId: int = param(
        Id(as_text=True), "The message id.", aliases=("id", "message"), required=True
    )


async def list_attachments(call: Call, args: OneMessage) -> AttachmentList:
    line = call.line

    def load(connection: Connection) -> list[Any] | None:
        if messages.get(connection, line.device_id, args.messageId) is None:
            return None
        return media.attachments_of(connection, line.device_id, args.messageId)

    rows = await call.store.read(load)
    if rows is None:
        raise not_found(f"message {args.messageId}")
    items: list[Attachment] = [
        {
            "fileName": row.file_name,
            "dateCreated": times.render(row.created_at, line.timezone) or "",
            "fileSizeBytes": row.size_bytes,
            "mimeType": row.mime_type,
            "storageKey": row.storage_key,
        }
        for row in rows
    ]
    return {"success": True, "total": len(items), "response": items}


ENDPOINTS = (
    Endpoint(
        "messageAttachment/list",
        list_attachments,
        OneMessage,
        AttachmentList,
        "message",
        "The attachments of an MMS, in order, with their storage keys",
        description="Inbound MMS list every part the network sent, the SMIL part included. "
        "Read a part with hostedContent/get.",
        errors="-703 `Bad arguments: ... not found` when the id names no message of this line.",
    ),
)


# -- hostedContent/get


async def get(request: RawRequest, send: Send) -> str:
    try:
        params = Params(request.form().fields)
        call = request.call(params)
        line = await call.authenticate()
        key = _key(params)
    except BadParam as exc:
        return await _error(send, bad_arguments(str(exc)))
    except ApiError as exc:
        return await _error(send, exc)
    row = await _content_row(call.store, key)
    if row is None or row.device_id != line.device_id:
        return await _error(send, not_found("content"))
    return await _serve(request, send, row)


async def _content_row(store: Store, key: str) -> Any:
    cache = _row_caches.setdefault(store, {})
    row = cache.get(key)
    if row is None:
        row = await store.read(media.by_key, key)
        if row is not None:
            if len(cache) >= ROW_CACHE_ENTRIES:
                cache.clear()
            cache[key] = row
    return row


async def _serve(request: RawRequest, send: Send, row: Any) -> str:
    """Stream the object `row` describes, whole or the range asked for."""
    content = request.services.media
    assert content is not None
    size = row.size_bytes
    try:
        wanted = parse_range(request.header(b"range") or None, size)
    except RangeNotSatisfiable:
        await respond(
            send,
            416,
            error_body(ErrorCode.BAD_ARGUMENTS, "Bad arguments: the range lies past the end"),
            headers=[(b"content-range", f"bytes */{size}".encode())],
        )
        return "416"
    start, end = (wanted.start, wanted.end) if wanted else (0, size)
    try:
        stream = await content.open_range(row.storage_key, start, end)
    except (ObjectMissing, InvalidRange):
        return await _error(send, not_found("content"))
    async with stream:
        etag = stream.stored.etag
        headers = [
            (b"content-type", row.mime_type.encode()),
            (b"etag", etag.encode()),
            (b"cache-control", b"private, max-age=86400"),
            (b"accept-ranges", b"bytes"),
            (b"x-content-type-options", b"nosniff"),
            (b"content-disposition", _disposition(row.file_name)),
        ]
        if etag in _etags(request.header(b"if-none-match")):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return "304"
        status = 200
        if wanted is not None:
            status = 206
            headers.append((b"content-range", wanted.content_range(stream.stored.size).encode()))
        headers.append((b"content-length", str(stream.length).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        async for chunk in stream:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    return "ok"


def _etags(header: str) -> set[str]:
    return {tag.strip().removeprefix("W/") for tag in header.split(",")[:20] if tag.strip()}


def _disposition(name: str) -> bytes:
    # The name is already safe (media_types.safe_file_name); RFC 6266 for non-ASCII.
    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}".encode()


def _key(params: Params) -> str:
    key = params.first(*KEY_NAMES)
    if key is None:
        raise BadParam("storageKey is required")
    key = key.strip()
    if not is_valid_key(key):
        raise BadParam("storageKey is not a storage key")
    return key


async def _error(send: Send, error: ApiError) -> str:
    await respond(send, error.status, error_body(error.code, error.desc))
    return str(int(error.code))


# -- hostedContent/save


async def save(request: RawRequest, send: Send) -> str:
    """Upload one file to send later by key: answers its storage key."""
    content = request.services.media
    try:
        form = request.form()
        call = request.call(Params(form.fields))
        line = await call.authenticate()
        if content is None:
            raise bad_arguments("this server keeps no hosted content")
        if not line.mms:
            raise bad_arguments("MMS is not enabled on this line; ask the operator to enable it")
        if len(form.files) != 1:
            raise bad_arguments(f"hostedContent/save takes one file; {len(form.files)} were sent")
        checked = check_files(form.files)
        await check_quota(call.store, line.device_id, checked, request.services.media_quota_bytes)
    except BadParam as exc:
        return await _error(send, bad_arguments(str(exc)))
    except UploadRefused as exc:
        return await _error(send, bad_arguments(str(exc)))
    except ApiError as exc:
        return await _error(send, exc)
    stored = await store_files(content, line.device_id, checked, call.now())
    try:
        await call.store.write(lambda c: media.record_media(c, stored.rows))
    except Exception:
        await discard(content, stored.keys)
        raise
    await respond_json(send, 200, {"success": True, "response": stored.keys[0]})
    return "ok"


# -- signed links for carriers: /media/<key>?expires=...&sig=...


async def linked(request: RawRequest, send: Send) -> str:
    links = request.services.media_links
    key = request.path.strip("/")[len(PATH_PREFIX) :]
    try:
        params = Params(request.form().fields)
        if links is None or not is_valid_key(key):
            raise LinkRefused("no such content")
        links.check(
            key,
            params.first("expires") or "",
            params.first("sig") or "",
            request.services.clock.now_ms() // 1000,
        )
    except (BadParam, LinkRefused) as exc:
        await respond(send, 403, error_body(ErrorCode.BAD_ARGUMENTS, f"Forbidden: {exc}"))
        return "403"
    row = await _content_row(request.services.store, key)
    if row is None:
        return await _error(send, not_found("content"))
    return await _serve(request, send, row)
