"""The inbox page's JSON: conversations and messages by keyset, the API's own endpoints
for the signed-in browser, session keys, and the live stream."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from landline.api import app as api_app
from landline.api import forms
from landline.api.envelope import ApiError
from landline.api.fields import parse_args
from landline.api.params import BadParam
from landline.core import numbers, sessions, status_words
from landline.core.deliveries import DeliveryState
from landline.core.directions import Direction
from landline.core.mms import Part
from landline.core.status import ErrorCode
from landline.store import inbox, media
from landline.store import webhooks as hooks
from landline.web import browser, pictures
from landline.web.context import (
    SignedIn,
    bounded_body,
    checked_post,
    envelope_error,
    signed_in,
    web_of,
)
from landline.web.live import TooManyStreams, sse

CONVERSATIONS_PAGE = 40
MESSAGES_PAGE = 60
# The tab title counts unread texts over at most this many conversations.
UNREAD_CAP = 1000
MAX_SEARCH = 64
MAX_CALL_BYTES = 64 * 1024
MAX_KEYS_SHOWN = 100
# A webhook's last result is looked for among this many of the line's latest deliveries.
RECENT_DELIVERIES = 5000
# What the browser may ask of the API in its session's name. user/login and logout have
# their own pages; everything else the inbox offers goes through these.
BROWSER_ENDPOINTS = frozenset(
    {
        "message/send",
        "message/get",
        "message/cancel",
        "message/scheduled",
        "message/delete",
        "conversation/read",
        "conversation/delete",
        "contact/list",
        "contact/get",
        "contact/save",
        "contact/delete",
        "webhook/list",
        "webhook/add",
        "webhook/delete",
        "webhook/secret",
        "webhook/rotate",
    }
)


def _unauthorized() -> JSONResponse:
    return envelope_error(ErrorCode.INVALID_SESSION, "Invalid session: sign in again", 401)


def _int(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        return None
    return int(raw)


async def conversations(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return _unauthorized()
    query = request.query_params
    search = (query.get("q") or "").strip()[:MAX_SEARCH]
    at, fingerprint = _int(query.get("at")), query.get("fp")
    after = (
        inbox.ConversationCursor(at, fingerprint[:20])
        if at is not None and fingerprint and fingerprint.isdigit()
        else None
    )
    device = who.line.device_id

    def load(connection: Any) -> tuple[list[Any], inbox.ConversationCursor | None, int]:
        rows, following = inbox.conversations_page(
            connection,
            device,
            limit=CONVERSATIONS_PAGE,
            after=after,
            search=search,
            window=inbox.SEARCH_WINDOW,
        )
        return rows, following, inbox.unread_total(connection, device, UNREAD_CAP)

    rows, following, unread = await who.call.store.read(load)
    items = [_conversation_item(row) for row in rows]
    cursor = {"at": following.at, "fp": following.fingerprint} if following else None
    return JSONResponse({"conversations": items, "next": cursor, "unread": unread})


def _conversation_item(row: Any) -> dict[str, Any]:
    members = row.members.split(",")
    name = " ".join(n for n in (row.first_name, row.last_name) if n) if len(members) == 1 else ""
    return {
        "fingerprint": row.fingerprint,
        "members": [numbers.display(m) for m in members],
        "name": name,
        "last": row.last_message_body,
        "at": row.last_message_at,
        "unread": row.unread_count,
        "optedOut": bool(row.opted_out) if len(members) == 1 else False,
    }


async def conversation(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return _unauthorized()
    fingerprint = request.path_params["fingerprint"]
    if not fingerprint.isdigit() or len(fingerprint) > 20:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: no such conversation", 404)
    query = request.query_params
    before, after = _int(query.get("before")), _int(query.get("after"))
    wanted = min(_int(query.get("n")) or MESSAGES_PAGE, MESSAGES_PAGE)
    device = who.line.device_id

    def load(connection: Any) -> dict[str, Any] | None:
        head = inbox.conversation(connection, device, fingerprint)
        if head is None:
            return None
        members = head.members.split(",")
        rows = inbox.messages_page(
            connection, device, fingerprint, limit=wanted + 1, before=before, after=after
        )
        people = inbox.contacts_of(connection, device, members)
        parts = media.parts_of(connection, [row.id for row in rows if row.attachments])
        return {
            "head": head,
            "rows": rows,
            "people": people,
            "members": members,
            "parts": parts,
        }

    found = await who.call.store.read(load)
    if found is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: no such conversation", 404)
    rows = found["rows"]
    older = len(rows) > wanted and after is None
    rows = rows[:wanted]
    by_number = {p.number: p for p in found["people"]}
    members = []
    for number in found["members"]:
        person = by_number.get(number)
        members.append(
            {
                "number": numbers.display(number),
                "e164": number,
                "contactId": str(person.id) if person else None,
                "name": " ".join(n for n in (person.first_name, person.last_name) if n)
                if person
                else "",
                "notes": (person.notes or "") if person else "",
                "optedOut": bool(person.opted_out) if person else False,
            }
        )
    return JSONResponse(
        {
            "fingerprint": fingerprint,
            "members": members,
            "unread": found["head"].unread_count,
            "messages": [_message_item(row, found["parts"]) for row in reversed(rows)],
            "older": older,
            "mms": who.line.mms,
        }
    )


def _message_item(row: Any, parts: dict[int, list[Part]]) -> dict[str, Any]:
    outbound = row.direction == Direction.OUTBOUND
    shown = status_words.shown(
        row.status, outbound=outbound, scheduled=row.scheduled_at is not None
    )
    return {
        "id": str(row.id),
        "direction": "out" if outbound else "in",
        "number": numbers.display(row.contact_number),
        "body": row.body,
        "at": row.created_at,
        "status": row.status,
        "word": shown.word,
        "text": shown.text,
        "failed": shown.failed,
        "scheduledAt": row.scheduled_at,
        "cancelable": shown.word == "scheduled"
        and row.due_at is not None
        and row.lease_until is None,
        # The picture message's parts still hosted, each read from /web/content/<key>.
        "parts": [
            {
                "key": part.storage_key,
                "type": part.mime_type,
                "name": part.file_name,
                "size": part.size_bytes,
                "image": part.mime_type in pictures.INLINE_TYPES,
            }
            for part in parts.get(row.id, ())
            if part.mime_type not in pictures.HIDDEN_TYPES
        ],
    }


async def _json_body(request: Request) -> list[tuple[str, str]] | None:
    body = await bounded_body(request, MAX_CALL_BYTES)
    if body is None:
        return None
    if not body:
        return []
    return forms.json_object(body)


async def call(request: Request) -> Response:
    """Run one of the API's endpoints for the signed-in browser: the same handler, the
    same checks, the same envelope, with the session from the cookie."""
    path = f"{request.path_params['noun']}/{request.path_params['verb']}".lower()
    endpoint = api_app.ENDPOINTS.get(path)
    if endpoint is None or path not in BROWSER_ENDPOINTS:
        return envelope_error(
            ErrorCode.BAD_ARGUMENTS, f"Bad arguments: no endpoint /{path[:60]}", 404
        )
    # Who and whether the request is ours come before anything is read of it.
    refused = checked_post(
        request, await signed_in(request), request.headers.get(browser.CSRF_HEADER)
    )
    if refused is not None:
        return refused
    try:
        pairs = await _json_body(request)
    except BadParam as exc:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}")
    if pairs is None:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: request too large", 413)
    who = await signed_in(request, pairs)
    if who is None:
        return _unauthorized()
    try:
        args = parse_args(endpoint.args, who.call.params) if endpoint.args else None
        answer = await endpoint.handler(who.call, args)
    except BadParam as exc:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, f"Bad arguments: {exc}")
    except ApiError as exc:
        return envelope_error(exc.code, exc.desc, exc.status)
    return Response(orjson.dumps(answer), media_type="application/json")


async def keys(request: Request) -> Response:
    """The line's API session keys: listed (by the start of their hash; the keys
    themselves are not stored), created (shown once) and revoked."""
    who = await signed_in(request)
    if request.method == "GET":
        if who is None:
            return _unauthorized()
        device = who.line.device_id
        rows = await who.call.store.read(
            lambda c: inbox.session_keys(c, device, limit=MAX_KEYS_SHOWN)
        )
        own = who.key_hash[:16]
        return JSONResponse(
            {
                "keys": [
                    {
                        "id": row.key_hash[:16],
                        "created": row.created_at,
                        "operator": row.operator_id is not None,
                        "thisBrowser": row.key_hash[:16] == own,
                    }
                    for row in rows
                ]
            }
        )
    refused = checked_post(request, who, request.headers.get(browser.CSRF_HEADER))
    if refused is not None or who is None:
        return refused or _unauthorized()
    return await _change_key(request, who)


async def _change_key(request: Request, who: SignedIn) -> Response:
    pairs = dict(await _json_body(request) or [])
    device, now = who.line.device_id, who.call.now()
    store = who.call.store
    if pairs.get("action") == "create":
        from landline.store import lines

        key = sessions.new_key(device)
        await store.write(
            lambda c: lines.create_session(
                c, key_hash=sessions.hash_key(key), device_id=device, operator_id=None, now=now
            )
        )
        return JSONResponse({"success": True, "response": {"key": key}})
    prefix = pairs.get("id", "")
    if len(prefix) != 16 or any(ch not in "0123456789abcdef" for ch in prefix):
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: id")
    revoked = await store.write(lambda c: inbox.revoke_by_hash_prefix(c, device, prefix, now))
    if not revoked:
        return envelope_error(ErrorCode.BAD_ARGUMENTS, "Bad arguments: key not found")
    return JSONResponse({"success": True, "response": True})


async def live(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return _unauthorized()
    hub = web_of(request).hub
    try:
        stream = hub.open(who.line.device_id, who.key_hash)
    except TooManyStreams as exc:
        return envelope_error(ErrorCode.TOO_MANY_REQUESTS, f"Too many requests: {exc}", 429)
    try:
        await hub.follow(who.line.device_id)
    except BaseException:
        hub.close(stream)
        raise

    async def still_signed_in() -> bool:
        try:
            return await signed_in(request) is not None
        except ApiError:
            return True

    return StreamingResponse(
        sse(hub, stream, still_signed_in),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def webhooks(request: Request) -> Response:
    """The line's webhooks, each with its last delivery's result."""
    who = await signed_in(request)
    if who is None:
        return _unauthorized()
    device = who.line.device_id

    def load(connection: Any) -> list[dict[str, Any]]:
        shown = []
        for hook in hooks.of_line(connection, device):
            last = inbox.last_delivery(
                connection,
                device,
                f"{hook.type}.{hook.event}",
                hook.host,
                within=RECENT_DELIVERIES,
            )
            shown.append(
                {
                    "webhookId": str(hook.id),
                    "type": hook.type,
                    "event": hook.event,
                    "url": hook.url,
                    "method": hook.method,
                    "last": _delivery_result(last),
                }
            )
        return shown

    return JSONResponse({"webhooks": await who.call.store.read(load)})


def _delivery_result(row: Any) -> str:
    if row is None:
        return "No delivery yet"
    if row.state == DeliveryState.DELIVERED:
        return f"Delivered (HTTP {row.last_status})"
    why = f"HTTP {row.last_status}" if row.last_status is not None else (row.last_error or "")
    if row.state == DeliveryState.GIVEN_UP:
        return f"Given up: {why}"
    return f"Failing, will retry: {why}"
