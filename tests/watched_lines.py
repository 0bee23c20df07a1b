"""Lines whose every event is kept, for tests that read the `events` table.

An event no webhook wants is not stored (store/events.py), so a test that checks which
events a change made first subscribes its line to all of them. The receiver's address
does not resolve, so nothing is ever delivered; the rows are what the test reads.
"""

from __future__ import annotations

from conftest import Landline

from landline.core.events import WEBHOOK_TYPES
from landline.store import webhooks
from landline.webhooks.hosts import queue_host

RECEIVER = "https://receiver.invalid/hook"


def add_watched_line(server: Landline, number: str) -> tuple[int, str]:
    """`server.add_line`, with a webhook for every event of the line."""
    device_id, session = server.add_line(number)
    watch_every_event(server, device_id)
    return device_id, session


def watch_every_event(server: Landline, device_id: int) -> None:
    """Subscribe the line `device_id` to every event, so its events are kept."""
    now = server.clock.now_ms()

    def subscribe(connection: object) -> None:
        for webhook_type, names in WEBHOOK_TYPES.items():
            for event in names:
                webhooks.add(
                    connection,  # type: ignore[arg-type]
                    webhook_id=server.store.ids.next_id(),
                    device_id=device_id,
                    type=webhook_type,
                    event=event,
                    url=RECEIVER,
                    method="POST",
                    host=queue_host(RECEIVER),
                    now=now,
                )

    server.store.write_sync(subscribe)
