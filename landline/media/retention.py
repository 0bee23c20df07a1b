"""Hosted content past LANDLINE_MEDIA_RETENTION_DAYS is removed, by the workers.

Deleting a message never deletes its content (another message may share it, and a
client may still hold its key); only this does. The object goes first and its row
after, so a crash in between leaves a row whose object is gone (hostedContent/get then
answers "not found") and the next round removes the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from landline.core.clock import Clock
from landline.media.storage import ContentStore
from landline.store import media
from landline.store.access import Store

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
BATCH = 200
EVERY_S = 600.0


class MediaRetention:
    def __init__(self, store: Store, clock: Clock, content: ContentStore, *, days: int) -> None:
        self._store = store
        self._clock = clock
        self._content = content
        self._days = days
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._days > 0:
            self._task = asyncio.create_task(self._run(), name="media-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        """Remove one batch of expired content; returns how many objects went."""
        if self._days <= 0:
            return 0
        before = self._clock.now_ms() - self._days * DAY_MS
        keys = await self._store.read(media.expired, before, BATCH)
        for key in keys:
            await self._content.delete(key)
        await self._store.write(lambda c: media.forget(c, keys))
        return len(keys)

    async def _run(self) -> None:
        while True:
            try:
                while await self.run_once() == BATCH:
                    pass
            except Exception:
                log.exception("removing expired media failed; trying again later")
            await asyncio.sleep(EVERY_S)
