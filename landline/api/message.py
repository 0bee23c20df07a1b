"""message/*: send, list, get, read, delete, and the scheduled-message queue."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection

from landline.api import recipients, render
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import ApiError, bad_arguments, not_found
from landline.api.fields import Body, Id, Ids, Instant, Integer, Text, param
from landline.api.params import listed
from landline.api.recipients import Recipients
from landline.api.shapes import (
    CanceledList,
    Message,
    MessageAnswer,
    MessageList,
    SendAnswer,
    SendToken,
    TrueAnswer,
)
from landline.core import outbound, signatures, times
from landline.core.lines import LineState
from landline.core.status import ErrorCode, describe
from landline.store import line_flags, messages, sends
from landline.store.lines import Line

DEFAULT_PAGE = 20
MAX_PAGE = 1000
# Further than any client pages; keeps OFFSET arithmetic far from overflow.
MAX_START = 1_000_000_000
# Ids one request may name.
MAX_IDS = 1000
# Ids marked in one write transaction, so no request holds the writer for long.
WRITE_CHUNK = 250
# Entries of a contacts list, duplicates and all (at most MAX_RECIPIENTS distinct).
MAX_CONTACT_ENTRIES = 100


def start_param() -> Any:
    return param(Integer(0, MAX_START, default=0), "Items to skip.")


def limit_param() -> Any:
    return param(Integer(1, MAX_PAGE, default=DEFAULT_PAGE), "Items per page.")


ID_ALIASES = ("messages", "uuid", "uuids", "id")
NOT_FOUND = "-703 `Bad arguments: ... not found` when an id names nothing on this line."


@dataclass(frozen=True)
class Page:
    start: int = start_param()
    limit: int = limit_param()


@dataclass(frozen=True)
class SendArgs:
    contacts: list[str] | None = param(
        Recipients(MAX_CONTACT_ENTRIES),
        f"1 to {outbound.MAX_RECIPIENTS} distinct numbers (duplicates are merged): repeated, "
        "comma-joined or `[a, b]`; 10 digits means +1, otherwise E.164; `ptn:/` prefix and "
        "punctuation allowed. Group addresses (`group:/<id>`) send to every member: then "
        "the send may reach up to the group size limit (LANDLINE_GROUP_MAX_MEMBERS, default "
        "1,000) in all. Required unless contactId is given.",
        aliases=("contact", "destinationAddress", "to"),
    )
    body: str = param(
        Body(outbound.MAX_BODY_BYTES),
        f"1 to {outbound.MAX_BODY_BYTES} bytes of UTF-8, kept exactly as sent.",
        required=True,
    )
    scheduledDate: int | None = param(
        Instant(),
        "Send later: epoch milliseconds (13 digits) or ISO 8601 with an offset; at most "
        f"{times.SCHEDULE_PAST_TOLERANCE_MS // 1000} s in the past and a year ahead.",
    )
    contactId: list[int] | None = param(
        Ids(outbound.MAX_RECIPIENTS),
        "Saved contacts to send to, by id (besides contacts).",
        aliases=("contactIds",),
    )
    fromName: str | None = param(
        Text(255), "Accepted for old clients and ignored: texts show the line's number."
    )
    advertisement: str | None = param(
        Text(1000), "Accepted for old clients and ignored: nothing is added to the text."
    )


async def send(call: Call, args: SendArgs) -> SendAnswer:
    line = call.line
    now = call.now()
    scheduled_at = _check_schedule(args.scheduledDate, now)
    wanted = await recipients.resolve(call, args.contacts, args.contactId)
    try:
        plan = outbound.plan_send(
            device_id=line.device_id,
            line_number=line.number,
            numbers=wanted.numbers,
            body=signatures.signed(args.body, line.signature),
            now=now,
            scheduled_at=scheduled_at,
            next_id=call.store.ids.next_id,
            max_recipients=wanted.limit,
        )
    except outbound.InvalidSend as exc:
        raise bad_arguments(str(exc)) from exc
    # Only a request whose arguments are all good gets an answer about the line or route.
    if line.state == LineState.SPAM:
        raise ApiError(
            ErrorCode.SPAM_PROTECTION, "Spam protection: this line is flagged; contact the operator"
        )
    unroutable = [n for n in wanted.numbers if call.services.routes.connector_for(n) is None]
    if unroutable:
        raise ApiError(
            ErrorCode.UNABLE_TO_DETERMINE_CARRIER,
            "Unable to determine carrier for " + listed(unroutable),
        )
    await _watch_for_spam(call, plan)
    opted_out: set[str] = set()
    blocked: set[str] = set()
    # A group send is stored a batch at a time: each batch is one short job of the
    # writer, merged with whatever other lines' sends are queued beside it; and the
    # batches fall due one after another (core/outbound.py).
    loop = asyncio.get_running_loop()
    for part in outbound.split(plan):
        if scheduled_at is None:
            # A batch stored late is due no earlier than it is stored: texts other lines
            # sent meanwhile are due first.
            part = outbound.no_earlier_than(part, call.now())
        outcome = await call.store.write_merged(sends.record_sends, part)
        opted_out |= outcome.opted_out
        blocked |= outcome.blocked
        if scheduled_at is None:
            # Wake this process's dispatcher when the batch is due, not a poll later.
            wait_ms = max(0, part.available_at - call.now())
            loop.call_later(wait_ms / 1000, call.services.notify_outbound)
    return {
        "success": True,
        "response": {
            "fingerprint": plan.fingerprint,
            "root": str(plan.root_id),
            "tokens": [_token(m, line, opted_out, blocked) for m in plan.messages],
        },
    }


async def _watch_for_spam(call: Call, plan: outbound.SendPlan) -> None:
    """Count the send against the line's limits; one that crosses them flags the line."""
    watch = call.services.spam
    if watch is None:
        return
    numbers = [m.number for m in plan.messages]
    reason = watch.admit(call.line.device_id, plan.body, numbers, plan.created_at)
    if reason is None:
        return
    device_id, flag_id = call.line.device_id, call.store.ids.next_id()
    await call.store.write(
        partial(
            line_flags.flag,
            device_id=device_id,
            reason=reason,
            actor="automatic",
            flag_id=flag_id,
            now=plan.created_at,
        )
    )
    raise ApiError(
        ErrorCode.SPAM_PROTECTION,
        f"Spam protection: this line is now flagged ({reason}); contact the operator",
    )


def _token(
    m: outbound.PlannedMessage, line: Line, opted_out: set[str], blocked: set[str]
) -> SendToken:
    token: SendToken = {
        "message": str(m.message_id),
        "fingerprint": m.fingerprint,
        "device": line.device_id,
        "contact": m.contact_id,
    }
    if m.number in opted_out:
        token["code"] = -1234
        token["desc"] = describe(ErrorCode.RECIPIENT_SENT_STOP) + "; they must text UNSTOP first"
    elif m.number in blocked:
        token["code"] = -1235
        token["desc"] = describe(ErrorCode.RECIPIENT_BLOCKED) + "; unblock it to text it"
    return token


def _check_schedule(when: int | None, now: int) -> int | None:
    if when is None:
        return None
    try:
        times.check_schedule(when, now)
    except times.InvalidTime as exc:
        raise bad_arguments(f"scheduledDate: {exc}") from exc
    return when


def render_many(connection: Connection, rows: Sequence[Any], line: Line) -> list[Message]:
    return [render.message(row, line) for row in rows]


async def list_(call: Call, args: Page) -> MessageList:
    line = call.line

    def load(connection: Connection) -> tuple[list[Message], int]:
        rows, size = messages.page(connection, line.device_id, start=args.start, limit=args.limit)
        return render_many(connection, rows, line), size

    items, size = await call.store.read(load)
    return {"success": True, "response": items, "total": len(items), "size": size}


@dataclass(frozen=True)
class OneMessage:
    id: int = param(
        Id(as_text=True),
        "The message id.",
        aliases=("message", "messages", "uuid", "uuids"),
        required=True,
    )


async def get(call: Call, args: OneMessage) -> MessageAnswer:
    line = call.line

    def load(connection: Connection) -> Message | None:
        row = messages.get(connection, line.device_id, args.id)
        return render_many(connection, [row], line)[0] if row else None

    found = await call.store.read(load)
    if found is None:
        raise not_found(f"message {args.id}")
    return {"success": True, "response": found}


@dataclass(frozen=True)
class SomeMessages:
    message: list[int] = param(
        Ids(MAX_IDS, as_text=True),
        f"Message ids, at most {MAX_IDS}: repeated, comma-joined or `[a, b]`.",
        aliases=ID_ALIASES,
        required=True,
    )


async def _check_owned(call: Call, wanted: list[int]) -> None:
    owned = await call.store.read(messages.owned_ids, call.line.device_id, wanted)
    missing = [str(mid) for mid in dict.fromkeys(wanted) if mid not in owned]
    if missing:
        raise not_found("message " + listed(missing))


async def _mark(call: Call, wanted: list[int], what: messages.Mark) -> None:
    device_id, now, next_id = call.line.device_id, call.now(), call.store.ids.next_id
    unique = list(dict.fromkeys(wanted))

    def mark_chunk(connection: Connection, chunk: list[int]) -> list[int]:
        return messages.mark(connection, device_id, chunk, what, now, next_id)

    for start in range(0, len(unique), WRITE_CHUNK):
        await call.store.write(partial(mark_chunk, chunk=unique[start : start + WRITE_CHUNK]))


async def read(call: Call, args: SomeMessages) -> TrueAnswer:
    await _check_owned(call, args.message)
    await _mark(call, args.message, messages.READ)
    return {"success": True, "response": True}


async def delete(call: Call, args: SomeMessages) -> TrueAnswer:
    await _check_owned(call, args.message)
    await _mark(call, args.message, messages.DELETED)
    return {"success": True, "response": True}


async def scheduled(call: Call, args: Page) -> MessageList:
    """Messages waiting for their scheduled time (a Landline addition)."""
    line = call.line

    def load(connection: Connection) -> tuple[list[Message], int]:
        rows, size = messages.scheduled(
            connection, line.device_id, start=args.start, limit=args.limit
        )
        return render_many(connection, rows, line), size

    items, size = await call.store.read(load)
    return {"success": True, "response": items, "total": len(items), "size": size}


async def cancel(call: Call, args: SomeMessages) -> CanceledList:
    """Cancel scheduled messages before they go out (a Landline addition)."""
    device_id, now, next_id = call.line.device_id, call.now(), call.store.ids.next_id
    missing = await call.store.write(
        lambda c: messages.cancel_scheduled(c, device_id, args.message, now, next_id)
    )
    if missing:
        listed_ids = listed([str(mid) for mid in missing])
        raise bad_arguments(f"message {listed_ids} is not a scheduled message waiting to go out")
    return {"success": True, "response": [str(mid) for mid in dict.fromkeys(args.message)]}


ENDPOINTS = (
    Endpoint(
        "message/send",
        send,
        SendArgs,
        SendAnswer,
        "message",
        "Send a text to 1 to 15 numbers, saved contacts or groups",
        description="The line's signature, if it has one, is appended after a newline "
        "and counts toward the 250 bytes. A group address sends one text to each member, "
        "each with its own token, message and conversation.",
        errors="-703 naming a missing or invalid parameter (the bad numbers are listed), "
        "a body that passes 250 bytes with the line's signature, or a contact id or group "
        "that is not the line's; -124 when a valid number has no carrier route; -801 when "
        "the line is flagged for spam. A recipient who opted out or whom the line blocked "
        "is not an error: see SendToken.",
    ),
    Endpoint(
        "message/list",
        list_,
        Page,
        MessageList,
        "message",
        "The line's messages, newest first",
        description="Deleted messages are left out.",
    ),
    Endpoint(
        "message/get",
        get,
        OneMessage,
        MessageAnswer,
        "message",
        "One message, with its status history",
        description="Deleted messages are found too (`deleted: true`).",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "message/read",
        read,
        SomeMessages,
        TrueAnswer,
        "message",
        "Mark messages read",
        errors=NOT_FOUND + " Nothing changes then.",
    ),
    Endpoint(
        "message/delete",
        delete,
        SomeMessages,
        TrueAnswer,
        "message",
        "Hide messages (delivery records stay)",
        errors=NOT_FOUND + " Nothing changes then.",
    ),
    Endpoint(
        "message/scheduled",
        scheduled,
        Page,
        MessageList,
        "message",
        "Messages waiting for their scheduled time, soonest first (a Landline addition)",
    ),
    Endpoint(
        "message/cancel",
        cancel,
        SomeMessages,
        CanceledList,
        "message",
        "Cancel scheduled messages before they go out (a Landline addition)",
        description="Canceled messages are deleted (hidden), and fire a delete event.",
        errors="-703 naming the ids that are not scheduled messages waiting to go out; "
        "nothing is canceled then.",
    ),
)
