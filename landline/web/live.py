"""Live updates for open inbox pages: one poller per process reads the store's events
and hands each to the streams of its line.

The events table is written in the same transaction as every change a webhook would
report, by whichever process made it, so polling it works across processes on
PostgreSQL as well as in one process on SQLite. An event is kept only if something
will read it, so a line's pages mark it as watched (store/live_lines.py) before their
stream starts, and the poller renews the mark while they stay open. One query per poll
serves every open stream; none runs while no stream is open.

What a stream may cost is bounded: streams per session, per line and in all; a queue
per stream (a page that falls behind is told to reload rather than buffered for);
a heartbeat, which also re-checks the session, so a revoked one is cut off; and a
lifetime, after which the browser reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from landline.core.ids import NODE_BITS, SEQUENCE_BITS
from landline.store import inbox, live_lines
from landline.store.access import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveLimits:
    per_session: int = 4
    per_line: int = 32
    # Half of LANDLINE_MAX_CONNECTIONS's default: open pages never take every connection.
    total: int = 500
    queue: int = 256
    poll_s: float = 0.2
    heartbeat_s: float = 15.0
    lifetime_s: float = 600.0
    batch: int = 1000
    # Ids come from each process's own clock: an event committed a moment late can
    # carry an id below one already seen, so each poll looks this far back too.
    lookback_ms: int = 5000
    # How long a line stays marked watched after its pages last said so, and how often
    # a process with open pages renews the marks of their lines.
    watch_ms: int = 60_000
    renew_ms: int = 20_000


class TooManyStreams(Exception):
    pass


@dataclass(eq=False)
class Stream:
    device_id: int
    session_hash: str
    queue: asyncio.Queue[dict[str, Any] | None]
    overflowed: bool = False

    def offer(self, event: dict[str, Any]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            # Told once to reload; nothing more is held for a page that is behind.
            self.overflowed = True
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
            self.queue.put_nowait({"kind": "resync"})


@dataclass
class LiveHub:
    store: Store
    limits: LiveLimits = field(default_factory=LiveLimits)
    _streams: set[Stream] = field(default_factory=set)
    _by_line: dict[int, set[Stream]] = field(default_factory=dict)
    _task: asyncio.Task[None] | None = None
    _cursor: int = 0
    # Events up to here were stored before the poller started: not news.
    _floor: int = 0
    _seen: dict[int, None] = field(default_factory=dict)
    _starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    _renewed_at: int = 0

    @property
    def open_streams(self) -> int:
        return len(self._streams)

    def open(self, device_id: int, session_hash: str) -> Stream:
        """A stream of the line's events; `follow` makes sure they are being read."""
        limits = self.limits
        if len(self._streams) >= limits.total:
            raise TooManyStreams("the server has as many live streams open as it allows")
        same_line = self._by_line.get(device_id, set())
        if len(same_line) >= limits.per_line:
            raise TooManyStreams(f"this line has {limits.per_line} live streams open")
        if sum(1 for s in same_line if s.session_hash == session_hash) >= limits.per_session:
            raise TooManyStreams(f"this session has {limits.per_session} live streams open")
        stream = Stream(device_id, session_hash, asyncio.Queue(limits.queue))
        self._streams.add(stream)
        self._by_line.setdefault(device_id, set()).add(stream)
        return stream

    async def follow(self, device_id: int) -> None:
        """Mark the line watched and start reading events, unless already reading.
        Returns once both are done, so nothing stored after this returns is missed."""
        await self.keep_watching([device_id])
        async with self._starting:
            if self._task is not None and not self._task.done():
                return
            # From now on: a page loads what is stored, then opens its stream.
            self._cursor = self._floor = await self.store.read(inbox.last_event_id)
            self._seen.clear()
            self._task = asyncio.create_task(self._poll(), name="inbox-live")

    def close(self, stream: Stream) -> None:
        self._streams.discard(stream)
        same_line = self._by_line.get(stream.device_id)
        if same_line is not None:
            same_line.discard(stream)
            if not same_line:
                del self._by_line[stream.device_id]

    def end_session(self, session_hash: str) -> None:
        for stream in [s for s in self._streams if s.session_hash == session_hash]:
            self.close(stream)
            with contextlib.suppress(asyncio.QueueFull):
                stream.queue.put_nowait(None)

    async def keep_watching(self, device_ids: list[int]) -> None:
        until = self.store.clock.now_ms() + self.limits.watch_ms
        await self.store.write(lambda c: live_lines.keep(c, device_ids, until))

    async def _poll(self) -> None:
        try:
            while self._streams:
                try:
                    now = self.store.clock.now_ms()
                    if now - self._renewed_at >= self.limits.renew_ms:
                        await self.keep_watching(sorted(self._by_line))
                        self._renewed_at = now
                    await self.poll_once()
                except Exception:
                    log.exception("reading events for live pages failed")
                await asyncio.sleep(self.limits.poll_s)
        finally:
            self._task = None

    async def poll_once(self) -> int:
        """Hand out events stored since the last poll; returns how many.

        New events (ids above the cursor) are read a batch at a time, so the cursor always
        moves on; the window just below it is read again for events that were committed
        after others with later ids. A window holding more than a batch of events for the
        lines being watched can miss some of those late ones.
        """
        devices = sorted(self._by_line)
        if not devices:
            return 0
        batch = self.limits.batch
        cursor = self._cursor
        since = max(cursor - (self.limits.lookback_ms << (NODE_BITS + SEQUENCE_BITS)), 0)

        def read(connection: Any) -> list[Any]:
            late = inbox.events_after(connection, since, devices, batch, until=cursor)
            return late + inbox.events_after(connection, cursor, devices, batch)

        rows = await self.store.read(read)
        handed = 0
        for row in rows:
            if row.id in self._seen or row.id <= self._floor:
                continue
            self._seen[row.id] = None
            self._cursor = max(self._cursor, row.id)
            event = _event(row)
            for stream in self._by_line.get(row.device_id, ()):
                stream.offer(event)
            handed += 1
        # Forget ids that fell out of the window.
        for seen in [i for i in self._seen if i <= since]:
            del self._seen[seen]
        return handed

    async def stop(self) -> None:
        """End every stream (their pages reconnect to whichever server is up) and the poller."""
        for stream in list(self._streams):
            self.close(stream)
            with contextlib.suppress(asyncio.QueueFull):
                stream.queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def _event(row: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"id": str(row.id), "kind": row.kind}
    if row.message_id is not None:
        event["message"] = str(row.message_id)
        event["fingerprint"] = row.fingerprint
        event["status"] = row.status
    if row.data:
        data = json.loads(row.data)
        event["number"] = data.get("number")
        event["optOut"] = data.get("optOut")
    return event


async def sse(
    hub: LiveHub, stream: Stream, still_signed_in: Callable[[], Awaitable[bool]]
) -> AsyncIterator[bytes]:
    """The stream as Server-Sent Events: events, heartbeats, and an end."""
    limits = hub.limits
    loop = asyncio.get_running_loop()
    ends_at = loop.time() + limits.lifetime_s
    try:
        yield b"retry: 2000\n\n"
        while True:
            left = ends_at - loop.time()
            if left <= 0:
                return
            try:
                event = await asyncio.wait_for(stream.queue.get(), min(limits.heartbeat_s, left))
            except TimeoutError:
                if not await still_signed_in():
                    yield b"event: signedout\ndata: {}\n\n"
                    return
                yield b": heartbeat\n\n"
                continue
            if event is None:
                return
            yield b"data: " + json.dumps(event).encode() + b"\n\n"
            if event.get("kind") == "resync":
                return
    finally:
        hub.close(stream)
