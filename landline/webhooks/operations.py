"""What an operator (the CLI) and a line (the API) do with webhook delivery beyond the
webhooks themselves: signing secrets, replays, and reports on deliveries and hosts."""

from __future__ import annotations

from functools import partial

from landline.core import ids
from landline.store import delivery_moves, delivery_reports, lines
from landline.store.access import Store
from landline.store.delivery_reports import DeliveryReport, HostReport
from landline.webhooks import line_secrets
from landline.webhooks.secrets import SecretBox

# Deliveries one replay of a time window starts afresh; call again for more.
MAX_REPLAY = 10_000


class NoSuchLine(LookupError):
    pass


async def _device_of(store: Store, number: str) -> int:
    line = await store.read(lines.by_number, number)
    if line is None:
        raise NoSuchLine(number)
    return line.device_id


async def secret(store: Store, box: SecretBox, number: str, *, rotate: bool) -> line_secrets.Shown:
    """The signing secret of the line `number` (made on first use), or a new one."""
    return await line_secrets.show(store, box, await _device_of(store, number), rotate=rotate)


async def replay_one(store: Store, event_id: int, device_id: int | None = None) -> str:
    """Send one delivery again: "replayed", "not found", or "no webhook"."""
    now = store.clock.now_ms()
    return await store.write(lambda c: delivery_moves.replay_one(c, event_id, device_id, now))


async def replay_given_up(
    store: Store, device_id: int, since: int, until: int, most: int = MAX_REPLAY
) -> tuple[int, bool]:
    """Send again the line's given-up deliveries whose events happened from `since` to
    `until`, a chunk per transaction: (how many, whether that was all of them)."""
    cursor: int | None = ids.first_id_at(since)
    last = ids.last_id_at(until)
    count = 0
    while cursor is not None and count < most:
        done, cursor = await store.write(
            partial(
                delivery_moves.replay_given_up,
                device_id=device_id,
                first_id=cursor,
                last_id=last,
                most=most - count,
                now=store.clock.now_ms(),
            )
        )
        count += done
    return count, cursor is None


async def replay_line(
    store: Store, number: str, since: int, until: int, most: int = MAX_REPLAY
) -> tuple[int, bool]:
    return await replay_given_up(store, await _device_of(store, number), since, until, most)


async def delivery_list(
    store: Store,
    *,
    number: str | None = None,
    state: str | None = None,
    since: int | None = None,
    limit: int = 50,
) -> list[DeliveryReport]:
    device_id = await _device_of(store, number) if number is not None else None
    return await store.read(
        lambda c: delivery_reports.delivery_list(
            c, device_id=device_id, state=state, since=since, limit=limit
        )
    )


async def host_list(store: Store) -> list[HostReport]:
    return await store.read(delivery_reports.host_list)
