"""The live hub that feeds open inbox pages: events reach the streams of their line
only, one committed late with an earlier id still arrives, none twice, and a page that
falls behind is told to reload instead of being buffered for. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from landline.core.clock import ManualClock
from landline.core.events import EventKind
from landline.store import events
from landline.store.access import Store
from landline.web.live import LiveHub, LiveLimits, TooManyStreams


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    made = Store(db_url, ManualClock())
    yield made
    made.close()


def _event(store: Store, event_id: int, device_id: int) -> None:
    now = store.clock.now_ms()
    store.write_sync(
        lambda c: events.record(
            c, [events.row(event_id, device_id, EventKind.MESSAGE_READ, None, now)]
        )
    )


def _drain(queue: asyncio.Queue) -> list[dict]:  # type: ignore[type-arg]
    taken = []
    while not queue.empty():
        taken.append(queue.get_nowait())
    return taken


def test_events_reach_their_line_once_even_when_committed_late(store: Store) -> None:
    async def run() -> None:
        hub = LiveHub(store, LiveLimits(poll_s=3600))
        mine, other = hub.open(1, "a"), hub.open(2, "b")
        # An event is kept only for a line some page watches (or a webhook wants).
        await hub.keep_watching([1, 2])
        base = store.ids.next_id()
        hub._cursor = hub._floor = base
        _event(store, base - 1, 1)  # before the hub started: not news
        _event(store, base + 5000, 1)
        _event(store, base + 6000, 2)
        assert await hub.poll_once() == 2
        # Another process's event, stored after the others but with an earlier id.
        _event(store, base + 1000, 1)
        assert await hub.poll_once() == 1
        assert await hub.poll_once() == 0
        assert [e["id"] for e in _drain(mine.queue)] == [str(base + 5000), str(base + 1000)]
        assert [e["id"] for e in _drain(other.queue)] == [str(base + 6000)]

    asyncio.run(run())


def test_a_page_that_falls_behind_is_told_to_reload(store: Store) -> None:
    async def run() -> None:
        hub = LiveHub(store, LiveLimits(poll_s=3600, queue=3))
        stream = hub.open(1, "a")
        await hub.keep_watching([1])
        base = store.ids.next_id()
        hub._cursor = base
        for n in range(10):
            _event(store, base + 1 + n, 1)
        await hub.poll_once()
        held = _drain(stream.queue)
        assert len(held) == 3
        assert held[-1] == {"kind": "resync"}

    asyncio.run(run())


def test_events_of_a_line_no_page_watches_are_not_kept(store: Store) -> None:
    async def run() -> None:
        hub = LiveHub(store, LiveLimits(poll_s=3600))
        watched, unwatched = hub.open(1, "a"), hub.open(2, "b")
        await hub.keep_watching([1])
        base = store.ids.next_id()
        hub._cursor = hub._floor = base
        _event(store, base + 10, 1)
        _event(store, base + 20, 2)
        assert await hub.poll_once() == 1
        assert [e["id"] for e in _drain(watched.queue)] == [str(base + 10)]
        assert _drain(unwatched.queue) == []
        # The mark lasts `watch_ms` unless renewed.
        assert isinstance(store.clock, ManualClock)
        store.clock.advance(ms=hub.limits.watch_ms + 1)
        _event(store, store.ids.next_id(), 1)
        assert await hub.poll_once() == 0

    asyncio.run(run())


def test_stream_limits(store: Store) -> None:
    async def run() -> None:
        hub = LiveHub(store, LiveLimits(per_session=2, per_line=3, total=4, poll_s=3600))
        hub.open(1, "a")
        hub.open(1, "a")
        with pytest.raises(TooManyStreams, match="session"):
            hub.open(1, "a")
        hub.open(1, "b")
        with pytest.raises(TooManyStreams, match="line"):
            hub.open(1, "c")
        hub.open(2, "d")
        with pytest.raises(TooManyStreams, match="server"):
            hub.open(3, "e")
        hub.end_session("a")
        assert hub.open_streams == 2
        await hub.stop()

    asyncio.run(run())
