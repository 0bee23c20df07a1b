"""conversation/*: list, get, read, delete."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import not_found
from landline.api.fields import Digits, param
from landline.api.message import NOT_FOUND, Page, limit_param, render_many, start_param
from landline.api.shapes import (
    Conversation,
    ConversationAnswer,
    ConversationDetail,
    ConversationList,
    TrueAnswer,
)
from landline.store import conversations, messages

# Messages marked in one write transaction: a conversation can hold any number.
WRITE_CHUNK = 500


def fingerprint_param() -> str:
    value: str = param(
        Digits(),
        "The conversation's fingerprint.",
        aliases=("conversationId", "conversation", "id"),
        required=True,
    )
    return value


async def list_(call: Call, args: Page) -> ConversationList:
    line = call.line
    rows, size = await call.store.read(
        lambda c: conversations.page(c, line.device_id, start=args.start, limit=args.limit)
    )
    items = [render.conversation(row, line) for row in rows]
    return {"success": True, "response": items, "total": len(items), "size": size}


@dataclass(frozen=True)
class ConversationPage:
    fingerprint: str = fingerprint_param()
    start: int = start_param()
    limit: int = limit_param()


async def get(call: Call, args: ConversationPage) -> ConversationAnswer:
    """The conversation and a page of its messages, newest first."""
    line = call.line

    def load(connection: Connection) -> tuple[ConversationDetail, int] | None:
        row = conversations.get(connection, line.device_id, args.fingerprint)
        if row is None:
            return None
        rows, size = messages.page(
            connection,
            line.device_id,
            start=args.start,
            limit=args.limit,
            fingerprint=args.fingerprint,
        )
        conversation: Conversation = render.conversation(row, line)
        return {"conversation": conversation, "messages": render_many(connection, rows, line)}, size

    found = await call.store.read(load)
    if found is None:
        raise not_found(f"conversation {args.fingerprint}")
    detail, size = found
    return {"success": True, "response": detail, "total": len(detail["messages"]), "size": size}


@dataclass(frozen=True)
class OneConversation:
    fingerprint: str = fingerprint_param()


async def _mark_all(call: Call, fingerprint: str, what: messages.Mark) -> None:
    """Mark every visible message of a conversation, a slice per transaction."""
    device_id, now, next_id = call.line.device_id, call.now(), call.store.ids.next_id
    found = await call.store.read(conversations.get, device_id, fingerprint)
    if found is None:
        raise not_found(f"conversation {fingerprint}")

    def mark_slice(connection: Connection, after: int) -> int | None:
        return messages.mark_conversation(
            connection, device_id, fingerprint, what, now, next_id, after=after, limit=WRITE_CHUNK
        )

    cursor: int | None = 0
    while cursor is not None:
        cursor = await call.store.write(partial(mark_slice, after=cursor))


async def read(call: Call, args: OneConversation) -> TrueAnswer:
    await _mark_all(call, args.fingerprint, messages.READ)
    return {"success": True, "response": True}


async def delete(call: Call, args: OneConversation) -> TrueAnswer:
    """Hide a conversation and its messages; delivery records stay."""
    await _mark_all(call, args.fingerprint, messages.DELETED)
    device_id, now = call.line.device_id, call.now()
    await call.store.write(lambda c: conversations.hide(c, device_id, args.fingerprint, now))
    return {"success": True, "response": True}


ENDPOINTS = (
    Endpoint(
        "conversation/list",
        list_,
        Page,
        ConversationList,
        "conversation",
        "The line's conversations, latest message first",
    ),
    Endpoint(
        "conversation/get",
        get,
        ConversationPage,
        ConversationAnswer,
        "conversation",
        "A conversation and a page of its messages, newest first",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "conversation/read",
        read,
        OneConversation,
        TrueAnswer,
        "conversation",
        "Mark every message of a conversation read",
        errors=NOT_FOUND,
    ),
    Endpoint(
        "conversation/delete",
        delete,
        OneConversation,
        TrueAnswer,
        "conversation",
        "Hide a conversation and its messages",
        errors=NOT_FOUND,
    ),
)
