"""webhook/*: a line's webhooks, its signing secret, and replaying deliveries."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from landline.api.context import Call
from landline.api.endpoints import Endpoint
from landline.api.envelope import bad_arguments, not_found
from landline.api.fields import MAX_INT64, Choice, Instant, Url, param
from landline.api.params import BadParam, Params, shown
from landline.api.shapes import (
    ReplayAnswer,
    SecretAnswer,
    Webhook,
    WebhookList,
)
from landline.core import times
from landline.core.events import WEBHOOK_TYPES, EventKind, kind_of
from landline.store import delivery_moves
from landline.store import webhooks as hooks
from landline.webhooks import line_secrets, operations
from landline.webhooks.guard import MAX_URL_LENGTH, UrlRefused, check_url
from landline.webhooks.hosts import queue_host
from landline.webhooks.outgoing import METHODS
from landline.webhooks.payloads import event_id_of

# Webhooks one line may have.
MAX_WEBHOOKS = 100
# Webhook ids fit a JavaScript number, as in the API document (687557714).
_ID_LOW, _ID_HIGH = 100_000_000, (1 << 53) - 1
_EVENTS = tuple(dict.fromkeys(event for events in WEBHOOK_TYPES.values() for event in events))
_METHODS_TEXT = ", ".join(METHODS)
URL_HELP = (
    "Where deliveries go: http or https. Refused if its host is, or resolves to, a "
    "loopback, private, link-local, carrier-grade NAT or cloud metadata address (unless "
    "the operator allows that range with LANDLINE_WEBHOOK_ALLOW_NETS)."
)


def _answer(rows: list[Any]) -> WebhookList:
    return {"success": True, "response": [_webhook(row) for row in rows]}


def _webhook(row: Any) -> Webhook:
    return {
        "webhookId": row.id,
        "type": row.type,
        "event": row.event,
        "url": row.url,
        "method": row.method,
    }


async def _check_url(call: Call, url: str) -> None:
    services = call.services
    try:
        await check_url(url, services.webhook_policy, resolver=services.webhook_resolver)
    except UrlRefused as exc:
        raise bad_arguments(f"url {shown(url)} cannot receive webhooks: {exc.reason}") from None


@dataclass(frozen=True)
class AddArgs:
    type: str = param(
        Choice(tuple(WEBHOOK_TYPES)), "What to report on: message or optout.", required=True
    )
    event: str = param(
        Choice(_EVENTS),
        "For message: receive, send, progress, read or delete; for optout: change.",
        required=True,
    )
    url: str = param(Url(MAX_URL_LENGTH), URL_HELP, required=True)
    method: str = param(
        Choice(METHODS, default="POST"),
        f"{_METHODS_TEXT}: POST and PUT send the payload as JSON, GET as query parameters.",
    )


async def add(call: Call, args: AddArgs) -> WebhookList:
    line = call.line
    kind = kind_of(args.type, args.event)
    if kind is None:
        events = ", ".join(WEBHOOK_TYPES[args.type])
        raise bad_arguments(f"event must be one of {events} for type {args.type}")
    await _check_url(call, args.url)
    now = call.now()

    def store_it(connection: Connection, webhook_id: int) -> Any:
        if hooks.count(connection, line.device_id) >= MAX_WEBHOOKS:
            return None
        hooks.add(
            connection,
            webhook_id=webhook_id,
            device_id=line.device_id,
            type=args.type,
            event=args.event,
            url=args.url,
            method=args.method,
            host=queue_host(args.url),
            now=now,
        )
        delivery_moves.after_webhooks_changed(connection, {(line.device_id, str(kind)): set()}, now)
        return hooks.get(connection, line.device_id, webhook_id)

    for _ in range(3):
        webhook_id = secrets.randbelow(_ID_HIGH - _ID_LOW) + _ID_LOW
        try:
            row = await call.store.write(partial(store_it, webhook_id=webhook_id))
        except IntegrityError:
            continue  # that id was taken: draw another
        break
    else:
        raise RuntimeError("no free webhook id after three draws")
    if row is None:
        raise bad_arguments(f"a line has at most {MAX_WEBHOOKS} webhooks")
    # The line's signing secret is made on first use.
    await line_secrets.ensure(call.store, call.services.secret_box, line.device_id)
    return _answer([row])


async def list_(call: Call, args: None) -> WebhookList:
    return _answer(await call.store.read(hooks.of_line, call.line.device_id))


class WebhookIdKind:
    """A webhook id: digits (a list given: the first)."""

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        raw = params.first(*names)
        if raw is None:
            return None
        text = raw.strip()
        # Past 64 bits no id exists, and the database cannot even compare with it.
        if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > MAX_INT64:
            raise BadParam(f"{name} must be a webhook id (a number), not {shown(raw)}")
        return int(text)

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "format": "int64", "minimum": 0, "maximum": MAX_INT64}


@dataclass(frozen=True)
class UpdateArgs:
    webhookId: int = param(WebhookIdKind(), "The webhook to change.", required=True)
    url: str | None = param(Url(MAX_URL_LENGTH), URL_HELP + " Unchanged if absent.")
    method: str | None = param(Choice(METHODS), f"{_METHODS_TEXT}; unchanged if absent.")


async def update(call: Call, args: UpdateArgs) -> WebhookList:
    line = call.line
    if args.url is not None:
        await _check_url(call, args.url)
    values: dict[str, Any] = {}
    if args.url is not None:
        values.update(url=args.url, host=queue_host(args.url))
    if args.method is not None:
        values["method"] = args.method
    now = call.now()

    def change(connection: Connection) -> Any:
        before = hooks.get(connection, line.device_id, args.webhookId)
        if before is None:
            return None
        if values:
            hooks.change(connection, line.device_id, args.webhookId, values, now)
            receiver = (line.device_id, f"{before.type}.{before.event}")
            delivery_moves.after_webhooks_changed(connection, {receiver: {before.host}}, now)
        return hooks.get(connection, line.device_id, args.webhookId)

    row = await call.store.write(change)
    if row is None:
        raise not_found(f"webhook {args.webhookId}")
    return _answer([row])


@dataclass(frozen=True)
class DeleteArgs:
    webhookId: int = param(WebhookIdKind(), "The webhook to remove.", required=True)


async def delete(call: Call, args: DeleteArgs) -> WebhookList:
    line = call.line
    now = call.now()

    def remove(connection: Connection) -> bool:
        before = hooks.get(connection, line.device_id, args.webhookId)
        if before is None:
            return False
        hooks.remove(connection, line.device_id, args.webhookId)
        receiver = (line.device_id, f"{before.type}.{before.event}")
        delivery_moves.after_webhooks_changed(connection, {receiver: {before.host}}, now)
        return True

    if not await call.store.write(remove):
        raise not_found(f"webhook {args.webhookId}")
    return {"success": True, "response": []}


async def secret(call: Call, args: None) -> SecretAnswer:
    return await _secret(call, rotate=False)


async def rotate(call: Call, args: None) -> SecretAnswer:
    return await _secret(call, rotate=True)


async def _secret(call: Call, *, rotate: bool) -> SecretAnswer:
    line = call.line
    found = await line_secrets.show(
        call.store, call.services.secret_box, line.device_id, rotate=rotate
    )
    return {
        "success": True,
        "response": {
            "secret": found.secret,
            "previousSecretValidUntil": times.render(found.previous_until, line.timezone),
        },
    }


class DeliveryIdKind:
    """A delivery: its `webhook-id` header (`msg_...`) or the event id in it."""

    def parse(self, params: Params, name: str, names: tuple[str, ...]) -> int | None:
        raw = params.first(*names)
        if raw is None:
            return None
        found = event_id_of(raw)
        if found is None:
            raise BadParam(f"{name} must be a delivery's webhook-id (msg_...), not {shown(raw)}")
        return found

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^(msg_)?[0-9]{1,19}$"}


@dataclass(frozen=True)
class ReplayArgs:
    deliveryId: int | None = param(
        DeliveryIdKind(),
        "One delivery to send again, whatever its state: the `webhook-id` header it came "
        "with (`msg_...`).",
        aliases=("webhookMessageId",),
    )
    since: int | None = param(
        Instant(),
        "Without deliveryId: replay every given-up delivery of the line whose event "
        "happened from this moment...",
    )
    until: int | None = param(Instant(), "...to this one (default: now).")


async def replay(call: Call, args: ReplayArgs) -> ReplayAnswer:
    line = call.line
    if args.deliveryId is not None:
        outcome = await operations.replay_one(call.store, args.deliveryId, line.device_id)
        if outcome == "not found":
            raise not_found(f"delivery msg_{args.deliveryId}")
        if outcome == "no webhook":
            raise bad_arguments(
                f"delivery msg_{args.deliveryId} has no webhook to go to: add one for its event"
            )
        return {"success": True, "response": {"replayed": 1, "complete": True}}
    if args.since is None:
        raise bad_arguments("give deliveryId, or since (and until) for a time window")
    until = args.until if args.until is not None else call.now()
    if until < args.since:
        raise bad_arguments("until is before since")
    count, complete = await operations.replay_given_up(
        call.store, line.device_id, args.since, until
    )
    return {"success": True, "response": {"replayed": count, "complete": complete}}


_KINDS = ", ".join(f"`{kind.webhook_type}` `{kind.webhook_event}`" for kind in EventKind)

ENDPOINTS = (
    Endpoint(
        "webhook/add",
        add,
        AddArgs,
        WebhookList,
        "webhook",
        "Install a webhook: deliveries of one kind of event go to a URL",
        description=f"Kinds: {_KINDS}. Webhooks of a line for the same event are one "
        "receiver with redundant hosts: each event is delivered once, to a host that is "
        "up. Answers the new webhook in a list.",
        errors="-703 naming the parameter: an unknown type, event or method, an event "
        "the type does not have, a URL that is not http(s) or that the URL guard refuses "
        f"(saying why), or a line that already has {MAX_WEBHOOKS} webhooks.",
    ),
    Endpoint(
        "webhook/list",
        list_,
        None,
        WebhookList,
        "webhook",
        "The line's webhooks, oldest first",
    ),
    Endpoint(
        "webhook/update",
        update,
        UpdateArgs,
        WebhookList,
        "webhook",
        "Change a webhook's URL or method",
        description="Deliveries waiting for a host the line no longer has move to "
        "another of the receiver's hosts. Answers the webhook in a list.",
        errors="-703 when the webhook is not the line's, or for a URL or method as in webhook/add.",
    ),
    Endpoint(
        "webhook/delete",
        delete,
        DeleteArgs,
        WebhookList,
        "webhook",
        "Remove a webhook; answers an empty list",
        description="Deliveries waiting for it go to the receiver's other webhooks; if "
        "it was the last, they are given up (and can be replayed once there is one again).",
        errors="-703 when the webhook is not the line's.",
    ),
    Endpoint(
        "webhook/secret",
        secret,
        None,
        SecretAnswer,
        "webhook",
        "The line's webhook signing secret (a Landline addition)",
        description="Standard Webhooks: every delivery carries `webhook-id`, "
        "`webhook-timestamp` and `webhook-signature`, an HMAC-SHA256 with this secret. "
        "Made on first use.",
    ),
    Endpoint(
        "webhook/rotate",
        rotate,
        None,
        SecretAnswer,
        "webhook",
        "Give the line a new signing secret (a Landline addition)",
        description="For 24 hours the old secret signs too (each delivery then carries "
        "two signatures), so receivers can switch without losing a delivery.",
    ),
    Endpoint(
        "webhook/replay",
        replay,
        ReplayArgs,
        ReplayAnswer,
        "webhook",
        "Send deliveries again (a Landline addition)",
        description="One delivery (deliveryId), whatever its state; or every given-up "
        "delivery whose event happened between since and until. Each starts afresh: "
        "pending now, with 72 hours of retries from now, and the same `webhook-id`. At "
        f"most {operations.MAX_REPLAY:,} a call; `complete` says whether that was all.",
        errors="-703 for an unknown delivery, one whose event has no webhook now, or "
        "neither deliveryId nor since.",
    ),
)
