"""message/*: send, list, get, read, delete, and the scheduled-message queue."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from landline.api import render
from landline.api.context import Call
from landline.api.envelope import Answer, ApiError, bad_arguments, not_found
from landline.api.params import BadParam
from landline.core import numbers, outbound, times
from landline.core.status import ErrorCode, describe
from landline.store import messages
from landline.store.lines import Line

MESSAGE_IDS = ("message", "messages", "uuid", "uuids", "id")
DEFAULT_PAGE = 20
MAX_PAGE = 1000


def parse_recipients(raw: list[str]) -> list[str]:
    if not raw:
        raise bad_arguments("contacts is required")
    parsed, bad = [], []
    for item in raw:
        try:
            parsed.append(numbers.to_e164(item))
        except numbers.InvalidNumber:
            bad.append(item.strip())
    if bad:
        raise bad_arguments("contacts has invalid phone numbers: " + ", ".join(bad))
    return parsed


async def send(call: Call) -> Answer:
    line = await call.line()
    params = call.params
    recipients = parse_recipients(params.items("contacts", "contact", "destinationAddress", "to"))
    body = params.text("body")
    if body is None:
        raise bad_arguments("body is required")
    now = call.now()
    scheduled_at = _scheduled_date(params.first("scheduledDate"), now)
    try:
        plan = outbound.plan_send(
            device_id=line.device_id,
            line_number=line.number,
            numbers=recipients,
            body=body,
            now=now,
            scheduled_at=scheduled_at,
            next_id=call.store.ids.next_id,
        )
    except outbound.InvalidSend as exc:
        field = "body" if "body" in str(exc) else "contacts"
        raise bad_arguments(f"{field}: {exc}") from exc
    # Only a request whose arguments are all good gets an answer about the line or route.
    if line.state == "spam":
        raise ApiError(
            ErrorCode.SPAM_PROTECTION, "Spam protection: this line is flagged; contact the operator"
        )
    unroutable = [
        n for n in dict.fromkeys(recipients) if call.services.routes.connector_for(n) is None
    ]
    if unroutable:
        raise ApiError(
            ErrorCode.UNABLE_TO_DETERMINE_CARRIER,
            "Unable to determine carrier for " + ", ".join(unroutable),
        )
    outcome = await call.store.write_merged(messages.record_sends, plan)
    if scheduled_at is None:
        call.services.notify_outbound()
    return Answer(
        {
            "fingerprint": plan.fingerprint,
            "root": str(plan.root_id),
            "tokens": [_token(m, line, m.number in outcome.opted_out) for m in plan.messages],
        }
    )


def _token(m: outbound.PlannedMessage, line: Line, opted_out: bool) -> dict[str, Any]:
    token: dict[str, Any] = {
        "message": str(m.message_id),
        "fingerprint": m.fingerprint,
        "device": line.device_id,
        "contact": m.contact_id,
    }
    if opted_out:
        token["code"] = int(ErrorCode.RECIPIENT_SENT_STOP)
        token["desc"] = describe(ErrorCode.RECIPIENT_SENT_STOP) + "; they must text UNSTOP first"
    return token


def _scheduled_date(raw: str | None, now: int) -> int | None:
    if raw is None:
        return None
    try:
        when = times.parse_instant(raw)
        times.check_schedule(when, now)
    except times.InvalidTime as exc:
        raise bad_arguments(f"scheduledDate: {exc}") from exc
    return when


def paging(call: Call) -> tuple[int, int]:
    try:
        start = call.params.integer("start", 0)
        limit = call.params.integer("limit", DEFAULT_PAGE, minimum=1, maximum=MAX_PAGE)
    except BadParam as exc:
        raise bad_arguments(str(exc)) from exc
    return start, limit


def render_many(connection: Connection, rows: list[Any], line: Line) -> list[dict[str, Any]]:
    histories = messages.history(connection, [row.id for row in rows])
    return [render.message(row, line, histories[row.id]) for row in rows]


async def list_(call: Call) -> Answer:
    line = await call.line()
    start, limit = paging(call)

    def load(connection: Connection) -> tuple[list[dict[str, Any]], int]:
        rows, size = messages.page(connection, line.device_id, start=start, limit=limit)
        return render_many(connection, rows, line), size

    items, size = await call.store.read(load)
    return Answer(items, total=len(items), size=size)


async def get(call: Call) -> Answer:
    line = await call.line()
    message_id = _one_id(call)

    def load(connection: Connection) -> dict[str, Any] | None:
        row = messages.get(connection, line.device_id, message_id)
        return render_many(connection, [row], line)[0] if row else None

    found = await call.store.read(load)
    if found is None:
        raise not_found(f"message {message_id}")
    return Answer(found)


def _one_id(call: Call) -> int:
    return message_ids(call, required="id")[0]


def message_ids(call: Call, required: str = "message") -> list[int]:
    try:
        found = call.params.ids(*MESSAGE_IDS)
    except BadParam as exc:
        raise bad_arguments(str(exc)) from exc
    if not found:
        raise bad_arguments(f"{required} is required")
    return found


async def _known(call: Call, line: Line, wanted: list[int]) -> None:
    owned = await call.store.read(messages.owned_ids, line.device_id, wanted)
    missing = [str(mid) for mid in wanted if mid not in owned]
    if missing:
        raise not_found("message " + ", ".join(missing))


async def read(call: Call) -> Answer:
    line = await call.line()
    wanted = message_ids(call)
    await _known(call, line, wanted)
    now, event_ids = call.now(), call.store.ids.take(len(wanted))
    await call.store.write(lambda c: messages.mark_read(c, line.device_id, wanted, now, event_ids))
    return Answer(True)


async def delete(call: Call) -> Answer:
    line = await call.line()
    wanted = message_ids(call)
    await _known(call, line, wanted)
    now, event_ids = call.now(), call.store.ids.take(len(wanted))
    await call.store.write(
        lambda c: messages.mark_deleted(c, line.device_id, wanted, now, event_ids)
    )
    return Answer(True)


async def scheduled(call: Call) -> Answer:
    """Messages waiting for their scheduled time (a Landline addition)."""
    line = await call.line()

    def load(connection: Connection) -> list[dict[str, Any]]:
        return render_many(connection, messages.scheduled(connection, line.device_id), line)

    items = await call.store.read(load)
    return Answer(items, total=len(items), size=len(items))


async def cancel(call: Call) -> Answer:
    """Cancel scheduled messages before they go out (a Landline addition)."""
    line = await call.line()
    wanted = message_ids(call)
    now, event_ids = call.now(), call.store.ids.take(len(wanted))
    missing = await call.store.write(
        lambda c: messages.cancel_scheduled(c, line.device_id, wanted, now, event_ids)
    )
    if missing:
        listed = ", ".join(str(mid) for mid in missing)
        raise bad_arguments(f"message {listed} is not a scheduled message waiting to go out")
    return Answer([str(mid) for mid in dict.fromkeys(wanted)])
