"""conversation/*: list, get, read, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.envelope import Answer, bad_arguments, not_found
from landline.api.message import paging, render_many
from landline.store import conversations, messages

FINGERPRINT = ("fingerprint", "conversationId", "conversation", "id")


def _fingerprint(call: Call) -> str:
    value = call.params.first(*FINGERPRINT)
    if value is None:
        raise bad_arguments("fingerprint is required")
    value = value.strip()
    if not value.isdigit():
        raise bad_arguments("fingerprint must be a string of digits")
    return value


async def list_(call: Call) -> Answer:
    line = await call.line()
    start, limit = paging(call)
    rows, size = await call.store.read(
        lambda c: conversations.page(c, line.device_id, start=start, limit=limit)
    )
    items = [render.conversation(row, line) for row in rows]
    return Answer(items, total=len(items), size=size)


async def get(call: Call) -> Answer:
    """The conversation and a page of its messages, newest first."""
    line = await call.line()
    fingerprint = _fingerprint(call)
    start, limit = paging(call)

    def load(connection: Connection) -> tuple[dict[str, Any], list[dict[str, Any]], int] | None:
        row = conversations.get(connection, line.device_id, fingerprint)
        if row is None:
            return None
        rows, size = messages.page(
            connection, line.device_id, start=start, limit=limit, fingerprint=fingerprint
        )
        return render.conversation(row, line), render_many(connection, rows, line), size

    found = await call.store.read(load)
    if found is None:
        raise not_found(f"conversation {fingerprint}")
    conversation, items, size = found
    return Answer({"conversation": conversation, "messages": items}, total=len(items), size=size)


async def read(call: Call) -> Answer:
    line = await call.line()
    fingerprint = _fingerprint(call)
    now = call.now()

    def mark(connection: Connection) -> bool:
        if conversations.get(connection, line.device_id, fingerprint) is None:
            return False
        wanted = messages.ids_in_conversation(connection, line.device_id, fingerprint)
        event_ids = call.store.ids.take(len(wanted))
        messages.mark_read(connection, line.device_id, wanted, now, event_ids)
        return True

    if not await call.store.write(mark):
        raise not_found(f"conversation {fingerprint}")
    return Answer(True)


async def delete(call: Call) -> Answer:
    """Hide a conversation and its messages; delivery records stay."""
    line = await call.line()
    fingerprint = _fingerprint(call)
    now = call.now()

    def hide(connection: Connection) -> bool:
        if conversations.get(connection, line.device_id, fingerprint) is None:
            return False
        wanted = messages.ids_in_conversation(connection, line.device_id, fingerprint)
        event_ids = call.store.ids.take(len(wanted))
        messages.mark_deleted(connection, line.device_id, wanted, now, event_ids)
        conversations.hide(connection, line.device_id, fingerprint, now)
        return True

    if not await call.store.write(hide):
        raise not_found(f"conversation {fingerprint}")
    return Answer(True)
